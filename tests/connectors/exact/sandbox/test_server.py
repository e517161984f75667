"""The server itself: regions, division access, transport quirks, TLS and snapshots across a restart."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import (
    ACCOUNTS,
    REDIRECT_URI,
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
    assert http.get(tenant.api_url(ACCOUNTS, 100001), headers=tenant.headers()).status_code == 200
    for division in (100002, 424242):  # not granted; does not exist
        response = http.get(tenant.api_url(ACCOUNTS, division), headers=tenant.headers())
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
            response = http.get(tenant.api_url(ACCOUNTS), headers=tenant.headers())
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Minutely-Limit"] == "7"
            second.control.advance_clock(471)
            renewed = refresh(http, tenant)
            assert renewed.status_code == 200, renewed.text
        health = second.control.health()
        assert (health["apps"], health["users"], health["divisions"]) == (1, 1, 1)


def test_root_region_is_served_at_the_port_itself_beside_the_prefixed_form() -> None:
    with SandboxServer(regions=["nl", "be"], root_region="nl") as rooted, httpx.Client() as http:
        control = rooted.control
        tenant = make_tenant(control, rooted)
        host = rooted.host_url()
        assert host == rooted.root_url and rooted.root_region == "nl"
        # The whole code flow at the root, as a client that takes a host and builds /api/… itself does it.
        response = http.get(
            f"{host}/api/oauth2/auth",
            params={"client_id": tenant.app["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code"},
        )
        assert response.status_code == 302, response.text
        code = parse_qs(urlsplit(response.headers["Location"]).query)["code"][0]
        token = http.post(
            f"{host}/api/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "client_id": tenant.app["client_id"],
                "client_secret": tenant.app["client_secret"],
            },
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
        control.seed(tenant.division, accounts=70, seed=3)
        page = http.get(
            f"{host}/api/v1/{tenant.division}/crm/Accounts",
            params={"$select": "ID", "$filter": "Status eq 'C'"},
            headers=headers,
        ).json()["d"]
        # Links name the root the request came in on, so a client follows them without knowing the region.
        assert page["__next"].startswith(f"{host}/api/v1/{tenant.division}/crm/Accounts?")
        assert page["results"][0]["__metadata"]["uri"].startswith(f"{host}/api/v1/{tenant.division}/crm/Accounts(")
        assert http.get(page["__next"], headers=headers).status_code == 200
        # The prefixed form of the same region takes the same token; another region's prefix does not.
        prefixed = http.get(f"{host}/nl/api/v1/current/Me", headers=headers)
        assert prefixed.status_code == 200
        assert http.get(f"{host}/be/api/v1/current/Me", headers=headers).status_code == 401
        # The consent page posts back to where it was served.
        control.clear_auto_consent(tenant.app["client_id"])
        page_html = http.get(
            f"{host}/api/oauth2/auth",
            params={"client_id": tenant.app["client_id"], "redirect_uri": REDIRECT_URI, "response_type": "code"},
        ).text
        assert 'action="/api/oauth2/auth"' in page_html


def test_root_region_must_be_a_served_region() -> None:
    with pytest.raises(ValueError, match="root region"):
        SandboxServer(regions=["be"], root_region="nl")


def test_urls_over_6000_characters_are_refused(connected: Tenant, http: httpx.Client) -> None:
    base = connected.api_url("financial/GLAccounts")
    filler = "x" * 6000
    response = http.get(base, params={"$filter": f"Description eq '{filler}'"}, headers=connected.headers())
    assert response.status_code == 414
    assert "6000" in response.json()["error"]["message"]["value"]
    # Just under the limit (after encoding) is served.
    room = 6000 - len(f"{base}?%24filter=Description+eq+%27%27")
    fits = http.get(base, params={"$filter": f"Description eq '{'y' * room}'"}, headers=connected.headers())
    assert len(str(fits.request.url)) == 6000
    assert fits.status_code == 200, fits.text


def test_bodies_over_10_mb_are_refused(connected: Tenant, http: httpx.Client) -> None:
    url = connected.api_url("crm/Accounts")
    headers = {**connected.headers(), "Content-Type": "application/json"}
    too_big = b'{"Name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = http.post(url, content=too_big, headers=headers)
    assert response.status_code == 413
    assert "10 MB" in response.json()["error"]["message"]["value"]
    # A body within the limit reaches the write rules (a name that long is Exact's problem, not the size limit's).
    fits = http.post(url, content=b'{"Name": "Klein"}', headers=headers)
    assert fits.status_code == 201


def test_batch_is_not_served(connected: Tenant, http: httpx.Client) -> None:
    """Exact does not support $batch (KB FAQ); the sandbox has no such resource."""
    response = http.post(
        f"{connected.base_url}/api/v1/{connected.division}/$batch", content=b"", headers=connected.headers()
    )
    assert response.status_code == 404


def test_management_command_serves_a_root_region(tmp_path: Path) -> None:
    """`manage.py exact_sandbox --root-region nl` answers /api/… at the root as well as under /nl/."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[4]
    process = subprocess.Popen(
        [
            sys.executable,
            str(root / "manage.py"),
            "exact_sandbox",
            "--port",
            str(port),
            "--regions",
            "nl,be",
            "--root-region",
            "nl",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if httpx.get(f"{base}/_control/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        # No client credentials: the token endpoint answers (401), so the path is served, at the root and prefixed.
        assert httpx.post(f"{base}/api/oauth2/token", data={}).status_code == 401
        assert httpx.post(f"{base}/be/api/oauth2/token", data={}).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert "nl at the root" in output
