"""Turns tenants' connection lifecycle signals into outbound events (in the transaction of the change)."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from events.models import EventType
from events.services import event_emit
from tenants.signals import ConnectionSnapshot, connection_lifecycle

_TYPES = {
    "created": EventType.CONNECTION_CREATED,
    "needs_reauth": EventType.CONNECTION_NEEDS_REAUTH,
    "reactivated": EventType.CONNECTION_REACTIVATED,
    "disabled": EventType.CONNECTION_DISABLED,
    "disconnected": EventType.CONNECTION_DISCONNECTED,
}


def connection_data(snapshot: ConnectionSnapshot) -> dict[str, Any]:
    return {
        "connection_id": str(snapshot.id),
        "tenant_id": str(snapshot.tenant_id),
        "tenant_external_id": snapshot.tenant_external_id,
        "connector": snapshot.connector,
        "region": snapshot.region,
        "company_id": snapshot.company_id,
        "status": snapshot.status,
        "reason": snapshot.status_reason,
    }


@receiver(connection_lifecycle, dispatch_uid="events.connection_lifecycle")
def connection_lifecycle_event(sender: Any, kind: str, connections: list[ConnectionSnapshot], **kwargs: Any) -> None:
    for snapshot in connections:
        event_emit(
            workspace_id=snapshot.workspace_id,
            connection_id=snapshot.id,
            type=_TYPES[kind],
            data=connection_data(snapshot),
        )
