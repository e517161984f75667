"""Reconciliation: what we wrote to a connection's ledger in a period, compared with what the ledger holds now.

What we wrote is every write through the unified API that succeeded (a mutation, each of whose vendor requests is
in the audit trail); the state we left a record in is the outcome of the last such write (the record as the vendor
answered it). Each record comes out as
- matched: it exists and every field we compare (totals, lines, VAT, contact, dates, references) is equal;
- changed: it exists but differs, field by field (`lines.1.unit_price`: what we left, what the ledger has);
- missing: we wrote it and the ledger no longer has it;
- orphan: an invoice of the period that carries our reference format but that no write of ours made.

Our reference format is `reference_prefixes` (e.g. `ORDER-`); when none are given they are taken from the
references of the invoices we wrote in the period (the reference without its trailing digits: ORDER-4711 -> ORDER-).
Payment progress (`status`, `finalized`) and timestamps are not differences: the ledger moves them on its own.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q
from django.utils import timezone

from connectors.base.connector import Operation
from connectors.base.data import ListQuery, Resource
from connectors.base.errors import VendorError, VendorNotFound
from connectors.registry import get_connector
from tenants.models import Connection
from tenants.vendor_calls import connection_context
from unified_models.models import Mutation, MutationStatus, Reconciliation, ReconciliationStatus
from unified_models.specs import record_data

logger = logging.getLogger(__name__)

RECONCILED_RESOURCES = (Resource.INVOICES, Resource.CONTACTS)
# Moved by the ledger itself (payments, booking, clocks) or not part of the record's content.
IGNORED_FIELDS = frozenset(
    {"status", "finalized", "created_at", "updated_at", "remote_data", "warnings", "mutation_id"}
)
MATCHED, CHANGED, MISSING, ORPHAN = "matched", "changed", "missing", "orphan"
PAGE_SIZE = 200
_TRAILING_DIGITS = re.compile(r"\d+$")


def reference_prefix_of(reference: str | None) -> str | None:
    """ORDER-4711 -> ORDER-; None for a reference without a number at its end, or nothing before it."""
    if not reference:
        return None
    prefix = _TRAILING_DIGITS.sub("", reference)
    return prefix if prefix and prefix != reference else None


def _comparable(value: Any) -> Any:
    """Numbers as decimals (100.0 and "100.00" are the same amount), everything else as it is."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | str):
        try:
            return Decimal(str(value)) if not isinstance(value, str) or re.fullmatch(r"-?\d+(\.\d+)?", value) else value
        except InvalidOperation:
            return value
    return value


