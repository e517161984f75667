"""The control API through SandboxControl: registration, current division, clock, limits, counters, dumps."""

from __future__ import annotations

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import ACCOUNTS, REDIRECT_URI, Tenant, data_layer_available


def test_health(control: SandboxControl) -> None:
    health = control.health()
    assert health["status"] == "ok"
    assert (health["apps"], health["users"], health["divisions"]) == (0, 0, 0)


def test_register_app_generates_credentials(control: SandboxControl) -> None:
    app = control.register_app(redirect_uris=[REDIRECT_URI])
    assert app["client_id"] and app["client_secret"] and app["webhook_secret"]
    fixed = control.register_app(
        redirect_uris=[REDIRECT_URI], client_id="cid", client_secret="sec", webhook_secret="wh", name="Fixed"
    )
    assert fixed == {
        "client_id": "cid",
        "client_secret": "sec",
        "name": "Fixed",
        "redirect_uris": [REDIRECT_URI],
        "webhook_secret": "wh",
    }
    with pytest.raises(SandboxControlError) as excinfo:
        control.register_app(redirect_uris=[])
    assert excinfo.value.status == 400


def test_users_and_divisions(control: SandboxControl, server: SandboxServer) -> None:
    user = control.register_user(username="piet", region="be", language="nl-BE")
    division = control.register_division(code=200001, name="Piet BVBA", region="be", users=[user["user_id"]])
    assert division["region"] == "be"
    world = server.world
    stored = world.users[next(iter(world.users))]
    assert stored.division_codes == {200001}
    assert stored.current_division == 200001
    assert stored.language == "nl-BE"
    assert world.divisions[200001].created.tzinfo is not None
    with pytest.raises(SandboxControlError):
        control.register_division(code=200001, name="again", region="be")
    with pytest.raises(SandboxControlError):
        control.register_user(username="x", region="atlantis")


def test_set_current_division_simulates_ui_switch(
    connected: Tenant, control: SandboxControl, server: SandboxServer
) -> None:
    control.register_division(code=100099, name="Elsewhere", users=[connected.user["user_id"]])
    updated = control.set_current_division(connected.user["user_id"], 100099)
    assert updated["current_division"] == 100099
    # The grant did not change: CurrentDivision may point outside it (picqer#470).
    with httpx.Client() as http:
        denied = http.get(connected.api_url(ACCOUNTS, 100099), headers=connected.headers())
        assert denied.status_code == 403
        me = http.get(f"{connected.base_url}/api/v1/current/Me", headers=connected.headers())
        assert me.status_code == 200
        assert "100099" in me.text


def test_clock_moves_forward_only(control: SandboxControl) -> None:
    before = control.now()
    after = control.advance_clock(3600)
    assert after > before
    with pytest.raises(SandboxControlError):
        control.advance_clock(-1)


def test_limits_settings(control: SandboxControl) -> None:
    limits = control.set_limits(minutely_limit=5, minute_window_seconds=5, daily_limit=100)
    assert (limits["minutely_limit"], limits["minute_window_seconds"], limits["daily_limit"]) == (5, 5.0, 100)
    with pytest.raises(SandboxControlError):
        control.set_limits(minutely_limit=0)


def test_counters_count_calls_per_endpoint_and_status(
    connected: Tenant, control: SandboxControl, http: httpx.Client
) -> None:
    http.get(connected.api_url(ACCOUNTS), headers=connected.headers())
    http.get(connected.api_url(ACCOUNTS), headers={"Authorization": "Bearer bad"})
    counters = control.counters()
    assert counters["calls"]["crm/Accounts"] == {"200": 1, "401": 1}
    assert counters["calls"]["oauth2/token"] == {"200": 1}
    assert counters["calls"]["oauth2/auth"] == {"302": 1}
    assert counters["tokens_issued"] == 1
    control.reset_counters()
    assert control.counters()["calls"] == {}


def test_auto_consent_for_unknown_app_is_404(control: SandboxControl) -> None:
    user = control.register_user(username="kees")
    with pytest.raises(SandboxControlError) as excinfo:
        control.set_auto_consent("nope", user_id=user["user_id"])
    assert excinfo.value.status == 404


def test_unknown_control_endpoint_is_404(server: SandboxServer, http: httpx.Client) -> None:
    assert http.get(f"{server.root_url}/_control/nothing").status_code == 404


