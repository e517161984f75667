"""Connections through the API: list with filters, retrieve, disconnect; never a token in any output."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.credentials.store import credential_tokens
from tenants.models import Connection, ConnectionStatus, Credential, Workspace
from tests.tenants.factories import ConnectionFactory, CredentialFactory, TenantFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

FIELDS = {
    "id", "tenant_id", "connector", "region", "company_id", "company_name", "status", "status_reason",
    "connected_at", "last_success_at", "access_token_expires_at", "created_at", "updated_at",
}  # fmt: skip


def test_retrieve_shows_the_connection_never_its_tokens(auth_client: APIClient, workspace: Workspace) -> None:
    connection = ConnectionFactory(tenant=TenantFactory(workspace=workspace), company_id="101")
    response = auth_client.get(f"/api/v1/connections/{connection.pk}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert body["company_id"] == "101" and body["status"] == "active" and body["tenant_id"] == str(connection.tenant_id)
    assert body["access_token_expires_at"] is not None
    tokens = credential_tokens(connection.credential)
    text = response.content.decode()
    for secret in (tokens.access_token, tokens.refresh_token, connection.credential.access_token_encrypted):
        assert secret not in text
    listing = auth_client.get("/api/v1/connections").content.decode()
    assert tokens.access_token not in listing and tokens.refresh_token not in listing


def test_list_filters_by_tenant_and_status(auth_client: APIClient, workspace: Workspace) -> None:
    first, second = TenantFactory(workspace=workspace), TenantFactory(workspace=workspace)
    a = ConnectionFactory(tenant=first, company_id="1")
    b = ConnectionFactory(tenant=first, company_id="2", status=ConnectionStatus.NEEDS_REAUTH)
    c = ConnectionFactory(tenant=second, company_id="3")

    def ids(query: str) -> set[str]:
        response = auth_client.get(f"/api/v1/connections{query}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("") == {str(a.pk), str(b.pk), str(c.pk)}
    assert ids(f"?tenant={first.pk}") == {str(a.pk), str(b.pk)}
    assert ids("?status=needs_reauth") == {str(b.pk)}
    assert ids(f"?tenant={first.pk}&status=active") == {str(a.pk)}
    assert ids("?page_size=1") and auth_client.get("/api/v1/connections?page_size=1").json()["next"]


@pytest.mark.parametrize(("query", "field"), [("?status=broken", "status"), ("?tenant=nope", "tenant")])
def test_bad_filters_name_the_field(auth_client: APIClient, query: str, field: str) -> None:
    response = auth_client.get(f"/api/v1/connections{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_disconnect_forgets_an_unshared_credential(auth_client: APIClient, workspace: Workspace) -> None:
    connection = ConnectionFactory(tenant=TenantFactory(workspace=workspace))
    assert auth_client.delete(f"/api/v1/connections/{connection.pk}").status_code == 204
    assert not Connection.objects.exists() and not Credential.objects.exists()
    assert auth_client.get(f"/api/v1/connections/{connection.pk}").status_code == 404


def test_disconnect_keeps_a_credential_other_divisions_share(auth_client: APIClient, workspace: Workspace) -> None:
    tenant = TenantFactory(workspace=workspace)
    credential = CredentialFactory(workspace=workspace)
    first = ConnectionFactory(tenant=tenant, company_id="101", credential=credential)
    ConnectionFactory(tenant=tenant, company_id="102", credential=credential)
    assert auth_client.delete(f"/api/v1/connections/{first.pk}").status_code == 204
    assert Credential.objects.filter(pk=credential.pk).exists()
    assert Connection.objects.count() == 1


def test_workspace_a_cannot_see_workspace_b(auth_client: APIClient, workspace: Workspace) -> None:
    foreign = ConnectionFactory(tenant=TenantFactory(workspace=WorkspaceFactory()))
    assert auth_client.get("/api/v1/connections").json()["results"] == []
    assert auth_client.get(f"/api/v1/connections?tenant={foreign.tenant_id}").json()["results"] == []
    assert auth_client.get(f"/api/v1/connections/{foreign.pk}").status_code == 404
    assert auth_client.delete(f"/api/v1/connections/{foreign.pk}").status_code == 404
    assert Connection.objects.filter(pk=foreign.pk).exists()
