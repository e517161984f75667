"""Tenants through the API: create, list, retrieve, update, delete, always inside the caller's workspace."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.models import Connection, Credential, Tenant, Workspace
from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_create_and_retrieve(auth_client: APIClient, workspace: Workspace) -> None:
    response = auth_client.post("/api/v1/tenants", {"external_id": "cust_4711", "name": "Bakkerij"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "external_id", "name", "created_at", "updated_at"}
    assert Tenant.objects.get(pk=body["id"]).workspace == workspace
    assert auth_client.get(f"/api/v1/tenants/{body['id']}").json() == body


def test_duplicate_external_id_is_409_naming_the_field(auth_client: APIClient, workspace: Workspace) -> None:
    TenantFactory(workspace=workspace, external_id="cust_1")
    response = auth_client.post("/api/v1/tenants", {"external_id": "cust_1", "name": "Again"}, format="json")
    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "tenant_exists"
    assert problem["errors"][0]["field"] == "external_id"


def test_same_external_id_in_another_workspace_is_fine(auth_client: APIClient) -> None:
    TenantFactory(workspace=WorkspaceFactory(), external_id="cust_1")
    response = auth_client.post("/api/v1/tenants", {"external_id": "cust_1", "name": "Mine"}, format="json")
    assert response.status_code == 201


def test_missing_fields_name_them(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/tenants", {}, format="json")
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"external_id", "name"}


def test_list_paginates_and_filters_by_external_id(auth_client: APIClient, workspace: Workspace) -> None:
    for n in range(5):
        TenantFactory(workspace=workspace, external_id=f"cust_{n}")
    first = auth_client.get("/api/v1/tenants?page_size=2").json()
    assert len(first["results"]) == 2 and first["next"]
    seen = [t["external_id"] for t in first["results"]]
    page = first
    while page["next"]:
        page = auth_client.get(page["next"]).json()
        seen += [t["external_id"] for t in page["results"]]
    assert sorted(seen) == [f"cust_{n}" for n in range(5)]
    only = auth_client.get("/api/v1/tenants?external_id=cust_3").json()["results"]
    assert [t["external_id"] for t in only] == ["cust_3"]


def test_patch_and_put(auth_client: APIClient, workspace: Workspace) -> None:
    tenant = TenantFactory(workspace=workspace, external_id="old", name="Old")
    TenantFactory(workspace=workspace, external_id="taken")
    url = f"/api/v1/tenants/{tenant.pk}"
    assert auth_client.patch(url, {"name": "New"}, format="json").json()["name"] == "New"
    assert auth_client.put(url, {"name": "Newer"}, format="json").status_code == 422  # PUT needs both fields
    body = auth_client.put(url, {"external_id": "new", "name": "Newer"}, format="json").json()
    assert (body["external_id"], body["name"]) == ("new", "Newer")
    conflict = auth_client.patch(url, {"external_id": "taken"}, format="json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "tenant_exists"
    tenant.refresh_from_db()
    assert tenant.external_id == "new"


def test_delete_cascades_connections_and_forgets_unshared_credentials(
    auth_client: APIClient, workspace: Workspace
) -> None:
    connection = ConnectionFactory(tenant=TenantFactory(workspace=workspace))
    assert auth_client.delete(f"/api/v1/tenants/{connection.tenant_id}").status_code == 204
    assert not Tenant.objects.exists() and not Connection.objects.exists() and not Credential.objects.exists()


def test_workspace_a_cannot_see_or_touch_workspace_b(auth_client: APIClient, workspace: Workspace) -> None:
    foreign = TenantFactory(workspace=WorkspaceFactory(), external_id="theirs")
    own = TenantFactory(workspace=workspace, external_id="mine")
    assert [t["id"] for t in auth_client.get("/api/v1/tenants").json()["results"]] == [str(own.pk)]
    assert auth_client.get("/api/v1/tenants?external_id=theirs").json()["results"] == []
    for method in ("get", "patch", "put", "delete"):
        response = getattr(auth_client, method)(f"/api/v1/tenants/{foreign.pk}", {"name": "x"}, format="json")
        assert response.status_code == 404, method
    assert (
        auth_client.post(
            f"/api/v1/tenants/{foreign.pk}/connect-links",
            {"connector": "exact", "redirect_url": "https://app.example.com/"},
            format="json",
        ).status_code
        == 404
    )
    foreign.refresh_from_db()
    assert foreign.name != "x"
    # And the other workspace's key sees only its own.
    other_client = APIClient()
    other_client.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(workspace=foreign.workspace).secret}")
    assert [t["id"] for t in other_client.get("/api/v1/tenants").json()["results"]] == [str(foreign.pk)]


def test_malformed_id_is_404(auth_client: APIClient) -> None:
    assert auth_client.get("/api/v1/tenants/not-a-uuid").status_code == 404
