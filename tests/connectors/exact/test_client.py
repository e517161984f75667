"""The Exact HTTP client against the sandbox: headers, writes, Exact's errors as typed errors, the call hook."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.base.data import CallRecord
from connectors.base.errors import (
    CompanyAccessDenied,
    VendorAuthError,
    VendorNotFound,
    VendorRateLimited,
    VendorUnavailable,
    VendorValidationError,
)
from connectors.base.http import shared_http_client
from connectors.base.ratelimit import MINUTELY, LocalBudgetStore
from connectors.exact.client import BASE_HEADERS, ExactClient
from connectors.exact.odata import ODataQuery, eq, trim, unwrap_entity
from connectors.exact.ratelimit import new_exact_rate_limiter
from connectors.exact.resources import EVERY_RECORD
from connectors.registry import get_connector
from tests.connectors.exact.client_fixtures import (  # noqa: F401  (pytest fixtures)
    DIVISION,
    access_token_fixture,
    exact_client_fixture,
    rate_limiter_fixture,
)
from tests.fixtures.exact import ExactWorld

NOWHERE = "11111111-2222-3333-4444-555555555555"


def _customer_id(client: ExactClient, token: str) -> str:
    query = ODataQuery(select=["ID"], filter=eq(trim("Code"), "1"), top=1)
    return unwrap_entity(client.get("crm/Accounts", division=DIVISION, token_provider=lambda: token, query=query))["ID"]


def test_headers_exact_needs_and_never_expect() -> None:
    assert BASE_HEADERS["Accept"] == "application/json"
    assert BASE_HEADERS["Prefer"] == "return=representation"
    sent: list[httpx.Request] = []
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: (sent.append(r), httpx.Response(201, json={"d": {}}))[1])
    )
    http.event_hooks["request"] = shared_http_client(5.0).event_hooks["request"]
    client = ExactClient(base_url="https://start.exactonline.nl", http=http)
    client.post("crm/Accounts", division=DIVISION, token_provider=lambda: "t0k3n", json={"Name": "X"})
    headers = sent[0].headers
    assert headers["Accept"] == "application/json" and headers["Content-Type"] == "application/json"
    assert headers["Prefer"] == "return=representation" and headers["Authorization"] == "Bearer t0k3n"
    assert "Expect" not in headers
    assert str(sent[0].url) == "https://start.exactonline.nl/api/v1/101/crm/Accounts"


def test_post_put_delete_round_trip(exact_world: ExactWorld, exact_client: ExactClient, access_token: str) -> None:
    def token() -> str:
        return access_token

    # The sandbox answers any Expect: 100-continue with 500 (as Exact does, KB Known issues); prove it, then
    # that our POST got through, so it sent no Expect header.
    raw = httpx.post(
        exact_client.division_url(DIVISION, "crm/Accounts"),
        json={"Name": "X"},
        headers={**BASE_HEADERS, "Authorization": f"Bearer {access_token}", "Expect": "100-continue"},
    )
    assert raw.status_code == 500
    created = exact_client.post("crm/Accounts", division=DIVISION, token_provider=token, json={"Name": "Korst B.V."})
    # Prefer: return=representation: the whole record comes back, not only the key.
    assert created["ID"] and created["Name"] == "Korst B.V." and created["Code"]
    url = f"crm/Accounts(guid'{created['ID']}')"
    assert exact_client.put(url, division=DIVISION, token_provider=token, json={"Name": "Korst N.V."}) is None
    read = unwrap_entity(
        exact_client.get(url, division=DIVISION, token_provider=token, query=ODataQuery(select=["Name"]))
    )
    assert read["Name"] == "Korst N.V."
    assert exact_client.request("DELETE", url, division=DIVISION, token_provider=token) is None
    with pytest.raises(VendorNotFound):
        exact_client.get(url, division=DIVISION, token_provider=token, query=ODataQuery(select=["Name"]))


def test_decimals_are_sent_as_exact_numbers(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    customer = _customer_id(exact_client, access_token)
    item = exact_client.get(
        "logistics/Items",
        division=DIVISION,
        token_provider=lambda: access_token,
        query=ODataQuery(select=["ID"], filter=eq("Code", "CONSULT"), top=1),
    )["d"][0]["ID"]
    invoice = exact_client.post(
        "salesinvoice/SalesInvoices",
        division=DIVISION,
        token_provider=lambda: access_token,
        json={
            "OrderedBy": customer,
            "SalesInvoiceLines": [{"Item": item, "Quantity": 1, "UnitPrice": Decimal("10.10")}],
        },
    )
    assert invoice["AmountFCExclVat"] == 10.10


# ---------------------------------------------------------------------------------------------- errors


def test_not_found(exact_world: ExactWorld, exact_client: ExactClient, access_token: str) -> None:
    with pytest.raises(VendorNotFound) as raised:
        exact_client.get(
            f"crm/Accounts(guid'{NOWHERE}')",
            division=DIVISION,
            token_provider=lambda: access_token,
            query=ODataQuery(select=["ID"]),
        )
    assert raised.value.status == 404


def test_validation_messages_are_split_on_crlf(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    with pytest.raises(VendorValidationError) as raised:
        exact_client.post(
            "salesinvoice/SalesInvoices",
            division=DIVISION,
            token_provider=lambda: access_token,
            json={"SalesInvoiceLines": [{"Quantity": 1}]},
        )
    assert raised.value.status == 400
    assert raised.value.vendor_messages == ["Verplicht: Factuur voor", "Verplicht: Besteld door", "Verplicht: Artikel"]


def test_an_invalid_reference_500_is_a_validation_error(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    with pytest.raises(VendorValidationError) as raised:
        exact_client.post(
            "crm/Contacts",
            division=DIVISION,
            token_provider=lambda: access_token,
            json={"Account": NOWHERE, "LastName": "Jansen"},
        )
    assert raised.value.status == 500 and raised.value.vendor_messages == ["Ongeldige referentie: Relatie"]


def test_a_division_outside_the_grant_is_company_access_denied(exact_world: ExactWorld, access_token: str) -> None:
    exact_world.control.register_division(code=999, name="Not granted", region="nl", users=[])
    client = ExactClient(base_url=get_connector("exact").region("nl").base_url)
    with pytest.raises(CompanyAccessDenied) as raised:
        client.get(
            "crm/Accounts",
            division=999,
            token_provider=lambda: access_token,
            query=ODataQuery(select=["ID"], filter=EVERY_RECORD),
        )
    assert raised.value.reason == "NoDivisionAccess" and raised.value.status == 403


def test_a_bad_token_is_an_auth_error_without_the_token_in_it(
    exact_world: ExactWorld, exact_client: ExactClient
) -> None:
    with pytest.raises(VendorAuthError) as raised:
        exact_client.get(
            "crm/Accounts",
            division=DIVISION,
            token_provider=lambda: "not-a-token-xyz",
            query=ODataQuery(select=["ID"], filter=EVERY_RECORD),
        )
    assert raised.value.status == 401 and "not-a-token-xyz" not in str(raised.value)


def test_an_outage_is_unavailable_and_retryable(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    exact_world.control.add_fault(kind="503", pattern="/api/v1/*/crm/Accounts*", times=1)
    with pytest.raises(VendorUnavailable) as raised:
        exact_client.get(
            "crm/Accounts",
            division=DIVISION,
            token_provider=lambda: access_token,
            query=ODataQuery(select=["ID"], filter=EVERY_RECORD),
        )
    assert raised.value.retryable and raised.value.status == 503
    exact_world.control.add_fault(kind="drop_before_apply", pattern="/api/v1/*/crm/Accounts*", times=1)
    with pytest.raises(VendorUnavailable) as dropped:
        exact_client.get(
            "crm/Accounts",
            division=DIVISION,
            token_provider=lambda: access_token,
            query=ODataQuery(select=["ID"], filter=EVERY_RECORD),
        )
    assert access_token not in str(dropped.value)


def test_a_429_from_exact_is_rate_limited_with_its_reset_and_not_retried(
    exact_world: ExactWorld, access_token: str
) -> None:
    """A client without our budget (no client id) meets Exact's own 429: typed, with the reset, sent once."""
    exact_world.control.set_limits(minutely_limit=2, minute_window_seconds=60)
    calls: list[CallRecord] = []
    client = ExactClient(base_url=get_connector("exact").region("nl").base_url, on_call=calls.append)
    query = ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1)
    for _ in range(2):
        client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    with pytest.raises(VendorRateLimited) as raised:
        client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    now = datetime.now(tz=UTC)
    assert now < raised.value.reset_at <= now + timedelta(seconds=60) and raised.value.reset_at.second == 0
    assert [call.status for call in calls] == [200, 200, 429]
    assert exact_world.control.counters()["rate_limited"]["minutely"] == 1


