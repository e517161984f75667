"""The entity sets the sandbox serves: URL, Edm properties (from key_entities.json), methods, derived fields."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from connectors.exact.sandbox.store import DivisionStore, Table

SCHEMA_PATH = Path(__file__).with_name("schema") / "key_entities.json"
NORMAL_PAGE_SIZE = 60  # KB Restrictions: "at most 60 records per request" on CRUD endpoints.
BULK_PAGE_SIZE = 1000  # Bulk and sync reference pages: "This bulk service has a page size of 1000."

Extractor = Callable[[Any], Any]


@dataclass(frozen=True)
class Property:
    name: str
    edm: str
    methods: str  # "G", "GP", "GPP", "GPPD" as in the reference (GET / POST / PUT / DELETE)
    pk: bool

    @property
    def postable(self) -> bool:
        return len(self.methods) >= 2

    @property
    def updatable(self) -> bool:
        return len(self.methods) >= 3

    @property
    def is_navigation(self) -> bool:
        return not self.edm.startswith("Edm.")


@dataclass(frozen=True)
class EntitySet:
    """One URL the sandbox serves, e.g. crm/Accounts."""

    path: str
    schema: str
    type_name: str
    kind: str  # "crud" | "sync" | "bulk" | "me" | "divisions" | "action" | "deleted"
    table: str | None
    key: str
    methods: frozenset[str]
    page_size: int = NORMAL_PAGE_SIZE
    topic: str | None = None
    # Line collection property -> path of the line entity set.
    navigations: Mapping[str, str] = field(default_factory=dict)
    select_required: bool = False
    # Some regular endpoints refuse a list with neither $select nor $top (NOTES.md: OData; e.g. GeneralJournalEntries).
    select_or_top: bool = False
    # Properties $filter may use (sync endpoints: only Timestamp); None = all.
    filterable: frozenset[str] | None = None
    # Mandatory filtering: a GET of the collection must $filter on at least one of these (in Exact's order).
    mandatory_filter: tuple[str, ...] = ()

    @property
    def properties(self) -> tuple[Property, ...]:
        return schema_properties(self.schema)

    @property
    def property_map(self) -> dict[str, Property]:
        return {p.name: p for p in self.properties}

    @property
    def data_properties(self) -> dict[str, str]:
        """Name -> Edm type of the scalar properties (what $select and $filter may name)."""
        return {p.name: p.edm for p in self.properties if not p.is_navigation}

    @property
    def key_type(self) -> str:
        return self.property_map[self.key].edm


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


@cache
def schema_properties(schema: str) -> tuple[Property, ...]:
    return tuple(Property(p["name"], p["type"], p["methods"], bool(p["pk"])) for p in _schema()[schema]["properties"])


# Mandatory filtering (NOTES.md: Rate limits): the fields Exact's 400 lists for crm/Accounts, verbatim from the
# message quoted in picqer#591 (bulk/CRM/Accounts the same).
_ACCOUNT_MANDATORY_TEXT = (
    "Accountant,AccountManager,AddressLine1,AddressLine2,AddressLine3,Blocked,BRIN,BSN,ChamberOfCommerce,City,"
    "Classification1,Classification2,Classification3,Classification4,Classification5,Classification6,"
    "Classification7,Classification8,Classification,Code,CodeAtSupplier,Country,Created,Email,EndDate,Fax,ID,"
    "InvoiceAccount,IsAccountant,IsReseller,IsSales,IsSupplier,MainContact,Modified,Name,Parent,Phone,Postcode,"
    "PriceList,Reseller,RSIN,SearchCode,StartDate,Status,Type,VATNumber"
)
ACCOUNT_MANDATORY_FILTER = tuple(_ACCOUNT_MANDATORY_TEXT.split(","))
# logistics/Items: the quoted message is cut after FreeBoolField_05 (picqer#591); the rest of the list continues
# it alphabetically with the other free fields and ID, IsSalesItem, Modified, SearchCode, StartDate (assumed).
ITEM_MANDATORY_FILTER = (
    "Barcode",
    *(f"Class_{n:02d}" for n in range(1, 11)),
    "Code",
    "CostPriceNew",
    "Created",
    "Description",
    "EndDate",
    "ExtraDescription",
    *(f"FreeBoolField_{n:02d}" for n in range(1, 6)),
    *(f"FreeDateField_{n:02d}" for n in range(1, 6)),
    *(f"FreeNumberField_{n:02d}" for n in range(1, 9)),
    *(f"FreeTextField_{n:02d}" for n in range(1, 11)),
    "ID",
    "IsSalesItem",
    "Modified",
    "SearchCode",
    "StartDate",
)

_M = "Exact.Web.Api.Models."


def _sync(path: str, schema: str, table: str, type_name: str) -> EntitySet:
    """A sync endpoint: GET only, Timestamp order and key, pages of 1000, $filter on Timestamp only."""
    return EntitySet(
        path,
        schema,
        _M + type_name,
        "sync",
        table,
        "Timestamp",
        frozenset({"GET"}),
        page_size=BULK_PAGE_SIZE,
        filterable=frozenset({"Timestamp"}),
    )


def _bulk(path: str, schema: str, table: str, type_name: str, mandatory: tuple[str, ...]) -> EntitySet:
    """A bulk endpoint: GET only, key order, pages of 1000, $select mandatory."""
    return EntitySet(
        path,
        schema,
        _M + type_name,
        "bulk",
        table,
        "ID",
        frozenset({"GET"}),
        page_size=BULK_PAGE_SIZE,
        select_required=True,
        mandatory_filter=mandatory,
    )


# The sync and bulk endpoints behind the unified resources (NOTES.md: Sync, deleted and bulk):
# (path, schema, table, type name[, mandatory filter]).
_SYNC_SETS = [
    ("sync/CRM/Contacts", "CRM/Contacts", "Contacts", "Sync.CRM.Contact"),
    ("sync/Financial/GLAccounts", "Financial/GLAccounts", "GLAccounts", "Sync.Financial.GLAccount"),
    (
        "sync/Financial/TransactionLines",
        "Financial/TransactionLines",
        "TransactionLines",
        "Sync.Financial.TransactionLine",
    ),
    ("sync/Logistics/Items", "Logistics/Items", "Items", "Sync.Logistics.Item"),
    # Payment terms are the open items of receivables and payables; the sandbox books receivables only.
    ("sync/Cashflow/PaymentTerms", "Cashflow/PaymentTerms", "Receivables", "Sync.Cashflow.PaymentTerm"),
]
_BULK_SETS = [
    ("bulk/CRM/Contacts", "Contacts", "Contacts", "Bulk.CRM.Contact", ()),
    ("bulk/Financial/GLAccounts", "GLAccounts", "GLAccounts", "Bulk.Financial.GLAccount", ()),
    ("bulk/Financial/TransactionLines", "TransactionLines", "TransactionLines", "Bulk.Financial.TransactionLine", ()),
    ("bulk/Logistics/Items", "Items", "Items", "Bulk.Logistics.Item", ITEM_MANDATORY_FILTER),
    ("bulk/Cashflow/Receivables", "Receivables", "Receivables", "Bulk.Cashflow.Receivable", ()),
    ("bulk/Cashflow/Payments", "Payments", "Payments", "Bulk.Cashflow.Payment", ()),
]
_ALL = frozenset({"GET", "POST", "PUT", "DELETE"})
_GET = frozenset({"GET"})

ENTITY_SETS: dict[str, EntitySet] = {
    e.path: e
    for e in [
        EntitySet("current/Me", "Me", "Exact.Web.Api.System.Me", "me", None, "UserID", _GET),
        EntitySet("system/Divisions", "Divisions", _M + "System.Division", "divisions", None, "Code", _GET),
        EntitySet("system/AllDivisions", "AllDivisions", _M + "System.AllDivision", "divisions", None, "Code", _GET),
        # Accessible divisions within one licence (NOTES.md: Divisions); the HID property is spelled HID here.
        EntitySet("hrm/Divisions", "HRMDivisions", _M + "HRM.Division", "divisions", None, "Code", _GET),
        # The division's financial periods (REF FinancialPeriods), computed: see resources._period_rows.
        EntitySet(
            "financial/FinancialPeriods", "FinancialPeriods", _M + "FinancialPeriod", "periods", None, "ID", _GET
        ),
        # Exact's jump-start for sync: a Timestamp for a modified date (NOTES.md: Sync, deleted and bulk).
        EntitySet(
            "read/sync/Sync/SyncTimestamp",
            "SyncTimestamp",
            _M + "Sync.SyncTimestamp",
            "function",
            None,
            "Modified",
            _GET,
        ),
        EntitySet(
            "crm/Accounts",
            "Accounts",
            _M + "Account",
            "crud",
            "Accounts",
            "ID",
            _ALL,
            topic="Accounts",
            mandatory_filter=ACCOUNT_MANDATORY_FILTER,
            navigations={"BankAccounts": "crm/BankAccounts"},
        ),
        EntitySet("crm/Contacts", "Contacts", _M + "Contact", "crud", "Contacts", "ID", _ALL, topic="Contacts"),
        # Read here; the sandbox has no write rules for bank accounts (Exact also takes POST/PUT/DELETE).
        EntitySet(
            "crm/BankAccounts",
            "BankAccounts",
            _M + "BankAccount",
            "crud",
            "BankAccounts",
            "ID",
            _GET,
            topic="BankAccounts",
        ),
        EntitySet(
            "salesinvoice/SalesInvoices",
            "SalesInvoices",
            _M + "SalesInvoice",
            "crud",
            "SalesInvoices",
            "InvoiceID",
            _ALL,
            topic="SalesInvoices",
            navigations={"SalesInvoiceLines": "salesinvoice/SalesInvoiceLines"},
        ),
        EntitySet(
            "salesinvoice/SalesInvoiceLines",
            "SalesInvoiceLines",
            _M + "SalesInvoiceLine",
            "crud",
            "SalesInvoiceLines",
            "ID",
            _ALL,
            topic="SalesInvoices",
        ),
        EntitySet(
            "salesinvoice/PrintedSalesInvoices",
            "PrintedSalesInvoices",
            _M + "PrintedSalesInvoice",
            "action",
            None,
            "InvoiceID",
            frozenset({"POST"}),
        ),
        # POST only: turns sales orders into sales invoices (reference InvoiceSalesOrders; NOTES.md: Entities).
        EntitySet(
            "salesinvoice/InvoiceSalesOrders",
            "InvoiceSalesOrders",
            _M + "InvoiceSalesOrder",
            "action",
            None,
            "ID",
            frozenset({"POST"}),
            navigations={"SalesOrderIDs": "salesinvoice/SalesOrderID"},
        ),
        EntitySet(
            "salesentry/SalesEntries",
            "SalesEntries",
            _M + "SalesEntry",
            "crud",
            "SalesEntries",
            "EntryID",
            _ALL,
            topic="SalesEntries",
            navigations={"SalesEntryLines": "salesentry/SalesEntryLines"},
        ),
        EntitySet(
            "salesentry/SalesEntryLines",
            "SalesEntryLines",
            _M + "SalesEntryLine",
            "crud",
            "SalesEntryLines",
            "ID",
            _ALL,
            topic="SalesEntries",
        ),
        EntitySet(
            "purchaseentry/PurchaseEntries",
            "PurchaseEntries",
            _M + "PurchaseEntry",
            "crud",
            "PurchaseEntries",
            "EntryID",
            _ALL,
            topic="PurchaseEntries",
            navigations={"PurchaseEntryLines": "purchaseentry/PurchaseEntryLines"},
        ),
        EntitySet(
            "purchaseentry/PurchaseEntryLines",
            "PurchaseEntryLines",
            _M + "PurchaseEntryLine",
            "crud",
            "PurchaseEntryLines",
            "ID",
            _ALL,
            topic="PurchaseEntries",
        ),
        # Documents and their attachments (NOTES.md: Documents): Documents takes GET, POST, PUT and DELETE,
        # DocumentAttachments GET, POST and DELETE (the reference); both are in the webhook topic Documents.
        EntitySet(
            "documents/Documents",
            "Documents",
            _M + "Document",
            "crud",
            "Documents",
            "ID",
            _ALL,
            topic="Documents",
        ),
        EntitySet(
            "documents/DocumentAttachments",
            "DocumentAttachments",
            _M + "DocumentAttachment",
            "crud",
            "DocumentAttachments",
            "ID",
            frozenset({"GET", "POST", "DELETE"}),
            topic="Documents",
        ),
        # GET, POST and DELETE (no PUT), as the reference lists them; a list needs $select or $top (NOTES.md: OData).
        EntitySet(
            "generaljournalentry/GeneralJournalEntries",
            "GeneralJournalEntries",
            _M + "GeneralJournalEntry",
            "crud",
            "GeneralJournalEntries",
            "EntryID",
            frozenset({"GET", "POST", "DELETE"}),
            topic="GeneralJournalEntries",
            navigations={"GeneralJournalEntryLines": "generaljournalentry/GeneralJournalEntryLines"},
            select_or_top=True,
        ),
        # Projects and their time entries (reference Projects, TimeTransactions: GET, POST, PUT, DELETE; the endpoint
        # index gives TimeTransactions a webhook, Projects none). Employees are read-only (payroll/Employees, GET).
        EntitySet("project/Projects", "Projects", _M + "Project", "crud", "Projects", "ID", _ALL),
        EntitySet(
            "project/TimeTransactions",
            "TimeTransactions",
            _M + "TimeTransaction",
            "crud",
            "TimeTransactions",
            "ID",
            _ALL,
            topic="TimeTransactions",
        ),
        EntitySet(
            "project/CostTransactions",
            "CostTransactions",
            _M + "CostTransaction",
            "crud",
            "CostTransactions",
            "ID",
            _ALL,
            topic="CostTransactions",
        ),
        EntitySet("payroll/Employees", "Employees", _M + "Employee", "crud", "Employees", "ID", _GET),
        # GET, POST, PUT and DELETE on both (reference SalesOrders, SalesOrderLines); webhook topic SalesOrders.
        EntitySet(
            "salesorder/SalesOrders",
            "SalesOrders",
            _M + "SalesOrder",
            "crud",
            "SalesOrders",
            "OrderID",
            _ALL,
            topic="SalesOrders",
            navigations={"SalesOrderLines": "salesorder/SalesOrderLines"},
        ),
        EntitySet(
            "salesorder/SalesOrderLines",
            "SalesOrderLines",
            _M + "SalesOrderLine",
            "crud",
            "SalesOrderLines",
            "ID",
            _ALL,
            topic="SalesOrders",
        ),
        EntitySet(
            "generaljournalentry/GeneralJournalEntryLines",
            "GeneralJournalEntryLines",
            _M + "GeneralJournalEntryLine",
            "crud",
            "GeneralJournalEntryLines",
            "ID",
            frozenset({"GET", "POST"}),
            topic="GeneralJournalEntries",
        ),
        EntitySet(
            "financial/GLAccounts",
            "GLAccounts",
            _M + "GLAccount",
            "crud",
            "GLAccounts",
            "ID",
            _ALL,
            topic="GLAccounts",
            navigations={"DeductibilityPercentages": "financial/DeductibilityPercentages"},
        ),
        EntitySet(
            "financial/DeductibilityPercentages",
            "DeductibilityPercentages",
            _M + "DeductibilityPercentage",
            "crud",
            "DeductibilityPercentages",
            "ID",
            _GET,
        ),
        EntitySet(
            "vat/VATCodes",
            "VATCodes",
            _M + "VATCode",
            "crud",
            "VATCodes",
            "ID",
            _ALL,
            navigations={"VATPercentages": "vat/VatPercentages"},
        ),
        EntitySet("vat/VatPercentages", "VatPercentages", _M + "VatPercentage", "crud", "VatPercentages", "ID", _GET),
        EntitySet("financial/Journals", "Journals", _M + "Journal", "crud", "Journals", "ID", _ALL),
        EntitySet(
            "logistics/Items",
            "Items",
            _M + "Item",
            "crud",
            "Items",
            "ID",
            _ALL,
            topic="Items",
            mandatory_filter=ITEM_MANDATORY_FILTER,
        ),
        EntitySet(
            "cashflow/Receivables",
            "Receivables",
            _M + "Receivable",
            "crud",
            "Receivables",
            "ID",
            frozenset({"GET", "PUT"}),
        ),
        # The payables mirror of Receivables: one per purchase entry the sandbox books (writes.book_purchase_entry).
        EntitySet("cashflow/Payments", "Payments", _M + "Payment", "crud", "Payments", "ID", frozenset({"GET", "PUT"})),
        EntitySet(
            "financialtransaction/TransactionLines",
            "TransactionLines",
            _M + "FinancialTransaction.TransactionLine",
            "crud",
            "TransactionLines",
            "ID",
            _GET,
        ),
        # GET, POST, PUT and DELETE, as Exact lists them (NOTES.md: Webhooks).
        EntitySet(
            "webhooks/WebhookSubscriptions",
            "WebhookSubscriptions",
            _M + "WebhookSubscription",
            "crud",
            "WebhookSubscriptions",
            "ID",
            _ALL,
        ),
        EntitySet(
            "sync/Deleted",
            "Deleted",
            _M + "Sync.Deleted",
            "deleted",
            None,
            "Timestamp",
            _GET,
            page_size=BULK_PAGE_SIZE,
            # Exact's own sample filters `Timestamp gt {ts}L and EntityType eq 2`.
            filterable=frozenset({"Timestamp", "EntityType"}),
        ),
        EntitySet(
            "sync/CRM/Accounts",
            "CRM/Accounts",
            _M + "Sync.CRM.Account",
            "sync",
            "Accounts",
            "Timestamp",
            _GET,
            page_size=BULK_PAGE_SIZE,
            filterable=frozenset({"Timestamp"}),
        ),
        EntitySet(
            "sync/SalesInvoice/SalesInvoices",
            "SalesInvoice/SalesInvoices",
            _M + "Sync.SalesInvoice.SalesInvoice",
            "sync",
            "SalesInvoiceLines",
            "Timestamp",
            _GET,
            page_size=BULK_PAGE_SIZE,
            filterable=frozenset({"Timestamp"}),
        ),
        EntitySet(
            "bulk/CRM/Accounts",
            "Accounts",
            _M + "Bulk.CRM.Account",
            "bulk",
            "Accounts",
            "ID",
            _GET,
            page_size=BULK_PAGE_SIZE,
            select_required=True,
            mandatory_filter=ACCOUNT_MANDATORY_FILTER,
        ),
        EntitySet(
            "bulk/SalesInvoice/SalesInvoices",
            "SalesInvoices",
            _M + "Bulk.SalesInvoice.SalesInvoice",
            "bulk",
            "SalesInvoices",
            "InvoiceID",
            _GET,
            page_size=BULK_PAGE_SIZE,
            select_required=True,
            navigations={"SalesInvoiceLines": "bulk/SalesInvoice/SalesInvoiceLines"},
        ),
        EntitySet(
            "bulk/SalesInvoice/SalesInvoiceLines",
            "SalesInvoiceLines",
            _M + "Bulk.SalesInvoice.SalesInvoiceLine",
            "bulk",
            "SalesInvoiceLines",
            "ID",
            _GET,
            page_size=BULK_PAGE_SIZE,
            select_required=True,
        ),
        *(_sync(path, schema, table, type_name) for path, schema, table, type_name in _SYNC_SETS),
        *(_bulk(path, schema, table, type_name, mandatory) for path, schema, table, type_name, mandatory in _BULK_SETS),
    ]
}

# Dutch captions Exact uses in its messages ("Verplicht: Besteld door", "Ongeldige referentie: …").
CAPTIONS: dict[str, str] = {
    "Name": "Naam",
    "Code": "Code",
    "Description": "Omschrijving",
    "Account": "Relatie",
    "OrderedBy": "Besteld door",
    "InvoiceTo": "Factuur voor",
    "DeliverTo": "Leveren aan",
    "Customer": "Klant",
    "Item": "Artikel",
    "GLAccount": "Grootboekrekening",
    "VATCode": "Btw-code",
    "Journal": "Journals",
    "InvoiceID": "Factuur",
    "EntryID": "Boeking",
    "AmountFC": "Bedrag",
    "CallbackURL": "CallbackURL",
    "Topic": "Topic",
    "SalesInvoiceLines": "Factuurregels",
    "SalesEntryLines": "Boekingsregels",
    "Supplier": "Leverancier",
    "PurchaseEntryLines": "Boekingsregels",
    "Subject": "Onderwerp",
    "Document": "Document",
    "FileName": "Bestandsnaam",
    "Attachment": "Bijlage",
    "FinancialTransactionEntryID": "Boeking",
    "GeneralJournalEntryLines": "Boekingsregels",
    "SalesOrderLines": "Orderregels",
    "Type": "Type",
    "Quantity": "Aantal",
    "Project": "Project",
    "Employee": "Medewerker",
    "Manager": "Projectmanager",
    "JournalCode": "Dagboek",
    "GLRevenue": "Omzetrekening",
    "SalesVatCode": "Btw-code verkoop",
    "GLToPay": "Af te dragen btw",
    "GLToClaim": "Te vorderen btw",
    "MainContact": "Hoofdcontactpersoon",
}

STATUS_DESCRIPTIONS = {10: "Concept", 20: "Open", 50: "Verwerkt"}
INVOICE_TYPES = {8020: "Verkoopfactuur", 8021: "Creditnota", 8023: "Directe verkoopfactuur", 8024: "Directe creditnota"}
ENTRY_TYPES = {20: "Verkoopboeking", 21: "Creditnota"}
PURCHASE_ENTRY_TYPES = {30: "Inkoopboeking", 31: "Creditnota inkoop"}
GENERAL_ENTRY_TYPES = {10: "Beginbalans", 90: "Overige"}
ORDER_STATUSES = {12: "Open", 20: "Gedeeltelijk", 21: "Volledig", 45: "Geannuleerd"}
# Projects.Type (reference: 1 Campaign, 2 Fixed Price, 3 Time and Material, 4 Non billable, 5 Prepaid).
PROJECT_TYPES = {1: "Campagne", 2: "Vaste prijs", 3: "Nacalculatie", 4: "Niet factureerbaar", 5: "Vooruitbetaald"}
# documents/Documents Type: the types an API client may create (NOTES.md: Documents).
DOCUMENT_TYPES = {10: "Verkoopfactuur", 20: "Inkoopfactuur", 55: "Overige"}
GL_TYPES = {
    10: "Kas",
    12: "Bank",
    14: "Creditcard",
    16: "Betaalservice",
    20: "Debiteuren",
    22: "Crediteuren",
    24: "Btw",
    25: "Loonheffing",
    29: "Tussenrekening",
    32: "Overige vaste activa",
    40: "Overige kortlopende activa",
    50: "Eigen vermogen",
    90: "Overige",
    110: "Omzet",
    111: "Kostprijs van de omzet",
    120: "Overige kosten",
}


# ------------------------------------------------------------------------------------------ value sources


def _lookup(store: DivisionStore, table_name: str, foreign: Extractor, field_name: str) -> Extractor:
    """row -> field of the record the row's foreign key points at."""
    table = store.tables[table_name]
    target = table.getter(field_name)
    rows = table.rows

    def extract(row: Any) -> Any:
        key = foreign(row)
        found = rows.get(key) if key is not None else None
        return None if found is None else target(found)

    return extract


