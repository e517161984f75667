"""The Exact Online connector: regions, app registration, capabilities, and the data half of the contract.

Auth lives in auth.py, HTTP in client.py, per-resource endpoints and `$select` lists in resources.py, paging in
paging.py, code lookups and the mapping check in lookups.py, the passthrough path policy in passthrough.py, and
the translation both ways in mappers.py. This module strings them together; every vendor request goes through
`calls.DivisionApi`, i.e. through the core's CallContext (tokens, 401 retry, NoDivisionAccess, call log) and
the shared (app, division) rate-limit budget.

Decisions:
- Lists are in Exact's key order (no `$orderby`: "will significantly decrease the performance", NOTES.md: OData),
  which is stable; `updated_after` is `Modified ge datetime'…'` in Amsterdam wall-clock time (§4.6), floored to
  the second, and rows at or before the instant itself are dropped here, so "after" is strict.
- `remote_data` is Exact's object as read (the `$select`ed properties) without the OData envelope noise
  (`__metadata`, `__deferred`), expanded lines as a plain list.
- A processed invoice's payment status comes from cashflow/Receivables, fetched once per page of invoices for
  all processed ones together (never a call per invoice).
- Writes map first and raise MappingMissing/InvalidInput before any call. The item and G/L account GUIDs an
  invoice needs come from the shared reference cache (lookups.References), so in steady state an invoice costs the
  POST alone: Exact's POST answers the created invoice with every header property but the lines only as a
  deferred link (NOTES.md: Writes); the gateway names each line's ID itself and, where the lines leave Exact
  nothing to fill in, takes their amounts from the request checked against the answer's totals
  (mappers.predicted_invoice_lines). Otherwise the lines are read once (bench/README.md). A POST Exact refuses
  (a clear refusal: nothing was created) after cached GUIDs were used is sent once more with fresh lookups if any
  GUID changed; an ambiguous failure is never resent. Updates are read back (PUT answers 204).
- Payments are cashflow/Receivables (GET only: Exact has no POST there, §7.6).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from uuid import UUID, uuid4, uuid5

from django.conf import settings

from connectors.base.cache import ReferenceCache, reference_cache
from connectors.base.connector import (
    AuthKind,
    CompanyNoun,
    ConnectorInfo,
    OAuth2Connector,
    Operation,
    Region,
    TokenTiming,
)
from connectors.base.data import (
    CallContext,
    ListQuery,
    OperationNotSupported,
    Page,
    PassthroughResult,
    Resource,
    SyncBatch,
    WriteResult,
)
from connectors.base.errors import VendorError, VendorNotFound, VendorValidationError
from connectors.base.inbound import InboundDelivery, InboundSubscription
from connectors.base.mapping import LedgerMapping
from connectors.base.records import (
    Attachment,
    AttachmentContent,
    AttachmentInput,
    ContactInput,
    CostEntryInput,
    InvalidInput,
    InvoiceInput,
    ItemInput,
    JournalEntryInput,
    ProjectInput,
    PurchaseInvoiceInput,
    SalesOrderInput,
    TimeEntryInput,
)
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser
from connectors.exact import (
    auth,
    documents,
    inbound,
    journal_entries,
    lookups,
    mappers,
    projects,
    purchases,
    sales_orders,
    sync,
)
from connectors.exact.calls import DivisionApi
from connectors.exact.client import ExactClient
from connectors.exact.odata import Filter, Guid, ODataQuery, and_, code_eq, eq, ge, le, or_
from connectors.exact.paging import check_page_size, read_rows
from connectors.exact.passthrough import checked_path
from connectors.exact.resources import (
    CONTACT_FIELDS,
    EVERY_RECORD,
    INVOICE_FIELDS,
    INVOICE_LINE_FIELDS,
    INVOICE_LINES,
    ITEM_FIELDS,
    RECEIVABLE_STATUS_FIELDS,
    RESOURCES,
    SIMPLE_READERS,
    ExactResource,
    parse_guid,
    without_odata_noise,
)
from connectors.exact.values import (
    AMSTERDAM,
    format_exact_date,
    parse_exact_date,
    parse_exact_datetime,
    strip_code,
    to_decimal,
)

# Exact's hosts per region (NOTES.md: OAuth and tokens); the paths are the same on every host.
DEFAULT_REGIONS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "nl": ("Netherlands", "https://start.exactonline.nl"),
        "be": ("Belgium", "https://start.exactonline.be"),
        "de": ("Germany", "https://start.exactonline.de"),
        "uk": ("United Kingdom", "https://start.exactonline.co.uk"),
        "us": ("United States", "https://start.exactonline.com"),
        "es": ("Spain", "https://start.exactonline.es"),
        # Attested only by third-party code (NOTES.md: OAuth and tokens): likely, not officially listed.
        "fr": ("France", "https://start.exactonline.fr"),
    }
)


def region_base_urls() -> dict[str, str]:
    """Base URL per region after settings: EXACT_SANDBOX_URL stands in for all, EXACT_BASE_URLS per region."""
    urls = {code: url for code, (_, url) in DEFAULT_REGIONS.items()}
    if settings.EXACT_SANDBOX_URL:
        urls = {code: f"{settings.EXACT_SANDBOX_URL}/{code}" for code in urls}
    for code, url in settings.EXACT_BASE_URLS.items():
        if code not in urls:
            raise ValueError(f"EXACT_BASE_URLS names unknown region '{code}'.")
        urls[code] = url.rstrip("/")
    return urls


_READ = frozenset({Operation.LIST, Operation.RETRIEVE})
_READ_WRITE = frozenset({Operation.LIST, Operation.RETRIEVE, Operation.CREATE, Operation.UPDATE})
_READ_CREATE = frozenset({Operation.LIST, Operation.RETRIEVE, Operation.CREATE})
_READ_WRITE_DELETE = _READ_WRITE | {Operation.DELETE}
# Time and cost entries: Exact takes PUT and DELETE on both (NOTES.md: Entities, TimeTransactions).
PROJECT_ENTRIES = frozenset({Resource.TIME_ENTRIES, Resource.COST_ENTRIES})

INVOICE_LINES_PATH = "salesinvoice/SalesInvoiceLines"
LINE_ID_NAMESPACE = UUID("6c1b7e0e-3f59-5a8e-9d2b-1e0f4a7c2b91")  # uuid5 namespace of the invoice line ids we assign
# Numbers per receivables/invoices lookup: keeps the $filter short (Exact's URL limit is not documented).
NUMBERS_PER_QUERY = 40
# Exact stores amounts as doubles (NOTES.md: Entities): 15 significant digits, so cents are exact below 10^13.
MAX_SIGNIFICANT_DIGITS = 15
MAX_LINE_AMOUNT = Decimal(10) ** 13
# How far back find_existing looks for a write it cannot identify by a code or reference (a lost answer is recent).
RECOVERY_WINDOW = timedelta(days=2)
# SalesInvoices fields PUT can change (GPP in the reference) and their unified names; InvoiceTo, OrderedBy and
# Journal are GP (fixed once created), Type cannot change meaningfully on an invoice with lines, InvoiceDate and
# InvoiceNumber are G (set when processed), Status is G.
INVOICE_UPDATABLE = {"reference": "YourRef", "description": "Description", "due_date": "DueDate"}
INVOICE_FIXED = ("contact_id", "journal_code", "type", "currency", "number", "issue_date", "status", "lines")


class Unread:
    """A value the caller did not read (None is a value: a division without fiscal years)."""


UNREAD = Unread()


class ExactConnector(OAuth2Connector):
    # Exact's UI calls a set of books an "administration" (its API: a division); refresh tokens are single use
    # and rotate on every refresh (NOTES.md: OAuth and tokens).
    info = ConnectorInfo(
        id="exact",
        display_name="Exact Online",
        company_noun=CompanyNoun(singular="administration", plural="administrations"),
        auth=AuthKind.OAUTH2_ROTATING,
    )
    capabilities = MappingProxyType(
        {
            Resource.CONTACTS.value: _READ_WRITE,
            Resource.INVOICES.value: _READ_WRITE,
            Resource.LEDGER_ACCOUNTS.value: _READ,
            Resource.TAX_RATES.value: _READ,
            Resource.JOURNALS.value: _READ,
            Resource.ITEMS.value: _READ_CREATE,
            Resource.PAYMENTS.value: _READ,
            Resource.PURCHASE_INVOICES.value: _READ_CREATE,
            Resource.JOURNAL_ENTRIES.value: _READ_CREATE,
            Resource.SALES_ORDERS.value: _READ_CREATE,
            Resource.PROJECTS.value: _READ_CREATE,
            Resource.TIME_ENTRIES.value: _READ_WRITE_DELETE,
            Resource.COST_ENTRIES.value: _READ_WRITE_DELETE,
        }
    )
    list_filters = MappingProxyType(
        {resource.value: frozenset(spec.filters) for resource, spec in RESOURCES.items() if spec.filters}
    )
    # Files on purchase and sales invoices as Exact documents (documents.py; NOTES.md: Documents).
    attachment_resources = frozenset(resource.value for resource in documents.ENTRIES)
    attachment_rules = documents.ATTACHMENT_RULES

    def __init__(self, *, references: ReferenceCache | None = None) -> None:
        # None: the process's shared cache for the current REDIS_URL (like the rate-limit budget's store).
        self._reference_cache = references

    def reference_cache(self) -> ReferenceCache:
        return self._reference_cache or reference_cache(settings.REDIS_URL)

    def references(self, ctx: CallContext, api: DivisionApi) -> lookups.References:
        """The item and G/L account GUIDs of the context's division, cached per app, host and division."""
        scope = lookups.reference_scope(
            base_url=self.region(ctx.region).base_url, client_id=ctx.app_client_id, division=ctx.company_id
        )
        return lookups.References(
            api=api, cache=self.reference_cache(), scope=scope, ttl_seconds=settings.EXACT_REFERENCE_CACHE_SECONDS
        )

    def regions(self) -> Mapping[str, Region]:
        urls = region_base_urls()
        return {code: Region(code=code, name=DEFAULT_REGIONS[code][0], base_url=urls[code]) for code in urls}

    def default_app(self) -> AppCredentials | None:
        if not settings.EXACT_CLIENT_ID:
            return None
        return AppCredentials(
            client_id=settings.EXACT_CLIENT_ID,
            client_secret=settings.EXACT_CLIENT_SECRET,
            webhook_secret=settings.EXACT_WEBHOOK_SECRET,
        )

    def authorization_url(self, *, region: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
        return auth.authorization_url(
            base_url=self.region(region).base_url, app=app, redirect_uri=redirect_uri, state=state
        )

    def exchange_code(self, *, region: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
        return auth.exchange_code(base_url=self.region(region).base_url, app=app, code=code, redirect_uri=redirect_uri)

    def refresh_tokens(self, *, region: str, app: AppCredentials, refresh_token: str) -> TokenSet:
        return auth.refresh_tokens(base_url=self.region(region).base_url, app=app, refresh_token=refresh_token)

    def token_timing(self) -> TokenTiming:
        return auth.token_timing()

    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        return ExactClient(base_url=self.region(region).base_url).current_user(access_token=access_token)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        return ExactClient(base_url=self.region(region).base_url).divisions(
            access_token=access_token, via_division=hint_company_id
        )

    # ===================================================================================== data

    def _api(self, ctx: CallContext) -> DivisionApi:
        return DivisionApi(base_url=self.region(ctx.region).base_url, ctx=ctx)

    # ------------------------------------------------------------------ reads

    def list_records(self, ctx: CallContext, resource: Resource, query: ListQuery) -> Page[Any]:
        spec = RESOURCES[Resource(resource)]
        check_page_size(query.page_size)
        conditions = self._list_filters(spec, query)
        odata = ODataQuery(
            select=spec.select_list(),
            filter=and_(*conditions) if conditions else None,
            expand=[spec.expand] if spec.expand else None,
        )
        keep = None
        if query.updated_after is not None:
            after = query.updated_after

            def keep(row: dict[str, Any]) -> bool:
                # Exact's filter is floored to the second; "updated after" is strict, to the millisecond.
                modified = parse_exact_datetime(row.get("Modified"), "Modified")
                return modified is None or modified > after

        api = self._api(ctx)
        rows, next_cursor = read_rows(
            lambda skiptoken: api.page(spec.path, odata, skiptoken=skiptoken),
            cursor=query.cursor,
            page_size=query.page_size,
            key=spec.key,
            keep=keep,
        )
        records = self._records(api, spec, rows, include_remote_data=query.include_remote_data)
        return Page(records=records, next_cursor=next_cursor)

    def _list_filters(self, spec: ExactResource, query: ListQuery) -> list[Filter]:
        conditions: list[Filter] = []
        named: set[str] = set()
        if query.updated_after is not None:
            if query.updated_after.tzinfo is None:
                raise InvalidInput("updated_after", "Give a time zone (e.g. 2025-01-31T10:00:00Z).")
            # Amsterdam wall-clock (odata.literal converts), floored to the second; `keep` makes it strict.
            conditions.append(ge("Modified", query.updated_after.replace(microsecond=0)))
            named.add("Modified")
        for name, value in query.filters.items():
            exact_name = spec.filters.get(name)
            if exact_name is None:
                raise InvalidInput(name, f"{spec.resource.value} cannot be filtered by {name}.")
            guid = parse_guid(value)
            if guid is None:
                raise InvalidInput(name, "Not an id of this connection.")
            conditions.append(eq(exact_name, Guid(guid)))
            named.add(exact_name)
        if spec.match_all is not None and not named & spec.mandatory_filter:
            # Mandatory filtering: Exact refuses a list of this set without a $filter on one of its listed
            # properties (NOTES.md: Rate limits), so a list of everything says so on a property Exact accepts.
            conditions.append(spec.match_all)
        return conditions

    def retrieve_record(
        self, ctx: CallContext, resource: Resource, record_id: str, *, include_remote_data: bool = False
    ) -> Any:
        spec = RESOURCES[Resource(resource)]
        record = self._retrieve(self._api(ctx), spec, record_id)
        return record if include_remote_data else record.without_remote_data()

    def _retrieve(self, api: DivisionApi, spec: ExactResource, record_id: str) -> Any:
        if spec.id_is_code:
            code = str(record_id).strip()
            if not code or len(code) > 20 or not code.isprintable():
                raise VendorNotFound(f"No {spec.resource.value} record '{record_id}'.")
            rows = lookups.rows_by_code(api, spec.path, [code], tuple(f for f in spec.select if f != "Code"))
            if code not in rows:
                raise VendorNotFound(f"No {spec.resource.value} record '{record_id}'.")
            return self._records(api, spec, [rows[code]])[0]
        guid = parse_guid(record_id)
        if guid is None:
            # Not a GUID: Exact could not have such a record; never let it reach the URL.
            raise VendorNotFound(f"No {spec.resource.value} record '{record_id}'.")
        query = ODataQuery(select=spec.select_list(), expand=[spec.expand] if spec.expand else None)
        row = api.entity(spec.entity_path(guid), query)
        return self._records(api, spec, [row])[0]

    def exact_records(self, api: DivisionApi, spec: ExactResource, rows: list[dict[str, Any]]) -> list[Any]:
        """Exact rows of `spec` -> unified records with remote_data (for sync.py)."""
        return self._records(api, spec, rows)

    def _records(
        self, api: DivisionApi, spec: ExactResource, rows: list[dict[str, Any]], *, include_remote_data: bool = True
    ) -> list[Any]:
        """Exact rows -> unified records (with remote_data unless not asked for), with the extra reads a page needs
        done once."""
        # Without remote_data nothing is cleaned or copied for it (a page of 60 invoices: about 0.6 ms less).
        cleaned: list[dict[str, Any]] = (
            [without_odata_noise(row) for row in rows]
            if include_remote_data
            else [mappers.UnkeptExactObject(row) for row in rows]
        )
        if spec.resource is Resource.INVOICES:
            receivables = self._receivables_of(api, cleaned)
            return [
                mappers.invoice_from_exact(row, receivables=mappers.receivables_for_invoice(row, receivables))
                for row in cleaned
            ]
        if spec.resource is Resource.PAYMENTS:
            invoice_ids = self._invoice_ids_of(api, cleaned)
            return [
                mappers.payment_from_exact(
                    row, invoice_id=invoice_ids.get((_number(row), strip_code(row.get("Journal"))))
                )
                for row in cleaned
            ]
        if spec.resource is Resource.PURCHASE_INVOICES:
            payables = self._payables_of(api, cleaned)
            return [
                purchases.purchase_invoice_from_exact(row, payables=payables.get(str(row.get("EntryID")), []))
                for row in cleaned
            ]
        reader = SIMPLE_READERS[spec.resource]
        return [reader(row) for row in cleaned]

    def _payables_of(self, api: DivisionApi, entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """cashflow/Payments of the purchase entries by EntryID: one query per 40 entries."""
        keys = sorted({guid for row in entries if (guid := parse_guid(str(row.get("EntryID") or "")))})
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(keys), NUMBERS_PER_QUERY):
            chunk = keys[start : start + NUMBERS_PER_QUERY]
            query = ODataQuery(
                select=purchases.PAYABLE_FIELDS, filter=or_(*(eq("EntryID", Guid(key)) for key in chunk))
            )
            for row in api.records("cashflow/Payments", query):
                found.setdefault(str(parse_guid(str(row.get("EntryID") or ""))), []).append(row)
        return found

    def _receivables_of(self, api: DivisionApi, invoices: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The receivables of the processed invoices among `invoices`: one query per 40 invoice numbers."""
        numbers = sorted(
            {number for row in invoices if row.get("Status") == mappers.EXACT_PROCESSED and (number := _number(row))}
        )
        return list(self._by_numbers(api, "cashflow/Receivables", numbers, RECEIVABLE_STATUS_FIELDS))

    def _invoice_ids_of(
        self, api: DivisionApi, receivables: list[dict[str, Any]]
    ) -> dict[tuple[int | None, str | None], str]:
        """(invoice number, journal) -> SalesInvoice ID for the receivables' invoices (numbers are per journal)."""
        numbers = sorted({number for row in receivables if (number := _number(row))})
        found = self._by_numbers(api, "salesinvoice/SalesInvoices", numbers, ("InvoiceID", "InvoiceNumber", "Journal"))
        return {(_number(row), strip_code(row.get("Journal"))): str(row["InvoiceID"]) for row in found}

    def _by_numbers(
        self, api: DivisionApi, path: str, numbers: list[int], select: tuple[str, ...]
    ) -> Iterable[dict[str, Any]]:
        for start in range(0, len(numbers), NUMBERS_PER_QUERY):
            chunk = numbers[start : start + NUMBERS_PER_QUERY]
            query = ODataQuery(select=select, filter=or_(*(eq("InvoiceNumber", number) for number in chunk)))
            yield from api.records(path, query)

    # ------------------------------------------------------------------ sync (sync.py)

    sync_resources = frozenset(resource.value for resource in sync.SOURCES)

    def sync_begin(self, ctx: CallContext, resource: Resource) -> str:
        return sync.sync_begin(self._api(ctx), Resource(resource))

    def sync_next(self, ctx: CallContext, resource: Resource, checkpoint: str) -> SyncBatch[Any]:
        return sync.sync_next(
            self, self._api(ctx), Resource(resource), checkpoint, deleted_every=settings.EXACT_SYNC_DELETED_SECONDS
        )

    def sync_fetch(self, ctx: CallContext, resource: Resource, remote_ids: list[str]) -> list[Any]:
        return sync.fetch_changed(self, self._api(ctx), Resource(resource), remote_ids)

    def sync_epoch(self, ctx: CallContext) -> str:
        return sync.division_epoch(self._api(ctx))

    # ------------------------------------------------------------------ inbound webhooks (inbound.py)

    inbound_topics = frozenset(inbound.TOPICS)

    def inbound_subscribe(self, ctx: CallContext, callback_url: str) -> list[InboundSubscription]:
        return inbound.subscribe(self._api(ctx), callback_url)

    def inbound_unsubscribe(self, ctx: CallContext, remote_ids: list[str]) -> None:
        inbound.unsubscribe(self._api(ctx), remote_ids)

    def inbound_parse(self, body: bytes, headers: Mapping[str, str]) -> InboundDelivery:
        return inbound.parse(body)

    def inbound_verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        return inbound.verify(body, secret)

    # ------------------------------------------------------------------ writes

    def create_record(self, ctx: CallContext, resource: Resource, data: Any, *, mapping: Any) -> WriteResult[Any]:
        resource = Resource(resource)
        if resource in (Resource.INVOICES, Resource.PURCHASE_INVOICES) and data.corrects_invoice_id is not None:
            # NOTES.md "Credit notes": no Exact property links a credit note to the invoice it corrects.
            raise InvalidInput(
                "corrects_invoice_id",
                "Exact Online keeps no link from a credit note to the invoice it corrects; leave this out (the two "
                "are matched in Exact's open items, not on the entry).",
            )
        if resource is Resource.CONTACTS:
            return self._create_contact(ctx, data)
        if resource is Resource.INVOICES:
            return self._create_invoice(ctx, data, mapping or LedgerMapping())
        if resource is Resource.ITEMS:
            return self._create_item(ctx, data)
        if resource is Resource.PURCHASE_INVOICES:
            return self._create_purchase_invoice(ctx, data, mapping or LedgerMapping())
        if resource is Resource.JOURNAL_ENTRIES:
            return self._create_journal_entry(ctx, data, mapping or LedgerMapping())
        if resource is Resource.SALES_ORDERS:
            return self._create_sales_order(ctx, data)
        if resource is Resource.PROJECTS:
            return self._create_project(ctx, data)
        if resource is Resource.TIME_ENTRIES:
            return self._create_project_entry(ctx, data, Resource.TIME_ENTRIES, projects.time_entry_to_exact(data))
        if resource is Resource.COST_ENTRIES:
            return self._create_project_entry(ctx, data, Resource.COST_ENTRIES, projects.cost_entry_to_exact(data))
        raise OperationNotSupported(resource.value, Operation.CREATE, self.name)

    def _create_journal_entry(
        self, ctx: CallContext, data: JournalEntryInput, mapping: LedgerMapping
    ) -> WriteResult[Any]:
        """One general journal entry (journal_entries.py); unbalanced (tax included: a VAT code's percent from the
        mapping) or unknown G/L accounts are refused naming the field before the POST (the accounts with one read)."""
        accounts = {
            index: _require_guid(f"lines[{index}].ledger_account_id", line.ledger_account_id)
            for index, line in enumerate(data.lines)
        }
        for index, line in enumerate(data.lines):
            if line.contact_id is not None:
                _require_guid(f"lines[{index}].contact_id", line.contact_id)
        # Refuses an unbalanced entry before any call.
        payload = journal_entries.journal_entry_to_exact(data, mappers.vat_percentages(mapping))
        api = self._api(ctx)
        self._require_ledger_accounts(api, accounts)
        spec = RESOURCES[Resource.JOURNAL_ENTRIES]
        created = api.post(spec.path, payload)
        entry_id = parse_guid(str(created.get("EntryID") or ""))
        if entry_id is None:
            raise VendorError("Exact created the journal entry but did not return its EntryID.")
        ctx.record_created(entry_id)
        return WriteResult(record=self._retrieve(api, spec, entry_id), warnings=[])

    def _create_sales_order(self, ctx: CallContext, data: SalesOrderInput) -> WriteResult[Any]:
        """One sales order (sales_orders.py). The customer and the items are checked with one read each before the
        POST, so an unknown one is refused naming its field (Exact would answer a bare 500)."""
        customer = _require_guid("contact_id", data.contact_id)
        items = {index: _require_guid(f"lines[{index}].item_id", line.item_id) for index, line in enumerate(data.lines)}
        payload = sales_orders.sales_order_to_exact(data)
        api = self._api(ctx)
        self._require_contact(api, customer)
        known = {
            str(parse_guid(str(row.get("ID"))))
            for row in api.records(
                RESOURCES[Resource.ITEMS].path,
                # ID is no mandatory filter of logistics/Items as far as Exact's refusal shows: add the match-all one.
                ODataQuery(
                    select=("ID",),
                    filter=and_(or_(*(eq("ID", Guid(guid)) for guid in sorted(set(items.values())))), EVERY_RECORD),
                ),
            )
        }
        for index, guid in items.items():
            if guid not in known:
                raise InvalidInput(f"lines[{index}].item_id", "No item with this id in the administration.")
        spec = RESOURCES[Resource.SALES_ORDERS]
        created = api.post(spec.path, payload)
        order_id = parse_guid(str(created.get("OrderID") or ""))
        if order_id is None:
            raise VendorError("Exact created the sales order but did not return its OrderID.")
        ctx.record_created(order_id)
        # The POST answer has the header but its lines only as a deferred link: read the order once.
        return WriteResult(record=self._retrieve(api, spec, order_id), warnings=[])

    def invoice_sales_order(self, ctx: CallContext, order_id: str, *, journal_code: str | None) -> WriteResult[Any]:
        """salesinvoice/InvoiceSalesOrders for one order, by quantity ordered, one invoice per order (NOTES.md:
        Entities); its answer counts invoices but names none, so the invoice is found by its lines' SalesOrder."""
        guid = parse_guid(order_id)
        if guid is None:
            raise VendorNotFound(f"No sales-orders record '{order_id}'.")
        api = self._api(ctx)
        body: dict[str, Any] = {"SalesOrderIDs": [{"ID": guid}], "CreateMode": 1, "InvoiceMode": 1}
        if journal_code:
            body["JournalCode"] = journal_code.strip()
        answer = api.post(sales_orders.INVOICE_PATH, body)
        if not answer.get("NumberOfCreatedInvoices"):
            message = str(answer.get("Errors") or "Exact created no invoice from the sales order.")
            raise VendorValidationError(message, status=400, vendor_messages=message.split("\r\n"))
        invoice = self._order_invoice(api, guid)
        if invoice is None:
            raise VendorError("Exact reported an invoice made from the sales order, but none names the order.")
        ctx.record_created(str(invoice.remote_id))
        return WriteResult(record=invoice, warnings=[])

    def sales_order_invoice(self, ctx: CallContext, order_id: str) -> Any | None:
        guid = parse_guid(order_id)
        return None if guid is None else self._order_invoice(self._api(ctx), guid)

    def _order_invoice(self, api: DivisionApi, order_guid: str) -> Any | None:
        """The newest sales invoice whose lines name the order (SalesInvoiceLines.SalesOrder, NOTES.md: Entities)."""
        query = ODataQuery(select=("InvoiceID",), filter=eq("SalesOrder", Guid(order_guid)))
        invoice_ids = sorted(
            {str(parse_guid(str(row.get("InvoiceID")))) for row in api.records(INVOICE_LINES_PATH, query)}
        )
        spec = RESOURCES[Resource.INVOICES]
        invoices = [self._retrieve(api, spec, invoice_id) for invoice_id in invoice_ids]
        return max(invoices, key=lambda invoice: str(invoice.created_at or ""), default=None)

    def _create_project(self, ctx: CallContext, data: ProjectInput) -> WriteResult[Any]:
        """One project (projects.py). A taken code, an unknown customer or manager are refused naming the field before
        the POST, one read each (Exact would answer "Bestaat reeds" or a bare 500)."""
        customer = _require_guid("contact_id", data.contact_id) if data.contact_id is not None else None
        manager = _require_guid("manager_id", data.manager_id) if data.manager_id is not None else None
        payload = projects.project_to_exact(data)
        api = self._api(ctx)
        spec = RESOURCES[Resource.PROJECTS]
        if list(api.records(spec.path, ODataQuery(select=("ID",), filter=eq("Code", data.code)))):
            raise InvalidInput("code", "A project with this code exists in the administration.")
        if customer is not None:
            self._require_contact(api, customer)
        if manager is not None:
            self._require_employee(api, "manager_id", manager)
        created = api.post(spec.path, payload)
        project_id = parse_guid(str(created.get("ID") or ""))
        if project_id is None:
            raise VendorError("Exact created the project but did not return its ID.")
        ctx.record_created(project_id)
        return WriteResult(record=self._retrieve(api, spec, project_id), warnings=[])

    def _create_project_entry(
        self, ctx: CallContext, data: TimeEntryInput | CostEntryInput, resource: Resource, payload: dict[str, Any]
    ) -> WriteResult[Any]:
        """One time or cost transaction on a project (projects.py). The project (known, not blocked for entries),
        the item and the employee are checked with one read each before the POST, so an unknown one is refused
        naming its field (Exact would answer a bare 500)."""
        project = _require_guid("project_id", data.project_id)
        item = _require_guid("item_id", data.item_id)
        employee = _require_guid("employee_id", data.employee_id) if data.employee_id is not None else None
        api = self._api(ctx)
        found = list(
            api.records(projects.PROJECTS_PATH, ODataQuery(select=("ID", "BlockEntry"), filter=eq("ID", Guid(project))))
        )
        if not found:
            raise InvalidInput("project_id", "No project with this id in the administration.")
        if found[0].get("BlockEntry"):
            raise InvalidInput("project_id", "The project is blocked for time and cost entries.")
        items_query = ODataQuery(select=("ID",), filter=and_(eq("ID", Guid(item)), EVERY_RECORD))
        if not list(api.records(RESOURCES[Resource.ITEMS].path, items_query)):
            raise InvalidInput("item_id", "No item with this id in the administration.")
        if employee is not None:
            self._require_employee(api, "employee_id", employee)
        spec = RESOURCES[resource]
        created = api.post(spec.path, payload)
        entry_id = parse_guid(str(created.get("ID") or ""))
        if entry_id is None:
            raise VendorError(f"Exact created the {resource.value} record but did not return its ID.")
        ctx.record_created(entry_id)
        return WriteResult(record=self._retrieve(api, spec, entry_id), warnings=[])

    def _require_employee(self, api: DivisionApi, field: str, guid: str) -> None:
        query = ODataQuery(select=("ID",), filter=eq("ID", Guid(guid)))
        if not list(api.records(projects.EMPLOYEES_PATH, query)):
            raise InvalidInput(field, "No employee with this id in the administration.")

    def _require_contact(self, api: DivisionApi, guid: str) -> None:
        # ID is one of the properties crm/Accounts accepts as its mandatory filter (resources.ACCOUNT_FILTER_FIELDS).
        query = ODataQuery(select=("ID",), filter=eq("ID", Guid(guid)))
        if not list(api.records(RESOURCES[Resource.CONTACTS].path, query)):
            raise InvalidInput("contact_id", "No contact with this id in the connection's administration.")

    def _require_ledger_accounts(self, api: DivisionApi, accounts: Mapping[int, str]) -> None:
        """InvalidInput naming the first line whose G/L account GUID the division lacks (one read)."""
        wanted = sorted(set(accounts.values()))
        known = {
            str(parse_guid(str(row.get("ID"))))
            for row in api.records(
                RESOURCES[Resource.LEDGER_ACCOUNTS].path,
                ODataQuery(select=("ID",), filter=or_(*(eq("ID", Guid(guid)) for guid in wanted))),
            )
        }
        for index, guid in accounts.items():
            if guid not in known:
                raise InvalidInput(
                    f"lines[{index}].ledger_account_id", "No ledger account with this id in the administration."
                )

    def _create_purchase_invoice(
        self, ctx: CallContext, data: PurchaseInvoiceInput, mapping: LedgerMapping
    ) -> WriteResult[Any]:
        """One purchase entry (purchases.py). The supplier and the G/L accounts are checked with one read each
        before the POST, so an unknown one is refused naming its field (Exact would answer a bare 500)."""
        _require_guid("contact_id", data.contact_id)
        accounts = {
            index: _require_guid(f"lines[{index}].ledger_account_id", line.ledger_account_id)
            for index, line in enumerate(data.lines)
        }
        _require_storable(data)
        payload, warnings = purchases.purchase_invoice_to_exact(data, mapping=mapping)  # MappingMissing first
        api = self._api(ctx)
        supplier = Guid(_require_guid("contact_id", data.contact_id))
        # ID is one of the properties crm/Accounts accepts as its mandatory filter (resources.ACCOUNT_FILTER_FIELDS).
        if not list(
            api.records(RESOURCES[Resource.CONTACTS].path, ODataQuery(select=("ID",), filter=eq("ID", supplier)))
        ):
            raise InvalidInput("contact_id", "No contact with this id in the connection's administration.")
        self._require_ledger_accounts(api, accounts)
        spec = RESOURCES[Resource.PURCHASE_INVOICES]
        created = api.post(spec.path, payload)
        entry_id = parse_guid(str(created.get("EntryID") or ""))
        if entry_id is None:
            raise VendorError("Exact created the purchase entry but did not return its EntryID.")
        ctx.record_created(entry_id)
        # The POST answer has the header but its lines only as a deferred link: read the entry once.
        return WriteResult(record=self._retrieve(api, spec, entry_id), warnings=list(warnings))

    def _create_contact(self, ctx: CallContext, data: ContactInput) -> WriteResult[Any]:
        payload, warnings = mappers.contact_to_exact(data)
        api = self._api(ctx)
        created = api.post(RESOURCES[Resource.CONTACTS].path, payload)
        _record_created(ctx, created.get("ID"))
        # Prefer: return=representation gives the whole account (about 156 properties); keep what we select.
        row = {name: created[name] for name in CONTACT_FIELDS if name in created}
        return WriteResult(record=mappers.contact_from_exact(without_odata_noise(row)), warnings=list(warnings))

    def _create_item(self, ctx: CallContext, data: ItemInput) -> WriteResult[Any]:
        if data.revenue_ledger_account_id is not None:
            _require_guid("revenue_ledger_account_id", data.revenue_ledger_account_id)
        payload, warnings = mappers.item_to_exact(data)
        api = self._api(ctx)
        created = api.post(RESOURCES[Resource.ITEMS].path, payload)
        _record_created(ctx, created.get("ID"))
        # Prefer: return=representation gives the whole item (about 106 properties); keep what we select.
        row = {name: created[name] for name in ITEM_FIELDS if name in created}
        return WriteResult(record=mappers.item_from_exact(without_odata_noise(row)), warnings=list(warnings))

    def _create_invoice(self, ctx: CallContext, data: InvoiceInput, mapping: LedgerMapping) -> WriteResult[Any]:
        _require_guid("contact_id", data.contact_id)
        _require_storable_amounts(data)
        for index, line in enumerate(data.lines):
            if line.item_id:
                _require_guid(f"lines[{index}].item_id", line.item_id)
            if line.ledger_account_id:
                _require_guid(f"lines[{index}].ledger_account_id", line.ledger_account_id)
        # First pass without any call: MappingMissing for gaps in the mapping, and the codes to resolve.
        wanted = lookups.RecordingLookup()
        mappers.invoice_to_exact(data, mapping=mapping, resolve=wanted)
        api = self._api(ctx)
        references = self.references(ctx, api)
        resolved = references.resolve(items=wanted.items, gl_accounts=wanted.gl_accounts)
        # Second pass with Exact's GUIDs: a code the division lacks is MappingMissing, still before the POST.
        payload, warnings = mappers.invoice_to_exact(data, mapping=mapping, resolve=resolved.lookup)
        # The line ids are ours (ID is POST-able, NOTES.md: Writes), so the answer needs no read to know them.
        line_ids = _line_ids(ctx.write_key, len(data.lines))
        _name_lines(payload, line_ids)
        spec = RESOURCES[Resource.INVOICES]
        try:
            created = api.post(spec.path, payload)
        except VendorValidationError:
            # Exact refused: nothing was created, so sending again is safe. Only cached GUIDs make a retry worth it
            # (an item deleted and recreated, a G/L account replaced); everything else stays refused.
            if not resolved.cached:
                raise
            references.forget(resolved.cached)
            fresh = references.resolve(items=wanted.items, gl_accounts=wanted.gl_accounts, fresh=True)
            payload_again, warnings = mappers.invoice_to_exact(data, mapping=mapping, resolve=fresh.lookup)
            _name_lines(payload_again, line_ids)
            if payload_again == payload:
                raise  # the same GUIDs: the refusal was about something else
            created = api.post(spec.path, payload_again)  # once; an ambiguous failure here is never resent
            payload = payload_again
        invoice_id = parse_guid(str(created.get("InvoiceID") or ""))
        if invoice_id is None:
            raise VendorError("Exact created the invoice but did not return its InvoiceID.")
        # Before the read of its lines: if it fails, the write is reconciled by this id instead of being sent again.
        ctx.record_created(invoice_id)
        sent_lines = payload["SalesInvoiceLines"]
        record = self._created_invoice(api, spec, invoice_id, created, sent_lines, mappers.vat_percentages(mapping))
        return WriteResult(record=record, warnings=list(warnings))

    def _created_invoice(
        self,
        api: DivisionApi,
        spec: ExactResource,
        invoice_id: str,
        created: Mapping[str, Any],
        sent_lines: list[dict[str, Any]],
        percentages: Mapping[str, Decimal],
    ) -> Any:
        """The invoice as every read shows it: the header from Exact's POST answer, its lines from the request
        where it left Exact nothing to fill in (no call), else read (one call).

        Exact's POST answers every header property (Prefer: return=representation) but the lines only as a
        deferred link (NOTES.md: Writes). A new invoice is never processed, so it has no receivable to read.
        """
        if any(name not in created for name in INVOICE_FIELDS) or created.get("Status") == mappers.EXACT_PROCESSED:
            return self._retrieve(api, spec, invoice_id)  # an answer without the whole header: read it all
        predicted = mappers.predicted_invoice_lines(created, sent_lines, percentages)
        lines = [{name: line[name] for name in INVOICE_LINE_FIELDS} for line in predicted or ()]
        if predicted is None:
            query = ODataQuery(select=INVOICE_LINE_FIELDS, filter=eq("InvoiceID", Guid(invoice_id)))
            lines = sorted(api.records(INVOICE_LINES_PATH, query), key=lambda line: line.get("LineNumber") or 0)
        row = {name: created[name] for name in INVOICE_FIELDS}
        row[spec.expand or INVOICE_LINES] = lines
        return mappers.invoice_from_exact(without_odata_noise(row), receivables=[])

    def update_record(
        self, ctx: CallContext, resource: Resource, record_id: str, data: Any, *, mapping: Any
    ) -> WriteResult[Any]:
        resource = Resource(resource)
        if resource not in (Resource.CONTACTS, Resource.INVOICES, *PROJECT_ENTRIES):
            raise OperationNotSupported(resource.value, Operation.UPDATE, self.name)
        spec = RESOURCES[resource]
        guid = parse_guid(record_id)
        if guid is None:
            raise VendorNotFound(f"No {resource.value} record '{record_id}'.")
        if resource in PROJECT_ENTRIES:  # time and cost entries: what differs from the entry as Exact has it now
            entry_api = self._api(ctx)
            current_entry = self._retrieve(entry_api, spec, guid)
            entry_changes = projects.entry_update_to_exact(data, current_entry)
            if not entry_changes:
                return WriteResult(record=current_entry)
            entry_api.put(spec.entity_path(guid), entry_changes)  # 204; partial body (NOTES.md: OData)
            return WriteResult(record=self._retrieve(entry_api, spec, guid))
        if resource is Resource.INVOICES:
            payload_of = _invoice_update_payload(data)  # refuses fixed fields before any call
        api = self._api(ctx)
        current = api.entity(spec.entity_path(guid), ODataQuery(select=spec.select))
        if resource is Resource.CONTACTS:
            payload, warnings = mappers.contact_to_exact(data, existing=current)
        else:
            payload, warnings = payload_of, []
        changed = {name: value for name, value in payload.items() if not _same(current.get(name), value)}
        if changed:
            api.put(spec.entity_path(guid), changed)  # 204; only what changed (partial body: NOTES.md: OData)
        return WriteResult(record=self._retrieve(api, spec, guid), warnings=list(warnings))

    def delete_record(self, ctx: CallContext, resource: Resource, record_id: str) -> str:
        resource = Resource(resource)
        if resource not in PROJECT_ENTRIES:
            raise OperationNotSupported(resource.value, Operation.DELETE, self.name)
        guid = parse_guid(record_id)
        if guid is None:
            raise VendorNotFound(f"No {resource.value} record '{record_id}'.")
        # 204; a GUID Exact does not have is its 404 (VendorNotFound), also when this entry was deleted before.
        self._api(ctx).delete(RESOURCES[resource].entity_path(guid))
        return guid  # the entry's id as reads give it (lower-case GUID)

    # ------------------------------------------------------------------ attachments

    def attachment_create(
        self, ctx: CallContext, resource: Resource, record_id: str, data: AttachmentInput
    ) -> Attachment:
        return documents.create(self._api(ctx), self._attachable(resource), record_id, data)

    def attachment_list(self, ctx: CallContext, resource: Resource, record_id: str) -> list[Attachment]:
        return documents.list_for(self._api(ctx), self._attachable(resource), record_id)

    def attachment_content(
        self, ctx: CallContext, resource: Resource, record_id: str, attachment_id: str
    ) -> AttachmentContent:
        return documents.content(self._api(ctx), self._attachable(resource), record_id, attachment_id)

    def _attachable(self, resource: Resource | str) -> Resource:
        if str(resource) not in self.attachment_resources:
            raise OperationNotSupported(str(resource), "attachments", self.name)
        return Resource(resource)

    def finalize_invoice(self, ctx: CallContext, invoice_id: str) -> Any:
        guid = parse_guid(invoice_id)
        if guid is None:
            raise VendorNotFound(f"No invoices record '{invoice_id}'.")
        api = self._api(ctx)
        # Processes the invoice (Status 50, financial entry, receivable; NOTES.md: Entities); never e-mails it.
        api.post(
            "salesinvoice/PrintedSalesInvoices",
            {"InvoiceID": guid, "SendEmailToCustomer": False, "SendInvoiceToCustomerPostbox": False},
        )
        return WriteResult(record=self._retrieve(api, RESOURCES[Resource.INVOICES], guid), warnings=[])

    # ------------------------------------------------------------------ recovery, mapping, passthrough

    def find_existing(self, ctx: CallContext, resource: Resource, data: Any) -> Any | None:
        """The record a create whose answer was lost may have made (Exact has no idempotency key, §9.8)."""
        resource = Resource(resource)
        spec = RESOURCES[resource]
        api = self._api(ctx)
        if resource is Resource.CONTACTS:
            if data.code:
                condition = code_eq("Code", data.code)
            elif data.name:
                # Without a code only a recent account of that name (and e-mail) counts: an older namesake is
                # someone else, not the lost write.
                since = datetime.now(AMSTERDAM) - RECOVERY_WINDOW
                condition = eq("Name", data.name.strip()) & ge("Created", since.replace(microsecond=0))
                if data.email:
                    condition = condition & eq("Email", data.email)
            else:
                return None
            rows = list(api.records(spec.path, ODataQuery(select=spec.select, filter=condition)))
            return self._newest(api, spec, rows)
        if resource is Resource.INVOICES:
            contact = parse_guid(data.contact_id or "")
            if contact is None:
                return None
            condition = eq("InvoiceTo", Guid(contact))
            if data.reference:
                condition = condition & eq("YourRef", data.reference)
            else:
                # No reference to go by: recent invoices of the customer whose lines match the request.
                since = datetime.now(AMSTERDAM) - RECOVERY_WINDOW
                condition = condition & ge("Created", since.replace(microsecond=0))
            expand = [spec.expand] if spec.expand else None
            query = ODataQuery(select=spec.select_list(), filter=condition, expand=expand)
            rows = [row for row in api.records(spec.path, query) if _same_invoice(without_odata_noise(row), data)]
            return self._newest(api, spec, rows)
        if resource is Resource.PURCHASE_INVOICES:
            # A recent entry of the supplier (with the supplier's number when given) whose type and lines are the
            # request's: Exact has no idempotency key, and the same number may come twice from a supplier.
            supplier = parse_guid(data.contact_id or "")
            if supplier is None:
                return None
            since = datetime.now(AMSTERDAM) - RECOVERY_WINDOW
            condition = eq("Supplier", Guid(supplier)) & ge("Created", since.replace(microsecond=0))
            if data.number:
                condition = condition & eq("YourRef", data.number.strip())
            query = ODataQuery(select=spec.select_list(), filter=condition, expand=[spec.expand])
            rows = [
                row
                for row in api.records(spec.path, query)
                if purchases.same_purchase_entry(without_odata_noise(row), data)
            ]
            return self._newest(api, spec, rows)
        if resource is Resource.ITEMS:
            code = strip_code(data.code)
            if code is None:
                return None
            # Item codes are unique in a division: an item with the code is the lost write (or a refusal to come).
            found = lookups.rows_by_code(api, spec.path, [code], tuple(name for name in spec.select if name != "Code"))
            return self._records(api, spec, [found[code]])[0] if code in found else None
        return None

    def _newest(self, api: DivisionApi, spec: ExactResource, rows: list[dict[str, Any]]) -> Any | None:
        if not rows:
            return None
        newest = max(rows, key=lambda row: str(parse_exact_datetime(row.get("Created"), "Created") or ""))
        return self._records(api, spec, [newest])[0]

    def check_mapping(self, ctx: CallContext, mapping: Any) -> list[tuple[str, str]]:
        # Runs on every mapping change: the division's cached GUIDs are dropped and primed with what it reads.
        api = self._api(ctx)
        references = self.references(ctx, api)
        references.forget()
        return lookups.mapping_problems(api, mapping, references)

    def passthrough(
        self, ctx: CallContext, *, method: str, path: str, query: dict[str, str], body: Any
    ) -> PassthroughResult:
        method = str(method).upper()
        forwarded = checked_path(path, method)
        params = {str(name): str(value) for name, value in (query or {}).items()}
        if method in ("GET", "DELETE") and body is not None:
            raise InvalidInput("body", f"A {method} carries no body.")
        response = self._api(ctx).raw(method, forwarded, params=params or None, body=body)
        content: Any = None
        if response.content:
            try:
                content = response.json()
            except ValueError:
                content = response.text
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower().startswith("x-ratelimit-") or name.lower() in ("content-type", "reason")
        }
        return PassthroughResult(status=response.status_code, body=content, headers=headers)

    def company_info(self, ctx: CallContext) -> Any:
        """system/Divisions filtered on the connection's division (never CurrentDivision; NOTES.md: Divisions) and
        the first period of its current fiscal year (financial/FinancialPeriods): two calls."""
        return self.exact_company(self._api(ctx))

    def exact_company(self, api: DivisionApi, *, fiscal_year_start: date | Unread | None = UNREAD) -> Any:
        """The connection's division as a CompanyInfo with remote_data (company_info; sync.py's company snapshot).
        `fiscal_year_start`: as the caller read it today (exact_fiscal_year_start), else read here."""
        query = ODataQuery(select=mappers.COMPANY_FIELDS, filter=eq("Code", int(api.division)))
        rows = list(api.records("system/Divisions", query))
        if not rows:
            raise VendorNotFound(f"Division {api.division} is not among the divisions this grant covers.")
        start = self.exact_fiscal_year_start(api) if isinstance(fiscal_year_start, Unread) else fiscal_year_start
        return mappers.company_from_exact(without_odata_noise(rows[0]), fiscal_year_start=start)

    def exact_fiscal_year_start(self, api: DivisionApi) -> date | None:
        """The current fiscal year's start: the latest first period that has begun (NOTES.md: Divisions); one call."""
        today = datetime.now(AMSTERDAM).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
        periods = ODataQuery(
            select=("FinYear", "FinPeriod", "StartDate"), filter=and_(eq("FinPeriod", 1), le("StartDate", today))
        )
        starts = [
            parse_exact_date(row.get("StartDate"), "StartDate")
            for row in api.records("financial/FinancialPeriods", periods)
        ]
        return max((start for start in starts if start is not None), default=None)

    def company_get_json(self, ctx: CallContext, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        return self._api(ctx).get_json(path, params)


# ---------------------------------------------------------------------------------------------- helpers


def _number(row: Mapping[str, Any]) -> int | None:
    value = row.get("InvoiceNumber")
    return int(value) if isinstance(value, int | str) and str(value).strip().isdigit() else None


def _line_ids(write_key: str, count: int) -> list[str]:
    """Ids for the lines of a new invoice: derived from the write key (the same in the write's dry run and on its
    every attempt, so a resend of an invoice Exact already holds is refused for its taken line ids instead of
    creating a second one), random without one."""
    if not write_key:
        return [str(uuid4()) for _ in range(count)]
    return [str(uuid5(LINE_ID_NAMESPACE, f"{write_key}:{index}")) for index in range(count)]


def _name_lines(payload: dict[str, Any], line_ids: list[str]) -> None:
    for line, line_id in zip(payload["SalesInvoiceLines"], line_ids, strict=True):
        line["ID"] = line_id


def _record_created(ctx: CallContext, remote_id: Any) -> None:
    guid = parse_guid(str(remote_id or ""))
    if guid is not None:
        ctx.record_created(guid)


def _require_storable_amounts(data: InvoiceInput) -> None:
    """InvalidInput for a quantity, price or line amount Exact cannot store exactly, before any call.

    Exact keeps quantities, prices and amounts as doubles (NOTES.md: Entities): 15 significant digits, so a line
    amount must stay below 10^13 to keep its cents.
    """
    for index, line in enumerate(data.lines):
        for name in ("quantity", "unit_price"):
            value = getattr(line, name)
            if value is not None and len(value.normalize().as_tuple().digits) > MAX_SIGNIFICANT_DIGITS:
                raise InvalidInput(
                    f"lines[{index}].{name}", f"Exact stores at most {MAX_SIGNIFICANT_DIGITS} significant digits."
                )
        if line.unit_price is not None and abs(line.quantity * line.unit_price) >= MAX_LINE_AMOUNT:
            raise InvalidInput(
                f"lines[{index}].unit_price", "quantity x unit_price must stay below 10^13 for Exact to keep its cents."
            )


def _require_storable(data: PurchaseInvoiceInput) -> None:
    """InvalidInput for an amount Exact cannot store to the cent (doubles: NOTES.md: Entities), before any call."""
    for index, line in enumerate(data.lines):
        for name in ("net_amount", "tax_amount"):
            value = getattr(line, name)
            if value is not None and abs(value) >= MAX_LINE_AMOUNT:
                raise InvalidInput(f"lines[{index}].{name}", "Must stay below 10^13 for Exact to keep its cents.")


def _require_guid(field: str, value: str | None) -> str:
    guid = parse_guid(value or "")
    if guid is None:
        raise InvalidInput(field, "Not an id of this connection (Exact ids are GUIDs).")
    return guid


def _same(current: Any, wanted: Any) -> bool:
    """Whether a PUT would change nothing (Exact's strings may be padded; dates come back as /Date(ms)/)."""
    if isinstance(current, str) and isinstance(wanted, str):
        return current.strip() == wanted.strip()
    return bool(current == wanted)


def _invoice_update_payload(data: Any) -> dict[str, Any]:
    """The PUT body for an invoice update; InvalidInput for a field Exact cannot change after creation."""
    for name in INVOICE_FIXED:
        if getattr(data, name, None) is not None:
            raise InvalidInput(
                name,
                "Exact cannot change this on an existing sales invoice (GP-only or set when processed); "
                "create a credit note and a new invoice instead.",
            )
    payload: dict[str, Any] = {}
    for name, exact_name in INVOICE_UPDATABLE.items():
        value = getattr(data, name, None)
        if value is not None:
            payload[exact_name] = format_exact_date(value) if name == "due_date" else value
    return payload


def _same_invoice(row: Mapping[str, Any], data: InvoiceInput) -> bool:
    """Whether an Exact invoice is the one `data` would have created: same lines (description, quantity, price)."""
    lines = row.get("SalesInvoiceLines")
    if not isinstance(lines, list) or len(lines) != len(data.lines):
        return False
    if data.description is not None and (row.get("Description") or "").strip() != data.description.strip():
        return False
    ordered = sorted(lines, key=lambda line: line.get("LineNumber") or 0)
    sign = -1 if str(data.type) == "credit_note" else 1
    for line, wanted in zip(ordered, data.lines, strict=True):
        quantity = to_decimal(line.get("Quantity"), "Quantity")
        if quantity is None or quantity != wanted.quantity * sign:
            return False
        if wanted.unit_price is not None and to_decimal(line.get("UnitPrice"), "UnitPrice") != wanted.unit_price:
            return False
        if wanted.description is not None and (line.get("Description") or "").strip() != wanted.description.strip():
            return False
    return True
