"""Signals tenants sends when a connection's lifecycle changes; the events app turns them into outbound events.

Sent inside the transaction of the change, so a receiver's writes (the event outbox) commit or roll back with it.
`connection_lifecycle` carries `kind` (created, needs_reauth, reactivated, disabled, disconnected) and
`connections`: snapshots (ConnectionSnapshot) taken at the change, since a disconnected connection is gone after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone

from tenants.models import Connection

connection_lifecycle = Signal()
# Sent with `connection` just before a disconnect deletes it, outside the disconnect's transaction, so a receiver
# may still call the vendor with the connection's credential (e.g. to remove its webhook subscriptions). Inside a
# caller's own transaction (admin deletes) vendor calls are refused; receivers must not let that stop the delete.
connection_disconnecting = Signal()


@dataclass(frozen=True)
class ConnectionSnapshot:
    id: Any
    workspace_id: Any
    tenant_id: Any
    tenant_external_id: str
    connector: str
    region: str
    company_id: str
    status: str
    status_reason: str

    @classmethod
    def of(cls, connection: Connection) -> ConnectionSnapshot:
        return cls(
            id=connection.pk,
            workspace_id=connection.workspace_id,
            tenant_id=connection.tenant_id,
            tenant_external_id=connection.tenant.external_id,
            connector=connection.connector,
            region=connection.region,
            company_id=connection.company_id,
            status=connection.status,
            status_reason=connection.status_reason,
        )


def connection_lifecycle_send(kind: str, connections: list[Connection]) -> None:
    """Tell receivers (in the current transaction) that these connections were created, changed or removed."""
    if connections:
        connection_lifecycle.send(
            sender=Connection, kind=kind, connections=[ConnectionSnapshot.of(connection) for connection in connections]
        )


def connection_disconnecting_send(connection: Connection) -> None:
    """Tell receivers this connection is about to be deleted (it and its credential still exist)."""
    connection_disconnecting.send(sender=Connection, connection=connection)


def connections_status_set(queryset: QuerySet[Connection], *, kind: str, **fields: Any) -> int:
    """Update the status fields of the connections `queryset` selects and announce each one changed (one transaction).

    The rows are locked first, so the announced set is exactly the set updated.
    """
    fields.setdefault("updated_at", timezone.now())
    with transaction.atomic():
        locked = list(queryset.select_for_update(of=("self",)).select_related("tenant"))
        if not locked:
            return 0
        Connection.objects.filter(pk__in=[connection.pk for connection in locked]).update(**fields)
        for connection in locked:
            for name, value in fields.items():
                setattr(connection, name, value)
        connection_lifecycle_send(kind, locked)
    return len(locked)
