"""The Accounting API's resources: validation as Xero does it, derived totals, statuses, and their JSON shape."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connectors.xero.sandbox.store import OrganisationStore
from connectors.xero.sandbox.values import boolean, date_string, decimal, guid, money, parse_date

ZERO = Decimal("0")

# NOTES.md "Resources": the 18 account types and the class each belongs to.
ACCOUNT_CLASSES: dict[str, str] = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DEPRECIATN": "EXPENSE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}
INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREDIT_NOTE_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
DOCUMENT_CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
MANUAL_JOURNAL_STATUSES = ("DRAFT", "POSTED", "DELETED", "VOIDED")


@dataclass
class WriteContext:
    """One write request: the organisation, the sandbox time, the calling app, and the events it causes."""

    store: OrganisationStore
    now: datetime
    client_id: str
    # (category, event type, resource, id) for webhooks, emitted by the caller after the write.
    events: list[tuple[str, str, str, str]] = field(default_factory=list)
    # Seeding passes a seeded generator so the same seed gives the same IDs.
    id_factory: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))

    def new_id(self) -> str:
        return self.id_factory()

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass
class Outcome:
    record: dict[str, Any] | None
    errors: list[str]
    created: bool = False


class Invalid(Exception):
    """A validation message for the element being written."""


def _str(payload: dict[str, Any], name: str, limit: int | None = None, errors: list[str] | None = None) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    text = str(value)
    if limit is not None and len(text) > limit and errors is not None:
        errors.append(f"{name} must not be longer than {limit} characters.")
    return text


def _dec(payload: dict[str, Any], name: str, errors: list[str]) -> Decimal | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    try:
        return decimal(value)
    except ValueError:
        errors.append(f"{name} must be a number.")
        return None


def _date(payload: dict[str, Any], name: str, errors: list[str]) -> date | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    try:
        return parse_date(value)
    except ValueError:
        errors.append(f"{name} is not a valid date.")
        return None


def _bool(payload: dict[str, Any], name: str, errors: list[str]) -> bool | None:
    value = payload.get(name)
    if value is None or value == "":
        return None
    try:
        return boolean(value)
    except ValueError:
        errors.append(f"{name} must be true or false.")
        return None


def _list(payload: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, dict):
        # XML lists with one item and lenient JSON bodies: a single object.
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return []


def _touch(wc: WriteContext, record: dict[str, Any]) -> None:
    record["UpdatedDateUTC"] = wc.now


# ====================================================================================================== tax rates


def tax_rate_percent(store: OrganisationStore, tax_type: str | None) -> Decimal | None:
    """The effective rate in percent, or None when the tax type does not exist or is not active."""
    if tax_type is None:
        return None
    record = store.tables["TaxRates"].get(tax_type)
    if record is None or record.get("Status") != "ACTIVE":
        return None
    return sum((c["Rate"] for c in record.get("TaxComponents", [])), ZERO)


# NOTES.md "Line items": a tax rate says per account class where it may be used (CanApplyToRevenue, …).
_CAN_APPLY_BY_CLASS = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}


def tax_type_fits_account(store: OrganisationStore, tax_type: str, account: dict[str, Any] | None) -> bool:
    """Whether an existing, active tax type may be used on a line booked to `account` (by the account's class)."""
    if account is None:
        return True
    record = store.tables["TaxRates"].get(tax_type) or {}
    flag = _CAN_APPLY_BY_CLASS.get(str(account.get("Class") or ""))
    return flag is None or record.get(flag, True) is not False


def save_tax_rate(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    tax_type = _str(payload, "TaxType")
    if existing is None and tax_type:
        existing = store.tables["TaxRates"].get(tax_type)
        if existing is None:
            return Outcome(None, [f"TaxType '{tax_type}' does not exist."])
    name = _str(payload, "Name", 50, errors)
    if existing is None and not name:
        errors.append("Name is required.")
    components_in = _list(payload, "TaxComponents")
    components: list[dict[str, Any]] | None = None
    if components_in is not None:
        components = []
        for item in components_in:
            rate = _dec(item, "Rate", errors)
            if not item.get("Name"):
                errors.append("TaxComponent Name is required.")
            if rate is None or rate < 0:
                errors.append("TaxComponent Rate must be zero or more.")
                continue
            components.append(
                {
                    "Name": str(item.get("Name", "")),
                    "Rate": rate,
                    "IsCompound": bool(_bool(item, "IsCompound", errors)),
                    "IsNonRecoverable": bool(_bool(item, "IsNonRecoverable", errors)),
                }
            )
        if not components:
            errors.append("At least one TaxComponent is required.")
    elif existing is None:
        errors.append("At least one TaxComponent is required.")
    report_tax_type = _str(payload, "ReportTaxType")
    if existing is None and store.country_code in ("AU", "NZ", "GB") and not report_tax_type:
        # NOTES.md "Resources": ReportTaxType is required in AU, NZ and the UK.
        errors.append("ReportTaxType is required for this organisation's country.")
    status = _str(payload, "Status")
    if status is not None and status not in ("ACTIVE", "DELETED", "ARCHIVED"):
        errors.append(f"Status '{status}' is not valid for a tax rate.")
    if name and any(
        r.get("Name", "").lower() == name.lower() and r is not existing for r in store.tables["TaxRates"].values()
    ):
        errors.append("Please enter a unique Name.")
    if errors:
        return Outcome(None, errors)
    created = existing is None
    record = dict(existing or {})
    if created:
        record["TaxType"] = f"TAX{store.next_number('TAX'):03d}"
        record["Status"] = "ACTIVE"
        record.update(
            {
                "CanApplyToAssets": True,
                "CanApplyToEquity": True,
                "CanApplyToExpenses": True,
                "CanApplyToLiabilities": True,
                "CanApplyToRevenue": True,
            }
        )
    if name:
        record["Name"] = name
    if components is not None:
        record["TaxComponents"] = components
    if report_tax_type:
        record["ReportTaxType"] = report_tax_type
    if status:
        record["Status"] = status
    rate = sum((c["Rate"] for c in record["TaxComponents"]), ZERO)
    record["DisplayTaxRate"] = rate
    record["EffectiveRate"] = rate
    store.tables["TaxRates"][record["TaxType"]] = record
    return Outcome(record, [], created)


def render_tax_rate(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ====================================================================================================== accounts


def save_account(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    code = _str(payload, "Code")
    name = _str(payload, "Name")
    account_type = _str(payload, "Type")
    if existing is None:
        if not name:
            errors.append("Name is required.")
        if not account_type:
            errors.append("Account Type is required.")
        if not code and account_type != "BANK":
            errors.append("Code is required.")
    if code is not None and len(code) > 10:
        errors.append("Account code must be no more than 10 characters.")
    if name is not None and len(name) > 150:
        errors.append("Account name must be no more than 150 characters.")
    if account_type is not None and account_type not in ACCOUNT_CLASSES:
        errors.append(f"Account Type '{account_type}' is not valid.")
    old_type = (existing or {}).get("Type")
    if existing is not None and account_type is not None and (account_type == "BANK") != (old_type == "BANK"):
        errors.append("The account type cannot be changed to or from BANK.")
    final_type = account_type or (existing or {}).get("Type")
    bank_number = _str(payload, "BankAccountNumber")
    if existing is None and final_type == "BANK" and not bank_number:
        errors.append("Bank Account Number is required for bank accounts.")
    live = [r for r in store.tables["Accounts"].values() if r is not existing and r.get("Status") != "DELETED"]
    if code and any(str(r.get("Code", "")).lower() == code.lower() for r in live):
        errors.append("Please enter a unique Code.")
    if name and any(str(r.get("Name", "")).lower() == name.lower() for r in live):
        errors.append("Please enter a unique Name.")
    tax_type = _str(payload, "TaxType")
    if tax_type is not None and tax_rate_percent(store, tax_type) is None:
        errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used with this type of transaction.")
    status = _str(payload, "Status")
    if status is not None and status not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"Status '{status}' cannot be set on an account (use DELETE to delete it).")
    enable_payments = _bool(payload, "EnablePaymentsToAccount", errors)
    if errors:
        return Outcome(None, errors)
    created = existing is None
    record = dict(existing or {})
    if created:
        record["AccountID"] = wc.new_id()
        record["Status"] = "ACTIVE"
        record["EnablePaymentsToAccount"] = False
        record["ShowInExpenseClaims"] = False
        record["HasAttachments"] = False
        record["AddToWatchlist"] = False
    for key, value in (
        ("Code", code),
        ("Name", name),
        ("Type", account_type),
        ("TaxType", tax_type),
        ("Status", status),
        ("BankAccountNumber", bank_number),
        ("EnablePaymentsToAccount", enable_payments),
    ):
        if value is not None:
            record[key] = value
    for key in ("Description", "ReportingCode", "ReportingCodeName", "CurrencyCode"):
        if payload.get(key) is not None:
            record[key] = str(payload[key])
    if record["Type"] == "BANK":
        record["BankAccountType"] = str(payload.get("BankAccountType") or record.get("BankAccountType") or "BANK")
        record.setdefault("CurrencyCode", store.base_currency)
    record["Class"] = ACCOUNT_CLASSES[record["Type"]]
    record.setdefault("TaxType", "NONE")
    _touch(wc, record)
    store.tables["Accounts"][record["AccountID"]] = record
    return Outcome(record, [], created)


def account_in_use(store: OrganisationStore, record: dict[str, Any]) -> bool:
    code = record.get("Code")
    for table in ("Invoices", "CreditNotes"):
        for document in store.tables[table].values():
            if any(line.get("AccountCode") == code for line in document.get("LineItems", [])):
                return True
    for journal in store.tables["ManualJournals"].values():
        if any(line.get("AccountCode") == code for line in journal.get("JournalLines", [])):
            return True
    return any(p["Account"]["AccountID"] == record["AccountID"] for p in store.tables["Payments"].values())


def render_account(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ====================================================================================================== contacts


def save_contact(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    name = _str(payload, "Name")
    if existing is None and not (name or "").strip():
        errors.append("The contact name must be specified.")
    if name is not None and len(name) > 255:
        errors.append("The contact name must be 255 characters or fewer.")
    number = _str(payload, "ContactNumber", 50, errors)
    others = [r for r in store.tables["Contacts"].values() if r is not existing and r.get("ContactStatus") == "ACTIVE"]
    if name and any(str(r.get("Name", "")).strip().lower() == name.strip().lower() for r in others):
        # NOTES.md "Writes": PUT refuses a duplicate name; POST updates the existing contact instead.
        errors.append(
            f"The contact name {name} is already assigned to another contact. The contact name must be unique "
            "across all active contacts."
        )
    if number and any(str(r.get("ContactNumber", "")).lower() == number.lower() for r in others):
        errors.append(f"The contact number {number} is already assigned to another contact.")
    email = _str(payload, "EmailAddress", 255, errors)
    if email and ("@" not in email or email.startswith("@") or email.endswith("@")):
        errors.append("Email address must be valid.")
    status = _str(payload, "ContactStatus")
    if status is not None and status not in ("ACTIVE", "ARCHIVED"):
        errors.append(f"ContactStatus '{status}' cannot be set.")
    persons = _list(payload, "ContactPersons")
    if persons is not None and len(persons) > 5:
        errors.append("A contact can have at most 5 contact persons.")
    if errors:
        return Outcome(None, errors)
    created = existing is None
    record = dict(existing or {})
    if created:
        record["ContactID"] = wc.new_id()
        record["ContactStatus"] = "ACTIVE"
        record["HasAttachments"] = False
        record["Addresses"] = []
        record["Phones"] = []
        record["ContactPersons"] = []
        record["_created_by"] = wc.client_id
    for key in (
        "Name",
        "ContactNumber",
        "AccountNumber",
        "FirstName",
        "LastName",
        "EmailAddress",
        "TaxNumber",
        "BankAccountDetails",
        "DefaultCurrency",
        "AccountsReceivableTaxType",
        "AccountsPayableTaxType",
        "Website",
        "CompanyNumber",
    ):
        if payload.get(key) is not None:
            record[key] = str(payload[key])
    if status is not None:
        record["ContactStatus"] = status
    for key in ("Addresses", "Phones"):
        items = _list(payload, key)
        if items is not None:
            record[key] = [{k: str(v) for k, v in item.items() if not isinstance(v, dict | list)} for item in items]
    if persons is not None:
        record["ContactPersons"] = [
            {k: (boolean(v) if k == "IncludeInEmails" else str(v)) for k, v in p.items() if isinstance(v, str | bool)}
            for p in persons
        ]
    _touch(wc, record)
    store.tables["Contacts"][record["ContactID"]] = record
    wc.events.append(("CONTACT", "CREATE" if created else "UPDATE", "Contacts", record["ContactID"]))
    return Outcome(record, [], created)


def render_contact(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    rendered = {k: v for k, v in record.items() if not k.startswith("_")}
    # IsCustomer/IsSupplier follow the invoices, without bumping UpdatedDateUTC (NOTES.md "If-Modified-Since").
    rendered["IsCustomer"] = bool(record.get("_customer"))
    rendered["IsSupplier"] = bool(record.get("_supplier"))
    if not full:
        for key in ("Addresses", "Phones", "ContactPersons"):
            rendered.pop(key, None)
    return rendered


def contact_reference(store: OrganisationStore, rendered: dict[str, Any]) -> dict[str, Any]:
    """The contact as embedded in a document: ContactID, Name and a few identifying fields."""
    return {
        k: rendered[k]
        for k in ("ContactID", "ContactNumber", "Name", "ContactStatus", "EmailAddress")
        if rendered.get(k) is not None
    }


def _resolve_contact(wc: WriteContext, payload: Any, errors: list[str]) -> dict[str, Any] | None:
    """The document's contact: by ContactID, ContactNumber or Name; an unknown Name creates a contact."""
    store = wc.store
    if not isinstance(payload, dict) or not any(payload.get(k) for k in ("ContactID", "ContactNumber", "Name")):
        errors.append(
            "The Contact must contain at least 1 of the following elements to identify the contact: "
            "Name, ContactID, ContactNumber"
        )
        return None
    contact: dict[str, Any] | None = None
    if payload.get("ContactID"):
        contact_id = guid(payload["ContactID"])
        contact = store.tables["Contacts"].get(contact_id or "")
        if contact is None:
            errors.append(f"The contact with ContactID '{payload['ContactID']}' could not be found.")
            return None
    elif payload.get("ContactNumber"):
        contact = store.find("Contacts", "ContactNumber", payload["ContactNumber"], casefold=True)
        if contact is None and not payload.get("Name"):
            errors.append(f"The contact with ContactNumber '{payload['ContactNumber']}' could not be found.")
            return None
    if contact is None and payload.get("Name"):
        contact = next(
            (
                r
                for r in store.tables["Contacts"].values()
                if str(r.get("Name", "")).strip().lower() == str(payload["Name"]).strip().lower()
                and r.get("ContactStatus") == "ACTIVE"
            ),
            None,
        )
        if contact is None:
            outcome = save_contact(wc, {k: v for k, v in payload.items() if k != "ContactID"}, None)
            if outcome.errors:
                errors.extend(outcome.errors)
                return None
            contact = outcome.record
    if contact is not None and contact.get("ContactStatus") == "ARCHIVED":
        errors.append("The contact has been archived and cannot be used on a new or updated document.")
        return None
    return contact


# ====================================================================================================== items


def save_item(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    code = _str(payload, "Code")
    if existing is None and not code:
        errors.append("Item code is required.")
    if code is not None and len(code) > 30:
        errors.append("Item code must be 30 characters or fewer.")
    name = _str(payload, "Name", 50, errors)
    if code and any(
        str(r.get("Code", "")).lower() == code.lower() and r is not existing for r in store.tables["Items"].values()
    ):
        errors.append(f"Item code '{code}' already exists.")
    details: dict[str, dict[str, Any]] = {}
    for key in ("SalesDetails", "PurchaseDetails"):
        block = payload.get(key)
        if block is None:
            continue
        if not isinstance(block, dict):
            errors.append(f"{key} must be an object.")
            continue
        price = _dec(block, "UnitPrice", errors)
        account_code = _str(block, "AccountCode")
        if account_code and store.find("Accounts", "Code", account_code, casefold=True) is None:
            errors.append(f"Account code '{account_code}' is not a valid code for this item.")
        tax_type = _str(block, "TaxType")
        if tax_type and tax_rate_percent(store, tax_type) is None:
            errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used with this item.")
        details[key] = {
            k: v
            for k, v in (("UnitPrice", price), ("AccountCode", account_code), ("TaxType", tax_type))
            if v is not None
        }
    inventory_account = _str(payload, "InventoryAssetAccountCode")
    if inventory_account and store.find("Accounts", "Code", inventory_account, casefold=True) is None:
        errors.append(f"Account code '{inventory_account}' is not a valid inventory asset account.")
    if errors:
        return Outcome(None, errors)
    created = existing is None
    record = dict(existing or {})
    if created:
        record["ItemID"] = wc.new_id()
        record["IsSold"] = True
        record["IsPurchased"] = True
        record["IsTrackedAsInventory"] = False
    if code:
        record["Code"] = code
    if name is not None:
        record["Name"] = name
    for key in ("Description", "PurchaseDescription"):
        if payload.get(key) is not None:
            record[key] = str(payload[key])
    for key, block in details.items():
        record[key] = {**record.get(key, {}), **block}
    for key in ("IsSold", "IsPurchased"):
        value = _bool(payload, key, errors)
        if value is not None:
            record[key] = value
    if inventory_account:
        # NOTES.md "Resources": an item is tracked when it has an inventory asset account.
        record["InventoryAssetAccountCode"] = inventory_account
        record["IsTrackedAsInventory"] = True
        record.setdefault("QuantityOnHand", ZERO)
        record.setdefault("TotalCostPool", ZERO)
    _touch(wc, record)
    store.tables["Items"][record["ItemID"]] = record
    return Outcome(record, [], created)


def render_item(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}


# ====================================================================================================== documents


def _line_items(
    wc: WriteContext,
    lines: list[dict[str, Any]],
    *,
    sales: bool,
    line_amount_types: str,
    strict: bool,
    errors: list[str],
) -> list[dict[str, Any]]:
    """Validate and price line items: per-line tax rounded to 2 decimals (NOTES.md "Line items")."""
    store = wc.store
    result: list[dict[str, Any]] = []
    for line in lines:
        item_code = _str(line, "ItemCode")
        item = store.find("Items", "Code", item_code, casefold=True) if item_code else None
        if item_code and item is None:
            errors.append(f"Item code '{item_code}' is not valid.")
        defaults = (item or {}).get("SalesDetails" if sales else "PurchaseDetails", {})
        description = (
            _str(line, "Description")
            or (item or {}).get("Description" if sales else "PurchaseDescription")
            or (item or {}).get("Name")
        )
        quantity = _dec(line, "Quantity", errors)
        unit_amount = _dec(line, "UnitAmount", errors)
        line_amount_in = _dec(line, "LineAmount", errors)
        if unit_amount is None:
            unit_amount = defaults.get("UnitPrice")
        if quantity is None:
            quantity = Decimal("1") if unit_amount is not None or line_amount_in is not None else None
        account_code = _str(line, "AccountCode") or defaults.get("AccountCode")
        account_id = guid(line["AccountID"]) if line.get("AccountID") else None
        account = None
        if account_id:
            account = store.tables["Accounts"].get(account_id)
            if account is None or account.get("Type") == "BANK":
                errors.append(f"Account ID '{line['AccountID']}' is not valid.")
                account = None
            else:
                account_code = account.get("Code")
        elif account_code:
            account = store.find("Accounts", "Code", account_code, casefold=True)
            # NOTES.md "Line items": bank accounts take payments and transfers, never a document's line.
            if account is None or account.get("Status") != "ACTIVE" or account.get("Type") == "BANK":
                errors.append(f"Account code '{account_code}' is not a valid code for this document.")
                account = None
        if strict and account is None and not account_code:
            errors.append("Account code must be specified for each line item before the document is approved.")
        if not description and not item_code:
            errors.append("Description is required for each line item.")
        tax_type = _str(line, "TaxType") or defaults.get("TaxType") or (account or {}).get("TaxType")
        if line_amount_types == "NoTax":
            tax_type = tax_type or "NONE"
        rate = tax_rate_percent(store, tax_type) if tax_type else ZERO
        if tax_type and rate is None:
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used with this type of transaction."
            )
            rate = ZERO
        elif tax_type and not tax_type_fits_account(store, tax_type, account):
            errors.append(f"The TaxType code '{tax_type}' cannot be used with account code '{account_code}'.")
        discount = _dec(line, "DiscountRate", errors)
        if discount is not None and not sales:
            errors.append("Discounts are only supported on sales documents (ACCREC).")
        if discount is not None and not ZERO <= discount <= 100:
            errors.append("DiscountRate must be between 0 and 100.")
        tracking = _list(line, "Tracking") or []
        if len(tracking) > 2:
            errors.append("A line item can have at most 2 tracking categories.")
        if quantity is not None and unit_amount is not None:
            line_amount = money(quantity * unit_amount * (1 - (discount or ZERO) / 100))
        elif line_amount_in is not None:
            line_amount = money(line_amount_in)
        else:
            line_amount = ZERO
        rate = rate or ZERO
        tax_in = _dec(line, "TaxAmount", errors)
        if line_amount_types == "NoTax":
            tax = ZERO
        elif tax_in is not None:
            # NOTES.md "Line items": the computed TaxAmount can be overridden by the one sent.
            tax = money(tax_in)
        elif line_amount_types == "Inclusive":
            tax = money(line_amount - line_amount / (1 + rate / 100))
        else:
            tax = money(line_amount * rate / 100)
        if unit_amount is None and line_amount_in is not None and quantity:
            # NOTES.md "Line items": given Quantity and LineAmount, Xero works out the UnitAmount.
            unit_amount = (line_amount / quantity).quantize(Decimal("0.0001"))
        priced: dict[str, Any] = {
            "LineItemID": guid(line.get("LineItemID")) or wc.new_id(),
            "Description": description,
            "Quantity": quantity,
            "UnitAmount": unit_amount,
            "ItemCode": (item or {}).get("Code"),
            "AccountCode": account_code,
            "AccountID": (account or {}).get("AccountID"),
            "TaxType": tax_type,
            "TaxAmount": tax,
            "LineAmount": line_amount,
            "DiscountRate": discount,
            "Tracking": [{k: str(v) for k, v in t.items() if isinstance(v, str)} for t in tracking],
        }
        result.append({k: v for k, v in priced.items() if v is not None})
    return result


def _totals(lines: list[dict[str, Any]], line_amount_types: str) -> tuple[Decimal, Decimal, Decimal]:
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    amounts = sum((line["LineAmount"] for line in lines), ZERO)
    subtotal = amounts - tax if line_amount_types == "Inclusive" else amounts
    return money(subtotal), money(tax), money(subtotal + tax)


@dataclass(frozen=True)
class DocumentKind:
    table: str
    key: str
    number_field: str
    types: tuple[str, ...]
    sales_type: str
    sequence: str
    prefix: str
    category: str
    label: str


INVOICE = DocumentKind(
    "Invoices", "InvoiceID", "InvoiceNumber", INVOICE_TYPES, "ACCREC", "INV", "INV-", "INVOICE", "Invoice"
)
CREDIT_NOTE = DocumentKind(
    "CreditNotes",
    "CreditNoteID",
    "CreditNoteNumber",
    CREDIT_NOTE_TYPES,
    "ACCRECCREDIT",
    "CN",
    "CN-",
    "CREDITNOTE",
    "Credit note",
)

# Which status a document may move to from each status (NOTES.md "Writes": DELETED from DRAFT/SUBMITTED only,
# VOIDED from AUTHORISED without payments; PAID is set by payments, never by a client).
_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "SUBMITTED": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "AUTHORISED": ("AUTHORISED", "VOIDED"),
    "PAID": (),
    "VOIDED": (),
    "DELETED": (),
}


def save_document(
    kind: DocumentKind, wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None
) -> Outcome:
    store = wc.store
    errors: list[str] = []
    created = existing is None
    old_status = (existing or {}).get("Status")
    doc_type = _str(payload, "Type") or (existing or {}).get("Type")
    if doc_type is None:
        errors.append(f"{kind.label} Type must be specified ({' or '.join(kind.types)}).")
    elif doc_type not in kind.types:
        errors.append(f"{kind.label} Type '{doc_type}' is not valid; use {' or '.join(kind.types)}.")
    elif existing is not None and doc_type != existing["Type"]:
        errors.append(f"The {kind.label.lower()} Type cannot be changed.")
    status = _str(payload, "Status") or old_status or "DRAFT"
    if created and status not in DOCUMENT_CREATE_STATUSES:
        errors.append(f"A {kind.label.lower()} cannot be created with status {status}.")
    if not created:
        assert old_status is not None
        allowed = _TRANSITIONS.get(old_status, ())
        if old_status == "PAID":
            return Outcome(None, ["This document cannot be edited as it has a payment or credit note allocated to it."])
        if status not in allowed:
            return Outcome(None, [f"{kind.label} not of valid status for modification"])
        paid = existing.get("AmountPaid", ZERO) + existing.get("AmountCredited", ZERO)  # type: ignore[union-attr]
        if status == "VOIDED" and paid > 0:
            return Outcome(None, ["Payments and allocations must be removed before the document can be voided."])
    if status in ("DELETED", "VOIDED") and not created:
        # A delete or void needs nothing else; other fields sent along are ignored.
        record = dict(existing)  # type: ignore[arg-type]
        record["Status"] = status
        record["AmountDue"] = ZERO
        _touch(wc, record)
        store.tables[kind.table][record[kind.key]] = record
        wc.events.append((kind.category, "UPDATE", kind.table, record[kind.key]))
        return Outcome(record, [])

    line_amount_types = _str(payload, "LineAmountTypes") or (existing or {}).get("LineAmountTypes") or "Exclusive"
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not valid; use Exclusive, Inclusive or NoTax.")
        line_amount_types = "Exclusive"
    contact = None
    if payload.get("Contact") is not None or created:
        contact = _resolve_contact(wc, payload.get("Contact"), errors)
    doc_date = _date(payload, "Date", errors) or (existing or {}).get("Date") or wc.today
    due_date = _date(payload, "DueDate", errors) or (existing or {}).get("DueDate")
    if due_date is not None and due_date < doc_date:
        errors.append("Due Date must be on or after the document date.")
    strict = status in ("SUBMITTED", "AUTHORISED")
    lines_in = _list(payload, "LineItems")
    lines: list[dict[str, Any]] | None = None
    if lines_in is not None:
        lines = _line_items(
            wc,
            lines_in,
            sales=doc_type == kind.sales_type,
            line_amount_types=line_amount_types,
            strict=strict,
            errors=errors,
        )
    elif existing is not None:
        lines = existing.get("LineItems", [])
    if not lines:
        errors.append(f"A {kind.label.lower()} must have at least one line item.")
    if strict and store.period_lock_date is not None and doc_date <= store.period_lock_date:
        # NOTES.md "Writes": dates in a locked period are refused.
        errors.append(
            f"The document date cannot be before the period lock date {store.period_lock_date.strftime('%d/%m/%Y')}."
        )
    currency = _str(payload, "CurrencyCode") or (existing or {}).get("CurrencyCode") or store.base_currency
    if currency not in store.currencies:
        errors.append(f"The currency '{currency}' is not enabled for this organisation.")
    number = _str(payload, kind.number_field, 255, errors)
    if number and doc_type == kind.sales_type:
        # NOTES.md "Writes": sales numbers are unique; purchase (ACCPAY) numbers are not.
        clash = any(
            str(r.get(kind.number_field, "")).lower() == number.lower()
            and r is not existing
            and r.get("Type") == kind.sales_type
            for r in store.tables[kind.table].values()
        )
        if clash:
            errors.append(f"{'Invoice' if kind is INVOICE else 'Credit Note'} # must be unique.")
    if errors:
        return Outcome(None, errors)
    assert doc_type is not None and lines is not None
    record = dict(existing or {})
    if created:
        record[kind.key] = wc.new_id()
        record["Type"] = doc_type
        record["AmountPaid"] = ZERO
        record["AmountCredited"] = ZERO
        record["HasAttachments"] = False
        record["_created_by"] = wc.client_id
        record["_payments"] = []
    if contact is not None:
        record["Contact"] = {"ContactID": contact["ContactID"]}
        # Flags only: the contact's UpdatedDateUTC does not move (NOTES.md "If-Modified-Since").
        contact["_customer" if doc_type in ("ACCREC", "ACCRECCREDIT") else "_supplier"] = True
    if number:
        record[kind.number_field] = number
    elif created and doc_type == kind.sales_type:
        record[kind.number_field] = f"{kind.prefix}{store.next_number(kind.sequence):04d}"
    for key in ("Reference", "BrandingThemeID", "Url"):
        if payload.get(key) is not None:
            record[key] = str(payload[key])
    sent = _bool(payload, "SentToContact", errors)
    if sent is not None:
        record["SentToContact"] = sent
    record["Date"] = doc_date
    if due_date is not None:
        record["DueDate"] = due_date
    record["Status"] = status
    record["LineAmountTypes"] = line_amount_types
    record["CurrencyCode"] = currency
    rate = _dec(payload, "CurrencyRate", errors)
    record["CurrencyRate"] = rate if rate is not None else record.get("CurrencyRate", Decimal("1"))
    record["LineItems"] = lines
    subtotal, tax, total = _totals(lines, line_amount_types)
    record["SubTotal"], record["TotalTax"], record["Total"] = subtotal, tax, total
    settled = record["AmountPaid"] + record["AmountCredited"]
    record["AmountDue"] = money(total - settled)
    if kind is CREDIT_NOTE:
        record["RemainingCredit"] = money(total - record.get("_allocated", ZERO))
    _touch(wc, record)
    store.tables[kind.table][record[kind.key]] = record
    wc.events.append((kind.category, "CREATE" if created else "UPDATE", kind.table, record[kind.key]))
    return Outcome(record, [], created)


def render_document(kind: DocumentKind, store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    rendered = {k: v for k, v in record.items() if not k.startswith("_")}
    contact = store.tables["Contacts"].get(record["Contact"]["ContactID"])
    rendered["Contact"] = contact_reference(store, contact) if contact else dict(record["Contact"])
    rendered["DateString"] = date_string(record["Date"])
    if record.get("DueDate"):
        rendered["DueDateString"] = date_string(record["DueDate"])
    rendered["IsDiscounted"] = any(line.get("DiscountRate") for line in record.get("LineItems", []))
    rendered["HasErrors"] = False
    payments = [store.tables["Payments"][pid] for pid in record.get("_payments", []) if pid in store.tables["Payments"]]
    rendered["Payments"] = [
        {
            "PaymentID": p["PaymentID"],
            "Date": p["Date"],
            "Amount": p["Amount"],
            "Reference": p.get("Reference"),
            "CurrencyRate": p.get("CurrencyRate", Decimal("1")),
            "HasAccount": True,
            "HasValidationErrors": False,
        }
        for p in payments
        if p["Status"] == "AUTHORISED"
    ]
    if kind is INVOICE:
        rendered["CreditNotes"] = [dict(a) for a in record.get("_credit_allocations", [])]
        rendered["Prepayments"] = []
        rendered["Overpayments"] = []
    else:
        rendered["Allocations"] = [dict(a) for a in record.get("_allocations", [])]
    if not full:
        # NOTES.md "Paging": lists without `page` (and summaryOnly) leave out the line items.
        rendered.pop("LineItems", None)
    return {k: v for k, v in rendered.items() if v is not None}


def allocate_credit_note(wc: WriteContext, credit_note: dict[str, Any], payload: dict[str, Any]) -> Outcome:
    """PUT /CreditNotes/{id}/Allocations: apply credit to an invoice of the same contact and side."""
    store = wc.store
    errors: list[str] = []
    if credit_note["Status"] != "AUTHORISED":
        return Outcome(None, ["Only an authorised credit note can be allocated."])
    amount = _dec(payload, "Amount", errors) or _dec(payload, "AppliedAmount", errors)
    invoice_ref = payload.get("Invoice") if isinstance(payload.get("Invoice"), dict) else {}
    invoice = store.tables["Invoices"].get(guid(invoice_ref.get("InvoiceID")) or "")
    if invoice is None:
        errors.append("The invoice to allocate to could not be found.")
    elif invoice["Status"] != "AUTHORISED":
        errors.append("Credit can only be allocated to an authorised invoice.")
    elif {"ACCREC": "ACCRECCREDIT", "ACCPAY": "ACCPAYCREDIT"}[invoice["Type"]] != credit_note["Type"]:
        errors.append("The credit note and the invoice must be of the same type (sales or purchases).")
    elif (invoice.get("Contact") or {}).get("ContactID") != (credit_note.get("Contact") or {}).get("ContactID"):
        errors.append("The credit note and the invoice must belong to the same contact.")
    if amount is None or amount <= 0:
        errors.append("Allocation Amount must be greater than zero.")
    elif invoice is not None and (amount > invoice["AmountDue"] or amount > credit_note["RemainingCredit"]):
        errors.append("The allocation amount exceeds the remaining credit or the amount due on the invoice.")
    if errors:
        return Outcome(None, errors)
    assert invoice is not None and amount is not None
    when = _date(payload, "Date", errors) or wc.today
    allocation = {"Amount": money(amount), "Date": when}
    credit_note.setdefault("_allocations", []).append({**allocation, "Invoice": {"InvoiceID": invoice["InvoiceID"]}})
    credit_note["_allocated"] = credit_note.get("_allocated", ZERO) + money(amount)
    credit_note["RemainingCredit"] = money(credit_note["Total"] - credit_note["_allocated"])
    if credit_note["RemainingCredit"] == 0:
        credit_note["Status"] = "PAID"
    invoice.setdefault("_credit_allocations", []).append(
        {"CreditNoteID": credit_note["CreditNoteID"], "AppliedAmount": money(amount), "Date": when}
    )
    invoice["AmountCredited"] = money(invoice["AmountCredited"] + amount)
    invoice["AmountDue"] = money(invoice["Total"] - invoice["AmountPaid"] - invoice["AmountCredited"])
    if invoice["AmountDue"] == 0:
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = when
    _touch(wc, credit_note)
    _touch(wc, invoice)
    wc.events.append(("CREDITNOTE", "UPDATE", "CreditNotes", credit_note["CreditNoteID"]))
    wc.events.append(("INVOICE", "UPDATE", "Invoices", invoice["InvoiceID"]))
    return Outcome({**allocation, "Invoice": {"InvoiceID": invoice["InvoiceID"]}}, [], True)


# ====================================================================================================== payments


def save_payment(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    if existing is not None:
        # NOTES.md "Writes": a payment cannot be edited, only deleted with Status DELETED.
        if _str(payload, "Status") != "DELETED":
            return Outcome(None, ["A payment cannot be edited; it can only be deleted (Status DELETED)."])
        if existing["Status"] == "DELETED":
            return Outcome(None, ["This payment has already been deleted."])
        record = dict(existing)
        record["Status"] = "DELETED"
        _touch(wc, record)
        store.tables["Payments"][record["PaymentID"]] = record
        _apply_payment(wc, record, reverse=True)
        return Outcome(record, [])
    document: dict[str, Any] | None = None
    kind: DocumentKind | None = None
    for ref_key, doc_kind in (("Invoice", INVOICE), ("CreditNote", CREDIT_NOTE)):
        ref = payload.get(ref_key)
        if not isinstance(ref, dict):
            continue
        kind = doc_kind
        doc_id = guid(ref.get(doc_kind.key)) if ref.get(doc_kind.key) else None
        if doc_id:
            document = store.tables[doc_kind.table].get(doc_id)
        elif ref.get(doc_kind.number_field):
            document = store.find(doc_kind.table, doc_kind.number_field, ref[doc_kind.number_field], casefold=True)
        if document is None:
            errors.append(f"The {doc_kind.label.lower()} for this payment could not be found.")
        break
    if kind is None:
        errors.append("A payment must name an Invoice or a CreditNote.")
    account_ref = payload.get("Account") if isinstance(payload.get("Account"), dict) else None
    account = None
    if account_ref is None or not (account_ref.get("AccountID") or account_ref.get("Code")):
        errors.append("A payment must name an Account (AccountID or Code).")
    else:
        if account_ref.get("AccountID"):
            account = store.tables["Accounts"].get(guid(account_ref["AccountID"]) or "")
        else:
            account = store.find("Accounts", "Code", account_ref["Code"], casefold=True)
        if account is None:
            errors.append("The account for this payment could not be found.")
        elif account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
            errors.append("Account type is invalid for making a payment to/from.")
    pay_date = _date(payload, "Date", errors)
    if payload.get("Date") in (None, ""):
        errors.append("Payment Date is required.")
    amount = _dec(payload, "Amount", errors)
    if amount is None:
        errors.append("Payment Amount is required.")
    elif amount <= 0:
        errors.append("Payment Amount must be greater than zero.")
    if document is not None:
        if document["Status"] != "AUTHORISED":
            errors.append("Payments can only be made against authorised documents.")
        elif amount is not None and amount > document["AmountDue"]:
            errors.append("Payment amount exceeds the amount outstanding on this document.")
        if store.period_lock_date is not None and pay_date is not None and pay_date <= store.period_lock_date:
            errors.append(
                f"The payment date cannot be before the period lock date {store.period_lock_date.strftime('%d/%m/%Y')}."
            )
    if errors:
        return Outcome(None, errors)
    assert document is not None and kind is not None and account is not None and amount is not None
    payment_types = {
        "ACCREC": "ACCRECPAYMENT",
        "ACCPAY": "ACCPAYPAYMENT",
        "ACCRECCREDIT": "ARCREDITPAYMENT",
        "ACCPAYCREDIT": "APCREDITPAYMENT",
    }
    record = {
        "PaymentID": wc.new_id(),
        "Date": pay_date,
        "Amount": money(amount),
        "BankAmount": money(amount),
        "Reference": _str(payload, "Reference"),
        "CurrencyRate": _dec(payload, "CurrencyRate", errors) or Decimal("1"),
        "PaymentType": payment_types[document["Type"]],
        "Status": "AUTHORISED",
        "IsReconciled": bool(_bool(payload, "IsReconciled", errors)),
        "HasAccount": True,
        "HasValidationErrors": False,
        "Account": {"AccountID": account["AccountID"], "Code": account.get("Code")},
        "_document": (kind.table, document[kind.key]),
    }
    record = {k: v for k, v in record.items() if v is not None}
    _touch(wc, record)
    store.tables["Payments"][record["PaymentID"]] = record
    _apply_payment(wc, record, reverse=False)
    return Outcome(record, [], True)


def _apply_payment(wc: WriteContext, payment: dict[str, Any], *, reverse: bool) -> None:
    table, document_id = payment["_document"]
    document = wc.store.tables[table][document_id]
    kind = INVOICE if table == "Invoices" else CREDIT_NOTE
    if reverse:
        document["AmountPaid"] = money(document["AmountPaid"] - payment["Amount"])
        if document["Status"] == "PAID":
            document["Status"] = "AUTHORISED"
            document.pop("FullyPaidOnDate", None)
    else:
        document["AmountPaid"] = money(document["AmountPaid"] + payment["Amount"])
        document.setdefault("_payments", []).append(payment["PaymentID"])
    document["AmountDue"] = money(document["Total"] - document["AmountPaid"] - document["AmountCredited"])
    if kind is CREDIT_NOTE:
        allocated = document.get("_allocated", ZERO)
        document["RemainingCredit"] = money(document["Total"] - document["AmountPaid"] - allocated)
    if document["AmountDue"] == 0 and not reverse:
        # NOTES.md "Resources": PAID is set automatically when nothing is left to pay.
        document["Status"] = "PAID"
        document["FullyPaidOnDate"] = payment["Date"]
    _touch(wc, document)
    wc.events.append((kind.category, "UPDATE", kind.table, document_id))


def render_payment(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    rendered = {k: v for k, v in record.items() if not k.startswith("_")}
    table, document_id = record["_document"]
    document = store.tables[table].get(document_id, {})
    if table == "Invoices":
        rendered["Invoice"] = {
            k: document.get(k) for k in ("InvoiceID", "InvoiceNumber", "Type") if document.get(k) is not None
        }
        rendered["Invoice"]["Contact"] = (
            contact_reference(store, store.tables["Contacts"].get(document.get("Contact", {}).get("ContactID", ""), {}))
            if document
            else {}
        )
    else:
        rendered["CreditNote"] = {
            k: document.get(k) for k in ("CreditNoteID", "CreditNoteNumber", "Type") if document.get(k) is not None
        }
    return rendered


# ====================================================================================================== manual journals


def save_manual_journal(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    store = wc.store
    errors: list[str] = []
    created = existing is None
    old_status = (existing or {}).get("Status")
    status = _str(payload, "Status") or old_status or "DRAFT"
    if status not in MANUAL_JOURNAL_STATUSES:
        errors.append(f"Status '{status}' is not valid for a manual journal.")
    if created and status not in ("DRAFT", "POSTED"):
        errors.append(f"A manual journal cannot be created with status {status}.")
    if not created:
        allowed = {"DRAFT": ("DRAFT", "POSTED", "DELETED"), "POSTED": ("POSTED", "VOIDED")}.get(old_status or "", ())
        if status not in allowed:
            return Outcome(None, ["Manual journal not of valid status for modification"])
        if status in ("DELETED", "VOIDED"):
            record = dict(existing)  # type: ignore[arg-type]
            record["Status"] = status
            _touch(wc, record)
            store.tables["ManualJournals"][record["ManualJournalID"]] = record
            return Outcome(record, [])
    narration = _str(payload, "Narration") or (existing or {}).get("Narration")
    if not narration:
        errors.append("Narration is required.")
    line_amount_types = _str(payload, "LineAmountTypes") or (existing or {}).get("LineAmountTypes") or "NoTax"
    if line_amount_types not in LINE_AMOUNT_TYPES:
        errors.append(f"LineAmountTypes '{line_amount_types}' is not valid.")
    lines_in = _list(payload, "JournalLines")
    lines: list[dict[str, Any]] = list((existing or {}).get("JournalLines", []))
    if lines_in is not None:
        lines = []
        for line in lines_in:
            amount = _dec(line, "LineAmount", errors)
            code = _str(line, "AccountCode")
            account = store.find("Accounts", "Code", code, casefold=True) if code else None
            if line.get("AccountID"):
                account = store.tables["Accounts"].get(guid(line["AccountID"]) or "")
            if amount is None:
                errors.append("LineAmount is required for each journal line.")
            if account is None or account.get("Status") != "ACTIVE":
                errors.append(f"Account code '{code or line.get('AccountID', '')}' is not a valid code.")
            default_tax = "NONE" if line_amount_types == "NoTax" else (account or {}).get("TaxType")
            tax_type = _str(line, "TaxType") or default_tax
            if tax_type and tax_rate_percent(store, tax_type) is None:
                errors.append(f"The TaxType code '{tax_type}' does not exist or cannot be used here.")
            elif tax_type and account is not None and not tax_type_fits_account(store, tax_type, account):
                errors.append(
                    f"The TaxType code '{tax_type}' cannot be used with account code '{account.get('Code')}'."
                )
            # TaxAmount is calculated from the TaxType and LineAmount (OAS ManualJournalLine), never taken as sent.
            percent = tax_rate_percent(store, tax_type) or ZERO
            if amount is None or line_amount_types == "NoTax":
                tax = ZERO
            elif line_amount_types == "Exclusive":
                tax = money(amount * percent / 100)
            else:
                tax = money(amount * percent / (100 + percent))
            lines.append(
                {
                    k: v
                    for k, v in {
                        "JournalLineID": guid(line.get("JournalLineID")) or wc.new_id(),
                        "LineAmount": money(amount) if amount is not None else None,
                        "AccountCode": (account or {}).get("Code", code),
                        "AccountID": (account or {}).get("AccountID"),
                        "Description": _str(line, "Description"),
                        "TaxType": tax_type,
                        "TaxAmount": tax,
                        "IsBlank": False,
                    }.items()
                    if v is not None
                }
            )
    if len(lines) < 2:
        errors.append("A manual journal must have at least two journal lines.")
    # Tax-exclusive lines balance with their tax added (the journal's totals include it).
    exclusive = line_amount_types == "Exclusive"
    signed = [line["LineAmount"] + (line["TaxAmount"] if exclusive else ZERO) for line in lines if "LineAmount" in line]
    debits = sum((amount for amount in signed if amount > 0), ZERO)
    credits = sum((amount for amount in signed if amount < 0), ZERO)
    if lines and debits + credits != 0:
        errors.append(f"The total debits ({debits:.2f}) must equal total credits ({-credits:.2f})")
    journal_date = _date(payload, "Date", errors) or (existing or {}).get("Date") or wc.today
    if status == "POSTED" and store.period_lock_date is not None and journal_date <= store.period_lock_date:
        errors.append(
            f"The document date cannot be before the period lock date {store.period_lock_date.strftime('%d/%m/%Y')}."
        )
    if errors:
        return Outcome(None, errors)
    record = dict(existing or {})
    if created:
        record["ManualJournalID"] = wc.new_id()
        record["HasAttachments"] = False
    record.update(
        {
            "Narration": narration,
            "Date": journal_date,
            "Status": status,
            "LineAmountTypes": line_amount_types,
            "JournalLines": lines,
        }
    )
    cash = _bool(payload, "ShowOnCashBasisReports", errors)
    record["ShowOnCashBasisReports"] = cash if cash is not None else record.get("ShowOnCashBasisReports", True)
    if payload.get("Url") is not None:
        record["Url"] = str(payload["Url"])
    _touch(wc, record)
    store.tables["ManualJournals"][record["ManualJournalID"]] = record
    return Outcome(record, [], created)


def render_manual_journal(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    rendered = {k: v for k, v in record.items() if not k.startswith("_")}
    if not full:
        rendered.pop("JournalLines", None)
    return rendered


Saver = Callable[[WriteContext, dict[str, Any], dict[str, Any] | None], Outcome]
Renderer = Callable[[OrganisationStore, dict[str, Any], bool], dict[str, Any]]


def save_invoice(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    return save_document(INVOICE, wc, payload, existing)


def save_credit_note(wc: WriteContext, payload: dict[str, Any], existing: dict[str, Any] | None) -> Outcome:
    return save_document(CREDIT_NOTE, wc, payload, existing)


def render_invoice(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    return render_document(INVOICE, store, record, full)


def render_credit_note(store: OrganisationStore, record: dict[str, Any], full: bool) -> dict[str, Any]:
    return render_document(CREDIT_NOTE, store, record, full)
