"""events/services.py, module-level rules the HTTP delivery tests (test_webhooks.py) do not pin down: numbering
per connection across changes, deliveries only to enabled endpoints that take the type, the payload's shape,
endpoint input refused by field, due deliveries, the retry schedule and giving up, redelivery."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events import services
from events.models import DeliveryStatus, Event, EventType, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import ConnectionFactory, WorkspaceFactory


@pytest.mark.django_db
def test_a_connections_events_are_numbered_across_changes_and_workspace_events_are_not() -> None:
    connection = ConnectionFactory()
    workspace_id = connection.workspace_id

    first = services.event_emit(
        workspace_id=workspace_id, type=EventType.CONTACT_CREATED, data={}, connection_id=connection.pk
    )
    more = services.events_emit(
        workspace_id=workspace_id,
        events=[(EventType.INVOICE_CREATED, {"n": 1}), (EventType.INVOICE_UPDATED, {"n": 2})],
        connection_id=connection.pk,
    )
    other = services.event_emit(
        workspace_id=workspace_id,
        type=EventType.CONTACT_CREATED,
        data={},
        connection_id=ConnectionFactory(tenant=connection.tenant, company_id="102").pk,
    )
    plain = services.event_emit(workspace_id=workspace_id, type=EventType.WEBHOOK_ENDPOINT_DISABLED, data={})

    assert [first.sequence, *(event.sequence for event in more)] == [1, 2, 3]
    assert other.sequence == 1 and plain.sequence is None
    stored = dict(Event.objects.filter(connection_id=connection.pk).values_list("type", "sequence"))
    assert stored == {"contact.created": 1, "invoice.created": 2, "invoice.updated": 3}


@pytest.mark.django_db
def test_deliveries_go_to_enabled_endpoints_that_take_the_type(django_capture_on_commit_callbacks: Any) -> None:
    workspace = WorkspaceFactory()
    everything = WebhookEndpointFactory(workspace=workspace)
    invoices_only = WebhookEndpointFactory(workspace=workspace, event_types=[EventType.INVOICE_CREATED])
    WebhookEndpointFactory(workspace=workspace, enabled=False)
    WebhookEndpointFactory()  # another workspace's

    with django_capture_on_commit_callbacks() as callbacks:
        contact = services.event_emit(workspace_id=workspace.pk, type=EventType.CONTACT_CREATED, data={})
        invoice = services.event_emit(workspace_id=workspace.pk, type=EventType.INVOICE_CREATED, data={})

    assert set(WebhookDelivery.objects.filter(event=contact).values_list("endpoint", flat=True)) == {everything.pk}
    assert set(WebhookDelivery.objects.filter(event=invoice).values_list("endpoint", flat=True)) == {
        everything.pk,
        invoices_only.pk,
    }
    assert len(callbacks) == 2  # one queueing per change, after its commit


@pytest.mark.django_db
def test_the_payload_carries_the_id_type_utc_timestamp_ordering_fields_and_data() -> None:
    connection = ConnectionFactory()
    event = services.event_emit(
        workspace_id=connection.workspace_id,
        type=EventType.INVOICE_CREATED,
        data={"id": "inv-1"},
        connection_id=connection.pk,
        source="webhook",
    )
    payload = services.event_payload(event)
    assert payload == {
        "id": str(event.id),
        "type": "invoice.created",
        "timestamp": payload["timestamp"],
        "workspace_id": str(connection.workspace_id),
        "connection_id": str(connection.pk),
        "sequence": 1,
        "source": "webhook",
        "data": {"id": "inv-1"},
    }
    assert payload["timestamp"].endswith("Z") and "+00:00" not in payload["timestamp"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url", "invalid"),
        ({"url": "https://10.0.0.5/hooks"}, "url", "destination_not_allowed"),
        ({"event_types": ["invoice.created", "invoice.paid"]}, "event_types.1", "invalid_choice"),
    ],
)
def test_endpoint_input_is_refused_naming_the_field(
    settings: Any, changes: dict[str, Any], field: str, code: str
) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(services.InvalidEndpoint) as refused:
        services.webhook_endpoint_create(
            workspace=WorkspaceFactory(), **{"url": "https://hooks.example.com/x", **changes}
        )
    assert (refused.value.field, refused.value.code) == (field, code)


@pytest.mark.django_db
def test_event_types_are_kept_once_in_order_and_enabling_again_clears_the_failure_streak() -> None:
    endpoint = WebhookEndpointFactory(event_types=["invoice.created", "contact.created", "invoice.created"])
    assert endpoint.event_types == ["invoice.created", "contact.created"]

    services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
    assert endpoint.disabled_reason == "disabled through the API"
    endpoint.failing_since = timezone.now()
    endpoint.save()
    services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failing_since is None


@pytest.mark.django_db
def test_a_rotation_without_overlap_signs_with_the_new_secret_only() -> None:
    endpoint = WebhookEndpointFactory()
    event = services.event_emit(workspace_id=endpoint.workspace_id, type=EventType.CONTACT_CREATED, data={})

    rotated = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_seconds=0)
    now = timezone.now()
    body, headers = services.signed_request(rotated.endpoint, event, now=now)

    assert len(headers["webhook-signature"].split(" ")) == 1
    assert Webhook(rotated.secret).verify(body, headers) is not None
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(endpoint.secret).verify(body, headers)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_only_pending_deliveries_that_are_due_to_enabled_endpoints_are_picked_oldest_first() -> None:
    workspace = WorkspaceFactory()
    endpoint = WebhookEndpointFactory(workspace=workspace)
    now = timezone.now()
    older, newer, later, done = services.events_emit(
        workspace_id=workspace.pk, events=[(EventType.CONTACT_CREATED, {})] * 4
    )
    rows = {event.pk: WebhookDelivery.objects.get(event=event) for event in (older, newer, later, done)}
    WebhookDelivery.objects.filter(pk=rows[older.pk].pk).update(next_attempt_at=now - timedelta(minutes=2))
    WebhookDelivery.objects.filter(pk=rows[newer.pk].pk).update(next_attempt_at=now - timedelta(minutes=1))
    WebhookDelivery.objects.filter(pk=rows[later.pk].pk).update(next_attempt_at=now + timedelta(minutes=1))
    WebhookDelivery.objects.filter(pk=rows[done.pk].pk).update(status=DeliveryStatus.SUCCEEDED)

    assert services.webhook_deliveries_due(now=now) == [str(rows[older.pk].pk), str(rows[newer.pk].pk)]
    assert services.webhook_deliveries_due(now=now, limit=1) == [str(rows[older.pk].pk)]
    services.webhook_endpoint_update(endpoint=endpoint, enabled=False)
    assert services.webhook_deliveries_due(now=now) == []


@pytest.mark.django_db
def test_a_refused_attempt_waits_its_schedule_and_the_last_one_gives_up(settings: Any) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False
    settings.LEDGERBRIDGE_WEBHOOK_DISABLE_AFTER_DAYS = 30
    endpoint = WebhookEndpointFactory(url="https://127.1/hooks")  # a name when saved; loopback once resolved
    event = services.event_emit(workspace_id=endpoint.workspace_id, type=EventType.CONTACT_CREATED, data={})
    delivery = WebhookDelivery.objects.get(event=event)

    before = timezone.now()
    assert services.webhook_delivery_attempt(delivery_id=str(delivery.pk)) == DeliveryStatus.PENDING
    assert services.webhook_delivery_attempt(delivery_id=str(delivery.pk)) is None  # not due again yet
    delivery.refresh_from_db()
    (attempt,) = delivery.attempt_log.all()
    assert attempt.error.startswith("destination_not_allowed") and attempt.status_code is None
    assert before + timedelta(seconds=services.RETRY_SCHEDULE[0]) <= delivery.next_attempt_at
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None and endpoint.enabled

    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        round_attempts=len(services.RETRY_SCHEDULE), next_attempt_at=timezone.now()
    )
    assert services.webhook_delivery_attempt(delivery_id=str(delivery.pk)) == DeliveryStatus.FAILED
    delivery.refresh_from_db()
    assert delivery.next_attempt_at is None and delivery.attempts == 2


@pytest.mark.django_db
def test_redelivery_starts_a_new_round_for_enabled_endpoints_only(django_capture_on_commit_callbacks: Any) -> None:
    workspace = WorkspaceFactory()
    enabled, disabled = WebhookEndpointFactory(workspace=workspace), WebhookEndpointFactory(workspace=workspace)
    services.event_emit(workspace_id=workspace.pk, type=EventType.CONTACT_CREATED, data={})
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, round_attempts=8, next_attempt_at=None)
    services.webhook_endpoint_update(endpoint=disabled, enabled=False)

    with django_capture_on_commit_callbacks():
        assert services.webhook_redeliver(deliveries=WebhookDelivery.objects.all()) == 1

    again = WebhookDelivery.objects.get(endpoint=enabled)
    assert (again.status, again.round_attempts) == (DeliveryStatus.PENDING, 0) and again.next_attempt_at is not None
    assert WebhookDelivery.objects.get(endpoint=disabled).status == DeliveryStatus.FAILED


@pytest.mark.django_db
@pytest.mark.parametrize("counter_exists", [True, False])
def test_a_connections_change_reads_and_locks_the_endpoints_with_its_numbered_insert(
    counter_exists: bool, django_capture_on_commit_callbacks: Any
) -> None:
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from events.models import ConnectionEventCounter

    connection = ConnectionFactory()
    everything = WebhookEndpointFactory(workspace=connection.workspace)
    invoices_only = WebhookEndpointFactory(workspace=connection.workspace, event_types=[EventType.INVOICE_CREATED])
    WebhookEndpointFactory(workspace=connection.workspace, enabled=False)
    WebhookEndpointFactory()  # another workspace's
    if counter_exists:
        services.event_emit(
            workspace_id=connection.workspace_id, type=EventType.CONTACT_CREATED, data={}, connection_id=connection.pk
        )
    else:
        ConnectionEventCounter.objects.filter(connection_id=connection.pk).delete()  # its first event creates it

    with CaptureQueriesContext(db) as queries, django_capture_on_commit_callbacks() as callbacks:
        contact, invoice = services.events_emit(
            workspace_id=connection.workspace_id,
            events=[(EventType.CONTACT_CREATED, {}), (EventType.INVOICE_CREATED, {})],
            connection_id=connection.pk,
        )

    assert (contact.sequence, invoice.sequence) == ((2, 3) if counter_exists else (1, 2))
    assert set(WebhookDelivery.objects.filter(event=contact).values_list("endpoint", flat=True)) == {everything.pk}
    assert set(WebhookDelivery.objects.filter(event=invoice).values_list("endpoint", flat=True)) == {
        everything.pk,
        invoices_only.pk,
    }
    assert len(callbacks) == 1
    endpoint_reads = [q["sql"] for q in queries if 'FROM "events_webhookendpoint"' in q["sql"]]
    if db.vendor == "postgresql" and counter_exists:
        # The numbered insert read and locked them: no statement of their own.
        assert len(endpoint_reads) == 1 and endpoint_reads[0].startswith("WITH counter AS")
        assert "FOR UPDATE" in endpoint_reads[0]
    else:
        assert (
            any(sql.startswith("SELECT") and "FOR UPDATE" in sql for sql in endpoint_reads) or db.vendor != "postgresql"
        )


@pytest.mark.django_db
@pytest.mark.parametrize("counter_exists", [True, False])
def test_updates_of_the_same_change_are_made_once_with_the_events(counter_exists: bool) -> None:
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    from events.models import ConnectionEventCounter
    from gateway.statements import Update
    from tenants.models import Workspace

    connection = ConnectionFactory()
    if counter_exists:
        services.event_emit(
            workspace_id=connection.workspace_id, type=EventType.CONTACT_CREATED, data={}, connection_id=connection.pk
        )
    else:
        ConnectionEventCounter.objects.filter(connection_id=connection.pk).delete()
    rename = Update(Workspace, where={"pk": connection.workspace_id}, values={"name": "renamed with its events"})

    with CaptureQueriesContext(db) as queries:
        (event,) = services.events_emit(
            workspace_id=connection.workspace_id,
            events=[(EventType.INVOICE_CREATED, {})],
            connection_id=connection.pk,
            also=[rename],
        )

    assert event.sequence == (2 if counter_exists else 1)
    assert Workspace.objects.get(pk=connection.workspace_id).name == "renamed with its events"
    alone = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "tenants_workspace"')]
    numbered = [q["sql"] for q in queries if q["sql"].startswith("WITH counter AS")]
    if db.vendor != "postgresql":
        assert len(alone) == 1
    elif counter_exists:
        # Made by the numbered insert's statement, not on its own.
        assert alone == [] and len(numbered) == 1 and 'UPDATE "tenants_workspace"' in numbered[0]
    else:
        # No counter row: the numbered insert wrote nothing (its UPDATE waits on the counter's row), the fallback
        # made the change on its own, once.
        assert len(alone) == 1 and "EXISTS (SELECT 1 FROM counter)" in numbered[0]
