"""Exact endpoints behind each unified resource: entity set, key, the exact `$select` the mappers read.

Facts followed (NOTES.md: OData, Entities):
- Never `$select=*`; some endpoints refuse queries without `$select` (§4.3). Each list below names exactly the
  properties `mappers.py` reads, so `remote_data` holds those properties and nothing else (the rest of an
  Exact object stays reachable through passthrough).
- Invoice lines come with their header through `$expand=SalesInvoiceLines` and `SalesInvoiceLines/<field>`
  selects (§4.3: sub-fields of a navigation property need the expand), so a page of invoices is one call.
- Keys: GUIDs everywhere (`Entity(guid'…')`, §4.10), except that a unified TaxRate id is the VAT *code*
  (mappers: lines, items and accounts reference VAT codes by code), looked up with a `$filter` on Code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any
from uuid import UUID

from connectors.base.data import Resource
from connectors.exact import journal_entries, mappers, projects, purchases, sales_orders
from connectors.exact.odata import Filter, ge

CONTACT_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Name",
    "Code",
    "Status",
    "IsSupplier",
    "Email",
    "Phone",
    "Website",
    "VATNumber",
    "ChamberOfCommerce",
    "AddressLine1",
    "AddressLine2",
    "AddressLine3",
    "Postcode",
    "City",
    "State",
    "Country",
    "Blocked",
    "EndDate",
    "SalesCurrency",
)

INVOICE_FIELDS = (
    "InvoiceID",
    "Created",
    "Modified",
    "Type",
    "Status",
    "InvoiceNumber",
    "InvoiceTo",
    "OrderedBy",
    "InvoiceDate",
    "DueDate",
    "Currency",
    "YourRef",
    "Description",
    "Journal",
    "AmountFCExclVat",
    "VATAmountFC",
    "AmountFC",
)
INVOICE_LINE_FIELDS = (
    "ID",
    "LineNumber",
    "Description",
    "Quantity",
    "UnitPrice",
    "Item",
    "GLAccount",
    "VATCode",
    "AmountFC",
    "VATAmountFC",
)
INVOICE_LINES = "SalesInvoiceLines"

LEDGER_ACCOUNT_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Code",
    "Description",
    "Type",
    "BalanceType",
    "BalanceSide",
    "IsBlocked",
)
TAX_RATE_FIELDS = ("ID", "Created", "Modified", "Code", "Description", "Percentage", "Type", "VATTransactionType")
JOURNAL_FIELDS = ("ID", "Created", "Modified", "Code", "Description", "Type", "Currency", "IsBlocked")
ITEM_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Code",
    "Description",
    "ExtraDescription",
    "StandardSalesPrice",
    "SalesVatCode",
    "GLRevenue",
    "IsSalesItem",
    "EndDate",
)
RECEIVABLE_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Account",
    "AmountFC",
    "TransactionAmountFC",
    "Currency",
    "DueDate",
    "InvoiceDate",
    "InvoiceNumber",
    "IsFullyPaid",
    "Journal",
    "LastPaymentDate",
    "YourRef",
)
# What a receivable needs for the invoice's payment status (mappers.invoice_payment_status).
RECEIVABLE_STATUS_FIELDS = (
    "ID",
    "InvoiceNumber",
    "Journal",
    "AmountFC",
    "TransactionAmountFC",
    "IsFullyPaid",
    "LastPaymentDate",
)


@dataclass(frozen=True)
class ExactResource:
    """One unified resource as an Exact entity set."""

    resource: Resource
    path: str  # entity set relative to the division, e.g. "crm/Accounts"
    key: str  # the GUID key property
    select: tuple[str, ...]
    expand: str | None = None  # a navigation collection read with the header
    expand_select: tuple[str, ...] = ()
    id_is_code: bool = False  # the unified id is the Code (tax rates), not the GUID
    # unified list filter -> (Exact property, kind of value); declared to the core as Connector.list_filters.
    filters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Mandatory filtering (NOTES.md: Rate limits): a list must $filter on one of these properties (those confirmed
    # in Exact's own refusal); `match_all` is such a filter that keeps every row, added when the list has none.
    mandatory_filter: frozenset[str] = frozenset()
    match_all: Filter | None = None

    def select_list(self) -> list[str]:
        nested = [f"{self.expand}/{name}" for name in self.expand_select] if self.expand else []
        return [*self.select, *nested]

    def entity_path(self, key: str) -> str:
        """`crm/Accounts(guid'…')`; `key` must be a validated GUID (see `parse_guid`)."""
        return f"{self.path}(guid'{key}')"


# Every record has a creation date, so this keeps all rows while naming a property Exact accepts as the mandatory
# filter on both crm/Accounts and logistics/Items (Created is in both lists Exact sends).
EVERY_RECORD = ge("Created", datetime(1900, 1, 1))
# Confirmed by Exact's 400 text (NOTES.md: Rate limits); the Items list there is cut short, so only its head counts.
ACCOUNT_FILTER_FIELDS = frozenset({"ID", "Code", "Name", "Created", "Modified", "Status", "IsSales", "IsSupplier"})
ITEM_FILTER_FIELDS = frozenset({"Code", "Created", "Description", "Barcode", "EndDate", "ExtraDescription"})

RESOURCES: Mapping[Resource, ExactResource] = MappingProxyType(
    {
        Resource.CONTACTS: ExactResource(
            Resource.CONTACTS,
            "crm/Accounts",
            "ID",
            CONTACT_FIELDS,
            mandatory_filter=ACCOUNT_FILTER_FIELDS,
            match_all=EVERY_RECORD,
        ),
        Resource.INVOICES: ExactResource(
            Resource.INVOICES,
            "salesinvoice/SalesInvoices",
            "InvoiceID",
            INVOICE_FIELDS,
            expand=INVOICE_LINES,
            expand_select=INVOICE_LINE_FIELDS,
            filters=MappingProxyType({"contact_id": "InvoiceTo"}),
        ),
        Resource.LEDGER_ACCOUNTS: ExactResource(
            Resource.LEDGER_ACCOUNTS, "financial/GLAccounts", "ID", LEDGER_ACCOUNT_FIELDS
        ),
        Resource.TAX_RATES: ExactResource(Resource.TAX_RATES, "vat/VATCodes", "ID", TAX_RATE_FIELDS, id_is_code=True),
        Resource.JOURNALS: ExactResource(Resource.JOURNALS, "financial/Journals", "ID", JOURNAL_FIELDS),
        Resource.ITEMS: ExactResource(
            Resource.ITEMS,
            "logistics/Items",
            "ID",
            ITEM_FIELDS,
            mandatory_filter=ITEM_FILTER_FIELDS,
            match_all=EVERY_RECORD,
        ),
        Resource.PAYMENTS: ExactResource(
            Resource.PAYMENTS,
            "cashflow/Receivables",
            "ID",
            RECEIVABLE_FIELDS,
            filters=MappingProxyType({"contact_id": "Account"}),
        ),
        Resource.PURCHASE_INVOICES: ExactResource(
            Resource.PURCHASE_INVOICES,
            purchases.PATH,
            "EntryID",
            purchases.FIELDS,
            expand=purchases.LINES,
            expand_select=purchases.LINE_FIELDS,
            filters=MappingProxyType({"contact_id": "Supplier"}),
        ),
        Resource.JOURNAL_ENTRIES: ExactResource(
            Resource.JOURNAL_ENTRIES,
            journal_entries.PATH,
            "EntryID",
            journal_entries.FIELDS,
            expand=journal_entries.LINES,
            expand_select=journal_entries.LINE_FIELDS,
        ),
        Resource.SALES_ORDERS: ExactResource(
            Resource.SALES_ORDERS,
            sales_orders.PATH,
            "OrderID",
            sales_orders.FIELDS,
            expand=sales_orders.LINES,
            expand_select=sales_orders.LINE_FIELDS,
            filters=MappingProxyType({"contact_id": "OrderedBy"}),
        ),
        Resource.PROJECTS: ExactResource(
            Resource.PROJECTS,
            projects.PROJECTS_PATH,
            "ID",
            projects.PROJECT_FIELDS,
            filters=MappingProxyType({"contact_id": "Account"}),
        ),
        Resource.TIME_ENTRIES: ExactResource(
            Resource.TIME_ENTRIES,
            projects.TIME_PATH,
            "ID",
            projects.TIME_FIELDS,
            filters=MappingProxyType({"project_id": "Project", "employee_id": "Employee"}),
        ),
        Resource.COST_ENTRIES: ExactResource(
            Resource.COST_ENTRIES,
            projects.COST_PATH,
            "ID",
            projects.COST_FIELDS,
            filters=MappingProxyType({"project_id": "Project", "employee_id": "Employee"}),
        ),
    }
)

# Readers for the resources whose mapper needs nothing but the object (invoices and payments need more).
SIMPLE_READERS: Mapping[Resource, Callable[[Any], Any]] = MappingProxyType(
    {
        Resource.CONTACTS: mappers.contact_from_exact,
        Resource.LEDGER_ACCOUNTS: mappers.ledger_account_from_exact,
        Resource.TAX_RATES: mappers.tax_rate_from_exact,
        Resource.JOURNALS: mappers.journal_from_exact,
        Resource.ITEMS: mappers.item_from_exact,
        Resource.JOURNAL_ENTRIES: journal_entries.journal_entry_from_exact,
        Resource.SALES_ORDERS: sales_orders.sales_order_from_exact,
        Resource.PROJECTS: projects.project_from_exact,
        Resource.TIME_ENTRIES: projects.time_entry_from_exact,
        Resource.COST_ENTRIES: projects.cost_entry_from_exact,
    }
)


def parse_guid(value: str) -> str | None:
    """The canonical lower-case GUID text, or None when `value` is not a GUID (never sent to Exact then)."""
    try:
        return str(UUID(str(value).strip()))
    except (ValueError, AttributeError):
        return None


def without_odata_noise(value: Any) -> Any:
    """Exact's object as `remote_data`: without `__metadata` (URIs and type names of the OData envelope), without
    `{"__deferred": …}` placeholders of collections that were not read, and expanded collections as plain lists.
    Everything Exact said about the record itself is kept. A new object that shares no dict or list with `value`
    (mappers.OwnedExactObject): a mapper keeps it as the record's remote_data without copying it."""
    if isinstance(value, list):
        return [without_odata_noise(item) if isinstance(item, dict | list) else item for item in value]
    if not isinstance(value, dict):
        return value
    cleaned: dict[str, Any] = mappers.OwnedExactObject()
    for name, item in value.items():
        if name == "__metadata":
            continue
        if isinstance(item, dict):
            if "__deferred" in item:
                continue
            if isinstance(item.get("results"), list) and len(item) == 1:
                item = item["results"]
            cleaned[name] = without_odata_noise(item)
        elif isinstance(item, list):
            cleaned[name] = without_odata_noise(item)
        else:  # a leaf (text, number, bool, null): nothing inside to clean, no call per property
            cleaned[name] = item
    return cleaned