@pytest.mark.skipif(not data_layer_available(), reason="needs the data layer (seed.py, resources.py)")
def test_seed_and_dump(tenant: Tenant, control: SandboxControl) -> None:
    result = control.seed(tenant.division, accounts=25, invoices=4, lines_per_invoice=2, seed=7)
    assert result["accounts"] == 25
    assert result["invoices"] == 4
    records = control.dump(tenant.division)
    assert len(records["Accounts"]) >= 25


@pytest.mark.skipif(not data_layer_available(), reason="needs the data layer (seed.py, resources.py)")
def test_seeding_twice_adds_records_with_fresh_guids(tenant: Tenant, control: SandboxControl) -> None:
    before = control.dump(tenant.division)
    for _ in range(2):
        control.seed(tenant.division, accounts=5, invoices=3, lines_per_invoice=2, seed=7)
    records = control.dump(tenant.division)
    assert len(records["Accounts"]) == len(before["Accounts"]) + 10
    assert len(records["SalesInvoices"]) == 6
    assert len(records["SalesInvoiceLines"]) == 12
    # No GUID is used twice, in one table or across tables (a line ID never equals an account ID).
    keys = [record["ID"] for record in records["Accounts"] + records["SalesInvoiceLines"]]
    keys += [record["InvoiceID"] for record in records["SalesInvoices"]]
    assert len(keys) == len(set(keys))


@pytest.mark.skipif(not data_layer_available(), reason="needs the data layer (seed.py, resources.py)")
def test_seed_processed_invoices(tenant: Tenant, control: SandboxControl) -> None:
    result = control.seed(tenant.division, invoices=5, lines_per_invoice=2, seed=4, processed=2)
    assert (result["invoices"], result["processed"]) == (5, 2)
    records = control.dump(tenant.division)
    statuses = sorted(invoice["Status"] for invoice in records["SalesInvoices"])
    assert statuses == [20, 20, 20, 50, 50]
    processed = [invoice for invoice in records["SalesInvoices"] if invoice["Status"] == 50]
    # Processing books what POST PrintedSalesInvoices books: a sales entry and an open receivable per invoice.
    entries = {entry["EntryNumber"]: entry for entry in records["SalesEntries"]}
    receivables = {receivable["InvoiceNumber"]: receivable for receivable in records["Receivables"]}
    for invoice in processed:
        entry = entries[invoice["InvoiceNumber"]]
        assert entry["Status"] == 50 and entry["AmountFC"] == invoice["AmountFC"]
        assert receivables[invoice["InvoiceNumber"]]["IsFullyPaid"] is False
    with pytest.raises(SandboxControlError):
        control.seed(tenant.division, invoices=1, processed=2)


def test_limit_usage_per_app_and_division(connected: Tenant, control: SandboxControl, http: httpx.Client) -> None:
    client_id = connected.app["client_id"]
    assert control.limit_usage(client_id=client_id) == []
    for _ in range(3):
        response = http.get(connected.api_url("financial/Journals"), headers=connected.headers())
        assert response.status_code == 200
    (usage,) = control.limit_usage(client_id=client_id, division=connected.division)
    assert (usage["client_id"], usage["division"]) == (client_id, connected.division)
    assert (usage["minutely_used"], usage["daily_used"]) == (3, 3)
    # The same numbers the last response's headers told the client.
    assert usage["minutely_remaining"] == int(response.headers["X-RateLimit-Minutely-Remaining"]) == 57
    assert usage["daily_remaining"] == int(response.headers["X-RateLimit-Remaining"])
    assert usage["minutely_reset"] == int(response.headers["X-RateLimit-Minutely-Reset"])
    assert control.limit_usage(division=999) == []
    control.advance_clock(61)
    (usage,) = control.limit_usage(client_id=client_id)
    assert usage["minutely_used"] == 0 and usage["daily_used"] == 3


def test_request_log_shows_what_clients_sent(connected: Tenant, control: SandboxControl, http: httpx.Client) -> None:
    control.clear_requests()
    http.get(
        connected.api_url("financial/GLAccounts"),
        params={"$filter": "Code eq '8000'", "$select": "ID"},
        headers=connected.headers(),
    )
    http.get(f"{connected.base_url}/api/v1/current/Me", headers=connected.headers())
    (gl,) = control.requests(path="GLAccounts")
    assert gl["method"] == "GET" and gl["status"] == 200
    assert gl["query"] == {"$filter": "Code eq '8000'", "$select": "ID"}
    assert [entry["path"].rsplit("/", 1)[-1] for entry in control.requests()] == ["GLAccounts", "Me"]
    assert len(control.requests(limit=1)) == 1
    control.clear_requests()
    assert control.requests() == []
