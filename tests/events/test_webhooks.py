"""Outbound webhooks against a real HTTP receiver: signatures (verified with `standardwebhooks`), at-least-once
delivery through a receiver outage in simulated time, per-connection sequence numbers, destinations, disabling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from events import services
from events.models import DeliveryStatus, Event, EventType, WebhookDelivery, WebhookEndpoint
from tests.events.factories import WebhookEndpointFactory
from tests.events.receiver import Receiver
from tests.tenants.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Any:
    running = Receiver().start()
    yield running
    running.stop()


def run_due() -> list[str | None]:
    """What the worker does for beat's dispatch: one attempt of every due delivery."""
    return [
        services.webhook_delivery_attempt(delivery_id=delivery_id) for delivery_id in services.webhook_deliveries_due()
    ]


def emit(connection: Any, event_type: str = EventType.INVOICE_CREATED, **data: Any) -> Event:
    return services.event_emit(
        workspace_id=connection.workspace_id, connection_id=connection.pk, type=event_type, data=data, source="api"
    )


# ---------------------------------------------------------------------------------------------- the API


def test_create_shows_the_secret_once_and_list_never(auth_client, workspace) -> None:
    created = auth_client.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://app.example.com/hooks", "event_types": ["connection.needs_reauth"], "description": "prod"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    Webhook(body["secret"])  # a secret the Standard Webhooks library takes
    listed = auth_client.get("/api/v1/webhook-endpoints").json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert (
        "secret" not in listed[0] and "secret" not in auth_client.get(f"/api/v1/webhook-endpoints/{body['id']}").json()
    )
    stored = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"] not in stored.secret_encrypted

    deleted = auth_client.delete(f"/api/v1/webhook-endpoints/{body['id']}")
    assert deleted.status_code == 204
    assert auth_client.get(f"/api/v1/webhook-endpoints/{body['id']}").status_code == 404


