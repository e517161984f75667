"""Code lookups in one organisation: item codes and ids, account codes, and the ledger mapping check.

Xero's line items name items and accounts by code (ItemCode, AccountCode) and tax by TaxType code, while the
unified records use ids: these lookups translate, each with one list call (Items, Accounts and TaxRates are not
paged: NOTES.md: Paging), made only when a page or a write needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from connectors.base.errors import VendorNotFound
from connectors.base.records import InvalidInput
from connectors.xero.calls import TenantApi
from connectors.xero.mappers import XeroCodes, tax_rate_from_xero
from connectors.xero.values import parse_guid


class ItemIds:
    """ItemCode -> ItemID for one page of records; the Items list is read once, on first use."""

    def __init__(self, api: TenantApi) -> None:
        self.api = api
        self._ids: dict[str, str] | None = None

    def __call__(self, code: str) -> str | None:
        if self._ids is None:
            self._ids = {
                str(row["Code"]).lower(): str(row["ItemID"])
                for row in self.api.records("Items", "Items")
                if row.get("Code") and row.get("ItemID")
            }
        return self._ids.get(code.lower())


class StaticItemIds:
    """ItemCode -> ItemID from codes already read (after a write that needed them)."""

    def __init__(self, codes: XeroCodes) -> None:
        self._ids = {code.lower(): item_id for item_id, code in codes.item_codes.items()}

    def __call__(self, code: str) -> str | None:
        return self._ids.get(code.lower())


def NO_ITEMS(code: str) -> str | None:
    return None


class _AnyItem(XeroCodes):
    """For the first pass of a write, before any call: every item is taken to exist (gaps in the mapping show)."""

    def code_of_item(self, item_id: str) -> str | None:
        return "?"

    def has_item_code(self, code: str) -> bool:
        return True


ANY_ITEM = _AnyItem()


def item_codes(api: TenantApi) -> XeroCodes:
    rows = [row for row in api.records("Items", "Items") if row.get("Code") and row.get("ItemID")]
    return XeroCodes(
        item_codes={str(row["ItemID"]): str(row["Code"]) for row in rows},
        known_item_codes={str(row["Code"]) for row in rows},
    )


def account_code(api: TenantApi, account_id: str) -> str | None:
    guid = parse_guid(account_id)
    if guid is None:
        return None
    for row in api.records("Accounts", "Accounts"):
        if str(row.get("AccountID")) == guid:
            return str(row["Code"]) if row.get("Code") else None
    return None


def mapping_problems(api: TenantApi, mapping: Any) -> list[tuple[str, str]]:
    """(field, reason) for each code of the mapping the organisation lacks (one call per kind of code)."""
    problems: list[tuple[str, str]] = []
    if mapping.tax_rates:
        tax_types = {str(row.get("TaxType")): row for row in api.records("TaxRates", "TaxRates")}
        for rule in mapping.tax_rates:
            row = tax_types.get(rule.vendor_code.strip())
            if row is None:
                problems.append(("tax_rates", f"'{rule.vendor_code}' is not a tax type of this organisation."))
            elif row.get("Status") not in (None, "ACTIVE"):
                problems.append(("tax_rates", f"Tax type '{rule.vendor_code}' is not active."))
    if mapping.default_revenue_ledger_account:
        code = mapping.default_revenue_ledger_account.strip()
        accounts = {str(row.get("Code")).lower(): row for row in api.records("Accounts", "Accounts") if row.get("Code")}
        row = accounts.get(code.lower())
        if row is None:
            problems.append(
                ("default_revenue_ledger_account", f"'{code}' is not an account code of this organisation.")
            )
        elif row.get("Status") != "ACTIVE":
            problems.append(("default_revenue_ledger_account", f"Account '{code}' is not active."))
    wanted_items = [("default_item", mapping.default_item)] if mapping.default_item else []
    wanted_items += [("items_by_code", code) for code in dict(mapping.items_by_code).values()]
    if wanted_items:
        known = {str(row.get("Code")).lower() for row in api.records("Items", "Items") if row.get("Code")}
        for field, code in wanted_items:
            if code.strip().lower() not in known:
                problems.append((field, f"'{code}' is not an item code of this organisation."))
    if mapping.default_sales_journal:
        problems.append(("default_sales_journal", "Xero has no sales journals; leave this empty."))
    return problems


# NOTES.md "Line items": the TaxRate flag that allows a tax type on an account of each class.
_CAN_APPLY_BY_CLASS = {
    "ASSET": "CanApplyToAssets",
    "EQUITY": "CanApplyToEquity",
    "EXPENSE": "CanApplyToExpenses",
    "LIABILITY": "CanApplyToLiabilities",
    "REVENUE": "CanApplyToRevenue",
}


def require_contact(api: TenantApi, contact_id: str, field: str = "contact_id") -> None:
    """InvalidInput naming `field` unless the organisation has this contact, active (one read)."""
    guid = parse_guid(contact_id)
    if guid is None:
        raise InvalidInput(field, "Not an id of this connection (Xero ids are GUIDs).")
    try:
        rows = api.records(f"Contacts/{guid}", "Contacts")
    except VendorNotFound:
        rows = []
    if not rows:
        raise InvalidInput(field, "No contact with this id in the organisation.")
    if rows[0].get("ContactStatus") == "ARCHIVED":
        raise InvalidInput(field, "The contact is archived; Xero refuses it on a new document.")


def tax_percentages(api: TenantApi) -> dict[str, Decimal]:
    """TaxType -> the rate in percent (EffectiveRate, as tax_rate_from_xero reads it), one read of TaxRates."""
    return {rate.id: rate.rate for rate in (tax_rate_from_xero(row) for row in api.records("TaxRates", "TaxRates"))}


def line_accounts(
    api: TenantApi,
    lines: Sequence[tuple[str, str | None]],
    *,
    allow_bank: bool = False,
) -> dict[int, dict[str, Any]]:
    """The Accounts row of each line by index, for lines given as (ledger_account_id, tax_rate_id).

    InvalidInput naming the line's field when the account is unknown, not active, a bank account (unless
    `allow_bank`), or when the tax type does not exist or may not be used on the account's class. One read of
    Accounts, and one of TaxRates when a line names a tax type.
    """
    accounts = {str(row.get("AccountID")): row for row in api.records("Accounts", "Accounts")}
    found: dict[int, dict[str, Any]] = {}
    for index, (account_id, _) in enumerate(lines):
        field = f"lines[{index}].ledger_account_id"
        row = accounts.get(parse_guid(account_id) or "")
        if row is None:
            raise InvalidInput(field, "No ledger account with this id in the organisation.")
        if row.get("Status") != "ACTIVE":
            raise InvalidInput(field, "The ledger account is not active; Xero refuses it.")
        if not row.get("Code"):
            raise InvalidInput(field, "The ledger account has no code; Xero names accounts on lines by code.")
        if row.get("Type") == "BANK" and not allow_bank:
            raise InvalidInput(field, "A bank account cannot be used on a line of a bill or credit note in Xero.")
        found[index] = row
    if any(tax_type for _, tax_type in lines):
        rates = {str(row.get("TaxType")): row for row in api.records("TaxRates", "TaxRates")}
        for index, (_, tax_type) in enumerate(lines):
            if not tax_type:
                continue
            field = f"lines[{index}].tax_rate_id"
            rate = rates.get(tax_type.strip())
            if rate is None or rate.get("Status") not in (None, "ACTIVE"):
                raise InvalidInput(field, f"'{tax_type}' is not an active tax type of this organisation.")
            account = found[index]
            flag = _CAN_APPLY_BY_CLASS.get(str(account.get("Class") or ""))
            if flag is not None and rate.get(flag) is False:
                raise InvalidInput(
                    field,
                    f"Xero does not allow tax type '{tax_type}' on account '{account.get('Code')}' "
                    f"({str(account.get('Class')).lower()}).",
                )
    return found
