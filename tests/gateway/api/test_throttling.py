"""The per-API-key throttle (gateway/api/throttling.py): a sliding-window counter in the shared cache."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from gateway.api.throttling import ApiKeyRateThrottle

pytestmark = pytest.mark.django_db
URL = "/api/v1/workspace"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The throttle's clock, moved by the test; starts at the beginning of a minute."""
    now = [60.0 * 29_000_000]
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", lambda self: now[0])
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "4/min"})
    cache.clear()
    yield now
    cache.clear()


def test_the_limit_holds_within_a_window_and_says_when_to_come_back(auth_client: APIClient, clock: list[float]) -> None:
    clock[0] += 10
    assert [auth_client.get(URL).status_code for _ in range(4)] == [200] * 4
    refused = auth_client.get(URL)
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    # 5 counted in this window (the refused one too): in the next, 5 x (1 - t/60) + 1 <= 4 from t = 24 s on.
    assert int(refused["Retry-After"]) == 50 + 24
    clock[0] += 74
    assert auth_client.get(URL).status_code == 200


def test_the_previous_window_counts_by_its_overlap_with_the_last_minute(
    auth_client: APIClient, clock: list[float]
) -> None:
    assert [auth_client.get(URL).status_code for _ in range(4)] == [200] * 4
    clock[0] += 60 + 15  # a quarter into the next window: 4 x 0.75 = 3 of the last minute's requests remain
    assert auth_client.get(URL).status_code == 200  # 3 + 1
    refused = auth_client.get(URL)  # 3 + 2 > 4
    assert refused.status_code == 429
    # The refused one counts too: the next fits once 4 x (1 - t/60) + 3 <= 4, at t = 45 s, 30 s from now.
    assert int(refused["Retry-After"]) == 30
    clock[0] += 30
    assert auth_client.get(URL).status_code == 200
