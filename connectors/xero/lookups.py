"""Code lookups in one organisation: item codes and ids, account codes, and the ledger mapping check.

Xero's line items name items and accounts by code (ItemCode, AccountCode) and tax by TaxType code, while the
unified records use ids: these lookups translate, each with one list call (Items, Accounts and TaxRates are not
paged: NOTES.md: Paging), made only when a page or a write needs it.
"""

from __future__ import annotations

from typing import Any

from connectors.xero.calls import TenantApi
from connectors.xero.mappers import XeroCodes
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
