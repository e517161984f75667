"""Record events from the sync engine: the store's change listener turns what a sync changed into outbound events.

`contact.updated` / `invoice.updated` for records a sync found new or different, `contact.deleted` /
`invoice.deleted` for records the vendor reported gone, all with `source: "sync"`. The store calls listeners after
its transaction committed, so each event is written in a transaction of its own right after.
"""

from __future__ import annotations

from events.services import event_emit
from tenants.models import Connection
from unified_models.store.hooks import RecordChanges, on_records_changed

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
        event_emit(type=f"{stem}.updated", data={"id": str(record.get("id", "")), "record": record}, **common)
        emitted += 1
    for record_id in change.deleted:
        event_emit(type=f"{stem}.deleted", data={"id": str(record_id)}, **common)
        emitted += 1
    return emitted


def register() -> None:
    on_records_changed(store_changes_emit)