def test_the_budget_knows_the_429_and_fails_fast_without_calling_exact(
    exact_world: ExactWorld, access_token: str
) -> None:
    """Another install spent the budget: Exact's 429 is recorded, the next call is refused before it is sent."""
    exact_world.control.set_limits(minutely_limit=2, minute_window_seconds=60)
    base_url = get_connector("exact").region("nl").base_url
    other_install = ExactClient(base_url=base_url)
    query = ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1)
    for _ in range(2):
        other_install.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    limiter = new_exact_rate_limiter(store=LocalBudgetStore(), max_wait=0.2, guard=0.25, probe_timeout=30)
    calls: list[CallRecord] = []
    ours = ExactClient(base_url=base_url, client_id=exact_world.client_id, rate_limiter=limiter, on_call=calls.append)
    with pytest.raises(VendorRateLimited):
        ours.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    started = time.monotonic()
    with pytest.raises(VendorRateLimited) as raised:
        ours.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    assert time.monotonic() - started < 0.2
    assert [call.status for call in calls] == [429]  # the second call never reached Exact
    assert raised.value.reset_at > datetime.now(tz=UTC)


def test_a_lost_probe_does_not_block_the_budget(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    # The very first call (the probe that learns the limits) gets no answer: the next call must not wait for it.
    exact_world.control.add_fault(kind="drop_before_apply", pattern="/api/v1/*/crm/Accounts*", times=1)
    query = ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1)
    with pytest.raises(VendorUnavailable):
        exact_client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    started = time.monotonic()
    exact_client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    assert time.monotonic() - started < 1.0


