"""events/serializers.py: what the webhook and audit APIs accept (known event types, bounded overlap, strict
types) and show (no secret but on create, the rotation's end, deliveries with their attempts oldest first)."""

from __future__ import annotations

from typing import Any

import pytest

from events import serializers, services
from events.models import EventType, WebhookAttempt, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://hooks.example.com/x", "event_types": ["invoice.paid"]}, "event_types"),
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "https://hooks.example.com/x", "enabled": "yes"}, "enabled"),
        ({"url": "https://hooks.example.com/x", "event_types": ["contact.created"] * 51}, "event_types"),
    ],
)
def test_an_endpoint_request_is_refused_naming_the_field(body: dict[str, Any], field: str) -> None:
    serializer = serializers.WebhookEndpointCreateSerializer(data=body)
    assert not serializer.is_valid() and field in serializer.errors


def test_an_endpoint_request_defaults_to_every_event_enabled() -> None:
    serializer = serializers.WebhookEndpointCreateSerializer(data={"url": "https://hooks.example.com/x"})
    assert serializer.is_valid()
    assert serializer.validated_data == {
        "url": "https://hooks.example.com/x",
        "description": "",
        "event_types": [],
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("overlap", "valid"), [(0, True), (7 * 24 * 3600, True), (7 * 24 * 3600 + 1, False), (-1, False)]
)
def test_a_rotation_overlap_is_at_most_a_week(overlap: int, valid: bool) -> None:
    assert serializers.SecretRotationSerializer(data={"overlap_seconds": overlap}).is_valid() is valid


@pytest.mark.django_db
def test_an_endpoint_shows_its_rotation_end_and_never_its_secret() -> None:
    endpoint = WebhookEndpointFactory()
    rotated = services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_seconds=3600)
    data = serializers.WebhookEndpointSerializer(rotated.endpoint).data
    assert data["secret_rotation_ends_at"] is not None
    assert "secret" not in data and rotated.secret not in str(data) and endpoint.secret not in str(data)  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_a_delivery_shows_its_event_and_its_attempts_oldest_first() -> None:
    endpoint = WebhookEndpointFactory()
    event = services.event_emit(workspace_id=endpoint.workspace_id, type=EventType.CONTACT_CREATED, data={"id": "c"})
    delivery = WebhookDelivery.objects.get(event=event)
    for number in (2, 1):
        WebhookAttempt.objects.create(delivery=delivery, number=number, started_at=event.created_at, status_code=500)

    data = serializers.WebhookDeliverySerializer(delivery).data

    assert data["event"]["id"] == str(event.id) and data["event"]["data"] == {"id": "c"}
    assert data["event"]["sequence"] is None and data["event"]["connection_id"] is None
    assert [attempt["number"] for attempt in data["attempt_log"]] == [1, 2]


def test_filters_are_refused_when_empty_or_not_a_choice() -> None:
    assert serializers.EventListFilterSerializer(data={"type": "invoice.created"}).is_valid()
    assert not serializers.EventListFilterSerializer(data={"type": "invoice.paid"}).is_valid()
    assert not serializers.AuditEventFilterSerializer(data={"remote_id": ""}).is_valid()
    assert not serializers.DeliveryListFilterSerializer(data={"status": "lost"}).is_valid()
    assert not serializers.RedeliverSerializer(data={}).is_valid()
