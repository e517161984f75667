"""Sync runs and the stored copy: request a run, execute it batch by batch, store what a write returned.

A run is a chain of connector batches (connectors/base/connector.py: sync_begin, sync_next). Each batch is
committed in one transaction together with the connector's checkpoint and the lease renewal, so:
- a worker killed mid-run loses at most the batch it was reading; a later run (a redelivered task, the schedule,
  an API trigger) takes over once the lease has expired and continues from the last committed checkpoint;
- a batch read twice is harmless: storing is an upsert on (connection, resource, record id);
- memory is bounded by one batch (the connector reads at most one vendor page per batch).

Only one run per connection and resource at a time: the SyncState row is locked to start one (SyncAlreadyRunning
while a live run holds the lease).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.base.connector import Connector
from connectors.base.data import CallRecord, Resource, SyncBatch
from connectors.base.errors import VendorError, VendorRateLimited
from connectors.registry import get_connector
from gateway.metrics.instruments import sync_run_observe
from tenants.models import Connection
from tenants.vendor_calls import ConnectionCallContext, connection_context
from unified_models.specs import record_data
from unified_models.store import hooks
from unified_models.store.models import StoredRecord, SyncMode, SyncRun, SyncRunState, SyncState
from unified_models.store.selectors import store_copy_noted
from unified_models.store_events import store_changes_emit, sync_run_finished_emit

logger = logging.getLogger(__name__)

T = TypeVar("T")

STORE_BATCH_SIZE = 500  # rows per INSERT … ON CONFLICT statement
# Seconds a connection's epoch, as read by this process, serves the next copies that begin (a connection's
# backfill starts every resource within seconds: one read instead of one per resource). Safe for any age: the
# epoch is read before the copy begins, and a move after that read is what the epoch check finds.
EPOCH_REUSE_SECONDS = 60.0
_recent_epochs: dict[str, tuple[str, float]] = {}


class SyncAlreadyRunning(Exception):
    """A live run holds this connection's resource; `run` is it."""

    def __init__(self, run: SyncRun) -> None:
        super().__init__(f"A {run.mode} sync of {run.resource} is running.")
        self.run = run


class SyncNotSupported(Exception):
    """The connection's connector keeps no local copy of this resource."""


# ---------------------------------------------------------------------------------------------- call counting


class CountingCallContext:
    """A connection's call context that counts the vendor calls of one run (for SyncRun.calls)."""

    def __init__(self, inner: ConnectionCallContext) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def region(self) -> str:
        return self.inner.region

    @property
    def company_id(self) -> str:
        return self.inner.company_id

    @property
    def app_client_id(self) -> str:
        return self.inner.app_client_id

    @property
    def write_key(self) -> str:
        return self.inner.write_key

    def call(self, send: Callable[[str], T]) -> T:
        return self.inner.call(send)

    def record_call(self, record: CallRecord) -> None:
        self.calls += 1
        self.inner.record_call(record)

    def record_created(self, remote_id: str) -> None:
        self.inner.record_created(remote_id)

    def get_json(self, path: str, *, params: Any = None) -> Any:
        return self.inner.connector.company_get_json(self, path, params=params)


# ---------------------------------------------------------------------------------------------- starting runs


def sync_resources(connection: Connection) -> list[str]:
    """The resources the connection's connector keeps a local copy of, in the order runs are scheduled."""
    connector = get_connector(connection.connector)
    return [resource.value for resource in Resource if resource.value in connector.sync_resources]


def sync_state_get(*, connection: Connection, resource: str) -> SyncState:
    state, _ = SyncState.objects.get_or_create(connection=connection, resource=resource)
    return state


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.LEDGERBRIDGE_SYNC_LEASE_SECONDS)