def field_differences(written: Any, ledger: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf where the ledger differs from what we wrote, by dotted path (`lines.0.quantity`)."""
    if isinstance(written, dict) and isinstance(ledger, dict):
        found: list[dict[str, Any]] = []
        for key in sorted(set(written) | set(ledger)):
            if not path and key in IGNORED_FIELDS:
                continue
            found += field_differences(written.get(key), ledger.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(written, list) and isinstance(ledger, list):
        found = []
        if len(written) != len(ledger):
            found.append({"field": f"{path}.count", "written": len(written), "ledger": len(ledger)})
        for index, (ours, theirs) in enumerate(zip(written, ledger, strict=False)):
            found += field_differences(ours, theirs, f"{path}.{index}")
        return found
    if _comparable(written) == _comparable(ledger):
        return []
    return [{"field": path, "written": written, "ledger": ledger}]


def _written_records(connection: Connection, start: datetime, end: datetime) -> dict[tuple[str, str], Mutation]:
    """(resource, record id) -> the last successful write of the period that left the record as it was answered."""
    writes = (
        Mutation.objects.filter(
            connection=connection,
            status=MutationStatus.SUCCEEDED,
            resource__in=[resource.value for resource in RECONCILED_RESOURCES],
            completed_at__gte=start,
            completed_at__lt=end,
        )
        .exclude(outcome__isnull=True)
        .order_by("completed_at")
    )
    last: dict[tuple[str, str], Mutation] = {}
    for mutation in writes:
        record_id = str((mutation.outcome or {}).get("id") or mutation.target_id or "")
        if record_id:
            last[(mutation.resource, record_id)] = mutation
    return last


def _ever_written_ids(connection: Connection) -> set[str]:
    ids: set[str] = set()
    rows = Mutation.objects.filter(connection=connection, resource=Resource.INVOICES.value).filter(
        Q(status=MutationStatus.SUCCEEDED) | Q(status=MutationStatus.IN_DOUBT)
    )
    for outcome, target_id, remote_id in rows.values_list("outcome", "target_id", "remote_id"):
        ids.update(str(value) for value in ((outcome or {}).get("id"), target_id, remote_id) if value)
    return ids


def _ledger_records(connection: Connection, resource: Resource, since: datetime) -> Iterator[Any]:
    """Every record of the resource the ledger changed since `since` (page after page)."""
    connector = get_connector(connection.connector)
    cursor: str | None = None
    while True:
        page = connector.list_records(
            connection_context(connection),
            resource,
            ListQuery(page_size=PAGE_SIZE, cursor=cursor, updated_after=since),
        )
        yield from page.records
        if not page.next_cursor:
            return
        cursor = page.next_cursor


def reconciliation_run(
    *,
    connection: Connection,
    period_start: date,
    period_end: date,
    reference_prefixes: list[str] | None = None,
) -> Reconciliation:
    """Compare the period's writes (period_end inclusive, UTC days) with the ledger; the report is stored.

    A vendor that cannot be read ends the run `failed` with the reason (the report is stored all the same).
    """
    start = datetime.combine(period_start, time.min, tzinfo=UTC)
    end = datetime.combine(period_end + timedelta(days=1), time.min, tzinfo=UTC)
    written = _written_records(connection, start, end)
    prefixes = list(reference_prefixes or [])
    if not prefixes:
        derived = {
            reference_prefix_of((mutation.outcome or {}).get("reference"))
            for (resource, _), mutation in written.items()
            if resource == Resource.INVOICES.value
        }
        prefixes = sorted(prefix for prefix in derived if prefix)
    report = Reconciliation(
        workspace_id=connection.workspace_id,
        connection=connection,
        period_start=period_start,
        period_end=period_end,
        reference_prefixes=prefixes,
    )
    try:
        report.items = _compare(connection, written, start=start, end=end, prefixes=prefixes)
        report.status = ReconciliationStatus.COMPLETED
    except VendorError as exc:
        report.items = []
        report.status = ReconciliationStatus.FAILED
        report.error = f"{exc.__class__.__name__}: {exc.message}"[:500]
    report.summary = {
        outcome: sum(1 for item in report.items if item["outcome"] == outcome)
        for outcome in (MATCHED, CHANGED, MISSING, ORPHAN)
    }
    report.completed_at = timezone.now()
    report.save()
    return report


def _compare(
    connection: Connection,
    written: dict[tuple[str, str], Mutation],
    *,
    start: datetime,
    end: datetime,
    prefixes: list[str],
) -> list[dict[str, Any]]:
    connector = get_connector(connection.connector)
    items: list[dict[str, Any]] = []
    for resource in RECONCILED_RESOURCES:
        ours = {record_id: mutation for (name, record_id), mutation in written.items() if name == resource.value}
        check_orphans = resource == Resource.INVOICES and bool(prefixes)
        if not ours and not check_orphans:
            continue
        if not connector.supports(resource, Operation.LIST):
            continue
        ledger = {str(record.id): record for record in _ledger_records(connection, resource, start)}
        for record_id, mutation in ours.items():
            record = ledger.get(record_id)
            if record is None:  # not changed since the period began (or gone): look it up by id
                try:
                    record = connector.retrieve_record(connection_context(connection), resource, record_id)
                except VendorNotFound:
                    record = None
            items.append(_item(resource, record_id, mutation, record))
        if check_orphans:
            ever_ours = _ever_written_ids(connection)
            for record_id, record in ledger.items():
                reference = getattr(record, "reference", None) or ""
                created = getattr(record, "created_at", None)
                if record_id in ever_ours or not any(reference.startswith(prefix) for prefix in prefixes):
                    continue
                if created is not None and not (start <= created < end):
                    continue
                items.append(
                    {
                        "resource": resource.value,
                        "record_id": record_id,
                        "remote_id": str(getattr(record, "remote_id", "") or ""),
                        "reference": reference,
                        "outcome": ORPHAN,
                        "mutation_id": None,
                        "differences": [],
                        "ledger": _json_safe(record_data(resource, record)),
                    }
                )
    return items


def _item(resource: Resource, record_id: str, mutation: Mutation, record: Any) -> dict[str, Any]:
    ours = mutation.outcome or {}
    item: dict[str, Any] = {
        "resource": resource.value,
        "record_id": record_id,
        "remote_id": str(ours.get("remote_id") or mutation.remote_id or ""),
        "reference": ours.get("reference") or ours.get("code") or "",
        "mutation_id": str(mutation.pk),
        "differences": [],
    }
    if record is None:
        return {**item, "outcome": MISSING}
    differences = field_differences(ours, _json_safe(record_data(resource, record)))
    return {**item, "outcome": CHANGED if differences else MATCHED, "differences": differences}


def _json_safe(data: Any) -> Any:
    """Serializer output (may hold Decimal or date objects in nested JSON fields) as plain JSON values."""
    if isinstance(data, dict):
        return {str(key): _json_safe(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_json_safe(value) for value in data]
    if isinstance(data, Decimal | date | datetime):
        return str(data) if not isinstance(data, date) else data.isoformat()
    return data


def reconciliation_csv(report: Reconciliation) -> str:
    """The report as CSV: one row per difference (a matched, missing or orphan record is one row)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["outcome", "resource", "record_id", "remote_id", "reference", "field", "written", "ledger"])
    for item in report.items:
        rows = item["differences"] or [{"field": "", "written": "", "ledger": ""}]
        for difference in rows:
            writer.writerow(
                [
                    item["outcome"],
                    item["resource"],
                    item["record_id"],
                    item["remote_id"],
                    item["reference"],
                    difference["field"],
                    difference["written"],
                    difference["ledger"],
                ]
            )
    return buffer.getvalue()


def reconciliation_previous_month(*, today: date | None = None) -> tuple[date, date]:
    """The last calendar month (beat's run on the 1st reconciles it)."""
    today = today or timezone.now().date()
    last_day = today.replace(day=1) - timedelta(days=1)
    return last_day.replace(day=1), last_day


def reconciliations_for_previous_month(*, today: date | None = None) -> int:
    """Reconcile last month for every active connection; returns how many reports were stored."""
    from tenants.models import ConnectionStatus

    start, end = reconciliation_previous_month(today=today)
    done = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.ACTIVE).order_by("created_at"):
        try:
            reconciliation_run(connection=connection, period_start=start, period_end=end)
        except Exception:  # one connection's trouble (e.g. it lost consent meanwhile) must not stop the others
            logger.exception("Monthly reconciliation of connection %s failed", connection.pk)
            continue
        done += 1
    return done
