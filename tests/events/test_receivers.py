"""events/receivers.py: each connection lifecycle change becomes its event, numbered in the connection's
sequence, with the connection as it was at the change (a disconnected one included)."""

from __future__ import annotations

import pytest

from events.models import Event
from tenants import services
from tenants.models import ConnectionStatus
from tests.tenants.factories import ConnectionFactory


@pytest.mark.django_db
def test_disable_then_disconnect_emit_their_events_in_order_with_the_connections_data() -> None:
    connection = ConnectionFactory(company_id="101")
    pk, tenant = connection.pk, connection.tenant

    services.connection_disable(connection=connection, reason="operator: unpaid")
    services.connection_disconnect(connection=connection)

    events = list(Event.objects.filter(connection_id=pk).order_by("sequence"))
    assert [(e.type, e.sequence) for e in events] == [("connection.disabled", 1), ("connection.disconnected", 2)]
    assert events[0].data == {
        "connection_id": str(pk),
        "tenant_id": str(tenant.pk),
        "tenant_external_id": tenant.external_id,
        "connector": "exact",
        "region": "nl",
        "company_id": "101",
        "status": ConnectionStatus.DISABLED,
        "reason": "operator: unpaid",
    }
    assert events[1].workspace_id == tenant.workspace_id