def sync_run_request(
    *, connection: Connection, resource: str, mode: str = SyncMode.INCREMENTAL, trigger: str, starts_in: float = 0
) -> SyncRun:
    """Record a run (queued) and give it the lease; SyncAlreadyRunning while a live run holds it.

    A full run starts the copy again; an incremental one continues from the checkpoint (which is a full copy when
    there is none yet, or the rest of a backfill whose worker died).
    """
    if resource not in get_connector(connection.connector).sync_resources:
        raise SyncNotSupported(f"{connection.connector} keeps no local copy of {resource}.")
    sync_state_get(connection=connection, resource=resource)
    now = timezone.now()
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(connection=connection, resource=resource)
        current = SyncRun.objects.filter(pk=state.current_run_id).first() if state.current_run_id else None
        if current is not None and current.state in (SyncRunState.QUEUED, SyncRunState.RUNNING):
            if state.lease_expires_at is not None and state.lease_expires_at > now:
                raise SyncAlreadyRunning(current)
            # Its worker died: the new run continues from the committed checkpoint.
            current.state = SyncRunState.ABANDONED
            current.finished_at = now
            current.error = current.error or "The worker stopped without finishing (lease expired)."
            current.save(update_fields=["state", "finished_at", "error"])
        run = SyncRun.objects.create(connection=connection, resource=resource, mode=mode, trigger=trigger)
        if mode == SyncMode.FULL:
            state.checkpoint = ""
        state.current_run = run
        # A queued run holds the lease until it may start plus a lease (beat spreads runs over the period).
        state.lease_expires_at = _lease_until(now) + timedelta(seconds=starts_in)
        state.save(update_fields=["checkpoint", "current_run", "lease_expires_at"])
    return run


def sync_runs_request(*, connection: Connection, resources: list[str], mode: str, trigger: str) -> list[SyncRun]:
    """A run per resource, or none: SyncAlreadyRunning (and nothing requested) while one of them runs."""
    now = timezone.now()
    with transaction.atomic():
        for resource in resources:
            sync_state_get(connection=connection, resource=resource)
        states = list(
            SyncState.objects.select_for_update().filter(connection=connection, resource__in=resources).order_by("pk")
        )
        for state in states:
            if state.current_run_id and state.lease_expires_at and state.lease_expires_at > now:
                current = SyncRun.objects.get(pk=state.current_run_id)
                if current.state in (SyncRunState.QUEUED, SyncRunState.RUNNING):
                    raise SyncAlreadyRunning(current)
        return [
            sync_run_request(connection=connection, resource=resource, mode=mode, trigger=trigger)
            for resource in resources
        ]


# ---------------------------------------------------------------------------------------------- executing runs


@dataclass
class _Owner:
    """The run executing and the context its calls go through."""

    run: SyncRun
    connector: Connector
    ctx: CountingCallContext


def sync_run_execute(*, run_id: Any) -> SyncRun:
    """Execute a requested run to its end (or its first error); returns the run as it ended.

    A run whose lease another run took over stops at its next commit; a run that is no longer queued or running is
    left alone (a task delivered twice).
    """
    run = SyncRun.objects.select_related("connection").get(pk=run_id)
    if run.state not in (SyncRunState.QUEUED, SyncRunState.RUNNING):
        return run
    connection = run.connection
    now = timezone.now()
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(connection=connection, resource=run.resource)
        if state.current_run_id != run.pk:
            return run
        if run.state == SyncRunState.RUNNING and state.lease_expires_at and state.lease_expires_at > now:
            return run  # another delivery of this task is executing it
        state.lease_expires_at = _lease_until(now)
        state.save(update_fields=["lease_expires_at"])
        run.state = SyncRunState.RUNNING
        run.started_at = run.started_at or now
        run.save(update_fields=["state", "started_at"])
    try:
        connector = get_connector(connection.connector)
        owner = _Owner(run=run, connector=connector, ctx=CountingCallContext(connection_context(connection)))
        while True:
            if not state.checkpoint:
                # The epoch first: a move after it is noticed by the next epoch check (sync_epoch_check).
                epoch = _epoch_before_copy(owner, connector)
                checkpoint = _with_rate_waits(owner, lambda: connector.sync_begin(owner.ctx, Resource(run.resource)))
                state = _commit_begin(owner, checkpoint, epoch)
            position = state.checkpoint
            batch = _with_rate_waits(
                owner,
                lambda position=position: connector.sync_next(owner.ctx, Resource(run.resource), position),  # type: ignore[misc]
            )
            state = _commit_batch(owner, batch)
            if batch.done:
                break
    except _LeaseLost:
        run.refresh_from_db()
        return run
    except (VendorError, SyncNotSupported) as exc:
        return _finish(run, failed=exc)
    except Exception as exc:
        logger.exception("Sync run %s of %s failed", run.pk, run.resource)
        _finish(run, failed=exc)
        raise
    return _finish(run, calls=owner.ctx.calls)


