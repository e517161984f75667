"""Cursor pagination: stable order, no repeats or gaps, page_size bounds, bad cursors refused."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import ApiKeyFactory

pytestmark = pytest.mark.django_db


def test_pages_cover_every_record_once(auth_client: APIClient, workspace, api_key) -> None:  # type: ignore[no-untyped-def]
    ApiKeyFactory.create_batch(6, workspace=workspace)
    seen: list[str] = []
    url: str | None = "/api/v1/api-keys?page_size=3"
    pages = 0
    while url:
        body = auth_client.get(url).json()
        assert set(body) == {"results", "next"}
        assert len(body["results"]) <= 3
        seen.extend(key["id"] for key in body["results"])
        url = body["next"]
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 7


def test_default_and_maximum_page_size(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    assert auth_client.get("/api/v1/api-keys?page_size=200").status_code == 200


@pytest.mark.parametrize("page_size", ["0", "201", "abc", "-1", "\u00b2", "\uff11"])
def test_out_of_range_page_size_names_the_field(auth_client: APIClient, page_size: str) -> None:
    response = auth_client.get(f"/api/v1/api-keys?page_size={page_size}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page_size"


def test_garbage_cursor_is_400(auth_client: APIClient) -> None:
    response = auth_client.get("/api/v1/api-keys?cursor=garbage")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_cursor"
