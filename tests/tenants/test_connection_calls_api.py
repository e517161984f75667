"""GET /api/v1/connections/{id}/calls: the connection's vendor call log over the API, against the Exact sandbox."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.credentials.store import credential_tokens
from tenants.models import CallLog
from tests.tenants.factories import ApiKeyFactory, connect_via_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_call_log_pages_newest_first_without_tokens(exact_world, workspace, auth_client: APIClient) -> None:  # type: ignore[no-untyped-def]
    credential, (division_101, division_102) = connect_via_sandbox(exact_world, workspace=workspace, connect=(101, 102))
    for _ in range(2):
        listed = auth_client.get(f"/api/v1/connections/{division_101.pk}/contacts", {"page_size": 1})
        assert listed.status_code == 200, listed.json()
    auth_client.get(f"/api/v1/connections/{division_102.pk}/contacts", {"page_size": 1})
    expected = list(CallLog.objects.filter(connection=division_101).order_by("-created_at", "-id"))
    assert len(expected) >= 2

    first = auth_client.get(f"/api/v1/connections/{division_101.pk}/calls", {"page_size": 1})
    assert first.status_code == 200, first.json()
    (call,) = first.json()["results"]
    assert call["id"] == expected[0].pk and call["connection_id"] == str(division_101.pk)
    assert call["method"] == "GET" and call["status"] == 200 and "crm/Accounts" in call["path"]
    assert call["request_id"] and call["duration_ms"] >= 0
    seen = [call["id"]]
    page = first.json()
    while page["next"]:
        page = auth_client.get(page["next"]).json()
        seen += [row["id"] for row in page["results"]]
    assert seen == [log.pk for log in expected], "every call of this connection once, none of the other's"

    text = auth_client.get(f"/api/v1/connections/{division_101.pk}/calls", {"page_size": 200}).content.decode()
    tokens = credential_tokens(credential)
    assert tokens.access_token not in text and tokens.refresh_token not in text


def test_another_workspaces_key_gets_404(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    _, (division,) = connect_via_sandbox(exact_world, workspace=workspace)
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory().secret}")

    response = stranger.get(f"/api/v1/connections/{division.pk}/calls")

    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_bad_page_size_is_400(exact_world, workspace, auth_client: APIClient) -> None:  # type: ignore[no-untyped-def]
    _, (division,) = connect_via_sandbox(exact_world, workspace=workspace)
    response = auth_client.get(f"/api/v1/connections/{division.pk}/calls", {"page_size": 0})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "page_size"
