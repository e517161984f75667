"""Fault injection over real HTTP: 500, 503, latency, dropped connections, revoked tokens, seeded randomness."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from tests.connectors.exact.sandbox.conftest import ACCOUNTS, Tenant, refresh


def test_500_and_503_by_pattern_and_method(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="500", pattern="/api/v1/*/crm/Accounts*", method="GET", times=1)
    control.add_fault(kind="503", pattern="/api/v1/*/crm/Contacts*", times=1)
    first = http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    assert first.status_code == 500
    assert first.json()["error"]["message"]["value"]
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 200
    assert http.get(connected.api_url("crm/Contacts"), headers=connected.headers()).status_code == 503
    assert control.counters()["faults"] == {"500": 1, "503": 1}


def test_latency_delays_but_answers(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="latency", pattern="/api/v1/*", latency_ms=300, times=1)
    started = time.monotonic()
    response = http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_before_apply_closes_without_response(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.add_fault(kind="drop_before_apply", pattern="/api/v1/*/crm/Accounts", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 200


def test_drop_after_apply_on_token_endpoint_loses_the_rotated_pair(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    """dotnet#152: the refresh happened, the client never saw it, and its refresh token is now old."""
    control.advance_clock(571)
    control.add_fault(kind="drop_after_apply", pattern="/api/oauth2/token", method="POST", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        refresh(http, connected)
    retry = refresh(http, connected)
    assert retry.status_code == 401
    assert retry.json()["error_description"] == "Old refresh token used."
    counters = control.counters()
    assert counters["token_refreshes"] == 1
    assert counters["faults"]["drop_after_apply"] == 1


def test_drop_before_apply_on_token_endpoint_keeps_the_old_token(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.advance_clock(571)
    control.add_fault(kind="drop_before_apply", pattern="/api/oauth2/token", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        refresh(http, connected)
    assert refresh(http, connected).status_code == 200


def test_revoke_tokens_fault_gives_401_and_allows_a_refresh(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.add_fault(kind="revoke_tokens", pattern="/api/v1/*/crm/Accounts", times=1)
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 401
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 401
    # Scope "access": the refresh token survives and the 570 s wait no longer applies.
    renewed = refresh(http, connected)
    assert renewed.status_code == 200
    headers = connected.headers(renewed.json()["access_token"])
    assert http.get(connected.api_url(ACCOUNTS), headers=headers).status_code == 200


def test_revoke_all_through_control_kills_the_refresh_token(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    assert control.revoke_tokens(connected.app["client_id"], user_id=connected.user["user_id"], scope="all") == 1
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 401
    dead = refresh(http, connected)
    assert dead.status_code == 400
    assert dead.json()["error"] == "invalid_grant"


def _pattern_of_hits(connected: Tenant, http: httpx.Client, control: SandboxControl, seed: int) -> list[int]:
    control.clear_faults()
    control.add_fault(kind="500", pattern="/api/v1/*", probability=0.5, seed=seed)
    return [http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code for _ in range(12)]


def test_probability_faults_are_reproducible_with_a_seed(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    first = _pattern_of_hits(connected, http, control, seed=42)
    second = _pattern_of_hits(connected, http, control, seed=42)
    assert first == second
    assert set(first) == {200, 500}


def test_fault_listing_removal_and_validation(control: SandboxControl) -> None:
    fault = control.add_fault(kind="503", pattern="/api/v1/*", times=2)
    assert [f["id"] for f in control.faults()] == [fault["id"]]
    control.remove_fault(fault["id"])
    assert control.faults() == []
    with pytest.raises(SandboxControlError) as excinfo:
        control.add_fault(kind="explode", pattern="*")
    assert excinfo.value.status == 400
