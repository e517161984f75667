"""Idempotency-Key: replay on same key and body, 422 on another body, 409 while in flight, 5xx frees the key."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from gateway.api.idempotency import idempotency_keys_purge
from gateway.models import IdempotencyKey
from tests.gateway.api import urls_for_tests
from tests.tenants.factories import ApiKeyFactory

pytestmark = [pytest.mark.urls("tests.gateway.api.urls_for_tests")]
URL = "/api/v1/_test/idempotent"


@pytest.fixture(autouse=True)
def _clear_executions() -> None:
    urls_for_tests.EXECUTIONS.clear()


@pytest.mark.django_db
def test_same_key_and_body_replays_the_first_response(auth_client: APIClient) -> None:
    first = auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() == {"created": 1}
    assert first["Idempotent-Replayed"] == "false" and second["Idempotent-Replayed"] == "true"
    assert len(urls_for_tests.EXECUTIONS) == 1


@pytest.mark.django_db
def test_same_key_other_body_is_422(auth_client: APIClient) -> None:
    auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = auth_client.post(URL, {"name": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(urls_for_tests.EXECUTIONS) == 1


@pytest.mark.django_db
def test_keys_are_per_workspace(auth_client: APIClient) -> None:
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory().secret}")
    auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    response = other.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert response["Idempotent-Replayed"] == "false"
    assert len(urls_for_tests.EXECUTIONS) == 2


@pytest.mark.django_db
def test_definitive_refusals_replay_too_but_crashes_free_the_key(auth_client: APIClient) -> None:
    refused = [auth_client.post(URL, {"refuse": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-3") for _ in range(2)]
    assert [r.status_code for r in refused] == [422, 422]
    assert refused[1]["Idempotent-Replayed"] == "true"
    assert len(urls_for_tests.EXECUTIONS) == 1

    crashed = auth_client.post(URL, {"crash": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert crashed.status_code == 500
    assert not IdempotencyKey.objects.filter(key="k-4").exists()
    retried = auth_client.post(URL, {"crash": 1}, format="json", HTTP_IDEMPOTENCY_KEY="k-4")
    assert retried.status_code == 500
    assert len(urls_for_tests.EXECUTIONS) == 3


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\tkey"])
@pytest.mark.django_db
def test_invalid_keys_are_400(auth_client: APIClient, key: str) -> None:
    response = auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


@pytest.mark.django_db(transaction=True)
def test_a_key_still_in_flight_is_409(api_key) -> None:  # type: ignore[no-untyped-def]
    results: dict[str, int] = {}

    def slow() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
        try:
            results["slow"] = client.post(URL, {"wait": "1.5"}, format="json", HTTP_IDEMPOTENCY_KEY="k-5").status_code
        finally:
            connection.close()  # this thread's own connection; left open it blocks dropping the test database

    thread = threading.Thread(target=slow)
    thread.start()
    deadline = time.monotonic() + 5
    while not IdempotencyKey.objects.filter(key="k-5").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    concurrent = client.post(URL, {"wait": "1.5"}, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    thread.join()
    assert concurrent.status_code == 409
    assert concurrent.json()["code"] == "idempotency_key_in_flight"
    assert results["slow"] == 201
    assert len(urls_for_tests.EXECUTIONS) == 1


@pytest.mark.django_db
def test_keys_expire_after_24_hours(auth_client: APIClient) -> None:
    auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    IdempotencyKey.objects.filter(key="k-6").update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_keys_purge() == 1
    again = auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-6")
    assert again["Idempotent-Replayed"] == "false"


@pytest.mark.django_db
def test_an_abandoned_in_flight_key_is_taken_over_by_a_retry(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    from gateway.api.idempotency import stale_after

    # A worker died mid-request: the key stayed in flight with the same request.
    auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
    IdempotencyKey.objects.filter(key="k-7").update(
        status="in_flight", response_status=None, response_body=None, created_at=timezone.now() - stale_after() * 2
    )
    retried = auth_client.post(URL, {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="k-7")
    assert retried.status_code == 201 and retried["Idempotent-Replayed"] == "false"
    assert IdempotencyKey.objects.get(key="k-7").status == "completed"
