"""events/views.py, the handlers the behaviour-named tests (test_webhooks.py, test_audit.py) leave out: an
endpoint update refused by the service names the field and changes nothing, deleting an endpoint, the event
list filters and a single event, the audit trail's paths taking no write."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from events import services
from events.models import EventType, WebhookEndpoint
from tenants.models import Workspace
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import ConnectionFactory


@pytest.mark.django_db
def test_an_endpoint_update_the_service_refuses_names_the_field_and_changes_nothing(
    auth_client: APIClient, workspace: Workspace, settings: Any
) -> None:
    settings.LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE = False
    endpoint = WebhookEndpointFactory(workspace=workspace)

    response = auth_client.patch(
        f"/api/v1/webhook-endpoints/{endpoint.pk}", {"url": "https://10.0.0.8/hooks", "description": "x"}, format="json"
    )

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "field": "url",
        "code": "destination_not_allowed",
        "message": response.json()["detail"],
    }
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/ledgerbridge" and endpoint.description == ""


@pytest.mark.django_db
def test_an_endpoint_is_deleted_with_its_deliveries_and_another_workspaces_is_not_found(
    auth_client: APIClient, workspace: Workspace
) -> None:
    endpoint = WebhookEndpointFactory(workspace=workspace)
    services.event_emit(workspace_id=workspace.pk, type=EventType.CONTACT_CREATED, data={})
    other = WebhookEndpointFactory()

    assert auth_client.delete(f"/api/v1/webhook-endpoints/{other.pk}").status_code == 404
    assert auth_client.delete(f"/api/v1/webhook-endpoints/{endpoint.pk}").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists() and WebhookEndpoint.objects.filter(pk=other.pk)


@pytest.mark.django_db
def test_events_are_listed_by_filter_and_read_one_by_one(auth_client: APIClient, workspace: Workspace) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    contact = services.event_emit(
        workspace_id=workspace.pk, type=EventType.CONTACT_CREATED, data={"id": "c"}, connection_id=connection.pk
    )
    services.event_emit(workspace_id=workspace.pk, type=EventType.INVOICE_CREATED, data={"id": "i"})

    listed = auth_client.get("/api/v1/events", {"type": "contact.created"})
    assert listed.status_code == 200 and [e["id"] for e in listed.json()["results"]] == [str(contact.id)]
    by_connection = auth_client.get("/api/v1/events", {"connection_id": str(connection.pk)})
    assert [e["sequence"] for e in by_connection.json()["results"]] == [1]
    assert auth_client.get("/api/v1/events", {"type": "invoice.paid"}).status_code == 400
    one = auth_client.get(f"/api/v1/events/{contact.id}")
    assert one.status_code == 200 and one.json()["data"] == {"id": "c"}
    assert auth_client.get("/api/v1/events/not-an-id").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_audit_trail_takes_no_write(auth_client: APIClient, method: str) -> None:
    response = getattr(auth_client, method)("/api/v1/audit-events", {}, format="json")
    assert response.status_code == 405
