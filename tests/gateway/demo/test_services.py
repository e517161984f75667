"""gateway/demo/services.py against the Exact sandbox: the demo's connection made once through the real connect
services with auto-consent (withdrawn afterwards), its mapping checked in the company, and the printed invoice
example accepted by the API as printed."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from rest_framework.test import APIClient

from connectors.registry import get_connector
from gateway.demo import services
from tenants.connect.services import callback_url
from tenants.models import Connection, ConnectionStatus, ConnectLink, Workspace
from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import TenantFactory


def _connect(world: ExactWorld, workspace: Workspace) -> Connection:
    return services.connection_via_auto_consent(
        tenant=TenantFactory(workspace=workspace, external_id=services.DEMO_TENANT_EXTERNAL_ID),
        connector_id="exact",
        region="nl",
        company_id="101",
        consent=lambda: world.auto_consent([101, 102]),
        withdraw_consent=lambda: world.control.clear_auto_consent(world.client_id),
    )


@pytest.mark.django_db(transaction=True)
def test_the_demo_connection_is_made_once_and_auto_consent_is_withdrawn(
    exact_world: ExactWorld, workspace: Workspace
) -> None:
    connection = _connect(exact_world, workspace)

    assert (connection.company_id, connection.status) == ("101", ConnectionStatus.ACTIVE)
    assert connection.credential is not None and connection.credential.vendor_user_id == exact_world.user_id
    assert (
        services.connection_via_auto_consent(
            tenant=connection.tenant,
            connector_id="exact",
            region="nl",
            company_id="101",
            consent=lambda: pytest.fail("no second consent for an active connection"),
            withdraw_consent=lambda: None,
        )
        == connection
    )
    assert ConnectLink.objects.count() == 1
    # Withdrawn: the consent URL shows the sandbox's consent page again instead of redirecting with a code.
    app = get_connector("exact").default_app()
    assert app is not None
    url = get_connector("exact").authorization_url(  # type: ignore[attr-defined]
        region="nl", app=app, redirect_uri=callback_url(), state="s"
    )
    assert httpx.get(url, follow_redirects=False).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_printed_invoice_example_is_accepted_as_printed(
    exact_world: ExactWorld, workspace: Workspace, auth_client: APIClient
) -> None:
    connection = _connect(exact_world, workspace)
    assert services.mapping_ensure(connection, {**services.DEMO_MAPPING, "default_revenue_ledger_account": "0000"})
    assert services.demo_mapping_ensure(connection) == ""
    contact_id = services.demo_customer_id(connection)
    assert contact_id != "<contact id>"

    lines = services.invoice_curl_lines(
        base="http://testserver", api_key="lb_x", connection_id=str(connection.pk), contact_id=contact_id
    )
    body = json.loads(re.search(r"-d '(.+?)' http", lines[0]).group(1))  # type: ignore[union-attr]
    response = auth_client.post(
        f"/api/v1/connections/{connection.pk}/invoices", body, format="json", HTTP_IDEMPOTENCY_KEY="demo-1"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["reference"] == "DEMO-1" and len(response.json()["lines"]) == 3


def test_every_gateway_process_talks_to_the_sandbox_as_the_demo_app() -> None:
    env = services.sandbox_env(sandbox_url="http://127.0.0.1:9100", public_url="http://127.0.0.1:8000")
    assert env["EXACT_CLIENT_ID"] == services.DEMO_CLIENT_ID and env["EXACT_SANDBOX_URL"] == "http://127.0.0.1:9100"
    assert env["LEDGERBRIDGE_PUBLIC_URL"] == "http://127.0.0.1:8000"
