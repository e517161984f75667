"""A one-record read's API throttle decides right after the connection is read (the two round trips overlap:
gateway/api/overlapped_throttle.py), and a throttled read still gets the 429 and nothing else: no vendor call, no
404 or 400 in its place."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from gateway.api.throttling import ApiKeyRateThrottle
from tenants.models import CallLog
from tests.unified_models.conftest import Connected, _first_contact_id

pytestmark = pytest.mark.django_db


def throttle_at(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    """The throttle at `rate`, its clock fixed at the start of a minute, its counters empty."""
    monkeypatch.setattr(ApiKeyRateThrottle, "timer", lambda self: 60.0 * 29_000_000 + 1)
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": rate})
    cache.clear()


def test_a_throttled_read_makes_no_vendor_call_and_says_when_to_come_back(
    connected: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact_id = _first_contact_id(connected)
    throttle_at(monkeypatch, "2/min")
    url = connected.url(f"contacts/{contact_id}")
    assert [connected.client.get(url).status_code for _ in range(2)] == [200, 200]
    calls = CallLog.objects.filter(connection=connected.connection).count()

    refused = connected.client.get(url)

    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert CallLog.objects.filter(connection=connected.connection).count() == calls
    cache.clear()


def test_the_429_comes_before_a_404_or_a_400(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    throttle_at(monkeypatch, "1/min")
    missing = f"/api/v1/connections/{uuid.uuid4()}/contacts/{uuid.uuid4()}"
    assert connected.client.get(missing).status_code == 404
    assert connected.client.get(missing).status_code == 429  # not another 404
    assert connected.client.get(connected.url(f"contacts/{uuid.uuid4()}?mode=live&mode=live")).status_code == 429
    cache.clear()
