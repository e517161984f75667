"""tenants/problems.py: the tenants services' refusals as problem details, through the API (codes are public)."""

from __future__ import annotations

from rest_framework.test import APIClient

from tenants.models import ApiKey, Workspace


def test_a_second_tenant_with_the_same_external_id_is_a_409_naming_the_field(auth_client: APIClient) -> None:
    body = {"external_id": "acme", "name": "Acme"}
    assert auth_client.post("/api/v1/tenants", body, format="json").status_code == 201

    response = auth_client.post("/api/v1/tenants", {**body, "name": "Acme again"}, format="json")

    assert response.status_code == 409 and response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "tenant_exists" and "'acme'" in problem["detail"]
    assert problem["errors"] == [
        {"field": "external_id", "code": "unique", "message": "Already used by another tenant."}
    ]


def test_revoking_the_last_active_key_is_a_409(auth_client: APIClient, workspace: Workspace, api_key: ApiKey) -> None:
    response = auth_client.delete(f"/api/v1/api-keys/{api_key.pk}")

    assert response.status_code == 409 and response.json()["code"] == "last_active_api_key"
    assert ApiKey.objects.get(pk=api_key.pk).revoked_at is None
