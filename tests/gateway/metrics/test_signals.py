"""gateway/metrics/signals.py: connection status changes are counted per connector and status once their
transaction commits; a rolled-back change and kinds that are no status change count nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from gateway.metrics import instruments
from tenants.models import Connection, ConnectionStatus
from tenants.signals import connection_lifecycle_send, connections_status_set
from tests.tenants.factories import ConnectionFactory


def _changes(connector: str, status: str) -> float:
    labels = {"connector": connector, "status": status}
    return instruments.REGISTRY.get_sample_value("ledgerbridge_connection_status_changes_total", labels) or 0.0


@pytest.mark.django_db
def test_changes_are_counted_per_connector_after_the_commit(django_capture_on_commit_callbacks: Any) -> None:
    exact = ConnectionFactory()
    ConnectionFactory(tenant=exact.tenant, credential=exact.credential, company_id="102")
    xero = ConnectionFactory(connector="xero", region="", company_id="org-1")
    before = (_changes("exact", "needs_reauth"), _changes("xero", "needs_reauth"))

    with django_capture_on_commit_callbacks(execute=True):
        connections_status_set(Connection.objects.all(), kind="needs_reauth", status=ConnectionStatus.NEEDS_REAUTH)
        assert _changes("exact", "needs_reauth") == before[0]  # not yet: the change may still roll back

    assert _changes("exact", "needs_reauth") == before[0] + 2
    assert _changes("xero", "needs_reauth") == before[1] + 1
    assert xero.connector == "xero"


@pytest.mark.django_db
def test_a_rolled_back_change_and_other_kinds_count_nothing(django_capture_on_commit_callbacks: Any) -> None:
    connection = ConnectionFactory()
    before = {status: _changes("exact", status) for status in ("disabled", "active", "needs_reauth")}

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            connections_status_set(
                Connection.objects.filter(pk=connection.pk), kind="disabled", status=ConnectionStatus.DISABLED
            )
            raise RuntimeError("the change fails after the update")
        connection_lifecycle_send("created", [connection])
        connection_lifecycle_send("disconnected", [connection])

    assert {status: _changes("exact", status) for status in before} == before
    assert not [c for c in callbacks if "connection_lifecycle_count" in c.__qualname__]
