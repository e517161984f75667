"""gateway/views.py: liveness without dependencies, and unknown API paths answered as problems (401 without a key,
404 with one) for every method. Readiness with a stopped database or broker: test_health.py."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient


def test_liveness_checks_nothing(api_client: APIClient) -> None:
    response = api_client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_an_unknown_api_path_is_401_without_a_key_and_404_with_one(
    method: str, api_client: APIClient, auth_client: APIClient
) -> None:
    anonymous = getattr(api_client, method)("/api/v1/no-such-thing")
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == "application/problem+json"
    known = getattr(auth_client, method)("/api/v1/no-such-thing")
    assert known.status_code == 404 and "/api/v1/no-such-thing" in known.json()["detail"]