def _lookup_code(store: DivisionStore, table_name: str, foreign: Extractor, field_name: str) -> Extractor:
    """Like _lookup for references by Code (VAT codes, journals are referenced by code, not GUID)."""
    table = store.tables[table_name]
    target = table.getter(field_name)

    def extract(row: Any) -> Any:
        code = foreign(row)
        key = table.by_code(code) if code is not None else None
        return None if key is None else target(table.rows[key])

    return extract


def _same_as(get: Callable[[str], Extractor], name: str) -> Extractor:
    # The sandbox books every division in its own currency at rate 1, so DC amounts equal FC amounts.
    return get(name)


DerivedFactory = Callable[[DivisionStore, Callable[[str], Extractor]], Extractor]


def _fixed(value: Any) -> DerivedFactory:
    return lambda store, get: lambda row: value


def _division(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
    code = store.code
    return lambda row: code


def _described(mapping: Mapping[int, str], name: str) -> DerivedFactory:
    def factory(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
        source = get(name)
        return lambda row: mapping.get(source(row))

    return factory


def _ref(table_name: str, foreign: str, field_name: str, *, by_code: bool = False) -> DerivedFactory:
    def factory(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
        look = _lookup_code if by_code else _lookup
        return look(store, table_name, get(foreign), field_name)

    return factory


def _empty(name: str) -> DerivedFactory:
    def factory(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
        source = get(name)
        return lambda row: not source(row)

    return factory


def _alias(name: str) -> DerivedFactory:
    return lambda store, get: _same_as(get, name)


def _fallback(name: str, table_name: str, foreign: str, field_name: str) -> DerivedFactory:
    """A stored value, else the referenced record's value (line Description falls back to the item's)."""

    def factory(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
        own = get(name)
        other = _lookup(store, table_name, get(foreign), field_name)

        def extract(row: Any) -> Any:
            value = own(row)
            return value if value is not None else other(row)

        return extract

    return factory


def _account_is_sales(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
    status = get("Status")
    # Reference: "If the status field is filled this means the account is a customer" (C).
    return lambda row: status(row) == "C"


def _contact_full_name(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
    parts = [get("FirstName"), get("MiddleName"), get("LastName")]
    return lambda row: " ".join(p for p in (part(row) for part in parts) if p) or None


def _contact_is_main(store: DivisionStore, get: Callable[[str], Extractor]) -> Extractor:
    main = _lookup(store, "Accounts", get("Account"), "MainContact")
    own = get("ID")
    return lambda row: main(row) == own(row)


DERIVED: dict[str, dict[str, DerivedFactory]] = {
    "Accounts": {
        "IsSales": _account_is_sales,
        "IsPurchase": _alias("IsSupplier"),
        "Type": _fixed("A"),
        "SalesVATCodeDescription": _ref("VATCodes", "SalesVATCode", "Description", by_code=True),
        "PurchaseVATCodeDescription": _ref("VATCodes", "PurchaseVATCode", "Description", by_code=True),
        "InvoiceAccountName": _ref("Accounts", "InvoiceAccount", "Name"),
        "InvoiceAccountCode": _ref("Accounts", "InvoiceAccount", "Code"),
    },
    "Contacts": {
        "AccountName": _ref("Accounts", "Account", "Name"),
        "AccountIsSupplier": _ref("Accounts", "Account", "IsSupplier"),
        "FullName": _contact_full_name,
        "IsMainContact": _contact_is_main,
    },
    "SalesInvoices": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "InvoiceToName": _ref("Accounts", "InvoiceTo", "Name"),
        "OrderedByName": _ref("Accounts", "OrderedBy", "Name"),
        "DeliverToName": _ref("Accounts", "DeliverTo", "Name"),
        "JournalDescription": _ref("Journals", "Journal", "Description", by_code=True),
        "StatusDescription": _described(STATUS_DESCRIPTIONS, "Status"),
        "TypeDescription": _described(INVOICE_TYPES, "Type"),
    },
    "SalesInvoiceLines": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "ItemCode": _ref("Items", "Item", "Code"),
        "ItemDescription": _ref("Items", "Item", "Description"),
        "Description": _fallback("Description", "Items", "Item", "Description"),
        "UnitCode": _fallback("UnitCode", "Items", "Item", "Unit"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "VATCodeDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "SalesEntries": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "CustomerName": _ref("Accounts", "Customer", "Name"),
        "JournalDescription": _ref("Journals", "Journal", "Description", by_code=True),
        "StatusDescription": _described(STATUS_DESCRIPTIONS, "Status"),
        "TypeDescription": _described(ENTRY_TYPES, "Type"),
    },
    "SalesEntryLines": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "VATCodeDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "PurchaseEntries": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "SupplierName": _ref("Accounts", "Supplier", "Name"),
        "JournalDescription": _ref("Journals", "Journal", "Description", by_code=True),
        "StatusDescription": _described(STATUS_DESCRIPTIONS, "Status"),
        "TypeDescription": _described(PURCHASE_ENTRY_TYPES, "Type"),
    },
    "PurchaseEntryLines": {
        "AmountDC": _alias("AmountFC"),
        "VATAmountDC": _alias("VATAmountFC"),
        "VATBaseAmountDC": _alias("VATBaseAmountFC"),
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "VATCodeDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "SalesOrders": {
        "OrderedByName": _ref("Accounts", "OrderedBy", "Name"),
        "InvoiceToName": _ref("Accounts", "InvoiceTo", "Name"),
        "DeliverToName": _ref("Accounts", "DeliverTo", "Name"),
        "AmountDC": _alias("AmountFC"),
        "StatusDescription": _described(ORDER_STATUSES, "Status"),
    },
    "Projects": {
        "AccountCode": _ref("Accounts", "Account", "Code"),
        "AccountName": _ref("Accounts", "Account", "Name"),
        "ManagerFullname": _ref("Employees", "Manager", "FullName"),
        "TypeDescription": _described(PROJECT_TYPES, "Type"),
    },
    "CostTransactions": {
        "AccountName": _ref("Accounts", "Account", "Name"),
        "ItemDescription": _ref("Items", "Item", "Description"),
        "ProjectDescription": _ref("Projects", "Project", "Description"),
        "ProjectAccount": _ref("Projects", "Project", "Account"),
    },
    "TimeTransactions": {
        "AccountName": _ref("Accounts", "Account", "Name"),
        "ItemDescription": _ref("Items", "Item", "Description"),
        "ProjectCode": _ref("Projects", "Project", "Code"),
        "ProjectDescription": _ref("Projects", "Project", "Description"),
        "ProjectAccount": _ref("Projects", "Project", "Account"),
    },
    "SalesOrderLines": {
        "AmountDC": _alias("AmountFC"),
        "ItemCode": _ref("Items", "Item", "Code"),
        "ItemDescription": _ref("Items", "Item", "Description"),
        "VATCodeDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "Documents": {
        "AccountCode": _ref("Accounts", "Account", "Code"),
        "AccountName": _ref("Accounts", "Account", "Name"),
        "HasEmptyBody": _empty("Body"),
        "TypeDescription": _described(DOCUMENT_TYPES, "Type"),
    },
    "GeneralJournalEntries": {
        "JournalDescription": _ref("Journals", "JournalCode", "Description", by_code=True),
        "StatusDescription": _described(STATUS_DESCRIPTIONS, "Status"),
        "TypeDescription": _described(GENERAL_ENTRY_TYPES, "Type"),
    },
    "GeneralJournalEntryLines": {
        "AmountDC": _alias("AmountFC"),
        "AccountCode": _ref("Accounts", "Account", "Code"),
        "AccountName": _ref("Accounts", "Account", "Name"),
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
    },
    "GLAccounts": {
        "TypeDescription": _described(GL_TYPES, "Type"),
        "VATDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "VATCodes": {
        "GLToPayCode": _ref("GLAccounts", "GLToPay", "Code"),
        "GLToPayDescription": _ref("GLAccounts", "GLToPay", "Description"),
        "GLToClaimCode": _ref("GLAccounts", "GLToClaim", "Code"),
        "GLToClaimDescription": _ref("GLAccounts", "GLToClaim", "Description"),
    },
    "Journals": {
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "GLAccountType": _ref("GLAccounts", "GLAccount", "Type"),
    },
    "Items": {
        "GLRevenueCode": _ref("GLAccounts", "GLRevenue", "Code"),
        "GLRevenueDescription": _ref("GLAccounts", "GLRevenue", "Description"),
        "GLCostsCode": _ref("GLAccounts", "GLCosts", "Code"),
        "GLCostsDescription": _ref("GLAccounts", "GLCosts", "Description"),
        "SalesVatCodeDescription": _ref("VATCodes", "SalesVatCode", "Description", by_code=True),
    },
    "TransactionLines": {
        "AccountCode": _ref("Accounts", "Account", "Code"),
        "AccountName": _ref("Accounts", "Account", "Name"),
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "JournalDescription": _ref("Journals", "JournalCode", "Description", by_code=True),
        "VATCodeDescription": _ref("VATCodes", "VATCode", "Description", by_code=True),
    },
    "BankAccounts": {
        "AccountName": _ref("Accounts", "Account", "Name"),
    },
    "Receivables": {
        "AmountDC": _alias("AmountFC"),
        "AccountName": _ref("Accounts", "Account", "Name"),
        "AccountCode": _ref("Accounts", "Account", "Code"),
        "GLAccountCode": _ref("GLAccounts", "GLAccount", "Code"),
        "GLAccountDescription": _ref("GLAccounts", "GLAccount", "Description"),
        "JournalDescription": _ref("Journals", "Journal", "Description", by_code=True),
        "TransactionAmountDC": _alias("TransactionAmountFC"),
    },
}


def table_extractor(store: DivisionStore, table_name: str, name: str, edm: str) -> Extractor:
    """row -> value of property `name` for a packed row of `table_name` (stored or derived)."""
    table: Table = store.tables[table_name]
    get = table.getter
    factories = DERIVED.get(table_name, {})
    if name == "Division":
        extract = _division(store, get)
    elif name in factories:
        extract = factories[name](store, get)
    else:
        extract = get(name)
    if edm == "Edm.Boolean":
        # Exact never sends null for a flag: unset reads false.
        inner = extract
        return lambda row: inner(row) is True
    return extract


@cache
def _line_field_names() -> frozenset[str]:
    return frozenset(p.name for p in schema_properties("SalesInvoiceLines")) - {"Division", "InvoiceID"}


def flat_invoice_extractor(store: DivisionStore, name: str, edm: str) -> Extractor:
    """sync/SalesInvoice/SalesInvoices rows are (invoice row, line row): one row per invoice line."""
    if name in _line_field_names() or name == "Timestamp":
        line = table_extractor(store, "SalesInvoiceLines", name, edm)
        return lambda pair: line(pair[1])
    header = table_extractor(store, "SalesInvoices", name, edm)
    return lambda pair: header(pair[0])


def dict_extractor(name: str, edm: str) -> Extractor:
    """Rows that are plain dicts (current/Me, system/Divisions)."""
    if edm == "Edm.Boolean":
        return lambda row: row.get(name) is True
    return lambda row: row.get(name)


def deleted_extractor(store: DivisionStore, name: str) -> Extractor:
    index = {"Timestamp": 0, "ID": 1, "EntityKey": 2, "EntityType": 3, "DeletedBy": 4, "DeletedDate": 5}
    if name == "Division":
        code = store.code
        return lambda row: code
    position = index[name]
    return lambda row: row[position]
