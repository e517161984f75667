"""Connection lifecycle -> webhook subscriptions: created at connect (a task, once the connection is committed),
removed just before a disconnect deletes the connection (while its credential still works)."""

from __future__ import annotations

from typing import Any

from tenants.models import Connection
from tenants.signals import ConnectionSnapshot
from unified_models.store import inbound, tasks


def connection_inbound_subscribe(sender: Any, kind: str, connections: list[ConnectionSnapshot], **kwargs: Any) -> None:
    if kind in ("created", "reactivated"):
        for snapshot in connections:
            tasks.inbound_subscribe_enqueue(snapshot.id)


def connection_inbound_unsubscribe(sender: Any, connection: Connection, **kwargs: Any) -> None:
    inbound.inbound_subscriptions_remove(connection=connection)
