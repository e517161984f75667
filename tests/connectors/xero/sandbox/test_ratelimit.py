"""Xero's limits over HTTP: per-organisation concurrency, minute and day budgets, the app-wide minute budget."""

from __future__ import annotations

import threading

import httpx

from connectors.xero.sandbox.control_client import SandboxControl
from tests.connectors.xero.sandbox.conftest import Tenant, authorize, exchange_code, make_tenant


def test_every_api_response_carries_the_remaining_budgets(connected: Tenant, http: httpx.Client) -> None:
    first = http.get(connected.api("Contacts"), headers=connected.headers())
    second = http.get(connected.api("Invoices/" + "0" * 32), headers=connected.headers())  # a 404 counts too
    assert second.status_code == 404
    assert (
        first.headers["X-DayLimit-Remaining"],
        first.headers["X-MinLimit-Remaining"],
        first.headers["X-AppMinLimit-Remaining"],
    ) == ("4999", "59", "9999")
    assert (
        second.headers["X-DayLimit-Remaining"],
        second.headers["X-MinLimit-Remaining"],
        second.headers["X-AppMinLimit-Remaining"],
    ) == ("4998", "58", "9998")


def test_minute_limit_gives_429_with_retry_after_and_the_problem(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.set_limits(minute_limit=3, minute_window_seconds=60)
    for _ in range(3):
        assert http.get(connected.api("Contacts"), headers=connected.headers()).status_code == 200
    refused = http.get(connected.api("Contacts"), headers=connected.headers())
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"] == "minute"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["X-MinLimit-Remaining"] == "0"
    # A refused call uses no budget.
    assert refused.headers["X-DayLimit-Remaining"] == "4997"
    control.advance_clock(61)
    assert http.get(connected.api("Contacts"), headers=connected.headers()).status_code == 200
    counters = control.counters()
    assert counters["rate_limited"] == {"total": 1, "minute": 1}


def test_day_limit_is_named_day(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    # A compressed "day" (10 minutes) so the window passes while the access token still lives.
    control.set_limits(day_limit=2, day_window_seconds=600)
    http.get(connected.api("Contacts"), headers=connected.headers())
    http.get(connected.api("Contacts"), headers=connected.headers())
    refused = http.get(connected.api("Contacts"), headers=connected.headers())
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "day")
    assert 1 <= int(refused.headers["Retry-After"]) <= 600
    control.advance_clock(601)
    assert http.get(connected.api("Contacts"), headers=connected.headers()).status_code == 200


def test_budgets_are_per_organisation_but_the_app_minute_spans_them(
    control: SandboxControl, server, http: httpx.Client
) -> None:
    tenant = make_tenant(control, server, organisations=("Org A", "Org B"))
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    a, b = (o["tenant_id"] for o in tenant.organisations)
    control.set_limits(minute_limit=2, app_minute_limit=3)
    assert http.get(tenant.api("Contacts"), headers=tenant.headers(tenant_id=a)).status_code == 200
    assert http.get(tenant.api("Contacts"), headers=tenant.headers(tenant_id=a)).status_code == 200
    assert (
        http.get(tenant.api("Contacts"), headers=tenant.headers(tenant_id=a)).headers["X-Rate-Limit-Problem"]
        == "minute"
    )
    # Org B has its own minute budget, but the app has used 2 of its 3.
    assert http.get(tenant.api("Contacts"), headers=tenant.headers(tenant_id=b)).status_code == 200
    refused = http.get(tenant.api("Contacts"), headers=tenant.headers(tenant_id=b))
    assert (refused.status_code, refused.headers["X-Rate-Limit-Problem"]) == (429, "appminute")
    usage = control.usage()[tenant.app["client_id"]]
    assert usage["app_minute_used"] == 3
    assert usage["organisations"][a]["minute_used"] == 2
    assert usage["organisations"][b]["minute_used"] == 1


def test_the_sixth_call_in_progress_is_refused(connected: Tenant, control: SandboxControl) -> None:
    control.add_fault(kind="latency", pattern="/api.xro/2.0/Contacts", latency_ms=600)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def call() -> None:
        with httpx.Client(timeout=10) as client:
            response = client.get(connected.api("Contacts"), headers=connected.headers())
        with lock:
            results.append(response)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 200, 200, 200, 200, 429]
    refused = next(r for r in results if r.status_code == 429)
    assert refused.headers["X-Rate-Limit-Problem"] == "concurrent"
    assert control.usage()[connected.app["client_id"]]["organisations"][connected.tenant_id]["in_progress"] == 0


def test_identity_calls_use_no_organisation_budget(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.set_limits(minute_limit=1)
    for _ in range(3):
        assert (
            http.get(
                f"{connected.server.root_url}/connections",
                headers={"Authorization": f"Bearer {connected.tokens['access_token']}"},
            ).status_code
            == 200
        )
    assert http.get(connected.api("Organisation"), headers=connected.headers()).status_code == 200


def test_limits_are_validated_before_any_applies(control: SandboxControl) -> None:
    from connectors.xero.sandbox.control_client import SandboxControlError

    try:
        control.set_limits(minute_limit=5, day_limit=0)
    except SandboxControlError as exc:
        assert exc.status == 400
    else:
        raise AssertionError("a zero day limit was accepted")
    assert control.limits()["minute_limit"] == 60
