"""Xero <-> unified records, both ways: contacts, invoices (with line items), accounts, tax rates, items, payments.

Ids. Every record's id is Xero's own key: ContactID, InvoiceID, AccountID, ItemID; a tax rate has no ID in Xero,
its key is its TaxType code ("OUTPUT2"), which is also what a line names. Line items name their item by code
(ItemCode), so readers resolve codes to ItemIDs with a lookup the caller supplies.

Unknown is an error: an invoice type, status or account class this module does not know raises
UnexpectedXeroValue instead of guessing.

The unified invoice is a sales document (DESIGN §3), so only `ACCREC` invoices and `ACCRECCREDIT` credit notes map
to it; bills (`ACCPAY`) and purchase credit notes are purchase invoices (purchases.py). The unified payment is
"the payment state of one invoice's receivable", which Xero keeps on the invoice itself (`Total`, `AmountDue`,
`AmountPaid`, `FullyPaidOnDate`, its `Payments`), so a payment record is read from an approved sales invoice.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base.mapping import LedgerMapping, MappingMissing
from connectors.base.records import (
    Address,
    AddressType,
    Contact,
    ContactInput,
    InvalidInput,
    Invoice,
    InvoiceInput,
    InvoiceLine,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    Item,
    ItemInput,
    LedgerAccount,
    LedgerClassification,
    Payment,
    PaymentStatus,
    RecordStatus,
    TaxRate,
    TaxType,
    TaxUsage,
    Warning,
)
from connectors.xero.values import (
    UnexpectedXeroValue,
    clean_text,
    format_xero_date,
    parse_guid,
    parse_xero_date,
    parse_xero_datetime,
    to_decimal,
    to_money,
)

XeroObject = Mapping[str, Any]
ZERO = Decimal("0.00")

W_CUSTOMER_FLAGS = "xero_sets_customer_supplier_flags"
W_WEBSITE = "xero_website_read_only"
W_ADDRESS_TYPE = "xero_address_type_changed"
W_NUMBER = "xero_assigns_invoice_number"
W_STATUS = "xero_invoice_status_not_writable"
W_TAX_DEFAULTED = "xero_defaults_tax_type"
W_PRICE_DEFAULTED = "xero_defaults_unit_price_from_item"
W_DESCRIPTION = "xero_has_no_invoice_description"
W_JOURNAL = "xero_has_no_journals"
W_ITEM_ACCOUNT = "xero_item_account_by_code"

# Xero's invoice statuses (NOTES.md: Writes) -> unified status before payments are looked at.
_INVOICE_STATUSES = {
    "DRAFT": InvoiceStatus.DRAFT,
    "SUBMITTED": InvoiceStatus.DRAFT,  # awaiting approval: not yet booked
    "AUTHORISED": InvoiceStatus.OPEN,
    "PAID": InvoiceStatus.PAID,
    "VOIDED": InvoiceStatus.VOID,
    "DELETED": InvoiceStatus.VOID,
}
BOOKED_STATUSES = frozenset({"AUTHORISED", "PAID", "VOIDED"})

_ACCOUNT_CLASSES = {
    "ASSET": LedgerClassification.ASSET,
    "LIABILITY": LedgerClassification.LIABILITY,
    "EQUITY": LedgerClassification.EQUITY,
    "REVENUE": LedgerClassification.REVENUE,
    "EXPENSE": LedgerClassification.EXPENSE,
}

# Unified address type -> Xero's (Xero keeps a postal (POBOX) and a street address: NOTES.md: Resources).
_ADDRESS_TO_XERO = {AddressType.MAIN: "STREET", AddressType.BILLING: "POBOX", AddressType.SHIPPING: "DELIVERY"}
_ADDRESS_FROM_XERO = {"STREET": AddressType.MAIN, "POBOX": AddressType.BILLING, "DELIVERY": AddressType.SHIPPING}


def _base(obj: XeroObject, key: str, *, id_value: str | None = None) -> dict[str, Any]:
    remote_id = id_value if id_value is not None else clean_text(obj.get(key))
    if not remote_id:
        raise UnexpectedXeroValue(key, obj.get(key), "an id")
    return {
        "id": remote_id,
        "remote_id": remote_id,
        "updated_at": parse_xero_datetime(obj.get("UpdatedDateUTC"), "UpdatedDateUTC"),
        "remote_data": dict(obj),
    }


def _country(value: Any) -> str | None:
    text = clean_text(value)
    # Xero keeps the country as free text; only an ISO alpha-2 code can become the unified country.
    return text.upper() if text and len(text) == 2 and text.isascii() and text.isalpha() else None


# ---------------------------------------------------------------------------------------------- contacts


def _phone(contact: XeroObject) -> str | None:
    phones = contact.get("Phones")
    if not isinstance(phones, list):
        return None
    ordered = sorted(
        (phone for phone in phones if isinstance(phone, dict)), key=lambda p: p.get("PhoneType") != "DEFAULT"
    )
    for phone in ordered:
        parts = [clean_text(phone.get(name)) for name in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")]
        if parts[2]:
            return " ".join(part for part in parts if part)
    return None


def _addresses(contact: XeroObject) -> tuple[Address, ...]:
    found: list[Address] = []
    for raw in contact.get("Addresses") or []:
        if not isinstance(raw, dict):
            continue
        lines = [clean_text(raw.get(f"AddressLine{n}")) for n in range(1, 5)]
        city, region, postal = (clean_text(raw.get(name)) for name in ("City", "Region", "PostalCode"))
        country = _country(raw.get("Country"))
        if not any([*lines, city, region, postal, country]):
            continue  # Xero lists both address types on every contact, empty ones included
        found.append(
            Address(
                type=_ADDRESS_FROM_XERO.get(str(raw.get("AddressType")), AddressType.MAIN),
                line1=lines[0],
                line2=", ".join(line for line in lines[1:] if line) or None,
                postal_code=postal,
                city=city,
                region=region,
                country=country,
            )
        )
    return tuple(found)


def contact_from_xero(contact: XeroObject) -> Contact:
    status = str(contact.get("ContactStatus") or "ACTIVE")
    if status not in ("ACTIVE", "ARCHIVED", "GDPRREQUEST"):
        raise UnexpectedXeroValue("ContactStatus", status, "ACTIVE, ARCHIVED or GDPRREQUEST")
    return Contact(
        **_base(contact, "ContactID"),
        name=clean_text(contact.get("Name")) or "",
        code=clean_text(contact.get("ContactNumber")),
        is_customer=bool(contact.get("IsCustomer")),
        is_supplier=bool(contact.get("IsSupplier")),
        email=clean_text(contact.get("EmailAddress")),
        phone=_phone(contact),
        website=clean_text(contact.get("Website")),
        vat_number=clean_text(contact.get("TaxNumber")),
        chamber_of_commerce_number=clean_text(contact.get("CompanyNumber")),
        addresses=_addresses(contact),
        currency=clean_text(contact.get("DefaultCurrency")),
        status=RecordStatus.ACTIVE if status == "ACTIVE" else RecordStatus.ARCHIVED,
    )


def contact_to_xero(data: ContactInput, *, creating: bool) -> tuple[dict[str, Any], list[Warning]]:
    """ContactInput -> a Contacts body (only the given fields); InvalidInput before any call."""
    warnings: list[Warning] = []
    if creating and not (data.name and data.name.strip()):
        raise InvalidInput("name", "Xero requires a contact name.")
    if data.name is not None and len(data.name.strip()) > 255:
        raise InvalidInput("name", "Xero stores at most 255 characters.")
    payload: dict[str, Any] = {}
    simple = {
        "Name": data.name.strip() if data.name is not None else None,
        "ContactNumber": data.code,
        "EmailAddress": data.email,
        "TaxNumber": data.vat_number,
        "CompanyNumber": data.chamber_of_commerce_number,
        "DefaultCurrency": data.currency,
    }
    payload.update({name: value for name, value in simple.items() if value is not None})
    if data.phone is not None:
        payload["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": data.phone}]
    if data.status is not None:
        payload["ContactStatus"] = "ARCHIVED" if data.status is RecordStatus.ARCHIVED else "ACTIVE"
    if data.addresses is not None:
        payload["Addresses"] = _addresses_to_xero(data.addresses, warnings)
    for name in ("is_customer", "is_supplier"):
        if getattr(data, name) is not None:
            warnings.append(
                Warning(
                    W_CUSTOMER_FLAGS,
                    name,
                    "Xero marks a contact as customer or supplier itself once it has a sales invoice or a bill; "
                    "the flag was not stored.",
                )
            )
    if data.website is not None:
        warnings.append(Warning(W_WEBSITE, "website", "Xero's contact website cannot be set through its API."))
    return payload, warnings


def _addresses_to_xero(addresses: Sequence[Address], warnings: list[Warning]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    used: set[str] = set()
    for index, address in enumerate(addresses):
        xero_type = _ADDRESS_TO_XERO[address.type]
        if xero_type == "DELIVERY" or xero_type in used:
            # Xero keeps one street and one postal address.
            xero_type = next((kind for kind in ("STREET", "POBOX") if kind not in used), "")
            if not xero_type:
                raise InvalidInput(f"addresses[{index}]", "Xero stores at most two addresses (street and postal).")
            warnings.append(
                Warning(
                    W_ADDRESS_TYPE,
                    f"addresses[{index}]",
                    f"Xero has no {address.type} address of its own; it was stored as the "
                    f"{'street' if xero_type == 'STREET' else 'postal'} address.",
                )
            )
        used.add(xero_type)
        body = {
            "AddressType": xero_type,
            "AddressLine1": address.line1,
            "AddressLine2": address.line2,
            "City": address.city,
            "Region": address.region,
            "PostalCode": address.postal_code,
            "Country": address.country,
        }
        result.append({name: value for name, value in body.items() if value is not None})
    return result


# ---------------------------------------------------------------------------------------------- invoices

ItemIds = Callable[[str], str | None]


def _line_from_xero(line: XeroObject, item_ids: ItemIds, *, inclusive: bool) -> InvoiceLine:
    amount = to_money(line.get("LineAmount"), "LineAmount") or ZERO
    tax = to_money(line.get("TaxAmount"), "TaxAmount") or ZERO
    item_code = clean_text(line.get("ItemCode"))
    return InvoiceLine(
        id=clean_text(line.get("LineItemID")),
        description=clean_text(line.get("Description")),
        quantity=to_decimal(line.get("Quantity"), "Quantity") or Decimal(1),
        unit_price=to_decimal(line.get("UnitAmount"), "UnitAmount"),
        item_id=item_ids(item_code) if item_code else None,
        ledger_account_id=clean_text(line.get("AccountID")),
        tax_rate_id=clean_text(line.get("TaxType")),
        net_amount=amount - tax if inclusive else amount,
        tax_amount=tax,
    )


def invoice_payment_status(invoice: XeroObject) -> InvoiceStatus:
    status = str(invoice.get("Status") or "")
    if status not in _INVOICE_STATUSES:
        raise UnexpectedXeroValue("Status", invoice.get("Status"), ", ".join(_INVOICE_STATUSES))
    unified = _INVOICE_STATUSES[status]
    if unified is InvoiceStatus.OPEN:
        paid = (to_money(invoice.get("AmountPaid"), "AmountPaid") or ZERO) + (
            to_money(invoice.get("AmountCredited"), "AmountCredited") or ZERO
        )
        if paid > 0:
            return InvoiceStatus.PARTIALLY_PAID
    return unified


def invoice_from_xero(invoice: XeroObject, *, item_ids: ItemIds, key: str = "InvoiceID") -> Invoice:
    """An ACCREC invoice (with its LineItems when Xero sent them) -> Invoice."""
    if invoice.get("Type") != "ACCREC":
        raise UnexpectedXeroValue("Type", invoice.get("Type"), "ACCREC (a sales invoice)")
    inclusive = invoice.get("LineAmountTypes") == "Inclusive"
    raw_lines = invoice.get("LineItems")
    lines = tuple(
        _line_from_xero(line, item_ids, inclusive=inclusive)
        for line in (raw_lines if isinstance(raw_lines, list) else [])
        if isinstance(line, dict)
    )
    net_total = to_money(invoice.get("SubTotal"), "SubTotal")
    tax_total = to_money(invoice.get("TotalTax"), "TotalTax")
    if net_total is None:
        net_total = sum((line.net_amount for line in lines), ZERO)
    if tax_total is None:
        tax_total = sum((line.tax_amount for line in lines), ZERO)
    contact = invoice.get("Contact") if isinstance(invoice.get("Contact"), dict) else {}
    return Invoice(
        **_base(invoice, key),
        number=clean_text(invoice.get("InvoiceNumber")),
        type=InvoiceType.INVOICE,
        status=invoice_payment_status(invoice),
        finalized=str(invoice.get("Status")) in BOOKED_STATUSES,
        contact_id=clean_text(contact.get("ContactID")),
        issue_date=parse_xero_date(invoice.get("Date"), "Date"),
        due_date=parse_xero_date(invoice.get("DueDate"), "DueDate"),
        currency=clean_text(invoice.get("CurrencyCode")),
        reference=clean_text(invoice.get("Reference")),
        description=None,
        journal_code=None,
        lines=lines,
        net_total=net_total,
        tax_total=tax_total,
        total=to_money(invoice.get("Total"), "Total") or net_total + tax_total,
    )


def credit_note_status(document: XeroObject) -> InvoiceStatus:
    """A credit note's status: like an invoice's, with RemainingCredit (what is not yet allocated or refunded) as
    what is still open."""
    status = invoice_payment_status({**document, "AmountPaid": None, "AmountCredited": None})
    if status is InvoiceStatus.OPEN:
        total = to_money(document.get("Total"), "Total") or ZERO
        remaining = to_money(document.get("RemainingCredit"), "RemainingCredit")
        if remaining is not None and remaining < total:
            return InvoiceStatus.PARTIALLY_PAID
    return status


def corrected_invoice_id(credit_note: XeroObject) -> str | None:
    """The invoice a credit note corrects: the one invoice its Allocations apply credit to (none, or credit spread
    over several invoices: None). NOTES.md "Credit notes"."""
    allocations = credit_note.get("Allocations")
    invoices = {
        str(parse_guid(str(allocation["Invoice"].get("InvoiceID") or "")) or "")
        for allocation in (allocations if isinstance(allocations, list) else [])
        if isinstance(allocation, dict) and isinstance(allocation.get("Invoice"), dict)
    } - {""}
    return invoices.pop() if len(invoices) == 1 else None


def credit_note_from_xero(credit_note: XeroObject, *, item_ids: ItemIds) -> Invoice:
    """An ACCRECCREDIT credit note (with its LineItems when Xero sent them) -> Invoice of type credit_note (amounts
    positive, as Xero keeps them)."""
    if credit_note.get("Type") != "ACCRECCREDIT":
        raise UnexpectedXeroValue("Type", credit_note.get("Type"), "ACCRECCREDIT (a sales credit note)")
    invoice = invoice_from_xero({**credit_note, "Type": "ACCREC"}, item_ids=item_ids, key="CreditNoteID")
    return dataclasses.replace(
        invoice,
        remote_data=dict(credit_note),
        number=clean_text(credit_note.get("CreditNoteNumber")),
        type=InvoiceType.CREDIT_NOTE,
        status=credit_note_status(credit_note),
        corrects_invoice_id=corrected_invoice_id(credit_note),
    )


class XeroCodes:
    """What invoice_to_xero needs to know about the organisation: item codes by ItemID and the other way."""

    def __init__(
        self, *, item_codes: Mapping[str, str] | None = None, known_item_codes: set[str] | None = None
    ) -> None:
        self.item_codes = dict(item_codes or {})  # ItemID -> Code
        self.known_item_codes = {code.lower() for code in (known_item_codes or set())}

    def code_of_item(self, item_id: str) -> str | None:
        return self.item_codes.get(item_id)

    def has_item_code(self, code: str) -> bool:
        return code.lower() in self.known_item_codes


def invoice_to_xero(
    invoice: InvoiceInput, *, mapping: LedgerMapping, codes: XeroCodes
) -> tuple[dict[str, Any], list[Warning]]:
    """InvoiceInput -> an ACCREC Invoices element, or for a credit note an ACCRECCREDIT CreditNotes element (Xero
    keeps credit notes apart, with positive amounts). MappingMissing or InvalidInput before returning anything."""
    credit_note = invoice.type is InvoiceType.CREDIT_NOTE
    if not invoice.contact_id:
        raise InvalidInput("contact_id", "Xero requires the contact of a sales invoice.")
    if not invoice.lines:
        raise InvalidInput("lines", "Xero requires at least one line item.")
    warnings: list[Warning] = []
    lines = [_line_to_xero(index, line, mapping, codes, warnings) for index, line in enumerate(invoice.lines)]
    if invoice.status is InvoiceStatus.DRAFT:
        status = "DRAFT"
    else:
        status = "AUTHORISED"
        if invoice.status not in (None, InvoiceStatus.OPEN):
            warnings.append(
                Warning(
                    W_STATUS,
                    "status",
                    f"Xero creates sales invoices as draft or approved; '{invoice.status}' follows from payments, "
                    "so the invoice was created approved (open).",
                )
            )
    payload: dict[str, Any] = {
        "Type": "ACCRECCREDIT" if credit_note else "ACCREC",
        "Contact": {"ContactID": invoice.contact_id},
        "LineAmountTypes": "Exclusive",
        "Status": status,
        "LineItems": lines,
    }
    issue = invoice.issue_date or date.today()
    payload["Date"] = format_xero_date(issue)
    if invoice.due_date is not None and invoice.due_date < issue:
        raise InvalidInput("due_date", "The due date is before the issue date.")
    if credit_note:
        if invoice.due_date is not None:
            payload["DueDate"] = format_xero_date(invoice.due_date)
    else:
        # Xero approves a sales invoice only with a due date; without one the issue date is used (due at once).
        payload["DueDate"] = format_xero_date(invoice.due_date or issue)
    number_field = "CreditNoteNumber" if credit_note else "InvoiceNumber"
    optional = {"CurrencyCode": invoice.currency, "Reference": invoice.reference, number_field: invoice.number}
    payload.update({name: value for name, value in optional.items() if value is not None})
    if invoice.description is not None:
        warnings.append(
            Warning(W_DESCRIPTION, "description", "Xero invoices have no description of their own; it was not stored.")
        )
    if invoice.journal_code is not None:
        warnings.append(Warning(W_JOURNAL, "journal_code", "Xero has no sales journals; the journal was not used."))
    return payload, warnings


def _line_to_xero(
    index: int, line: InvoiceLineInput, mapping: LedgerMapping, codes: XeroCodes, warnings: list[Warning]
) -> dict[str, Any]:
    where = f"lines[{index}]"
    body: dict[str, Any] = {"Quantity": line.quantity}
    item_code: str | None = None
    if line.item_id:
        item_code = codes.code_of_item(line.item_id)
        if item_code is None:
            raise InvalidInput(f"{where}.item_id", "Not an item of this organisation.")
    elif line.item_code:
        item_code = mapping.vendor_item_code(line.item_code)
        if not codes.has_item_code(item_code):
            raise MappingMissing(
                "items_by_code",
                f"{where}: item code '{line.item_code}' matches no Xero item (looked for code '{item_code}').",
            )
    elif mapping.default_item and not line.ledger_account_id and not mapping.default_revenue_ledger_account:
        item_code = mapping.default_item
        if not codes.has_item_code(item_code):
            raise MappingMissing("default_item", f"The default item '{item_code}' is not a Xero item code.")
    if item_code:
        body["ItemCode"] = item_code
    if line.ledger_account_id:
        body["AccountID"] = line.ledger_account_id
    elif mapping.default_revenue_ledger_account:
        body["AccountCode"] = mapping.default_revenue_ledger_account
    elif not item_code:
        raise MappingMissing(
            "default_revenue_ledger_account",
            f"{where} names no item or ledger account and the mapping has no default revenue account; Xero needs "
            "an account code on every line of an approved invoice.",
        )
    if line.description is not None:
        body["Description"] = line.description
    elif not item_code:
        raise InvalidInput(f"{where}.description", "Xero requires a description on a line without an item.")
    if line.unit_price is not None:
        body["UnitAmount"] = line.unit_price
    elif item_code:
        warnings.append(
            Warning(W_PRICE_DEFAULTED, f"{where}.unit_price", "The line names no price; Xero uses the item's price.")
        )
    else:
        raise InvalidInput(f"{where}.unit_price", "A line without an item needs a unit price.")
    if line.tax_rate_id:
        body["TaxType"] = line.tax_rate_id  # a TaxRate id of this connection is Xero's TaxType itself
    elif line.tax_code is not None:
        tax_type = mapping.vendor_tax_code(code=line.tax_code)
        if tax_type is None:
            raise MappingMissing("tax_rates", f"{where}: no tax rate mapping for tax code '{line.tax_code}'.")
        body["TaxType"] = tax_type
    elif line.tax_rate is not None:
        tax_type = mapping.vendor_tax_code(rate=line.tax_rate)
        if tax_type is None:
            raise MappingMissing("tax_rates", f"{where}: no tax rate mapping for {line.tax_rate} %.")
        body["TaxType"] = tax_type
    else:
        warnings.append(
            Warning(
                W_TAX_DEFAULTED,
                f"{where}.tax_rate_id",
                "The line names no tax rate; Xero applies the item's or the account's default tax type.",
            )
        )
    return body


# ---------------------------------------------------------------------------------------------- payments


def payment_from_xero(invoice: XeroObject) -> Payment:
    """An approved ACCREC invoice -> the payment state of its receivable (id: the InvoiceID)."""
    if invoice.get("Type") != "ACCREC":
        raise UnexpectedXeroValue("Type", invoice.get("Type"), "ACCREC (a sales invoice)")
    total = to_money(invoice.get("Total"), "Total")
    if total is None:
        raise UnexpectedXeroValue("Total", None, "an amount")
    due = to_money(invoice.get("AmountDue"), "AmountDue")
    status_code = str(invoice.get("Status") or "")
    fully_paid = status_code == "PAID" or (due is not None and due == 0 and status_code == "AUTHORISED")
    open_amount = ZERO if fully_paid else (due if due is not None else total)
    payments = [p for p in invoice.get("Payments") or [] if isinstance(p, dict)]
    payment_dates = [d for d in (parse_xero_date(p.get("Date"), "Payments.Date") for p in payments) if d is not None]
    last_payment = parse_xero_date(invoice.get("FullyPaidOnDate"), "FullyPaidOnDate") or (
        max(payment_dates) if payment_dates else None
    )
    if fully_paid:
        status = PaymentStatus.PAID
    elif open_amount != total:
        status = PaymentStatus.PARTIALLY_PAID
    else:
        status = PaymentStatus.OPEN
    contact = invoice.get("Contact") if isinstance(invoice.get("Contact"), dict) else {}
    return Payment(
        **_base(invoice, "InvoiceID"),
        invoice_id=clean_text(invoice.get("InvoiceID")),
        invoice_number=clean_text(invoice.get("InvoiceNumber")),
        contact_id=clean_text(contact.get("ContactID")),
        amount=total,
        open_amount=open_amount,
        currency=clean_text(invoice.get("CurrencyCode")),
        invoice_date=parse_xero_date(invoice.get("Date"), "Date"),
        due_date=parse_xero_date(invoice.get("DueDate"), "DueDate"),
        is_fully_paid=fully_paid,
        last_payment_date=last_payment,
        reference=clean_text(invoice.get("Reference")),
        status=status,
    )


# ---------------------------------------------------------------------------------------------- ledger


def ledger_account_from_xero(account: XeroObject) -> LedgerAccount:
    account_class = str(account.get("Class") or "")
    if account_class not in _ACCOUNT_CLASSES:
        raise UnexpectedXeroValue("Class", account.get("Class"), ", ".join(_ACCOUNT_CLASSES))
    status = str(account.get("Status") or "ACTIVE")
    if status not in ("ACTIVE", "ARCHIVED", "DELETED"):
        raise UnexpectedXeroValue("Status", status, "ACTIVE, ARCHIVED or DELETED")
    return LedgerAccount(
        **_base(account, "AccountID"),
        # Bank accounts may have no code in Xero; their name stands in.
        code=clean_text(account.get("Code")) or clean_text(account.get("Name")) or "",
        name=clean_text(account.get("Name")) or "",
        classification=_ACCOUNT_CLASSES[account_class],
        status=RecordStatus.ACTIVE if status == "ACTIVE" else RecordStatus.ARCHIVED,
    )


def tax_rate_from_xero(rate: XeroObject) -> TaxRate:
    tax_type = clean_text(rate.get("TaxType"))
    if not tax_type:
        raise UnexpectedXeroValue("TaxType", rate.get("TaxType"), "a tax type code")
    percent = to_decimal(rate.get("EffectiveRate"), "EffectiveRate")
    if percent is None:
        percent = to_decimal(rate.get("DisplayTaxRate"), "DisplayTaxRate") or Decimal(0)
    revenue = bool(rate.get("CanApplyToRevenue"))
    expenses = bool(rate.get("CanApplyToExpenses"))
    usage = TaxUsage.BOTH if revenue == expenses else (TaxUsage.SALES if revenue else TaxUsage.PURCHASE)
    return TaxRate(
        id=tax_type,
        remote_id=tax_type,
        remote_data=dict(rate),
        code=tax_type,
        name=clean_text(rate.get("Name")) or tax_type,
        rate=percent.normalize() if percent == percent.to_integral_value() else percent,
        type=TaxType.NONE if percent == 0 else TaxType.EXCLUSIVE,
        usage=usage,
    )


def item_from_xero(item: XeroObject, *, currency: str | None = None) -> Item:
    sales = item.get("SalesDetails") if isinstance(item.get("SalesDetails"), dict) else {}
    return Item(
        **_base(item, "ItemID"),
        code=clean_text(item.get("Code")) or "",
        name=clean_text(item.get("Name")) or clean_text(item.get("Code")) or "",
        description=clean_text(item.get("Description")),
        unit_price=to_decimal(sales.get("UnitPrice"), "SalesDetails.UnitPrice"),
        currency=currency,
        sales_tax_rate_id=clean_text(sales.get("TaxType")),
        revenue_ledger_account_id=None,  # Xero names the account by code (SalesDetails.AccountCode)
        is_sales_item=item.get("IsSold") is not False,
        status=RecordStatus.ACTIVE,
    )


def item_to_xero(data: ItemInput, *, account_code: str | None) -> tuple[dict[str, Any], list[Warning]]:
    if not (data.code and data.code.strip()):
        raise InvalidInput("code", "Xero requires an item code.")
    if len(data.code.strip()) > 30:
        raise InvalidInput("code", "Xero item codes have at most 30 characters.")
    payload: dict[str, Any] = {"Code": data.code.strip(), "IsSold": bool(data.is_sales_item)}
    if data.name is not None:
        payload["Name"] = data.name
    if data.description is not None:
        payload["Description"] = data.description
    sales: dict[str, Any] = {}
    if data.unit_price is not None:
        sales["UnitPrice"] = data.unit_price
    if data.sales_tax_rate_id is not None:
        sales["TaxType"] = data.sales_tax_rate_id
    if account_code is not None:
        sales["AccountCode"] = account_code
    if sales:
        payload["SalesDetails"] = sales
    return payload, []
