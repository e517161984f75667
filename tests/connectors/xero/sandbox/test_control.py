"""The control API and the sandbox's housekeeping: seeding, dumps, snapshots, counters, clock, the command."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl, SandboxControlError
from connectors.xero.sandbox.server import SandboxServer
from tests.connectors.xero.sandbox.conftest import REDIRECT_URI, Tenant, refresh


def test_seed_is_deterministic(control: SandboxControl) -> None:
    dumps = []
    for _ in range(2):
        control.reset()
        org = control.register_organisation(name="Seeded", tenant_id="11111111-2222-4333-8444-555555555555")
        assert control.seed(org["tenant_id"], contacts=5, invoices=8, lines_per_invoice=2, payments=2, seed=9) == {
            "tenant_id": org["tenant_id"],
            "contacts": 5,
            "invoices": 8,
            "payments": 2,
        }
        records = control.dump(org["tenant_id"])
        # UpdatedDateUTC follows the clock; everything else is fixed by the seed.
        for rows in records.values():
            for row in rows:
                row.pop("UpdatedDateUTC", None)
        dumps.append(records)
    assert dumps[0] == dumps[1]
    invoices = dumps[0]["Invoices"]
    assert len(invoices) == 8 and all(len(i["LineItems"]) == 2 for i in invoices)
    assert sum(1 for i in invoices if i["Status"] == "PAID") == 2


def test_new_organisations_get_their_countrys_tax_rates(control: SandboxControl) -> None:
    for country, tax_type, rate in (("GB", "OUTPUT2", 20.0), ("AU", "OUTPUT", 10.0), ("NZ", "OUTPUT2", 15.0)):
        org = control.register_organisation(name=f"Org {country}", country_code=country)
        rates = {r["TaxType"]: r["EffectiveRate"] for r in control.dump(org["tenant_id"])["TaxRates"]}
        assert rates[tax_type] == rate
    with pytest.raises(SandboxControlError) as refused:
        control.register_organisation(name="Org US", country_code="US")
    assert refused.value.status == 400


def test_counters_and_usage_per_app_and_organisation(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.reset_counters()
    http.get(connected.api("Contacts"), headers=connected.headers())
    http.get(connected.api("Contacts/" + "1" * 32), headers=connected.headers())
    http.get(connected.api("Nonsense/abc"), headers=connected.headers())
    counters = control.counters()
    assert counters["calls"]["Contacts"] == {"200": 1}
    assert counters["calls"]["Contacts/{id}"] == {"404": 1}
    assert counters["calls"]["(unknown)"] == {"404": 1}
    assert counters["usage"][connected.app["client_id"]][connected.tenant_id] == {"total": 3, "200": 1, "404": 2}
    usage = control.usage()[connected.app["client_id"]]
    assert usage["organisations"][connected.tenant_id]["day_used"] == 3
    control.reset_counters()
    assert control.counters()["calls"] == {}


def test_clock_only_moves_forward(control: SandboxControl) -> None:
    before = control.now()
    assert control.advance_clock(10) > before
    with pytest.raises(SandboxControlError):
        control.advance_clock(-1)


def test_reset_forgets_everything(connected: Tenant, control: SandboxControl) -> None:
    control.set_limits(minute_limit=5)
    control.add_fault(kind="500", pattern="*")
    control.reset()
    health = control.health()
    assert (health["apps"], health["organisations"], health["connections"]) == (0, 0, 0)
    assert control.limits()["minute_limit"] == 60
    assert control.faults() == []


def test_unknown_control_paths_and_bad_bodies(control: SandboxControl, server: SandboxServer) -> None:
    response = httpx.get(f"{server.root_url}/_control/nothing")
    assert response.status_code == 404
    with pytest.raises(SandboxControlError):
        control.register_app(redirect_uris=[])
    with pytest.raises(SandboxControlError) as unknown:
        control.seed("00000000-0000-0000-0000-000000000000", contacts=1)
    assert unknown.value.status == 404


def test_snapshot_keeps_a_connected_organisation_across_restarts(tmp_path: Path) -> None:
    snapshot = tmp_path / "xero-sandbox.json"
    with SandboxServer(snapshot_path=snapshot, webhook_batch_delay=0) as first:
        control = first.control
        org = control.register_organisation(name="Persistent Ltd", country_code="AU")
        user = control.register_user(email="p@example.com", tenant_ids=[org["tenant_id"]])
        app = control.register_app(redirect_uris=[REDIRECT_URI])
        control.set_auto_consent(app["client_id"], user_id=user["user_id"])
        control.seed(org["tenant_id"], contacts=3, invoices=2, seed=1)
        tenant = Tenant(server=first, app=app, user=user, organisations=[org])
        from tests.connectors.xero.sandbox.conftest import authorize, exchange_code

        with httpx.Client() as http:
            tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
        before = control.dump(org["tenant_id"])
    saved = json.loads(snapshot.read_text())
    assert saved["version"] == 1
    with SandboxServer(snapshot_path=snapshot, webhook_batch_delay=0) as second:
        tenant.server = second
        with httpx.Client() as http:
            assert http.get(tenant.api("Contacts"), headers=tenant.headers()).status_code == 200
            assert refresh(http, tenant).status_code == 200
        assert second.control.dump(org["tenant_id"]) == before


def test_the_management_command_serves_and_saves_its_snapshot(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "manage.py", "xero_sandbox", "--port", "0", "--snapshot", str(snapshot)],
        cwd=Path(__file__).resolve().parents[4],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        match = re.match(r"Xero sandbox on (http://127\.0\.0\.1:\d+)", first_line)
        assert match, first_line + (process.stderr.read() if process.stderr else "")
        assert httpx.get(match.group(1) + "/_control/health").json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert json.loads(snapshot.read_text())["version"] == 1
