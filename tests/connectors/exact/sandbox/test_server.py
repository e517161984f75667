"""The server itself: regions, division access, transport quirks, TLS and snapshots across a restart."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import (
    Tenant,
    _server_kwargs,
    authorize,
    exchange_code,
    make_tenant,
    refresh,
)


def test_regions_have_their_own_base_urls(server: SandboxServer, http: httpx.Client) -> None:
    assert server.base_url("nl").endswith("/nl")
    assert server.base_url("fr").endswith("/fr")
    health = http.get(f"{server.root_url}/_control/health").json()
    assert health["regions"] == ["nl", "be", "de", "uk", "us", "es", "fr"]
    unknown = http.get(f"{server.root_url}/xx/api/v1/current/Me")
    assert unknown.status_code == 404


def test_only_configured_regions_are_served() -> None:
    with SandboxServer(regions=["nl"], **_server_kwargs()) as single, httpx.Client() as http:
        assert http.get(f"{single.root_url}/be/api/oauth2/token").status_code == 404
        assert http.post(f"{single.root_url}/nl/api/oauth2/token", data={}).status_code == 401


def test_division_outside_the_grant_is_403_no_division_access(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    tenant = make_tenant(control, server, divisions=(100001, 100002), granted=(100001,))
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    assert http.get(tenant.api_url("crm/Accounts", 100001), headers=tenant.headers()).status_code == 200
    for division in (100002, 424242):  # not granted; does not exist
        response = http.get(tenant.api_url("crm/Accounts", division), headers=tenant.headers())
        assert response.status_code == 403
        assert response.headers["Reason"] == "NoDivisionAccess"
        assert set(response.json()["error"]["message"]) == {"lang", "value"}
        # Documented choice: no budget to report for a division the app cannot use.
        assert not [name for name in response.headers if name.lower().startswith("x-ratelimit")]


def test_current_me_passes_through_without_division(connected: Tenant, http: httpx.Client) -> None:
    response = http.get(f"{connected.base_url}/api/v1/current/Me", headers=connected.headers())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


def test_expect_100_continue_gets_a_500(connected: Tenant, http: httpx.Client) -> None:
    response = http.post(
        connected.api_url("crm/Accounts"),
        headers={**connected.headers(), "Content-Type": "application/json", "Expect": "100-continue"},
        content=b'{"Name": "Expect BV"}',
    )
    assert response.status_code == 500
    assert "error" in response.json()


def test_expect_100_continue_is_counted_under_the_endpoint_name(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    """Counted like any other call: `crm/Accounts`, not `v1/<division>/crm/Accounts`."""
    headers = {**connected.headers(), "Content-Type": "application/json", "Expect": "100-continue"}
    http.post(connected.api_url("crm/Accounts"), headers=headers, content=b'{"Name": "Expect BV"}')
    http.post(connected.api_url("crm/Accounts(guid'00000000-0000-0000-0000-000000000001')"), headers=headers)
    http.post(f"{connected.base_url}/api/oauth2/token", headers={"Expect": "100-continue"}, data={"a": "b"})
    calls = control.counters()["calls"]
    assert calls["crm/Accounts"] == {"500": 2}
    assert calls["oauth2/token"]["500"] == 1
    assert not [name for name in calls if name.startswith("v1/")]


def test_tls_mode_serves_https_with_its_own_certificate() -> None:
    with SandboxServer(tls=True, regions=["nl"], **_server_kwargs()) as secure:
        assert secure.root_url.startswith("https://")
        assert secure.ca_file is not None
        with httpx.Client(verify=ssl.create_default_context(cafile=str(secure.ca_file))) as http:
            assert http.get(f"{secure.root_url}/_control/health").json()["status"] == "ok"
        assert secure.control.health()["status"] == "ok"


def test_snapshot_survives_a_restart(tmp_path: Path) -> None:
    snapshot = tmp_path / "sandbox.json"
    with SandboxServer(snapshot_path=snapshot, webhook_validation_delay=0, **_server_kwargs()) as first:
        control = first.control
        tenant = make_tenant(control, first, divisions=(300001,))
        with httpx.Client() as http:
            tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
        control.advance_clock(100)
        control.set_limits(minutely_limit=7)
        assert Path(control.snapshot()) == snapshot
        assert json.loads(snapshot.read_text())["version"] == 1
    # Saved again on shutdown; a new process on a new port picks everything up.
    with SandboxServer(snapshot_path=snapshot, webhook_validation_delay=0, **_server_kwargs()) as second:
        tenant.server = second
        with httpx.Client() as http:
            response = http.get(tenant.api_url("crm/Accounts"), headers=tenant.headers())
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Minutely-Limit"] == "7"
            second.control.advance_clock(471)
            renewed = refresh(http, tenant)
            assert renewed.status_code == 200, renewed.text
        health = second.control.health()
        assert (health["apps"], health["users"], health["divisions"]) == (1, 1, 1)
