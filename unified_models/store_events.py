"""Events from the sync engine: what a sync changed in the store, and how each run ended.

`contact.created` / `invoice.created` for records a sync found new, `*.updated` for ones it found different,
`contact.deleted` / `invoice.deleted` for records the vendor reported gone, all with `source: "sync"`. The store
writes a batch's events in the transaction that stores the batch's rows (an outbox: a crash loses none and a
batch stored twice finds nothing new the second time), all of them in one `events_emit` (sequence numbers in one
counter update, one INSERT per thousand events, the endpoints read once).

The initial copy of a resource (every run until its first success) emits no record events: each of its records
would be "created", and a receiver would get a hundred thousand webhooks for a backfill of a hundred thousand
invoices telling it nothing a list read would not. Its end is one `sync.completed` with `initial_copy: true` and
the counts (`rows`, `changed`, `record_count`): the receiver's cue to read the resource once (from the store, no
vendor calls). From then on every run, full resyncs included, emits an event per record it found new, different
or gone.

`sync.completed` / `sync.failed` when a run ends: written by the store in the transaction that records the run's
end (an outbox, like every event), so a run that ended always has its event and a rolled-back end has none.
"""

from __future__ import annotations

from typing import Any

from events.models import EventType
from events.services import event_emit, events_emit
from tenants.models import Connection
from unified_models.store.hooks import RecordChanges
from unified_models.store.models import SyncRun, SyncRunState

STEMS = {"contacts": "contact", "invoices": "invoice"}


def store_changes_emit(change: RecordChanges) -> int:
    """Emit one event per changed or deleted contact or invoice of one stored batch, all at once in the current
    transaction (call it in the transaction that stores the batch); returns how many."""
    stem = STEMS.get(change.resource)
    if stem is None or not (change.changed or change.deleted):
        return 0
    workspace_id = Connection.objects.filter(pk=change.connection_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return 0  # disconnected meanwhile
    events: list[tuple[str, dict[str, Any]]] = []
    for record in change.changed:
        record_id = str(record.get("id", ""))
        verb = "created" if record_id in change.created else "updated"
        events.append((f"{stem}.{verb}", {"id": record_id, "record": record}))
    events.extend((f"{stem}.deleted", {"id": str(record_id)}) for record_id in change.deleted)
    events_emit(workspace_id=workspace_id, connection_id=change.connection_id, source="sync", events=events)
    return len(events)


def sync_run_data(run: SyncRun, *, initial_copy: bool = False, record_count: int | None = None) -> dict[str, Any]:
    """A run as its event shows it: what, how it was started, how far it got, whether it made the resource's
    initial copy (which emits no record events), the records the copy holds after it, and the error that ended
    it."""
    return {
        "sync_run_id": str(run.pk),
        "resource": run.resource,
        "mode": run.mode,
        "trigger": run.trigger,
        "state": run.state,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "rows": run.rows,
        "changed": run.changed,
        "deleted": run.deleted,
        "calls": run.calls,
        "initial_copy": initial_copy,
        "record_count": record_count,
        "error": run.error or None,
    }


def sync_run_finished_emit(
    run: SyncRun, *, initial_copy: bool = False, record_count: int | None = None, workspace_id: Any = None
) -> None:
    """`sync.completed` for a run that succeeded, `sync.failed` for one that failed (call it in the transaction that
    ends the run); other states (a run taken over after its worker died) end with no event of their own.
    `initial_copy`: the run was (part of) the resource's first copy, whose records got no events of their own.
    `workspace_id`: the connection's, when the caller has it (else it is read)."""
    if run.state == SyncRunState.SUCCEEDED:
        event_type = EventType.SYNC_COMPLETED
    elif run.state == SyncRunState.FAILED:
        event_type = EventType.SYNC_FAILED
    else:
        return
    if workspace_id is None:
        workspace_id = Connection.objects.filter(pk=run.connection_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return  # the connection was deleted meanwhile
    event_emit(
        workspace_id=workspace_id,
        connection_id=run.connection_id,
        type=event_type,
        data=sync_run_data(run, initial_copy=initial_copy, record_count=record_count),
        source="sync",
    )
