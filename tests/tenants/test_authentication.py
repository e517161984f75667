"""Bearer API-key authentication: every refusal is a 401 problem with a specific code."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants import keys
from tenants.services import api_key_revoke
from tests.tenants.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/workspace"


def _assert_401(response, code: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["code"] == code
    assert body["status"] == 401
    assert body["type"].endswith(code)
    assert body["instance"] == URL


def test_missing_key_is_401(api_client: APIClient) -> None:
    _assert_401(api_client.get(URL), "missing_api_key")


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer not-a-key", "Basic dXNlcjpwYXNz", "lb_abc"])
def test_malformed_header_is_401(api_client: APIClient, header: str) -> None:
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=header), "malformed_api_key")


def test_unknown_well_formed_key_is_401(api_client: APIClient, api_key) -> None:  # type: ignore[no-untyped-def]
    unknown = keys.generate_key().secret
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {unknown}"), "invalid_api_key")


def test_known_prefix_with_wrong_secret_is_401(api_client: APIClient, api_key) -> None:  # type: ignore[no-untyped-def]
    forged = api_key.prefix + "." + "A" * 43
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {forged}"), "invalid_api_key")


def test_revoked_key_is_401(api_client: APIClient, api_key) -> None:  # type: ignore[no-untyped-def]
    api_key_revoke(api_key=api_key)
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}"), "revoked_api_key")


def test_valid_key_authenticates_as_its_workspace(auth_client: APIClient, workspace, api_key) -> None:  # type: ignore[no-untyped-def]
    response = auth_client.get(URL)
    assert response.status_code == 200
    assert response.json()["id"] == str(workspace.id)
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None


def test_several_keys_per_workspace_all_work(api_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    first, second = ApiKeyFactory(workspace=workspace), ApiKeyFactory(workspace=workspace)
    for key in (first, second):
        assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {key.secret}").status_code == 200
    api_key_revoke(api_key=first)
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {first.secret}").status_code == 401
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {second.secret}").status_code == 200
