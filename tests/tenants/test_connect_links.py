"""Connect links through the API: a single-use, expiring URL; only allowed redirect hosts; workspace settings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from tenants import keys
from tenants.models import ConnectLink, Tenant, Workspace
from tests.tenants.factories import ConnectionFactory, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(workspace: Workspace) -> Tenant:
    workspace.allowed_redirect_hosts = ["app.example.com", "localhost"]
    workspace.save()
    return TenantFactory(workspace=workspace)


def _post(client: APIClient, tenant: Tenant, **body: object):  # type: ignore[no-untyped-def]
    payload = {"connector": "exact", "redirect_url": "https://app.example.com/exact/done", **body}
    return client.post(f"/api/v1/tenants/{tenant.pk}/connect-links", payload, format="json")


def _field_error(response, field: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.json()
    errors = [e for e in response.json()["errors"] if e["field"] == field]
    assert errors, response.json()
    return errors[0]


def test_create_returns_a_single_use_url_that_expires_in_an_hour(
    auth_client: APIClient, tenant: Tenant, settings
) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_PUBLIC_URL = "https://gateway.example.com"
    response = _post(auth_client, tenant)
    assert response.status_code == 201
    body = response.json()
    assert {"id", "url", "expires_at", "connector", "region", "redirect_url", "tenant_id"} <= set(body)
    assert body["tenant_id"] == str(tenant.pk) and body["connector"] == "exact" and body["region"] is None
    assert body["url"].startswith("https://gateway.example.com/connect/")
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at is not None
    assert abs((expires_at - timezone.now()) - timedelta(hours=1)) < timedelta(seconds=30)
    # Only the token's hash is stored.
    token = body["url"].rsplit("/", 1)[1]
    link = ConnectLink.objects.get(pk=body["id"])
    assert link.token_hash == keys.hash_key(token)
    assert token not in str(ConnectLink.objects.filter(pk=link.pk).values().get())


def test_region_and_expiry_can_be_set(auth_client: APIClient, tenant: Tenant) -> None:
    body = _post(auth_client, tenant, region="be", expires_in=900).json()
    assert body["region"] == "be"
    expires_at = parse_datetime(body["expires_at"])
    assert expires_at is not None
    assert abs((expires_at - timezone.now()) - timedelta(minutes=15)) < timedelta(seconds=30)


@pytest.mark.parametrize("expires_in", [10, 86400 * 2, "900", True])
def test_expiry_out_of_bounds(auth_client: APIClient, tenant: Tenant, expires_in: object) -> None:
    _field_error(_post(auth_client, tenant, expires_in=expires_in), "expires_in")


def test_unknown_connector_names_the_field(auth_client: APIClient, tenant: Tenant) -> None:
    _field_error(_post(auth_client, tenant, connector="quickbooks"), "connector")


def test_unknown_region_names_the_field(auth_client: APIClient, tenant: Tenant) -> None:
    assert _field_error(_post(auth_client, tenant, region="xx"), "region")["code"] == "unknown_region"


@pytest.mark.parametrize(
    "redirect_url",
    [
        "https://evil.example.net/steal",
        "https://app.example.com.evil.net/",
        "http://app.example.com/done",  # clear text only to the developer's own machine
        "https://user@app.example.com/",
        "javascript:alert(1)",
    ],
)
def test_redirect_url_outside_the_allowed_hosts_is_refused(
    auth_client: APIClient, tenant: Tenant, redirect_url: str
) -> None:
    response = _post(auth_client, tenant, redirect_url=redirect_url)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "redirect_url"
    if redirect_url.startswith("http"):
        assert problem["code"] == "redirect_url_not_allowed"
    assert not ConnectLink.objects.exists()


def test_local_http_redirect_is_allowed_for_development(auth_client: APIClient, tenant: Tenant) -> None:
    assert _post(auth_client, tenant, redirect_url="http://localhost:3000/done").status_code == 201


def test_repair_link_for_a_connection(auth_client: APIClient, tenant: Tenant) -> None:
    connection = ConnectionFactory(tenant=tenant, region="be", company_id="555")
    body = _post(auth_client, tenant, connection_id=str(connection.pk)).json()
    assert body["region"] == "be" and body["connection_id"] == str(connection.pk)
    other = ConnectionFactory(tenant=TenantFactory(workspace=tenant.workspace))
    _field_error(_post(auth_client, tenant, connection_id=str(other.pk)), "connection_id")


def test_workspace_settings_allowed_hosts_and_logo(auth_client: APIClient, workspace: Workspace) -> None:
    response = auth_client.patch(
        "/api/v1/workspace",
        {"allowed_redirect_hosts": ["App.Example.com", "localhost"], "logo_url": "https://app.example.com/logo.png"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["allowed_redirect_hosts"] == ["app.example.com", "localhost"]
    assert body["logo_url"] == "https://app.example.com/logo.png"
    assert auth_client.get("/api/v1/workspace").json()["allowed_redirect_hosts"] == ["app.example.com", "localhost"]
    for bad in ("https://app.example.com", "app.example.com/path", "*.example.com", "app.example.com:443"):
        response = auth_client.patch("/api/v1/workspace", {"allowed_redirect_hosts": [bad]}, format="json")
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "allowed_redirect_hosts"
