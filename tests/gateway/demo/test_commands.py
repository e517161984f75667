"""`manage.py demo` end to end: it starts the sandbox, worker and web server, and the connect link it prints
works: a browser-like client walks it to a connection, visible through the API with the printed key."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from connectors.exact.sandbox.control_client import SandboxControl
from gateway.demo.services import DEMO_USER_ID, sandbox_world_ensure

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _csrf(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _read_banner(process: subprocess.Popen[str], timeout: float = 180, last: str = "xero conn.") -> dict[str, str]:
    """The printed lines up to the one labelled `last` (the Xero connection), as {label: value}."""
    assert process.stdout is not None
    banner: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and last not in banner:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if not ready:
            assert process.poll() is None, "demo exited early"
            continue
        line = process.stdout.readline()
        if ":" in line and line.startswith("  ") and not line.startswith("   "):
            label, value = line.strip().split(":", 1)
            banner[label.strip()] = value.strip()
    assert "sandbox" in banner and last in banner, banner
    return banner


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.celery_worker
def test_demo_prints_a_connect_link_that_works(tmp_path: Path) -> None:
    port, sandbox_port, xero_port = _free_port(), _free_port(), _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EXACT_", "XERO_", "LEDGERBRIDGE_PUBLIC_URL", "CELERY_", "DJANGO_SETTINGS_MODULE"))
    }
    # Its own database, broker and var/ so the demo never touches the test database or a developer's demo data.
    env.update(
        DJANGO_SETTINGS_MODULE="gateway.settings.local",
        LEDGERBRIDGE_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        REDIS_URL="",
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "demo",
            "--port",
            str(port),
            "--sandbox-port",
            str(sandbox_port),
            "--xero-sandbox-port",
            str(xero_port),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its worker and sandbox share the group, so cleanup can reach them all
    )
    try:
        banner = _read_banner(process)
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz")
        link = banner["connect"]
        assert link.startswith(f"{base}/connect/")

        with httpx.Client(timeout=30) as browser:
            page = browser.get(link)
            assert page.status_code == 200 and "Netherlands" in page.text
            continued = browser.post(link, data={"region": "nl", "csrfmiddlewaretoken": _csrf(page.text)})
            continue_url = f"{base}{continued.headers['location']}"
            page = browser.get(continue_url)
            to_exact = browser.post(continue_url, data={"csrfmiddlewaretoken": _csrf(page.text)})
            consent_url = to_exact.headers["location"]
            assert consent_url.startswith(f"http://127.0.0.1:{sandbox_port}/nl/api/oauth2/auth")
            assert "Jan de Vries" in browser.get(consent_url).text
            query = dict(httpx.URL(consent_url).params)
            callback = browser.post(
                consent_url.split("?")[0],
                data={**query, "user_id": DEMO_USER_ID, "division": ["101", "102"], "decision": "approve"},
            )
            picker_path = browser.get(callback.headers["location"]).headers["location"]
            picker = browser.get(f"{base}{picker_path}")
            done = browser.post(
                str(picker.url), data={"divisions": ["101", "102"], "csrfmiddlewaretoken": _csrf(picker.text)}
            )
            assert done.status_code == 200 and "Connected" in done.text

        key = banner["API key"]
        connections = httpx.get(f"{base}/api/v1/connections", headers={"Authorization": f"Bearer {key}"}).json()
        exact = [c for c in connections["results"] if c["connector"] == "exact"]
        assert sorted(c["company_id"] for c in exact) == ["101", "102"]
        assert {c["status"] for c in connections["results"]} == {"active"}
        # The demo tenant is connected to a Xero organisation too, and its invoices list through the unified API.
        assert banner["xero conn."].startswith("Gouden Korst Ltd"), banner
        (xero,) = [c for c in connections["results"] if c["connector"] == "xero"]
        invoices = httpx.get(
            f"{base}/api/v1/connections/{xero['id']}/invoices", headers={"Authorization": f"Bearer {key}"}
        )
        assert invoices.status_code == 200 and invoices.json()["results"], invoices.text
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # The sandbox it started saved its world for the next run.
    assert (tmp_path / "exact-sandbox.json").exists() and (tmp_path / "xero-sandbox.json").exists()


def test_sandbox_world_setup_is_repeatable(exact_sandbox) -> None:  # type: ignore[no-untyped-def]
    control: SandboxControl = exact_sandbox.control
    control.reset()
    sandbox_world_ensure(control, public_url="http://127.0.0.1:8000")
    sandbox_world_ensure(control, public_url="http://127.0.0.1:8000")  # a restart with a restored snapshot
    health = control.health()
    assert (health["apps"], health["users"], health["divisions"]) == (1, 1, 3)


@pytest.mark.django_db
def test_xero_world_setup_and_connection_are_repeatable(xero_sandbox, settings) -> None:  # type: ignore[no-untyped-def]
    from connectors.registry import reset_registry
    from gateway.demo.xero import (
        XERO_DEMO_TENANT_ID,
        xero_connection_ensure,
        xero_mapping_ensure,
        xero_sandbox_env,
        xero_world_ensure,
    )
    from tests.tenants.factories import TenantFactory, WorkspaceFactory

    control = xero_sandbox.control
    control.reset()
    xero_world_ensure(control, public_url="http://testserver")
    xero_world_ensure(control, public_url="http://testserver")  # a restart with a restored snapshot
    health = control.health()
    assert (health["apps"], health["users"], health["organisations"]) == (1, 1, 2)
    for key, value in xero_sandbox_env(sandbox_url=xero_sandbox.root_url).items():
        setattr(settings, key, value)
    settings.LEDGERBRIDGE_PUBLIC_URL = "http://testserver"
    reset_registry()
    tenant = TenantFactory(workspace=WorkspaceFactory())

    connection = xero_connection_ensure(control, tenant=tenant)

    assert (connection.connector, connection.company_id, connection.region) == ("xero", XERO_DEMO_TENANT_ID, "")
    assert xero_connection_ensure(control, tenant=tenant) == connection
    assert xero_mapping_ensure(connection) == ""
    reset_registry()


@pytest.mark.django_db
def test_demo_prints_a_working_key_and_curl_line() -> None:
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out)
    text = out.getvalue()
    secret = next(line.split(":", 1)[1].strip() for line in text.splitlines() if "API key" in line)
    assert f"Bearer {secret}" in text and "/api/v1/workspace" in text
    response = APIClient().get("/api/v1/workspace", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 200 and response.json()["slug"] == "demo"