def _epoch_before_copy(owner: _Owner, connector: Connector) -> str:
    """The connection's epoch for a copy about to begin: read at most EPOCH_REUSE_SECONDS ago by this process."""
    key = str(owner.run.connection_id)
    recent = _recent_epochs.get(key)
    if recent is not None and time.monotonic() - recent[1] < EPOCH_REUSE_SECONDS:
        return recent[0]
    epoch = _with_rate_waits(owner, lambda: connector.sync_epoch(owner.ctx))
    _epoch_seen(key, epoch)
    return epoch


def _epoch_seen(connection_id: str, epoch: str) -> None:
    now = time.monotonic()
    if len(_recent_epochs) > 10_000:  # a long-lived worker with many connections: drop the stale ones
        for stale in [key for key, (_, seen) in _recent_epochs.items() if now - seen >= EPOCH_REUSE_SECONDS]:
            del _recent_epochs[stale]
    _recent_epochs[connection_id] = (epoch, now)


class _LeaseLost(Exception):
    """Another run took this resource over (this one's lease had expired)."""


def _with_rate_waits(owner: _Owner, read: Callable[[], T]) -> T:
    """`read()`, waiting for the vendor's next window when the shared budget is spent (the lease is kept)."""
    waited = 0.0
    while True:
        try:
            return read()
        except VendorRateLimited as exc:
            wait = max(0.05, (exc.reset_at - timezone.now()).total_seconds())
            if waited + wait > settings.LEDGERBRIDGE_SYNC_MAX_RATE_WAIT:
                raise
            _renew_lease(owner, extra=wait)
            time.sleep(wait)
            waited += wait


def _renew_lease(owner: _Owner, *, extra: float = 0.0) -> None:
    until = _lease_until(timezone.now()) + timedelta(seconds=extra)
    updated = SyncState.objects.filter(
        connection_id=owner.run.connection_id, resource=owner.run.resource, current_run_id=owner.run.pk
    ).update(lease_expires_at=until)
    if not updated:
        raise _LeaseLost()


def _locked_state(owner: _Owner) -> SyncState:
    state = SyncState.objects.select_for_update().get(
        connection_id=owner.run.connection_id, resource=owner.run.resource
    )
    if state.current_run_id != owner.run.pk:
        raise _LeaseLost()
    return state


def _commit_begin(owner: _Owner, checkpoint: str, epoch: str) -> SyncState:
    with transaction.atomic():
        state = _locked_state(owner)
        state.checkpoint = checkpoint
        state.epoch = epoch
        state.phase = "backfill"
        state.lease_expires_at = _lease_until(timezone.now())
        state.save(update_fields=["checkpoint", "epoch", "phase", "lease_expires_at"])
    return state


def _commit_batch(owner: _Owner, batch: SyncBatch[Any]) -> SyncState:
    run = owner.run
    connection_id = run.connection_id
    with transaction.atomic():
        state = _locked_state(owner)
        outcome = store_records(
            connection_id=connection_id,
            resource=Resource(run.resource),
            records=batch.records,
            deleted_remote_ids=batch.deleted,
            replaces_all=batch.replaces_all,
            versions=batch.versions,
            # The initial copy's records are no news one by one: its sync.completed says it (store_events.py).
            events=state.first_completed_at is not None,
        )
        state.checkpoint = batch.checkpoint
        state.phase = batch.phase
        state.lease_expires_at = _lease_until(timezone.now())
        state.save(update_fields=["checkpoint", "phase", "lease_expires_at"])
        run.batches += 1
        run.rows += len(batch.records)
        run.changed += outcome.changed
        run.deleted += outcome.deleted
        run.calls = owner.ctx.calls
        run.phase = batch.phase
        if batch.total is not None:
            run.rows_expected = batch.total
        run.save(update_fields=["batches", "rows", "rows_expected", "changed", "deleted", "calls", "phase"])
    return state


