"""API keys through the API: shown once, stored hashed, revocable, and never visible across workspaces."""

from __future__ import annotations

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import keys
from tenants.models import ApiKey
from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


def test_create_shows_the_key_once_and_stores_only_its_hash(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    response = auth_client.post("/api/v1/api-keys", {"name": "billing"}, format="json")
    assert response.status_code == 201
    secret = response.json()["key"]
    assert keys.parse_key(secret) == response.json()["prefix"]
    stored = ApiKey.objects.get(pk=response.json()["id"])
    assert stored.key_hash == keys.hash_key(secret)
    assert secret not in str(ApiKey.objects.filter(pk=stored.pk).values().first())
    # The secret never appears again: not in the list, not in the detail.
    listed = auth_client.get("/api/v1/api-keys").content.decode()
    detail = auth_client.get(f"/api/v1/api-keys/{stored.pk}").content.decode()
    assert secret not in listed and secret not in detail
    assert stored.key_hash not in listed and stored.key_hash not in detail
    # And it works.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/workspace").json()["id"] == str(workspace.id)


def test_create_without_name_names_the_field(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/api-keys", {}, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == [{"field": "name", "code": "required", "message": "This field is required."}]


def test_revoke_through_api(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    other = ApiKeyFactory(workspace=workspace)
    revoked = auth_client.delete(f"/api/v1/api-keys/{other.pk}")
    assert revoked.status_code == 200
    # The answer says which key was revoked.
    assert revoked.json()["id"] == str(other.pk) and revoked.json()["prefix"] == other.prefix
    assert revoked.json()["status"] == "revoked" and revoked.json()["revoked_at"]
    other.refresh_from_db()
    assert other.revoked_at is not None
    assert auth_client.get(f"/api/v1/api-keys/{other.pk}").json()["status"] == "revoked"
    assert APIClient().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {other.secret}").status_code == 401


def test_workspace_a_cannot_see_workspace_b(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    other_workspace = WorkspaceFactory()
    foreign = ApiKeyFactory(workspace=other_workspace)
    own = ApiKeyFactory(workspace=workspace)

    listed = auth_client.get("/api/v1/api-keys").json()["results"]
    assert own.prefix in {k["prefix"] for k in listed}
    assert foreign.prefix not in {k["prefix"] for k in listed}
    assert auth_client.get("/api/v1/workspace").json()["id"] == str(workspace.id)

    # Retrieve and revoke of a foreign key look exactly like a key that does not exist.
    for response in (
        auth_client.get(f"/api/v1/api-keys/{foreign.pk}"),
        auth_client.delete(f"/api/v1/api-keys/{foreign.pk}"),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_malformed_id_is_404(auth_client: APIClient) -> None:
    response = auth_client.get("/api/v1/api-keys/not-a-uuid")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_last_active_key_cannot_be_revoked_through_the_api(auth_client: APIClient, workspace, api_key) -> None:  # type: ignore[no-untyped-def]
    revoked_before = ApiKeyFactory(workspace=workspace)
    ApiKey.objects.filter(pk=revoked_before.pk).update(revoked_at=timezone.now())

    refused = auth_client.delete(f"/api/v1/api-keys/{api_key.pk}")

    assert refused.status_code == 409, refused.json()
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "last_active_api_key"
    api_key.refresh_from_db()
    assert api_key.revoked_at is None
    assert auth_client.get("/api/v1/workspace").status_code == 200, "the workspace is not locked out"

    # With a second key the first may go (key rotation), and then the second is the last one.
    second = auth_client.post("/api/v1/api-keys", {"name": "rotated"}, format="json").json()
    assert auth_client.delete(f"/api/v1/api-keys/{api_key.pk}").status_code == 200
    rotated = APIClient()
    rotated.credentials(HTTP_AUTHORIZATION=f"Bearer {second['key']}")
    assert rotated.delete(f"/api/v1/api-keys/{second['id']}").status_code == 409


def test_revoking_an_already_revoked_key_answers_it_again(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    other = ApiKeyFactory(workspace=workspace)
    first = auth_client.delete(f"/api/v1/api-keys/{other.pk}").json()
    again = auth_client.delete(f"/api/v1/api-keys/{other.pk}")
    assert again.status_code == 200 and again.json()["revoked_at"] == first["revoked_at"]
