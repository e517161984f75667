"""Rate limits over real HTTP: the six headers, 429s with only the hit group, windows, the hourly error limit."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import ACCOUNTS, Tenant, authorize, exchange_code, make_tenant, refresh

MINUTELY = {"X-RateLimit-Minutely-Limit", "X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset"}
DAILY = {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


def _present(response: httpx.Response) -> set[str]:
    names = {name.lower() for name in response.headers}
    return {h for h in MINUTELY | DAILY if h.lower() in names}


def test_every_division_call_carries_the_six_headers(connected: Tenant, http: httpx.Client) -> None:
    first = http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    second = http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    assert first.status_code == 200
    assert _present(first) == MINUTELY | DAILY
    assert first.headers["X-RateLimit-Limit"] == "5000"
    assert first.headers["X-RateLimit-Minutely-Limit"] == "60"
    assert int(first.headers["X-RateLimit-Remaining"]) - int(second.headers["X-RateLimit-Remaining"]) == 1
    assert second.headers["X-RateLimit-Minutely-Remaining"] == "58"

    # Resets are epoch MILLISECONDS: the next calendar minute and the next UTC midnight.
    minute_reset = int(first.headers["X-RateLimit-Minutely-Reset"])
    day_reset = datetime.fromtimestamp(int(first.headers["X-RateLimit-Reset"]) / 1000, tz=UTC)
    assert minute_reset % 60_000 == 0
    assert 1638448971000 < minute_reset < 9999999999999
    assert (day_reset.hour, day_reset.minute, day_reset.second) == (0, 0, 0)
    assert day_reset > datetime.now(UTC)


def test_current_me_is_not_counted_and_has_no_headers(connected: Tenant, http: httpx.Client) -> None:
    me = http.get(f"{connected.base_url}/api/v1/current/Me", headers=connected.headers())
    assert me.status_code == 200
    assert _present(me) == set()
    after = http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    assert after.headers["X-RateLimit-Minutely-Remaining"] == "59"


def test_minutely_429_has_empty_body_and_only_minutely_headers(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.set_limits(minutely_limit=3)
    statuses = [http.get(connected.api_url(ACCOUNTS), headers=connected.headers()) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    refused = statuses[-1]
    assert refused.content == b""
    assert _present(refused) == MINUTELY
    assert refused.headers["X-RateLimit-Minutely-Remaining"] == "0"
    assert control.counters()["rate_limited"]["minutely"] == 1


def test_daily_429_carries_only_daily_headers(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.set_limits(daily_limit=2)
    responses = [http.get(connected.api_url(ACCOUNTS), headers=connected.headers()) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert _present(responses[-1]) == DAILY
    assert responses[-1].content == b""


def test_limits_are_per_division(control: SandboxControl, server: SandboxServer, http: httpx.Client) -> None:
    tenant = make_tenant(control, server, divisions=(100001, 100002))
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    control.set_limits(minutely_limit=1)
    assert http.get(tenant.api_url(ACCOUNTS, 100001), headers=tenant.headers()).status_code == 200
    assert http.get(tenant.api_url(ACCOUNTS, 100001), headers=tenant.headers()).status_code == 429
    # "Requests for other companies still work" (KB API limits).
    assert http.get(tenant.api_url(ACCOUNTS, 100002), headers=tenant.headers()).status_code == 200


def test_shortened_minute_window_and_clock_move_reopen_the_budget(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.set_limits(minutely_limit=1, minute_window_seconds=5)
    url = connected.api_url(ACCOUNTS)
    for _ in range(3):
        ok = http.get(url, headers=connected.headers())
        assert ok.status_code == 200
        reset_ms = int(ok.headers["X-RateLimit-Minutely-Reset"])
        assert reset_ms % 5000 == 0
        second = http.get(url, headers=connected.headers())
        if second.status_code == 200 and int(second.headers["X-RateLimit-Minutely-Reset"]) > reset_ms:
            continue  # the real clock crossed a 5 s boundary between the two calls: a new window, try again
        assert second.status_code == 429
        break
    control.advance_clock(5)
    assert http.get(url, headers=connected.headers()).status_code == 200


def test_daily_budget_resets_at_midnight_utc(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.set_limits(daily_limit=1)
    url = connected.api_url(ACCOUNTS)
    assert http.get(url, headers=connected.headers()).status_code == 200
    assert http.get(url, headers=connected.headers()).status_code == 429
    control.advance_clock(24 * 3600)
    # The access token expired with the clock move; get a fresh pair and check the new day's budget.
    connected.tokens = exchange_code(http, connected, authorize(http, connected)).json()
    assert http.get(url, headers=connected.headers()).status_code == 200


def test_error_limit_blocks_the_endpoint_for_an_hour(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    forbidden = connected.api_url(ACCOUNTS, 999999)  # not in the grant: 403 NoDivisionAccess
    for _ in range(10):
        assert http.get(forbidden, headers=connected.headers()).status_code == 403
    blocked = http.get(forbidden, headers=connected.headers())
    assert blocked.status_code == 429
    assert blocked.headers["Reason"] == "ErrorLimitExceeded"
    assert "Too many errors" in blocked.json()["error"]["message"]["value"]
    assert _present(blocked) == set()
    # Only that key and endpoint are blocked: the granted division still works.
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 200

    control.advance_clock(3601)
    connected.tokens = exchange_code(http, connected, authorize(http, connected)).json()
    assert http.get(forbidden, headers=connected.headers()).status_code == 403


def test_errors_on_the_token_endpoint_count_toward_the_error_limit(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.set_limits(error_limit=3)
    for _ in range(3):
        assert refresh(http, connected).status_code == 400  # too early
    blocked = refresh(http, connected)
    assert blocked.status_code == 429
    assert blocked.headers["Reason"] == "ErrorLimitExceeded"


def test_minute_window_follows_wall_clock_too(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    """A 1 s window passes in real time as well; tests never need to sleep a minute."""
    control.set_limits(minutely_limit=1, minute_window_seconds=1)
    url = connected.api_url(ACCOUNTS)
    http.get(url, headers=connected.headers())
    time.sleep(1.05)
    assert http.get(url, headers=connected.headers()).status_code == 200


def test_limit_changes_apply_all_or_nothing(control: SandboxControl) -> None:
    """configure() validates every setting before applying any (under the limiter's lock)."""
    with pytest.raises(SandboxControlError):
        control.set_limits(minutely_limit=5, daily_limit=-1)
    assert control.limits()["minutely_limit"] == 60


def test_expired_error_keys_are_dropped(
    connected: Tenant, http: httpx.Client, control: SandboxControl, server: SandboxServer
) -> None:
    """The error limiter forgets keys whose errors left the hour window; random 404 paths share one counter."""
    for number in range(20):
        assert http.get(connected.api_url(f"crm/Nothing{number}"), headers=connected.headers()).status_code == 404
    limiter = server.sandbox.error_limits
    assert limiter.tracked_keys() == 20
    calls = control.counters()["calls"]
    assert calls["(unknown)"] == {"404": 20}
    assert not [name for name in calls if name.startswith("crm/Nothing")]
    # A missing record of a served endpoint keeps the endpoint's name.
    missing = connected.api_url("crm/Accounts(guid'00000000-0000-0000-0000-000000000001')")
    assert http.get(missing, headers=connected.headers()).status_code == 404
    assert control.counters()["calls"]["crm/Accounts"] == {"404": 1}
    control.advance_clock(3601)
    connected.tokens = exchange_code(http, connected, authorize(http, connected)).json()
    assert http.get(connected.api_url("crm/NothingElse"), headers=connected.headers()).status_code == 404
    assert limiter.tracked_keys() == 1
