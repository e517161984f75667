"""Events from the sync engine (source "sync"): changed and deleted contacts and invoices, written batch by batch
in the transaction that stores them; none for a resource's initial copy, whose `sync.completed` says so; and
`sync.completed` / `sync.failed` when a run against a vendor sandbox ends (every connector: `any_connected`)."""

from __future__ import annotations

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from connectors.base.data import Resource
from connectors.base.records import Contact
from events.models import Event, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import ConnectionFactory
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.hooks import RecordChanges
from unified_models.store.models import StoredRecord, SyncRunState
from unified_models.store_events import store_changes_emit

pytestmark = pytest.mark.django_db


def test_a_sync_change_is_an_event_per_record_in_the_connections_sequence() -> None:
    connection = ConnectionFactory()
    with transaction.atomic():
        store_changes_emit(
            RecordChanges(
                connection_id=connection.pk,
                resource="invoices",
                changed=[{"id": "inv-1", "reference": "ORDER-1"}],
                deleted=["inv-2"],
            )
        )
        assert not store_changes_emit(
            RecordChanges(connection_id=connection.pk, resource="journals", changed=[{"id": "70"}], deleted=[])
        )
        store_changes_emit(
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


@pytest.mark.postgres
def test_a_batchs_events_cost_a_few_statements_whatever_their_number() -> None:
    # 2,500 changed records (more than one INSERT's worth, EMIT_CHUNK) and 10 deletions, to two endpoints: the
    # workspace lookup, the numbered inserts (three; the last reads and locks the endpoints too), the deliveries
    # (one INSERT per thousand). Before, each event was a transaction of its own with a sequence lookup.
    connection = ConnectionFactory()
    first, second = (WebhookEndpointFactory(workspace=connection.workspace) for _ in range(2))
    with transaction.atomic():
        store_changes_emit(
            RecordChanges(connection_id=connection.pk, resource="contacts", changed=[{"id": "c0"}], deleted=[])
        )
    change = RecordChanges(
        connection_id=connection.pk,
        resource="invoices",
        changed=[{"id": f"inv-{n}", "reference": f"R{n}"} for n in range(2500)],
        deleted=[f"gone-{n}" for n in range(10)],
        created=frozenset(f"inv-{n}" for n in range(0, 2500, 2)),
    )
    with CaptureQueriesContext(db_connection) as queries, transaction.atomic():
        assert store_changes_emit(change) == 2510
    statements = [q["sql"] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 + 3 + 6, "\n".join(statements)  # 5,020 deliveries: six INSERTs
    numbered = [sql for sql in statements if sql.startswith("WITH counter AS")]
    assert len(numbered) == 3 and ['FROM "events_webhookendpoint"' in sql for sql in numbered] == [False, False, True]
    events = list(Event.objects.filter(type__startswith="invoice.").order_by("sequence"))
    assert [event.sequence for event in events] == list(range(2, 2512))  # the contact event had 1: no gap
    assert [event.data["id"] for event in events][:3] == ["inv-0", "inv-1", "inv-2"]
    assert [event.type for event in events][:2] == ["invoice.created", "invoice.updated"]
    assert {event.type for event in events[-10:]} == {"invoice.deleted"}
    for endpoint in (first, second):
        assert WebhookDelivery.objects.filter(endpoint=endpoint, event__type__startswith="invoice.").count() == 2510


@pytest.mark.postgres
def test_stored_rows_and_their_events_commit_or_roll_back_together() -> None:
    connection = ConnectionFactory()

    def store(names: list[str]) -> services.StoreOutcome:
        return services.store_records(
            connection_id=connection.pk,
            resource=Resource.CONTACTS,
            records=[Contact(id=f"c-{name}", remote_id=f"c-{name}", name=name, remote_data={}) for name in names],
        )

    with pytest.raises(RuntimeError), transaction.atomic():
        store(["Aap BV", "Noot BV"])
        raise RuntimeError("the worker dies before the batch commits")
    assert not StoredRecord.objects.exists() and not Event.objects.exists()
    with transaction.atomic():
        assert store(["Aap BV", "Noot BV"]).changed == 2
    assert sorted(Event.objects.values_list("type", flat=True)) == ["contact.created", "contact.created"]
    with transaction.atomic():  # the same batch again (a redelivered task): nothing new, no event
        assert store(["Aap BV", "Noot BV"]).changed == 0
    assert Event.objects.count() == 2


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
def test_the_initial_copy_is_one_sync_completed_and_later_news_are_record_events(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_contacts(30, seed=7)
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    contact_events = Event.objects.filter(connection_id=connected.connection.pk, type__startswith="contact.")
    # The backfill: no contact.created per record, one sync.completed that says it made the initial copy.
    assert not contact_events.exists()
    (completed,) = _sync_events(connected)
    stored = StoredRecord.objects.filter(connection=connected.connection, resource="contacts").count()
    assert completed.data["initial_copy"] is True and completed.data["record_count"] == stored >= 30
    assert completed.data["changed"] == stored

    # Stored again unchanged: nothing new, nothing different, no record event; not the initial copy any more.
    again = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=again.pk).state == SyncRunState.SUCCEEDED
    assert not contact_events.exists()
    assert _sync_events(connected)[-1].data["initial_copy"] is False

    # New records in the division: a contact.created each, before the run's sync.completed.
    held = StoredRecord.objects.filter(connection=connected.connection, resource="contacts")
    before = set(held.values_list("record_id", flat=True))
    connected.seed_contacts(3, seed=8)
    news = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=news.pk).state == SyncRunState.SUCCEEDED
    new_ids = set(held.values_list("record_id", flat=True)) - before
    assert len(new_ids) == 3
    assert sorted(contact_events.values_list("type", "data__id")) == sorted(("contact.created", i) for i in new_ids)
    last = _sync_events(connected)[-1]
    assert last.data["initial_copy"] is False and last.data["changed"] == 3 and last.data["record_count"] == stored + 3
    assert max(contact_events.values_list("sequence", flat=True)) < last.sequence


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_write_through_the_api_is_announced_once(connected: Connected) -> None:
    # The write's own contact.created (source "api") says it; storing the vendor's answer in the copy adds none.
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    created = connected.client.post(connected.url("contacts"), {"name": "Eenmalig BV"}, format="json")
    assert created.status_code == 201, created.json()
    stored = StoredRecord.objects.get(
        connection=connected.connection, resource="contacts", record_id=created.json()["id"]
    )
    assert stored.data["name"] == "Eenmalig BV"
    events = Event.objects.filter(connection_id=connected.connection.pk, type__startswith="contact.")
    assert list(events.values_list("type", "source", "data__id")) == [("contact.created", "api", created.json()["id"])]