def test_unknown_event_type_and_bad_url_are_refused_by_field(auth_client) -> None:
    response = auth_client.post(
        "/api/v1/webhook-endpoints",
        {"url": "https://app.example.com/h", "event_types": ["invoice.exploded"]},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "event_types.0"
    response = auth_client.post("/api/v1/webhook-endpoints", {"url": "ftp://app.example.com/h"}, format="json")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "url"


def test_another_workspaces_endpoint_is_not_found(auth_client) -> None:
    foreign = WebhookEndpointFactory()
    assert auth_client.get(f"/api/v1/webhook-endpoints/{foreign.pk}").status_code == 404
    assert auth_client.delete(f"/api/v1/webhook-endpoints/{foreign.pk}").status_code == 404
    assert WebhookEndpoint.objects.filter(pk=foreign.pk).exists()


# ---------------------------------------------------------------------------------------------- delivery


def test_delivery_is_signed_per_standard_webhooks(receiver: Receiver) -> None:
    connection = ConnectionFactory()
    endpoint = WebhookEndpointFactory(workspace=connection.workspace, url=receiver.url)
    event = emit(connection, invoice_id="INV-1")
    assert run_due() == [DeliveryStatus.SUCCEEDED]

    (request,) = receiver.received()
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["id"] == request.headers["webhook-id"] == str(event.id)
    assert payload["type"] == "invoice.created" and payload["data"] == {"invoice_id": "INV-1"}
    assert payload["connection_id"] == str(connection.pk) and payload["sequence"] == 1
    # Another secret, or a changed body, does not verify.
    with pytest.raises(WebhookVerificationError):
        Webhook(WebhookEndpointFactory().secret).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(request.body.replace(b"INV-1", b"INV-2"), request.headers)

    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.last_status_code == 200
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.response_ms is not None and attempt.response_excerpt == "ok"


def test_a_receiver_down_for_minutes_still_gets_every_event_in_order_by_sequence(receiver: Receiver) -> None:
    connection = ConnectionFactory()
    other = ConnectionFactory(tenant=connection.tenant, company_id="102")
    endpoint = WebhookEndpointFactory(workspace=connection.workspace, url=receiver.url)
    with time_machine.travel(START, tick=False) as clock:
        receiver.stop()  # down: connection refused on its port
        events = [emit(connection, n=n) for n in range(4)] + [emit(other, n=9)]
        assert set(run_due()) == {DeliveryStatus.PENDING}
        for minutes in (1, 5, 10):  # 5 s, then 5 min: still down
            clock.shift(timedelta(minutes=minutes) if minutes > 1 else timedelta(seconds=6))
            run_due()
        assert receiver.received() == []
        receiver.start()
        receiver.status = 500  # up, but failing: it processes the first try of each and answers 500
        clock.shift(timedelta(minutes=31))
        run_due()
        receiver.status = 200
        clock.shift(timedelta(hours=2, minutes=1))
        assert set(run_due()) == {DeliveryStatus.SUCCEEDED}

    received = receiver.received()
    by_id: dict[str, list[dict[str, Any]]] = {}
    for request in received:
        payload = json.loads(request.body)
        by_id.setdefault(request.headers["webhook-id"], []).append(payload)
    assert set(by_id) == {str(event.id) for event in events}  # every event, at least once
    assert len(received) == 2 * len(events)  # duplicates carry the same id
    sequences = sorted(
        payloads[0]["sequence"] for payloads in by_id.values() if payloads[0]["connection_id"] == str(connection.pk)
    )
    assert sequences == [1, 2, 3, 4]
    assert [p[0]["sequence"] for p in by_id.values() if p[0]["connection_id"] == str(other.pk)] == [1]
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    # At 0, 5 s and 5 min refused (down), not due at 15 min (next after 30 min), 500 at 36 min, 200 two hours later.
    assert delivery is not None and delivery.attempts == 5
    assert [a.status_code for a in delivery.attempt_log.all()] == [None, None, None, 500, 200]


def test_retries_span_more_than_a_day_then_the_delivery_fails(receiver: Receiver) -> None:
    connection = ConnectionFactory()
    WebhookEndpointFactory(workspace=connection.workspace, url=receiver.url)
    receiver.status = 503
    with time_machine.travel(START, tick=False) as clock:
        event = emit(connection)
        run_due()
        for _ in range(20):
            clock.shift(timedelta(hours=1))
            run_due()
        delivery = WebhookDelivery.objects.get(event=event)
        assert delivery.status == DeliveryStatus.PENDING  # still trying after 20 hours
        clock.shift(timedelta(hours=10))
        run_due()
        delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == len(services.RETRY_SCHEDULE) + 1
    attempts = list(delivery.attempt_log.all())
    assert attempts[-1].started_at - attempts[0].started_at >= timedelta(hours=24)


def test_an_endpoint_failing_for_days_is_disabled_and_the_others_are_told(receiver: Receiver) -> None:
    connection = ConnectionFactory()
    failing = WebhookEndpointFactory(workspace=connection.workspace, url="http://127.0.0.1:9/nothing-listens")
    healthy = WebhookEndpointFactory(
        workspace=connection.workspace, url=receiver.url, event_types=["webhook_endpoint.disabled"]
    )
    with time_machine.travel(START, tick=False) as clock:
        for _day in range(6):
            emit(connection)
            run_due()
            clock.shift(timedelta(days=1))
            run_due()
    failing.refresh_from_db()
    assert failing.enabled is False and "failed since" in failing.disabled_reason
    notices = [json.loads(r.body) for r in receiver.received()]
    assert [n["type"] for n in notices] == ["webhook_endpoint.disabled"]
    assert notices[0]["data"]["endpoint_id"] == str(failing.pk)
    assert healthy.deliveries.count() == 1
    assert not WebhookDelivery.objects.filter(endpoint=failing, status=DeliveryStatus.PENDING).exists()


def test_internal_destinations_are_refused_when_saved_and_at_delivery_time(settings, auth_client, workspace) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8080/h", "http://10.1.2.3/h", "http://169.254.169.254/latest", "http://localhost/h"):
        response = auth_client.post("/api/v1/webhook-endpoints", {"url": url}, format="json")
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["code"] == "destination_not_allowed"
    # Saved while allowed (or by a name that resolved elsewhere then): refused when it is sent.
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = True
    connection = ConnectionFactory(tenant__workspace=workspace)
    endpoint = WebhookEndpointFactory(workspace=workspace, url="http://localhost:9/h")
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False
    emit(connection)
    assert run_due() == [DeliveryStatus.PENDING]
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.last_error.startswith("destination_not_allowed")


def test_a_rotated_secret_overlaps_with_the_previous_one(receiver: Receiver, auth_client, workspace) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    endpoint = WebhookEndpointFactory(workspace=workspace, url=receiver.url)
    rotated = auth_client.post(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret", {"overlap_seconds": 3600}, format="json"
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint.secret and rotated.json()["secret_rotation_ends_at"]
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        emit(connection)
        run_due()
        clock.shift(timedelta(hours=2))
        emit(connection)
        run_due()
    during, after = receiver.received()
    for secret in (endpoint.secret, new_secret):
        Webhook(secret).verify(during.body, during.headers)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    with time_machine.travel(datetime.fromtimestamp(int(after.headers["webhook-timestamp"]), UTC), tick=False):
        Webhook(new_secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(endpoint.secret).verify(after.body, after.headers)


def test_delivery_log_and_redelivery_over_the_api(receiver: Receiver, auth_client, workspace) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    endpoint = WebhookEndpointFactory(workspace=workspace, url=receiver.url)
    event = emit(connection)
    run_due()
    log = auth_client.get(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries").json()["results"]
    assert log[0]["event"]["id"] == str(event.id) and log[0]["status"] == "succeeded"
    assert log[0]["attempt_log"][0]["status_code"] == 200
    redelivered = auth_client.post(f"/api/v1/webhook-endpoints/{endpoint.pk}/deliveries/{log[0]['id']}/redeliver")
    assert redelivered.status_code == 202 and redelivered.json() == {"redelivered": 1}
    run_due()
    since = auth_client.post(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/redeliver", {"since": "2000-01-01T00:00:00Z"}, format="json"
    )
    assert since.json() == {"redelivered": 1}
    run_due()
    assert [r.headers["webhook-id"] for r in receiver.received()] == [str(event.id)] * 3
    events = auth_client.get("/api/v1/events", {"connection_id": str(connection.pk)}).json()["results"]
    assert [e["id"] for e in events] == [str(event.id)]


def test_events_roll_back_with_the_change_they_report() -> None:
    from django.db import transaction

    connection = ConnectionFactory()
    WebhookEndpointFactory(workspace=connection.workspace)
    with pytest.raises(RuntimeError), transaction.atomic():
        emit(connection)
        raise RuntimeError("the change failed")
    assert not Event.objects.exists() and not WebhookDelivery.objects.exists()
    assert emit(connection).sequence == 1


def test_a_rotation_overlap_is_a_json_integer(auth_client, workspace) -> None:  # type: ignore[no-untyped-def]
    endpoint = WebhookEndpointFactory(workspace=workspace)
    refused = auth_client.post(
        f"/api/v1/webhook-endpoints/{endpoint.pk}/rotate-secret", {"overlap_seconds": "3600"}, format="json"
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "overlap_seconds"
    endpoint.refresh_from_db()
    assert endpoint.previous_secret_expires_at is None and not endpoint.previous_secret_encrypted  # nothing rotated


def test_a_redelivery_moment_carries_its_zone(auth_client, workspace) -> None:  # type: ignore[no-untyped-def]
    endpoint = WebhookEndpointFactory(workspace=workspace)
    for since in ("2000-01-01", "2000-01-01T00:00:00"):
        url = f"/api/v1/webhook-endpoints/{endpoint.pk}/redeliver"
        refused = auth_client.post(url, {"since": since}, format="json")
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "since", since


def test_events_emitted_together_are_numbered_in_order_and_each_delivered() -> None:
    connection = ConnectionFactory()
    endpoint = WebhookEndpointFactory(workspace=connection.workspace, event_types=[])  # every type
    assert emit(connection, EventType.MUTATION_FAILED).sequence == 1  # the counter exists from here on

    first, second = services.events_emit(
        workspace_id=connection.workspace_id,
        connection_id=connection.pk,
        source="api",
        events=[
            (EventType.MUTATION_SUCCEEDED, {"mutation_id": "m-1", "error": None}),
            (EventType.INVOICE_CREATED, {"record": {"lines": [{"net_amount": "10.00"}], "id": "i-1"}}),
        ],
    )

    assert (first.sequence, second.sequence) == (2, 3)
    stored = {event.type: event for event in Event.objects.filter(connection_id=connection.pk)}
    assert stored[EventType.MUTATION_SUCCEEDED].sequence == 2 and stored[EventType.INVOICE_CREATED].sequence == 3
    assert stored[EventType.INVOICE_CREATED].data == {"record": {"lines": [{"net_amount": "10.00"}], "id": "i-1"}}
    assert stored[EventType.INVOICE_CREATED].source == "api" and stored[EventType.INVOICE_CREATED].created_at
    delivered = WebhookDelivery.objects.filter(endpoint=endpoint).values_list("event__sequence", flat=True)
    assert sorted(delivered) == [1, 2, 3]
    assert emit(connection).sequence == 4
