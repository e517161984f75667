"""Xero's side of the local copy: how a run pages, what a checkpoint holds, how changes and removals show.

Facts followed (NOTES.md: Paging, If-Modified-Since, What the connector reads):
- Contacts and invoices page 100 at a time with `page`; a full copy reads every page in `UpdatedDateUTC` order,
  and an incremental run reads the same way with `If-Modified-Since` set to the newest `UpdatedDateUTC` the last
  run stored (to the second, so the edge is read again: storing is an upsert). A record changed while a run pages
  moves to the end of the order and is read again, never skipped.
- Xero has no deletion feed. Contacts are archived, not deleted (listed with `includeArchived=true`, stored with
  status archived); invoices become VOIDED or DELETED and are stored as void. A payment record (an approved sales
  invoice's payment state) whose invoice is no longer AUTHORISED or PAID is reported deleted.
- Accounts, tax rates and items are not paged and have no usable change feed for deletions (tax rates ignore
  If-Modified-Since): every run reads the whole (small) set and the core treats what it no longer contains as
  deleted.
- The organisation (the unified company) is a set of one read whole each run: one GET Organisation (company.py).
- Contact flags (IsCustomer/IsSupplier) change without moving UpdatedDateUTC: an incremental run does not see
  them; a full run does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from connectors.base.data import Resource, SyncBatch
from connectors.base.errors import VendorError, VendorNotFound
from connectors.xero import company
from connectors.xero.calls import TenantApi
from connectors.xero.values import parse_guid, parse_xero_datetime

if TYPE_CHECKING:
    from connectors.xero.provider import XeroConnector

PAGE_SIZE = 100  # Xero's page (NOTES.md: Paging)
# Ids per by-id read (`IDs=` takes a comma-separated list; 40 GUIDs keep the URL short).
IDS_PER_FETCH = 40


@dataclass(frozen=True)
class PagedSource:
    path: str
    params: Mapping[str, str]
    # Read in UpdatedDateUTC order; ManualJournals are not (Xero answered `order` there with every record, not a
    # page: NOTES.md: Manual journals), so a run reads them in Xero's own order and keeps the newest change seen.
    ordered: bool = True
    # The credit notes read after the documents (Xero keeps them apart, in CreditNotes: NOTES.md: Credit notes).
    credit_notes: str | None = None


PAGED: Mapping[Resource, PagedSource] = MappingProxyType(
    {
        Resource.CONTACTS: PagedSource("Contacts", MappingProxyType({"includeArchived": "true"})),
        Resource.INVOICES: PagedSource(
            "Invoices", MappingProxyType({"where": 'Type=="ACCREC"'}), credit_notes='Type=="ACCRECCREDIT"'
        ),
        # Every sales invoice, so one that stopped being a receivable (voided, back to draft) is seen and removed.
        Resource.PAYMENTS: PagedSource("Invoices", MappingProxyType({"where": 'Type=="ACCREC"'})),
        # Bills (purchases.py); voided and deleted ones are kept as void, like sales invoices.
        Resource.PURCHASE_INVOICES: PagedSource(
            "Invoices", MappingProxyType({"where": 'Type=="ACCPAY"'}), credit_notes='Type=="ACCPAYCREDIT"'
        ),
        # Every manual journal, so a deleted one is seen and removed (journal_entries.py).
        Resource.JOURNAL_ENTRIES: PagedSource("ManualJournals", MappingProxyType({}), ordered=False),
    }
)
WHOLE: Mapping[Resource, str] = MappingProxyType(
    {Resource.LEDGER_ACCOUNTS: "Accounts", Resource.TAX_RATES: "TaxRates", Resource.ITEMS: "Items"}
)
SYNC_RESOURCES = frozenset(resource.value for resource in (*PAGED, *WHOLE, Resource.COMPANY))


@dataclass(frozen=True)
class Checkpoint:
    """Where a run stands: the page to read next, the If-Modified-Since of this run, the newest change seen."""

    page: int = 1
    since: str | None = None  # ISO UTC; None: a full copy
    newest: str | None = None  # ISO UTC of the newest UpdatedDateUTC stored by this run
    credit_notes: bool = False  # reading the source's credit notes (after its documents)

    def dumps(self) -> str:
        content: dict[str, Any] = {"page": self.page, "since": self.since, "newest": self.newest}
        if self.credit_notes:
            content["credit_notes"] = True
        return json.dumps(content, separators=(",", ":"))

    @classmethod
    def loads(cls, text: str) -> Checkpoint:
        try:
            data = json.loads(text)
            checkpoint = cls(
                page=int(data["page"]),
                since=data["since"],
                newest=data["newest"],
                credit_notes=bool(data.get("credit_notes", False)),
            )
        except (ValueError, KeyError, TypeError):
            raise VendorError(f"Not a Xero sync checkpoint: {text[:80]!r}") from None
        if checkpoint.page < 1:
            raise VendorError(f"Not a Xero sync checkpoint: {text[:80]!r}")
        return checkpoint


def sync_begin(resource: Resource) -> str:
    return Checkpoint().dumps()


def sync_next(connector: XeroConnector, api: TenantApi, resource: Resource, checkpoint: str) -> SyncBatch[Any]:
    if resource is Resource.COMPANY:
        # The organisation, one call; the core replaces the stored copy with it.
        return SyncBatch(
            records=[company.read(api)],
            deleted=[],
            checkpoint=Checkpoint().dumps(),
            done=True,
            replaces_all=True,
            phase="whole set",
        )
    if resource in WHOLE:
        rows = api.records(WHOLE[resource], WHOLE[resource])
        return SyncBatch(
            records=connector.records_of(api, resource, rows),
            deleted=[],
            checkpoint=Checkpoint().dumps(),
            done=True,
            replaces_all=True,
            phase="whole set",
        )
    source = PAGED[resource]
    position = Checkpoint.loads(checkpoint)
    since = parse_xero_datetime(position.since, "since") if position.since else None
    path, params = source.path, {**source.params, "page": str(position.page), "pageSize": str(PAGE_SIZE)}
    if position.credit_notes and source.credit_notes:
        path, params["where"] = "CreditNotes", source.credit_notes
    if source.ordered:
        params["order"] = "UpdatedDateUTC ASC"
    rows = api.records(path, path, params=params, modified_since=since)
    last_page = len(rows) < PAGE_SIZE
    newest = _newest([position.newest, *(row.get("UpdatedDateUTC") for row in rows)])
    deleted: list[str] = []
    if resource is Resource.PAYMENTS:
        receivables = [row for row in rows if row.get("Status") in ("AUTHORISED", "PAID")]
        deleted = [str(row["InvoiceID"]) for row in rows if row not in receivables and row.get("InvoiceID")]
        rows = receivables
    if resource is Resource.JOURNAL_ENTRIES:
        deleted = [str(row["ManualJournalID"]) for row in rows if row.get("Status") == "DELETED"]
        rows = [row for row in rows if row.get("Status") != "DELETED"]
    records = connector.records_of(api, resource, rows)
    phase = "changes" if since is not None else "backfill"
    if last_page and source.credit_notes and not position.credit_notes:
        # The documents are read: their credit notes next, from the first page, with the same If-Modified-Since.
        following = Checkpoint(page=1, since=position.since, newest=newest, credit_notes=True)
        return SyncBatch(records=records, deleted=deleted, checkpoint=following.dumps(), done=False, phase=phase)
    if last_page:
        # The last page: the next run asks for what changed since the newest change stored.
        following = Checkpoint(page=1, since=newest or position.since)
        return SyncBatch(records=records, deleted=deleted, checkpoint=following.dumps(), done=True, phase=phase)
    following = Checkpoint(
        page=position.page + 1, since=position.since, newest=newest, credit_notes=position.credit_notes
    )
    return SyncBatch(records=records, deleted=deleted, checkpoint=following.dumps(), done=False, phase=phase)


def _newest(values: list[Any]) -> str | None:
    moments = [moment for value in values if value and (moment := _moment(value)) is not None]
    return max(moments).isoformat() if moments else None


def _moment(value: Any) -> datetime | None:
    return parse_xero_datetime(value, "UpdatedDateUTC")


def sync_fetch(connector: XeroConnector, api: TenantApi, resource: Resource, remote_ids: list[str]) -> list[Any]:
    """The current records for these ids (a webhook named them); ids Xero no longer has are left out."""
    wanted = [guid for value in remote_ids if (guid := parse_guid(value)) is not None]
    if resource is Resource.COMPANY:
        organisation = company.read(api)
        return [organisation] if organisation.remote_id in wanted else []
    if resource in WHOLE:
        rows = api.records(WHOLE[resource], WHOLE[resource])
        key = {Resource.LEDGER_ACCOUNTS: "AccountID", Resource.ITEMS: "ItemID", Resource.TAX_RATES: "TaxType"}[resource]
        keep = set(wanted) if resource is not Resource.TAX_RATES else set(remote_ids)
        return connector.records_of(api, resource, [row for row in rows if str(row.get(key)) in keep])
    source = PAGED[resource]
    found: list[Any] = []
    for start in range(0, len(wanted), IDS_PER_FETCH):
        chunk = wanted[start : start + IDS_PER_FETCH]
        params = {**source.params, "IDs": ",".join(chunk), "page": "1", "pageSize": str(PAGE_SIZE)}
        rows = api.records(source.path, source.path, params=params)
        if resource is Resource.PAYMENTS:
            rows = [row for row in rows if row.get("Status") in ("AUTHORISED", "PAID")]
        if resource is Resource.JOURNAL_ENTRIES:
            rows = [row for row in rows if row.get("Status") != "DELETED"]
        if source.credit_notes:
            # Ids that are no documents may be credit notes (a CREDITNOTE event): read those one by one.
            seen = {str(row.get("InvoiceID")) for row in rows}
            for guid in chunk:
                if guid not in seen:
                    rows.extend(_credit_note(api, guid, source.credit_notes))
        found.extend(connector.records_of(api, resource, rows))
    return found


def _credit_note(api: TenantApi, guid: str, where: str) -> list[dict[str, Any]]:
    try:
        rows = api.records(f"CreditNotes/{guid}", "CreditNotes")
    except VendorNotFound:
        return []
    wanted = where.split('"')[1]
    return [row for row in rows if row.get("Type") == wanted]
