"""events/models.py: which events an endpoint takes, and what the database guarantees: one delivery per event
and endpoint, a connection's sequence numbers never given twice."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from events.models import Event, EventType, WebhookDelivery, WebhookEndpoint
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import WorkspaceFactory


def test_an_endpoint_without_event_types_takes_every_event() -> None:
    assert WebhookEndpoint(event_types=[]).accepts("invoice.created")
    subscribed = WebhookEndpoint(event_types=["invoice.created", "invoice.updated"])
    assert subscribed.accepts("invoice.updated") and not subscribed.accepts("contact.created")


@pytest.mark.django_db
def test_a_connections_sequence_number_is_never_given_twice_and_events_without_one_are_many() -> None:
    workspace, connection_id = WorkspaceFactory(), uuid.uuid4()
    common = {"workspace": workspace, "type": EventType.CONTACT_CREATED, "created_at": timezone.now()}
    Event.objects.create(connection_id=connection_id, sequence=1, **common)
    Event.objects.create(connection_id=uuid.uuid4(), sequence=1, **common)  # another connection
    Event.objects.create(**common)
    Event.objects.create(**common)  # no connection, no number: no conflict
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(connection_id=connection_id, sequence=1, **common)


@pytest.mark.django_db
def test_one_delivery_per_event_and_endpoint() -> None:
    endpoint = WebhookEndpointFactory()
    event = Event.objects.create(
        workspace=endpoint.workspace, type=EventType.CONTACT_CREATED, created_at=timezone.now()
    )
    WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    WebhookDelivery.objects.create(event=event, endpoint=WebhookEndpointFactory(workspace=endpoint.workspace))
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookDelivery.objects.create(event=event, endpoint=endpoint)
