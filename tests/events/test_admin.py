"""events/admin.py: endpoints are created through the API only (the secret is shown once there), deliveries,
events and the audit trail are read-only, and redelivery starts a new round for the selected deliveries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from events import services
from events.models import DeliveryStatus, EventType, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory


@pytest.mark.django_db
def test_endpoints_are_not_added_in_admin_and_the_logs_are_read_only(admin_client: Client) -> None:
    assert admin_client.get("/admin/events/webhookendpoint/add/").status_code == 403
    for model in ("webhookdelivery", "event", "auditevent"):
        assert admin_client.get(f"/admin/events/{model}/add/").status_code == 403, model
    endpoint = WebhookEndpointFactory()
    page = admin_client.get(f"/admin/events/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.secret not in page and "secret_encrypted" not in page  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_redelivery_starts_a_new_round_for_the_selected_deliveries(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    endpoint = WebhookEndpointFactory()
    services.event_emit(workspace_id=endpoint.workspace_id, type=EventType.CONTACT_CREATED, data={})
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, round_attempts=8, next_attempt_at=None)
    delivery = WebhookDelivery.objects.get()

    with django_capture_on_commit_callbacks():
        response = admin_client.post(
            "/admin/events/webhookdelivery/",
            {"action": "redeliver", "_selected_action": [str(delivery.pk)]},
            follow=True,
        )

    assert "1 deliveries queued again." in response.content.decode()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.round_attempts) == (DeliveryStatus.PENDING, 0)
