"""Exact's side of the local copy: which endpoint fills each resource, how a run pages, what a checkpoint holds.

Facts followed (NOTES.md: Sync, deleted and bulk):
- A full copy reads the `bulk/…` endpoints (1,000 rows a call, `$select` mandatory), one page after the other
  (parallel paging loses or duplicates rows); invoices come with their lines through `$expand`, so one call
  brings 1,000 invoices whatever their number of lines.
- Changes come from the `sync/…` endpoints with `Timestamp gt <last>` (Timestamp is a rowversion, not a time),
  1,000 rows a call in Timestamp order; deletions from `sync/Deleted` by EntityType. The highest Timestamp is part
  of the checkpoint, which the core saves only after the batch's rows are committed.
- Before a full copy the checkpoint notes where changes start: `read/sync/Sync/SyncTimestamp` for a moment an
  hour back gives a Timestamp below every row changed since; after the bulk pages the run reads the changes from
  there, so a record changed while the copy ran is not missed (Timestamps are one rowversion per database).
- `sync/SalesInvoice/SalesInvoices` is flattened (one row per line, the header's Description and totals are
  overwritten by the line's), and `sync/Logistics/Items` lacks StandardSalesPrice: for those the changed keys are
  read from the sync feed and the records fetched by key from the bulk endpoint. The other sync feeds carry every
  property the mappers read, so their rows are mapped as they come.
- Idle cost: an incremental run that finds no changes costs one call (the change feed). The deleted log is read
  in the same run when the feed had changes, on the first run after a backfill, and otherwise once the last read is
  `deleted_every` seconds old (EXACT_SYNC_DELETED_SECONDS); deletions in between arrive by webhook (Delete events,
  connectors/exact/inbound.py), and the deleted log is kept two months, so a late read still finds them.
- VAT codes, journals, purchase and general journal entries have neither bulk nor sync endpoints: each run reads
  the whole set and the core treats a record it no longer contains as deleted. The company (the division and its
  fiscal periods, two calls) is such a set of one.
- Projects, time and cost entries have sync feeds but no bulk endpoints to start a copy from: they are read whole
  the same way (a change-feed copy for them is possible once the core can start a copy from a sync feed).
- A division move (or HR link/unlink) regenerates every Timestamp: `DivisionMoveDate` and
  `DivisionHRLinkUnlinkDate` of system/Divisions make the epoch; when it changes the core copies everything again.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connectors.base.data import Resource, SyncBatch
from connectors.base.errors import VendorError
from connectors.exact.calls import DivisionApi
from connectors.exact.odata import Filter, Guid, Int64, ODataQuery, and_, eq, gt, or_, unwrap_entity, unwrap_page
from connectors.exact.paging import skiptoken_of
from connectors.exact.resources import EVERY_RECORD, RESOURCES, ExactResource, parse_guid
from connectors.exact.values import AMSTERDAM

if TYPE_CHECKING:
    from connectors.exact.provider import ExactConnector

# Rows per bulk and sync page (NOTES.md: OData): the page size is Exact's, we only name it for the checks.
PAGE_SIZE = 1000
# Keys per by-key fetch: `InvoiceID eq guid'…' or …` is about 57 characters a key, well inside the 6,000-character
# URL limit (NOTES.md: Rate limits) with the $select of invoices and their lines.
KEYS_PER_FETCH = 40
# How far back the change feed starts before a full copy (clocks of Exact and of the gateway may differ).
CHANGES_MARGIN = timedelta(hours=1)
DELETED_PATH = "sync/Deleted"
LINES_BULK_PATH = "bulk/SalesInvoice/SalesInvoiceLines"
# The endpoint whose SyncTimestamp gives the starting Timestamp (one of those Exact supports: NOTES.md).
TIMESTAMP_ENDPOINT = "SalesInvoices"


@dataclass(frozen=True)
class SyncSource:
    """The Exact endpoints behind the local copy of one unified resource."""

    resource: Resource
    bulk_path: str | None = None  # None: no bulk/sync endpoints; the whole set is read every run
    sync_path: str | None = None
    sync_key: str = "ID"  # the record's key in sync rows (invoices: InvoiceID, the line rows' header)
    # The sync rows carry every property the mapper reads; otherwise the changed records are fetched by key.
    sync_rows_complete: bool = True
    deleted_type: int | None = None  # sync/Deleted EntityType (NOTES.md: Sync, deleted and bulk)
    # Mandatory filtering applies to the bulk endpoint too (NOTES.md: Rate limits): a filter that keeps all rows.
    bulk_filter: Filter | None = None

    @property
    def spec(self) -> ExactResource:
        return RESOURCES[self.resource]


SOURCES: Mapping[Resource, SyncSource] = MappingProxyType(
    {
        Resource.CONTACTS: SyncSource(
            Resource.CONTACTS, "bulk/CRM/Accounts", "sync/CRM/Accounts", deleted_type=2, bulk_filter=EVERY_RECORD
        ),
        Resource.INVOICES: SyncSource(
            Resource.INVOICES,
            "bulk/SalesInvoice/SalesInvoices",
            "sync/SalesInvoice/SalesInvoices",
            sync_key="InvoiceID",
            sync_rows_complete=False,
            deleted_type=13,
        ),
        Resource.LEDGER_ACCOUNTS: SyncSource(
            Resource.LEDGER_ACCOUNTS, "bulk/Financial/GLAccounts", "sync/Financial/GLAccounts", deleted_type=7
        ),
        Resource.ITEMS: SyncSource(
            Resource.ITEMS,
            "bulk/Logistics/Items",
            "sync/Logistics/Items",
            sync_rows_complete=False,
            deleted_type=9,
            bulk_filter=EVERY_RECORD,
        ),
        # Receivables: sync/Cashflow/PaymentTerms is their change feed; Exact's deleted log has no type for them.
        Resource.PAYMENTS: SyncSource(Resource.PAYMENTS, "bulk/Cashflow/Receivables", "sync/Cashflow/PaymentTerms"),
        Resource.TAX_RATES: SyncSource(Resource.TAX_RATES),
        Resource.JOURNALS: SyncSource(Resource.JOURNALS),
        # Purchase entries have no bulk/ or sync/ endpoint (NOTES.md §5.3/5.4): the whole set is read each run
        # from purchaseentry/PurchaseEntries with its lines expanded (connectors/exact/purchases.py).
        Resource.PURCHASE_INVOICES: SyncSource(Resource.PURCHASE_INVOICES),
        # The same for general journal entries (connectors/exact/journal_entries.py).
        Resource.JOURNAL_ENTRIES: SyncSource(Resource.JOURNAL_ENTRIES),
        # The division itself (system/Divisions and its fiscal periods), read whole each run like the sets above.
        Resource.COMPANY: SyncSource(Resource.COMPANY),
        # Sales orders have bulk/ but no sync/ endpoints (NOTES.md: Entities): read whole with their lines.
        Resource.SALES_ORDERS: SyncSource(Resource.SALES_ORDERS),
        # Projects and time transactions have sync/ feeds (sync/Project/Projects, sync/Project/TimeCostTransactions) but
        # no bulk/ set to start a copy from (NOTES.md: Entities): read whole each run, which also sees deleted hours.
        Resource.PROJECTS: SyncSource(Resource.PROJECTS),
        Resource.TIME_ENTRIES: SyncSource(Resource.TIME_ENTRIES),
        Resource.COST_ENTRIES: SyncSource(Resource.COST_ENTRIES),
    }
)


# ---------------------------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """Where a run stands. phase "bulk": the next bulk page (`skip`, None = the first) and `mark`, the Timestamp
    the change feed starts from afterwards; "changes": the highest Timestamp stored (`ts`), the highest deleted
    log Timestamp applied (`deleted`) and when the deleted log was last read (`deleted_at`, epoch seconds; 0 =
    never); "snapshot": a set read whole every run."""

    phase: str
    skip: str | None = None
    mark: int = 0
    ts: int = 0
    deleted: int = 0
    deleted_at: float = 0.0
    # The company snapshot: the fiscal year start ("" = none) as read on `fiscal_read_on` (an Amsterdam date).
    fiscal_start: str = ""
    fiscal_read_on: str = ""

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "phase": self.phase,
                "skip": self.skip,
                "mark": self.mark,
                "ts": self.ts,
                "del": self.deleted,
                "dat": self.deleted_at,
                "fys": self.fiscal_start,
                "fyr": self.fiscal_read_on,
            },
            separators=(",", ":"),
        )

    @classmethod
    def loads(cls, text: str) -> Checkpoint:
        try:
            data = json.loads(text)
            checkpoint = cls(
                phase=str(data["phase"]),
                skip=data["skip"],
                mark=int(data["mark"]),
                ts=int(data["ts"]),
                deleted=int(data["del"]),
                deleted_at=float(data.get("dat", 0)),  # checkpoints written before it: read the log next run
                fiscal_start=str(data.get("fys", "")),
                fiscal_read_on=str(data.get("fyr", "")),  # written before it: read the periods next run
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise VendorError("Not a checkpoint of the Exact connector.") from exc
        if checkpoint.phase not in ("bulk", "changes", "snapshot"):
            raise VendorError(f"Unknown sync phase '{checkpoint.phase}'.")
        return checkpoint


# ---------------------------------------------------------------------------------------------- runs


def sync_begin(api: DivisionApi, resource: Resource) -> str:
    source = SOURCES[resource]
    if source.bulk_path is None:
        return Checkpoint(phase="snapshot").dumps()
    return Checkpoint(phase="bulk", mark=changes_start(api)).dumps()


def changes_start(api: DivisionApi) -> int:
    """A Timestamp below every row changed from an hour ago on (one call)."""
    since = (datetime.now(UTC) - CHANGES_MARGIN).astimezone(AMSTERDAM).replace(tzinfo=None, microsecond=0)
    body = api.get_json(
        "read/sync/Sync/SyncTimestamp",
        {"modified": f"datetime'{since.isoformat()}'", "endPoint": f"'{TIMESTAMP_ENDPOINT}'"},
    )
    row = unwrap_entity(body)
    try:
        return int(row["TimeStampAsBigInt"])
    except (KeyError, TypeError, ValueError) as exc:
        raise VendorError("Exact's SyncTimestamp answer has no TimeStampAsBigInt.") from exc


def sync_next(
    connector: ExactConnector,
    api: DivisionApi,
    resource: Resource,
    checkpoint: str,
    *,
    deleted_every: float = 0.0,
    now: float | None = None,
) -> SyncBatch[Any]:
    """The next batch; `deleted_every`: seconds an idle run may go without reading the deleted log."""
    source = SOURCES[resource]
    position = Checkpoint.loads(checkpoint)
    if resource is Resource.COMPANY:
        return _company(connector, api, position)
    if position.phase == "snapshot" or source.bulk_path is None:
        return _snapshot(connector, api, source)
    if position.phase == "bulk":
        return _bulk_page(connector, api, source, position)
    return _changes(
        connector, api, source, position, deleted_every=deleted_every, now=time.time() if now is None else now
    )


def _snapshot(connector: ExactConnector, api: DivisionApi, source: SyncSource) -> SyncBatch[Any]:
    spec = source.spec
    query = ODataQuery(select=spec.select_list(), filter=spec.match_all, expand=[spec.expand] if spec.expand else None)
    records: list[Any] = []
    for page in api.pages(spec.path, query):
        records.extend(connector.exact_records(api, spec, page.records))
    return _snapshot_of(records)


def _company(connector: ExactConnector, api: DivisionApi, position: Checkpoint) -> SyncBatch[Any]:
    """The company snapshot: the division every run (one call), its fiscal year start (financial/FinancialPeriods,
    a second call) on the first run of each Amsterdam day. A fiscal year begins at a day's start, so the first run
    of that day sees it; an edit of the periods shows by the next day (or a full run)."""
    today = datetime.now(AMSTERDAM).date().isoformat()
    if position.phase == "snapshot" and position.fiscal_read_on == today:
        start = date.fromisoformat(position.fiscal_start) if position.fiscal_start else None
    else:
        start = connector.exact_fiscal_year_start(api)
    company = connector.exact_company(api, fiscal_year_start=start)
    checkpoint = Checkpoint(
        phase="snapshot", fiscal_start=start.isoformat() if start is not None else "", fiscal_read_on=today
    )
    return dataclasses.replace(_snapshot_of([company]), checkpoint=checkpoint.dumps())


def _snapshot_of(records: list[Any]) -> SyncBatch[Any]:
    """A set read whole: the core deletes every stored record it does not contain."""
    return SyncBatch(
        records=records,
        deleted=[],
        checkpoint=Checkpoint(phase="snapshot").dumps(),
        done=True,
        replaces_all=True,
        phase="snapshot",
    )


def _bulk_query(source: SyncSource, extra: Filter | None = None, *, count: bool = False) -> ODataQuery:
    spec = source.spec
    conditions = [condition for condition in (extra, source.bulk_filter) if condition is not None]
    return ODataQuery(
        select=spec.select_list(),
        filter=and_(*conditions) if conditions else None,
        expand=[spec.expand] if spec.expand else None,
        inlinecount=count,
    )


def _bulk_page(connector: ExactConnector, api: DivisionApi, source: SyncSource, position: Checkpoint) -> SyncBatch[Any]:
    assert source.bulk_path is not None
    # The first page also says how many records there are ($inlinecount): progress without another call.
    first = position.skip is None
    page = api.page(source.bulk_path, _bulk_query(source, count=first), skiptoken=position.skip)
    records = connector.exact_records(api, source.spec, page.records)
    if page.next_url is not None:
        following = Checkpoint(phase="bulk", skip=skiptoken_of(page.next_url), mark=position.mark)
    else:
        # The copy is complete; what changed while it ran comes next from the change feed.
        following = Checkpoint(phase="changes", ts=position.mark, deleted=position.mark)
    return SyncBatch(
        records=records,
        deleted=[],
        checkpoint=following.dumps(),
        done=False,
        phase="backfill",
        total=page.count if first else None,
    )


def _changes(
    connector: ExactConnector,
    api: DivisionApi,
    source: SyncSource,
    position: Checkpoint,
    *,
    deleted_every: float,
    now: float,
) -> SyncBatch[Any]:
    assert source.sync_path is not None
    spec = source.spec
    select = ["Timestamp", *spec.select] if source.sync_rows_complete else ["Timestamp", source.sync_key]
    page = api.page(source.sync_path, ODataQuery(select=select, filter=gt("Timestamp", Int64(position.ts))))
    rows = page.records
    high = max((int(row["Timestamp"]) for row in rows), default=position.ts)
    versions: dict[str, int] = {}
    for row in rows:
        key = parse_guid(str(row.get(source.sync_key) or ""))
        if key is not None:
            versions[key] = max(versions.get(key, 0), int(row["Timestamp"]))
    if source.sync_rows_complete:
        records = connector.exact_records(api, spec, [_without(row, "Timestamp") for row in rows])
    else:
        records = list(fetch_by_keys(connector, api, source.resource, list(versions)))
    more_changes = page.next_url is not None
    deleted: list[str] = []
    deleted_high = position.deleted
    deleted_at = position.deleted_at
    more_deleted = False
    # An idle run skips the deleted log until it is due (the module's notes: idle cost).
    deleted_due = bool(rows) or now - position.deleted_at >= deleted_every
    if not more_changes and source.deleted_type is not None and deleted_due:
        # Exact's sample: the deleted log read beside the sync feed, by EntityType (NOTES.md: Sync, deleted, bulk).
        deleted_page = api.page(
            DELETED_PATH,
            ODataQuery(
                select=["Timestamp", "EntityKey"],
                filter=gt("Timestamp", Int64(position.deleted)) & eq("EntityType", source.deleted_type),
            ),
        )
        for row in deleted_page.records:
            key = parse_guid(str(row.get("EntityKey") or ""))
            if key is not None:
                deleted.append(key)
            deleted_high = max(deleted_high, int(row["Timestamp"]))
        more_deleted = deleted_page.next_url is not None
        deleted_at = now
    elif more_changes and rows:
        deleted_at = 0.0  # changes run over several pages: the last one reads the deleted log
    return SyncBatch(
        records=records,
        deleted=deleted,
        checkpoint=Checkpoint(phase="changes", ts=high, deleted=deleted_high, deleted_at=deleted_at).dumps(),
        done=not more_changes and not more_deleted,
        phase="changes",
        versions=versions,
    )


def fetch_by_keys(connector: ExactConnector, api: DivisionApi, resource: Resource, keys: list[str]) -> Iterator[Any]:
    """The current records for these GUID keys, read from the bulk endpoint (or the CRUD set) 40 keys a call."""
    source = SOURCES[resource]
    spec = source.spec
    guids = [guid for guid in (parse_guid(key) for key in keys) if guid is not None]
    for start in range(0, len(guids), KEYS_PER_FETCH):
        chunk = guids[start : start + KEYS_PER_FETCH]
        by_key = or_(*(eq(spec.key, Guid(guid)) for guid in chunk))
        if source.bulk_path is not None:
            rows = [row for page in api.pages(source.bulk_path, _bulk_query(source, by_key)) for row in page.records]
        else:
            query = ODataQuery(select=spec.select_list(), filter=by_key, expand=[spec.expand] if spec.expand else None)
            rows = list(api.records(spec.path, query))
        yield from connector.exact_records(api, spec, rows)


# The line sets a header topic also covers (NOTES.md: Webhooks, topics and keys): line set, header key on the line.
LINE_SETS: Mapping[Resource, tuple[str, str]] = MappingProxyType(
    {
        Resource.INVOICES: (LINES_BULK_PATH, "InvoiceID"),
        Resource.PURCHASE_INVOICES: ("purchaseentry/PurchaseEntryLines", "EntryID"),
        Resource.JOURNAL_ENTRIES: ("generaljournalentry/GeneralJournalEntryLines", "EntryID"),
        Resource.SALES_ORDERS: ("salesorder/SalesOrderLines", "OrderID"),
    }
)


def fetch_changed(connector: ExactConnector, api: DivisionApi, resource: Resource, keys: list[str]) -> list[Any]:
    """The records a webhook named. A header topic also covers its lines (SalesInvoices, PurchaseEntries,
    GeneralJournalEntries, SalesOrders; NOTES.md: Webhooks), so a key that is no header may be a line's: its header
    is read instead (one more call, only then)."""
    records = list(fetch_by_keys(connector, api, resource, keys))
    if resource not in LINE_SETS:
        return records
    lines_path, header_key = LINE_SETS[resource]
    found = {str(record.remote_id) for record in records}
    unknown = [guid for guid in (parse_guid(key) for key in keys) if guid is not None and guid not in found]
    if not unknown:
        return records
    header_ids: set[str] = set()
    for start in range(0, len(unknown), KEYS_PER_FETCH):
        by_key = or_(*(eq("ID", Guid(guid)) for guid in unknown[start : start + KEYS_PER_FETCH]))
        for row in api.records(lines_path, ODataQuery(select=["ID", header_key], filter=by_key)):
            header_id = parse_guid(str(row.get(header_key) or ""))
            if header_id is not None and header_id not in found:
                header_ids.add(header_id)
    if header_ids:
        records.extend(fetch_by_keys(connector, api, resource, sorted(header_ids)))
    return records


def division_epoch(api: DivisionApi) -> str:
    """DivisionMoveDate and DivisionHRLinkUnlinkDate of the connection's division: either changing means every
    Timestamp was regenerated (NOTES.md: Divisions)."""
    body = api.get_json(
        "system/Divisions",
        {
            "$filter": f"Code eq {api.division}",
            "$select": "Code,DivisionMoveDate,DivisionHRLinkUnlinkDate",
        },
    )
    rows = unwrap_page(body).records
    if not rows:
        raise VendorError("Exact does not list the connection's division in system/Divisions.")
    row = rows[0]
    return f"{row.get('DivisionMoveDate') or ''}|{row.get('DivisionHRLinkUnlinkDate') or ''}"


def _without(row: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key != name}