def test_the_daily_limit_fails_fast_until_midnight_utc(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    exact_world.control.set_limits(daily_limit=3)
    calls: list[CallRecord] = []
    exact_client.on_call = calls.append
    query = ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1)
    for _ in range(3):
        exact_client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    with pytest.raises(VendorRateLimited) as raised:
        exact_client.get("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, query=query)
    assert len(calls) == 3  # refused by the shared budget, Exact never saw the fourth call
    tomorrow = (datetime.now(tz=UTC) + timedelta(days=1)).date()
    assert raised.value.reset_at.date() == tomorrow and raised.value.reset_at.hour == 0


def test_the_error_limit_429_uses_retry_after(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    # Exact blocks an endpoint after 10 errors in an hour; the sandbox answers that with Retry-After.
    exact_world.control.set_limits(error_limit=2)
    url = f"crm/Accounts(guid'{NOWHERE}')"
    for _ in range(2):
        with pytest.raises(VendorNotFound):
            exact_client.get(
                url,
                division=DIVISION,
                token_provider=lambda: access_token,
                query=ODataQuery(select=["ID"], filter=EVERY_RECORD),
            )
    with pytest.raises(VendorRateLimited) as raised:
        exact_client.get(url, division=DIVISION, token_provider=lambda: access_token, query=ODataQuery(select=["ID"]))
    assert raised.value.reset_at > datetime.now(tz=UTC) + timedelta(minutes=30)


# ---------------------------------------------------------------------------------------------- hook and legacy calls


def test_on_call_reports_every_call(exact_world: ExactWorld, exact_client: ExactClient, access_token: str) -> None:
    calls: list[CallRecord] = []
    exact_client.on_call = calls.append
    exact_client.get(
        "crm/Accounts",
        division=DIVISION,
        token_provider=lambda: access_token,
        query=ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1),
    )
    with pytest.raises(VendorNotFound):
        exact_client.get(f"crm/Accounts(guid'{NOWHERE}')", division=DIVISION, token_provider=lambda: access_token)
    first, second = calls
    assert (first.method, first.path, first.company_id, first.status) == ("GET", "crm/Accounts", str(DIVISION), 200)
    assert first.minutely_remaining == 59 and first.daily_remaining == 4999 and first.duration_ms >= 0
    minutely = first.window(MINUTELY)
    assert minutely is not None and minutely.reset_ms % 60_000 == 0
    assert second.status == 404 and access_token not in repr(calls)


def test_a_failing_hook_does_not_fail_the_call(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    def broken(call: CallRecord) -> None:
        raise RuntimeError("call log down")

    exact_client.on_call = broken
    body = exact_client.get(
        "crm/Accounts",
        division=DIVISION,
        token_provider=lambda: access_token,
        query=ODataQuery(select=["ID"], filter=EVERY_RECORD, top=1),
    )
    assert len(body["d"]) == 1


def test_connect_flow_calls_keep_working(exact_world: ExactWorld, access_token: str) -> None:
    client = ExactClient(base_url=get_connector("exact").region("nl").base_url)
    me = client.current_user(access_token=access_token)
    assert me.user_id == exact_world.user_id and me.default_company_id == "101"
    assert {company.company_id for company in client.divisions(access_token=access_token, via_division="101")} == {
        "101",
        "102",
        "103",
    }
    body = client.get_json(
        f"{DIVISION}/crm/Accounts",
        access_token=access_token,
        params={"$select": "ID", "$top": "1", "$filter": str(EVERY_RECORD)},
    )
    assert len(body["d"]) == 1
