"""A one-record read's and a create's API throttle decide right after the connection is read (the two round trips
overlap: gateway/api/overlapped_throttle.py), and a throttled request still gets the 429 and nothing else: no vendor
call, nothing recorded, its Idempotency-Key not looked at, no 404 or 400 in its place."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache

from gateway.api.throttling import ApiKeyRateThrottle
from gateway.models import IdempotencyKey
from tenants.models import CallLog
from tests.unified_models.conftest import Connected, _first_contact_id
from unified_models.models import Mutation

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


def test_a_throttled_create_records_nothing_sends_nothing_and_leaves_its_key_free(
    connected: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    throttle_at(monkeypatch, "1/min")
    url = connected.url("contacts")
    assert connected.client.get(connected.url("company")).status_code == 200  # the minute's one request
    mutations, keys = Mutation.objects.count(), IdempotencyKey.objects.count()
    calls = CallLog.objects.filter(connection=connected.connection).count()

    refused = connected.client.post(url, {"name": "Throttled B.V."}, format="json", HTTP_IDEMPOTENCY_KEY="late-1")

    assert refused.status_code == 429 and refused.json()["code"] == "rate_limited", refused.json()
    assert int(refused["Retry-After"]) >= 1
    assert (Mutation.objects.count(), IdempotencyKey.objects.count()) == (mutations, keys)
    assert CallLog.objects.filter(connection=connected.connection).count() == calls
    cache.clear()  # the next minute: the same key creates, as a first request
    created = connected.client.post(url, {"name": "Throttled B.V."}, format="json", HTTP_IDEMPOTENCY_KEY="late-1")
    assert created.status_code == 201 and created["Idempotent-Replayed"] == "false", created.json()
    cache.clear()


def test_a_throttled_create_is_429_before_a_replay_a_404_or_a_400(
    connected: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"name": "Once B.V."}
    first = connected.client.post(connected.url("contacts"), body, format="json", HTTP_IDEMPOTENCY_KEY="once-1")
    assert first.status_code == 201, first.json()
    throttle_at(monkeypatch, "1/min")
    assert connected.client.get(connected.url("company")).status_code == 200

    # The key's answer is not replayed while throttled (as when DRF refused before the handler).
    again = connected.client.post(connected.url("contacts"), body, format="json", HTTP_IDEMPOTENCY_KEY="once-1")
    missing = connected.client.post(f"/api/v1/connections/{uuid.uuid4()}/contacts", body, format="json")
    invalid = connected.client.post(connected.url("contacts"), {"name": ""}, format="json")

    assert [again.status_code, missing.status_code, invalid.status_code] == [429, 429, 429]
    cache.clear()
