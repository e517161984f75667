"""Events from the sync engine: what a sync changed in the store, and how each run ended.

`contact.created` / `invoice.created` for records a sync found new, `*.updated` for ones it found different,
`contact.deleted` /
`invoice.deleted` for records the vendor reported gone, all with `source: "sync"`. The store calls listeners after
its transaction committed, so each event is written in a transaction of its own right after.

`sync.completed` / `sync.failed` when a run ends: written by the store in the transaction that records the run's
end (an outbox, like every event), so a run that ended always has its event and a rolled-back end has none.
"""

from __future__ import annotations

from typing import Any

from events.models import EventType
from events.services import event_emit
from tenants.models import Connection
from unified_models.store.hooks import RecordChanges, on_records_changed
from unified_models.store.models import SyncRun, SyncRunState

STEMS = {"contacts": "contact", "invoices": "invoice"}


def store_changes_emit(change: RecordChanges) -> int:
    """Emit one event per changed or deleted contact or invoice; returns how many."""
    stem = STEMS.get(change.resource)
    if stem is None:
        return 0
    workspace_id = Connection.objects.filter(pk=change.connection_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return 0  # disconnected meanwhile
    common = {"workspace_id": workspace_id, "connection_id": change.connection_id, "source": "sync"}
    emitted = 0
    for record in change.changed:
        record_id = str(record.get("id", ""))
        verb = "created" if record_id in change.created else "updated"
        event_emit(type=f"{stem}.{verb}", data={"id": record_id, "record": record}, **common)
        emitted += 1
    for record_id in change.deleted:
        event_emit(type=f"{stem}.deleted", data={"id": str(record_id)}, **common)
        emitted += 1
    return emitted


def sync_run_data(run: SyncRun) -> dict[str, Any]:
    """A run as its event shows it: what, how it was started, how far it got, and the error that ended it."""
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
        "error": run.error or None,
    }


def sync_run_finished_emit(run: SyncRun) -> None:
    """`sync.completed` for a run that succeeded, `sync.failed` for one that failed (call it in the transaction that
    ends the run); other states (a run taken over after its worker died) end with no event of their own."""
    if run.state == SyncRunState.SUCCEEDED:
        event_type = EventType.SYNC_COMPLETED
    elif run.state == SyncRunState.FAILED:
        event_type = EventType.SYNC_FAILED
    else:
        return
    workspace_id = Connection.objects.filter(pk=run.connection_id).values_list("workspace_id", flat=True).first()
    if workspace_id is None:
        return  # the connection was deleted meanwhile
    event_emit(
        workspace_id=workspace_id,
        connection_id=run.connection_id,
        type=event_type,
        data=sync_run_data(run),
        source="sync",
    )


def register() -> None:
    on_records_changed(store_changes_emit)
