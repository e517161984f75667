"""Connection lifecycle events: a consent revoked in the Exact sandbox becomes `connection.needs_reauth` within the
one API call that finds out; disconnecting and disabling are events too (all in the transaction of the change)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from events import services
from events.models import Event, EventType
from tenants import services as tenant_services
from tests.events.factories import WebhookEndpointFactory
from tests.events.receiver import Receiver
from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import ConnectionFactory, connect_via_sandbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver() -> Any:
    running = Receiver().start()
    yield running
    running.stop()


def test_revoked_consent_in_the_sandbox_is_announced_within_one_api_call(
    exact_world: ExactWorld, workspace, auth_client, receiver: Receiver
) -> None:
    exact_world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[101], connect=(101,))
    endpoint = WebhookEndpointFactory(workspace=workspace, url=receiver.url, event_types=["connection.needs_reauth"])
    assert auth_client.get(f"/api/v1/connections/{connection.pk}/contacts", {"page_size": 1}).status_code == 200

    # The user withdraws the app's access in Exact: access and refresh tokens die.
    exact_world.control.revoke_tokens(exact_world.client_id, user_id=exact_world.user_id, scope="all")
    response = auth_client.get(f"/api/v1/connections/{connection.pk}/contacts", {"page_size": 1})
    assert response.status_code == 409 and response.json()["code"] == "connection_needs_reauth"

    (event,) = Event.objects.filter(type=EventType.CONNECTION_NEEDS_REAUTH)
    assert event.connection_id == connection.pk and event.sequence == 1
    assert event.data["tenant_external_id"] == connection.tenant.external_id and event.data["status"] == "needs_reauth"
    for delivery_id in services.webhook_deliveries_due():
        services.webhook_delivery_attempt(delivery_id=delivery_id)
    (request,) = receiver.received()
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "connection.needs_reauth" and payload["connection_id"] == str(connection.pk)


def test_disconnect_and_disable_are_events(auth_client, workspace) -> None:
    first = ConnectionFactory(tenant__workspace=workspace)
    second = ConnectionFactory(tenant=first.tenant, company_id="102")
    tenant_services.connection_disable(connection=second, reason="operator")
    assert auth_client.delete(f"/api/v1/connections/{first.pk}").status_code in (200, 204)
    events = {event.type: event for event in Event.objects.all()}
    assert set(events) == {"connection.disabled", "connection.disconnected"}
    assert events["connection.disconnected"].connection_id == first.pk
    assert json.loads(json.dumps(events["connection.disabled"].data))["reason"] == "operator"
