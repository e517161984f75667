"""tenants/signals.py: a status change updates and announces exactly the connections it locked, in the
transaction of the change; snapshots outlive a deleted connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import transaction

from tenants.models import Connection, ConnectionStatus
from tenants.signals import ConnectionSnapshot, connection_lifecycle, connection_lifecycle_send, connections_status_set
from tests.tenants.factories import ConnectionFactory


@pytest.fixture
def announced() -> Iterator[list[tuple[str, list[ConnectionSnapshot]]]]:
    sent: list[tuple[str, list[ConnectionSnapshot]]] = []

    def receiver(sender: Any, kind: str, connections: list[ConnectionSnapshot], **kwargs: Any) -> None:
        sent.append((kind, connections))

    connection_lifecycle.connect(receiver, weak=False, dispatch_uid="tests.tenants.test_signals")
    yield sent
    connection_lifecycle.disconnect(dispatch_uid="tests.tenants.test_signals")


@pytest.mark.django_db
def test_a_status_change_updates_and_announces_exactly_the_selected_connections(announced: list[Any]) -> None:
    active = ConnectionFactory()
    sibling = ConnectionFactory(tenant=active.tenant, credential=active.credential, company_id="102")
    disabled = ConnectionFactory(
        tenant=active.tenant, credential=active.credential, company_id="103", status=ConnectionStatus.DISABLED
    )

    changed = connections_status_set(
        Connection.objects.filter(credential=active.credential, status=ConnectionStatus.ACTIVE),
        kind="needs_reauth",
        status=ConnectionStatus.NEEDS_REAUTH,
        status_reason="credential: refresh token rejected",
    )

    assert changed == 2
    assert set(Connection.objects.filter(status=ConnectionStatus.NEEDS_REAUTH)) == {active, sibling}
    assert Connection.objects.get(pk=disabled.pk).status == ConnectionStatus.DISABLED
    ((kind, snapshots),) = announced
    assert kind == "needs_reauth" and {s.id for s in snapshots} == {active.pk, sibling.pk}
    # The snapshots show the state after the change, with the tenant's external id.
    assert {(s.status, s.status_reason, s.tenant_external_id) for s in snapshots} == {
        (ConnectionStatus.NEEDS_REAUTH, "credential: refresh token rejected", active.tenant.external_id)
    }


@pytest.mark.django_db
def test_nothing_selected_means_nothing_written_or_announced(announced: list[Any]) -> None:
    ConnectionFactory()
    assert connections_status_set(Connection.objects.none(), kind="reactivated", status=ConnectionStatus.ACTIVE) == 0
    connection_lifecycle_send("created", [])
    assert announced == []


@pytest.mark.django_db
def test_a_receiver_that_fails_rolls_the_change_back() -> None:
    connection = ConnectionFactory()

    def failing(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("outbox write failed")

    connection_lifecycle.connect(failing, weak=False, dispatch_uid="tests.tenants.failing")
    try:
        with pytest.raises(RuntimeError), transaction.atomic():
            connections_status_set(
                Connection.objects.filter(pk=connection.pk), kind="disabled", status=ConnectionStatus.DISABLED
            )
    finally:
        connection_lifecycle.disconnect(dispatch_uid="tests.tenants.failing")
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.ACTIVE


@pytest.mark.django_db
def test_a_snapshot_outlives_the_connection_it_describes() -> None:
    connection = ConnectionFactory(company_id="101", region="nl")
    snapshot = ConnectionSnapshot.of(connection)
    pk = connection.pk
    connection.delete()
    assert (snapshot.id, snapshot.company_id, snapshot.region, snapshot.connector) == (pk, "101", "nl", "exact")
    assert snapshot.workspace_id == connection.workspace_id and snapshot.tenant_id == connection.tenant_id
