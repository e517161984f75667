"""Bearer API-key authentication: every refusal is a 401 problem with a specific code."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from tenants import keys
from tenants.models import ApiKey, Workspace
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


# --- the per-process key cache (issue 15: no key lookup per request) ---------------------------------------------


def test_a_key_that_authenticated_is_served_without_sql(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    assert auth_client.get(URL).status_code == 200
    with CaptureQueriesContext(db) as captured:
        again = auth_client.get(URL)
    assert again.status_code == 200 and again.json()["id"] == str(workspace.id)
    assert captured.captured_queries == []


def test_a_revoke_in_this_process_takes_effect_at_once(api_client: APIClient, api_key) -> None:  # type: ignore[no-untyped-def]
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}").status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}"), "revoked_api_key")


def test_a_revoke_in_another_process_takes_effect_within_the_cache_bound(  # type: ignore[no-untyped-def]
    api_client: APIClient, api_key, settings, monkeypatch
) -> None:
    settings.API_KEY_CACHE_SECONDS = 5
    clock = [1000.0]
    monkeypatch.setattr("tenants.services.time.monotonic", lambda: clock[0])
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}").status_code == 200
    # Another process revokes it: no signal reaches this one.
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())
    clock[0] += 4.9
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}").status_code == 200
    clock[0] += 0.2  # past API_KEY_CACHE_SECONDS since the key was read
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}"), "revoked_api_key")


def test_a_workspace_change_is_seen_by_the_next_request(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    assert auth_client.get(URL).json()["name"] == workspace.name
    changed = Workspace.objects.get(pk=workspace.pk)
    changed.name = "Renamed"
    changed.save()
    assert auth_client.get(URL).json()["name"] == "Renamed"


def test_a_cached_key_needs_the_whole_secret(api_client: APIClient, api_key) -> None:  # type: ignore[no-untyped-def]
    assert api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {api_key.secret}").status_code == 200
    forged = api_key.prefix + "." + "A" * 43
    _assert_401(api_client.get(URL, HTTP_AUTHORIZATION=f"Bearer {forged}"), "invalid_api_key")
