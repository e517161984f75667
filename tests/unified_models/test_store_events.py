"""Events from the sync engine (source "sync"): changed and deleted contacts and invoices from the change hook, and
`sync.completed` / `sync.failed` when a run against a vendor sandbox ends (every connector: `any_connected`)."""

from __future__ import annotations

import pytest

from events.models import Event, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import ConnectionFactory
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.hooks import RecordChanges, records_changed
from unified_models.store.models import SyncRunState

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
    records_changed(
        RecordChanges(
            connection_id=connection.pk,
            resource="contacts",
            changed=[{"id": "c-1"}, {"id": "c-2"}],
            deleted=[],
            created=frozenset({"c-2"}),
        )
    )
    events = list(Event.objects.order_by("sequence"))
    assert [(e.type, e.sequence, e.source, e.data["id"]) for e in events] == [
        ("invoice.updated", 1, "sync", "inv-1"),
        ("invoice.deleted", 2, "sync", "inv-2"),
        ("contact.updated", 3, "sync", "c-1"),
        ("contact.created", 4, "sync", "c-2"),
    ]
    assert events[0].data["record"]["reference"] == "ORDER-1" and events[0].workspace_id == connection.workspace_id


def _sync_events(connected: Connected) -> list[Event]:
    events = Event.objects.filter(connection_id=connected.connection.pk, type__startswith="sync.")
    return list(events.order_by("sequence"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_run_that_ends_is_a_sync_completed_or_sync_failed_event(any_connected: Connected) -> None:
    connected = any_connected
    endpoint = WebhookEndpointFactory(
        workspace=connected.connection.workspace, event_types=["sync.completed", "sync.failed"]
    )
    connected.seed_contacts(12, seed=4)
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    (completed,) = _sync_events(connected)
    assert completed.type == "sync.completed" and completed.source == "sync"
    assert completed.workspace_id == connected.connection.workspace_id
    run.refresh_from_db()
    assert completed.data["sync_run_id"] == str(run.pk) and completed.data["resource"] == "contacts"
    assert completed.data["rows"] == run.rows > 0 and completed.data["error"] is None
    assert completed.data["state"] == "succeeded" and completed.data["finished_at"] == run.finished_at.isoformat()

    # The vendor fails every read of the next run: it ends failed, with the error in the event.
    connected.world.control.add_fault(kind="500", pattern=connected.profile.contacts_read_pattern, method="GET")
    failing = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=failing.pk).state == SyncRunState.FAILED
    failing.refresh_from_db()
    completed_again, failed = _sync_events(connected)
    assert completed_again.pk == completed.pk
    assert failed.type == "sync.failed" and failed.sequence > completed.sequence
    assert failed.data["sync_run_id"] == str(failing.pk) and failed.data["state"] == "failed"
    assert failed.data["error"] == failing.error != ""
    # Both reach the endpoint subscribed to them (one delivery each, from the outbox).
    assert sorted(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event__type", flat=True)) == [
        "sync.completed",
        "sync.failed",
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_run_that_lost_its_lease_ends_without_an_event(any_connected: Connected) -> None:
    connected = any_connected
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    # Another run took the resource over (this one's worker was presumed dead): the first one's end is not news.
    services.SyncState.objects.filter(connection=connected.connection, resource="contacts").update(
        lease_expires_at=None
    )
    successor = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.ABANDONED
    assert services.sync_run_execute(run_id=successor.pk).state == SyncRunState.SUCCEEDED
    assert [(event.type, event.data["sync_run_id"]) for event in _sync_events(connected)] == [
        ("sync.completed", str(successor.pk))
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_records_a_sync_finds_new_are_created_events(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_contacts(3, seed=7)
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    contact_events = Event.objects.filter(connection_id=connected.connection.pk, type__startswith="contact.")
    types = set(contact_events.values_list("type", flat=True))
    assert types == {"contact.created"} and contact_events.count() >= 3
    # Stored again unchanged: nothing new, nothing different, no event.
    before = contact_events.count()
    again = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=again.pk).state == SyncRunState.SUCCEEDED
    assert contact_events.count() == before
