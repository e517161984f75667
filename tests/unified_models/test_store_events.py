"""The sync engine's change hook becomes record events (source "sync"): changed and deleted contacts and invoices."""

from __future__ import annotations

import pytest

from events.models import Event
from tests.tenants.factories import ConnectionFactory
from unified_models.store.hooks import RecordChanges, records_changed

pytestmark = pytest.mark.django_db


def test_a_sync_change_is_an_event_per_record_in_the_connections_sequence() -> None:
    connection = ConnectionFactory()
    records_changed(
        RecordChanges(
            connection_id=connection.pk,
            resource="invoices",
            changed=[{"id": "inv-1", "reference": "ORDER-1"}],
            deleted=["inv-2"],
        )
    )
    records_changed(RecordChanges(connection_id=connection.pk, resource="journals", changed=[{"id": "70"}], deleted=[]))
    events = list(Event.objects.order_by("sequence"))
    assert [(e.type, e.sequence, e.source, e.data["id"]) for e in events] == [
        ("invoice.updated", 1, "sync", "inv-1"),
        ("invoice.deleted", 2, "sync", "inv-2"),
    ]
    assert events[0].data["record"]["reference"] == "ORDER-1" and events[0].workspace_id == connection.workspace_id
