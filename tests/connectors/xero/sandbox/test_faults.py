"""Fault injection over real HTTP: 500, 503, latency, dropped connections, revoked tokens, seeded randomness."""

from __future__ import annotations

import time

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl, SandboxControlError
from tests.connectors.xero.sandbox.conftest import Tenant, refresh


def test_500_and_503_by_pattern_and_method(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="500", pattern="/api.xro/2.0/Invoices*", method="GET", times=1)
    control.add_fault(kind="503", pattern="/api.xro/2.0/contacts*", times=1)
    first = http.get(connected.api("Invoices"), headers=connected.headers())
    assert first.status_code == 500
    assert first.json()["Type"] == "UnknownErrorException"
    # The call still used budget: faults apply after the limits.
    assert first.headers["X-MinLimit-Remaining"] == "59"
    assert http.get(connected.api("Invoices"), headers=connected.headers()).status_code == 200
    unavailable = http.get(connected.api("Contacts"), headers=connected.headers())
    # A plain-text 503: pyxero tells it apart from the old form-encoded rate-limit 503 by that.
    assert (unavailable.status_code, unavailable.headers["Content-Type"]) == (503, "text/plain; charset=utf-8")
    assert control.counters()["faults"] == {"500": 1, "503": 1}


def test_latency_delays_but_answers(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="latency", pattern="/api.xro/2.0/*", latency_ms=300, times=1)
    started = time.monotonic()
    assert http.get(connected.api("Contacts"), headers=connected.headers()).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_before_apply_changes_nothing(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="drop_before_apply", pattern="/api.xro/2.0/Contacts", method="PUT", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        http.put(connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Lost"}]})
    assert control.dump(connected.tenant_id)["Contacts"] == []


def test_drop_after_apply_then_an_idempotent_retry_replays(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.add_fault(kind="drop_after_apply", pattern="/api.xro/2.0/Contacts", method="PUT", times=1)
    headers = {**connected.headers(), "Idempotency-Key": "create-once"}
    body = {"Contacts": [{"Name": "Applied"}]}
    with pytest.raises(httpx.RemoteProtocolError):
        http.put(connected.api("Contacts"), headers=headers, json=body)
    retry = http.put(connected.api("Contacts"), headers=headers, json=body)
    assert retry.status_code == 200
    assert [c["Name"] for c in control.dump(connected.tenant_id)["Contacts"]] == ["Applied"]


def test_a_lost_refresh_answer_is_recovered_within_the_grace(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.add_fault(kind="drop_after_apply", pattern="/connect/token", method="POST", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        refresh(http, connected)
    retry = refresh(http, connected)
    assert retry.status_code == 200
    counters = control.counters()
    assert (counters["token_refreshes"], counters["token_grace_reuses"]) == (2, 1)


def test_revoke_tokens_fault(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    control.add_fault(kind="revoke_tokens", pattern="/api.xro/2.0/*", revoke_scope="all", times=1)
    revoked = http.get(connected.api("Contacts"), headers=connected.headers())
    assert (revoked.status_code, revoked.json()["Detail"]) == (401, "AuthenticationUnsuccessful")
    assert refresh(http, connected).json() == {"error": "invalid_grant"}


def test_probability_is_seeded_and_reproducible(connected: Tenant, http: httpx.Client, control: SandboxControl) -> None:
    def run() -> list[int]:
        control.clear_faults()
        control.add_fault(kind="503", pattern="/api.xro/2.0/Organisation", probability=0.5, seed=7)
        control.reset_limit_usage()
        return [http.get(connected.api("Organisation"), headers=connected.headers()).status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}


def test_tenant_scoped_faults_and_rule_management(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    rule = control.add_fault(kind="500", pattern="*", tenant_id="00000000-0000-0000-0000-000000000000")
    assert http.get(connected.api("Organisation"), headers=connected.headers()).status_code == 200
    assert [f["id"] for f in control.faults()] == [rule["id"]]
    control.remove_fault(rule["id"])
    assert control.faults() == []
    with pytest.raises(SandboxControlError):
        control.add_fault(kind="explode", pattern="*")
    with pytest.raises(SandboxControlError):
        control.remove_fault("fault-999")