def _finish(run: SyncRun, *, failed: BaseException | None = None, calls: int | None = None) -> SyncRun:
    now = timezone.now()
    # The connection as the run was loaded with it (sync_run_execute): the event's workspace and the metrics'
    # connector come from it, not from two more reads.
    connection = run.connection if SyncRun.connection.is_cached(run) else None
    with transaction.atomic():
        state = SyncState.objects.select_for_update().get(connection_id=run.connection_id, resource=run.resource)
        run.refresh_from_db()
        if connection is not None:
            run.connection = connection
        if state.current_run_id != run.pk:
            return run
        run.finished_at = now
        initial_copy = state.first_completed_at is None
        if calls is not None:
            run.calls = calls
        if failed is None:
            run.state = SyncRunState.SUCCEEDED
            state.last_success_at = now
            state.first_completed_at = state.first_completed_at or now
            state.last_error = ""
        else:
            message = f"{failed.__class__.__name__}: {failed}"[:500]
            run.state = SyncRunState.FAILED
            run.error = message
            state.last_error = message
            state.last_error_at = now
        state.record_count = StoredRecord.objects.filter(
            connection_id=run.connection_id, resource=run.resource, deleted_at__isnull=True
        ).count()
        state.current_run = None
        state.lease_expires_at = None
        state.save()
        run.save()
        # sync.completed / sync.failed, in the transaction that ends the run
        sync_run_finished_emit(
            run,
            initial_copy=initial_copy,
            record_count=state.record_count,
            workspace_id=connection.workspace_id if connection is not None else None,
        )
    _observe_finished(run)
    return run


def _observe_finished(run: SyncRun) -> None:
    """Count the ended run (metrics must never fail a sync: an unexpected label is logged, not raised)."""
    mode = "webhook" if run.trigger == "webhook" else "backfill" if run.mode == SyncMode.FULL else "incremental"
    try:
        sync_run_observe(
            connector=run.connection.connector,
            resource=run.resource,
            mode=mode,
            outcome="succeeded" if run.state == SyncRunState.SUCCEEDED else "failed",
            upserted=run.changed,
            deleted=run.deleted,
        )
    except ValueError:
        logger.exception("sync run %s not counted", run.pk)


def sync_epoch_check(*, connection: Connection, trigger: str = "epoch") -> list[SyncRun]:
    """One call: when the vendor's epoch moved (Exact: the division moved, every Timestamp regenerated), every
    resource copied under the old epoch gets a full run; returns the runs requested."""
    connector = get_connector(connection.connector)
    epoch = connector.sync_epoch(connection_context(connection))
    _epoch_seen(str(connection.pk), epoch)  # the full runs it requests begin under this epoch, not an older one
    stale = SyncState.objects.filter(connection=connection).exclude(checkpoint="").exclude(epoch=epoch)
    runs: list[SyncRun] = []
    for state in stale:
        try:
            runs.append(
                sync_run_request(connection=connection, resource=state.resource, mode=SyncMode.FULL, trigger=trigger)
            )
        except SyncAlreadyRunning:
            # The running run continues under the old checkpoint; forget it so the next run copies everything.
            SyncState.objects.filter(pk=state.pk).update(checkpoint="", epoch="")
    return runs


# ---------------------------------------------------------------------------------------------- storing


@dataclass(frozen=True)
class StoreOutcome:
    changed: int
    deleted: int


def _row(connection_id: Any, resource: Resource, record: Any, version: int | None) -> StoredRecord:
    return StoredRecord(
        connection_id=connection_id,
        resource=resource.value,
        record_id=str(record.id),
        remote_id=str(record.remote_id),
        data=record_data(resource, record.without_remote_data()),
        remote_data=record.remote_data,
        remote_version=version,
        updated_at=record.updated_at,
        contact_id=str(getattr(record, "contact_id", None) or ""),
        deleted_at=None,
    )


