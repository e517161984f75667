"""Xero's budget: what its headers say, 5 calls in progress shared through Redis, the minute, and Xero's own 429."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from connectors.base.errors import VendorRateLimited
from connectors.base.ratelimit import DAILY, MINUTELY, LocalBudgetStore
from connectors.xero import auth
from connectors.xero.client import XeroClient, XeroHosts
from connectors.xero.ratelimit import (
    APP_MINUTELY,
    LocalSlots,
    RedisSlots,
    XeroRateLimiter,
    budget_key,
    new_xero_rate_limiter,
    observations_from_headers,
)
from tests.fixtures.xero import XeroWorld, sandbox_code


def test_headers_become_observations_in_the_window_they_were_received_in(settings) -> None:  # type: ignore[no-untyped-def]
    settings.XERO_MINUTE_LIMIT, settings.XERO_DAY_LIMIT, settings.XERO_APP_MINUTE_LIMIT = 60, 5000, 10000
    headers = {"X-MinLimit-Remaining": "58", "X-DayLimit-Remaining": "4983", "X-AppMinLimit-Remaining": "99999"}

    found = {o.window: o for o in observations_from_headers(headers, now_ms=90_500)}

    assert (found[MINUTELY].limit, found[MINUTELY].remaining, found[MINUTELY].reset_ms) == (60, 58, 120_000)
    assert (found[DAILY].limit, found[DAILY].remaining, found[DAILY].reset_ms) == (5000, 4983, 86_400_000)
    # More left than the configured limit: the vendor's allowance is larger, so the limit follows it.
    assert (found[APP_MINUTELY].limit, found[APP_MINUTELY].remaining) == (99999, 99999)
    assert observations_from_headers({}, now_ms=0) == []


@pytest.fixture
def token(xero_world: XeroWorld) -> str:
    connector_app = auth.AppCredentials(client_id=xero_world.client_id, client_secret=xero_world.client_secret)
    return auth.exchange_code(
        hosts=XeroHosts.from_settings(),
        app=connector_app,
        code=sandbox_code(xero_world),
        redirect_uri=xero_world.redirect_uri,
    ).access_token


def _client(world: XeroWorld, limiter: XeroRateLimiter) -> XeroClient:
    return XeroClient(client_id=world.client_id, rate_limiter=limiter)


def _get(client: XeroClient, world: XeroWorld, token: str) -> object:
    return client.tenant_request("GET", "Organisation", tenant_id=world.tenant_id, token_provider=lambda: token)


@pytest.mark.redis
def test_never_more_than_five_calls_in_progress_across_clients(settings, xero_world: XeroWorld, token: str) -> None:  # type: ignore[no-untyped-def]
    RedisSlots(settings.REDIS_URL).clear(budget_key(xero_world.client_id, xero_world.tenant_id))
    xero_world.control.add_fault(kind="latency", pattern="/api.xro/2.0/Organisation", latency_ms=300)
    # Two limiters as two processes would have: the slots are shared through Redis, the budgets are their own.
    limiters = [
        new_xero_rate_limiter(store=LocalBudgetStore(), slots=RedisSlots(settings.REDIS_URL), max_wait=30)
        for _ in range(2)
    ]
    clients = [_client(xero_world, limiter) for limiter in limiters]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda n: _get(clients[n % 2], xero_world, token), range(12)))

    assert len(results) == 12
    assert xero_world.control.counters()["rate_limited"].get("concurrent", 0) == 0


def test_without_the_slots_xero_refuses_the_sixth_call_in_progress(xero_world: XeroWorld, token: str) -> None:
    """The check above can fail: the same calls without slots get Xero's concurrent 429."""
    xero_world.control.add_fault(kind="latency", pattern="/api.xro/2.0/Organisation", latency_ms=300)
    unlimited = XeroClient()  # no app id: no budget, as in the connect flow

    def call(_: int) -> str:
        try:
            _get(unlimited, xero_world, token)
        except VendorRateLimited as exc:
            return str(exc)
        return "ok"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(call, range(12)))

    assert any("concurrent" in outcome for outcome in outcomes)
    assert xero_world.control.counters()["rate_limited"].get("concurrent", 0) >= 1


def test_the_minute_budget_stops_calls_before_xero_has_to(settings, xero_world: XeroWorld, token: str) -> None:  # type: ignore[no-untyped-def]
    xero_world.control.set_limits(minute_limit=3)
    settings.XERO_MINUTE_LIMIT = 3
    client = _client(xero_world, new_xero_rate_limiter(store=LocalBudgetStore(), slots=LocalSlots(), max_wait=0.2))

    for _ in range(3):
        _get(client, xero_world, token)
    with pytest.raises(VendorRateLimited) as refused:
        _get(client, xero_world, token)

    assert "minutely" in refused.value.message and refused.value.reset_at > datetime.now(tz=UTC)
    assert xero_world.control.counters()["rate_limited"].get("total", 0) == 0, "refused here, not by Xero"


def test_xeros_own_429_is_a_rate_limit_with_its_retry_after(xero_world: XeroWorld, token: str) -> None:
    xero_world.control.set_limits(minute_limit=2)

    def fresh() -> XeroClient:
        # Each call as another install of the app would make it: no shared knowledge of the budget.
        return _client(xero_world, new_xero_rate_limiter(store=LocalBudgetStore(), slots=LocalSlots(), max_wait=0.2))

    _get(fresh(), xero_world, token)
    _get(fresh(), xero_world, token)
    with pytest.raises(VendorRateLimited) as limited:
        _get(fresh(), xero_world, token)

    assert "minute" in limited.value.message and limited.value.status == 429
    seconds = (limited.value.reset_at - datetime.now(tz=UTC)).total_seconds()
    assert 0 < seconds <= 61
    assert xero_world.control.counters()["rate_limited"].get("minute", 0) == 1