def store_records(
    *,
    connection_id: Any,
    resource: Resource,
    records: list[Any],
    deleted_remote_ids: list[str] = (),  # type: ignore[assignment]
    replaces_all: bool = False,
    versions: dict[str, int] | None = None,
    events: bool = True,
) -> StoreOutcome:
    """Upsert records and soft-delete the vendor's deletions (inside the caller's transaction, which must be open:
    `events` are written in it); tells the change listeners (hooks.py) what changed once the transaction commits.

    `events`: emit the contact/invoice events of what changed (store_events.py), in the caller's transaction, so
    the rows and their events commit or roll back together."""
    versions = versions or {}
    rows: dict[str, StoredRecord] = {}
    for record in records:
        rows[str(record.id)] = _row(connection_id, resource, record, versions.get(str(record.remote_id)))
    scope = StoredRecord.objects.filter(connection_id=connection_id, resource=resource.value)
    before = dict(scope.filter(record_id__in=list(rows), deleted_at__isnull=True).values_list("record_id", "data"))
    changed = [row for record_id, row in rows.items() if before.get(record_id) != row.data]
    if rows:
        StoredRecord.objects.bulk_create(
            list(rows.values()),
            batch_size=STORE_BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["connection", "resource", "record_id"],
            update_fields=[
                "remote_id",
                "data",
                "remote_data",
                "remote_version",
                "updated_at",
                "contact_id",
                "deleted_at",
                "stored_at",
            ],
        )
    now = timezone.now()
    gone_ids: list[str] = []
    if deleted_remote_ids:
        gone = scope.filter(remote_id__in=list(deleted_remote_ids), deleted_at__isnull=True)
        gone_ids.extend(gone.values_list("record_id", flat=True))
        gone.update(deleted_at=now)
    if replaces_all:
        missing = scope.filter(deleted_at__isnull=True).exclude(record_id__in=list(rows))
        gone_ids.extend(missing.values_list("record_id", flat=True))
        missing.update(deleted_at=now)
    if changed or gone_ids:
        change = hooks.RecordChanges(
            connection_id=connection_id,
            resource=resource.value,
            changed=[row.data for row in changed],
            deleted=gone_ids,
            created=frozenset(row.record_id for row in changed if row.record_id not in before),
        )
        if events:
            store_changes_emit(change)
        transaction.on_commit(lambda: hooks.records_changed(change))
    return StoreOutcome(changed=len(changed), deleted=len(gone_ids))


def store_deleted_record(*, connection: Connection, resource: Resource, record_id: str) -> None:
    """Keep the copy true after a delete through the API: the stored record is marked deleted at once (reads answer
    404), with the change listeners told as for a deletion the sync finds. No record event of the store's own: the
    write announces it."""
    with transaction.atomic():
        remote_ids = list(
            StoredRecord.objects.filter(
                connection_id=connection.pk, resource=resource.value, record_id=record_id, deleted_at__isnull=True
            ).values_list("remote_id", flat=True)
        )
        if remote_ids:
            store_records(
                connection_id=connection.pk, resource=resource, records=[], deleted_remote_ids=remote_ids, events=False
            )


def store_written_record(*, connection: Connection, resource: Resource, record: Any, events: bool = True) -> None:
    """Keep the copy true after a write through the API: the vendor's answer replaces the stored record at once
    (only once the resource has a copy; before that reads go to the vendor anyway). `events=False` when the
    caller announces the record itself (a write's `invoice.created` with `source: "api"`)."""
    has_copy = store_copy_noted(connection, resource)  # read with the connection in this request, if it was
    if has_copy is None:
        has_copy = SyncState.objects.filter(
            connection=connection, resource=resource.value, first_completed_at__isnull=False
        ).exists()
    if not has_copy:
        return
    with transaction.atomic():
        store_records(connection_id=connection.pk, resource=resource, records=[record], events=events)
