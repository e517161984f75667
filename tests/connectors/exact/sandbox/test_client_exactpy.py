"""A client nobody here wrote: `exactpy` 0.0.24 from PyPI, unchanged, against the sandbox.

exactpy takes `base_url` (default https://start.exactonline.nl/api) and derives the auth, token and v1 URLs from
it, so the sandbox serves region nl at the root of its port; the only change is that host. Its OAuth goes through
requests-oauthlib, which insists on https, so the sandbox runs with TLS and the test trusts its certificate
through the standard variables (SSL_CERT_FILE for httpx, REQUESTS_CA_BUNDLE for requests).

exactpy is read-only (it has no POST), so it cannot create an invoice; and its AccountModel demands BankAccounts
as a plain list where Exact sends a deferred link, so its account models never validate (both are the client's
own limits, listed in the sandbox README's fidelity table). The paging itself is exactpy's and is asserted here.
"""

from __future__ import annotations

import ssl
import warnings
from collections.abc import Iterator

import httpx
import pytest

with warnings.catch_warnings():
    # exactpy's models pass extra keywords to pydantic's Field (its spark_type); pydantic warns about each one.
    warnings.simplefilter("ignore", DeprecationWarning)
    from exactpy.client import Client

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import REDIRECT_URI

DIVISION = 420001
CUSTOMERS = [{"key": "status", "val": "C", "op": "eq"}]


@pytest.fixture(scope="module")
def tls_rooted() -> Iterator[SandboxServer]:
    with SandboxServer(regions=["nl"], root_region="nl", tls=True, webhook_validation_delay=0) as server:
        yield server


@pytest.fixture
def exactpy_client(tls_rooted: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Client, SandboxControl]:
    assert tls_rooted.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_rooted.ca_file))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_rooted.ca_file))
    control = tls_rooted.control
    control.reset()
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="exactpy")
    user = control.register_user(username="exactpy", region="nl")
    control.register_division(code=DIVISION, name="Exactpy B.V.", region="nl", users=[user["user_id"]])
    control.set_auto_consent(app["client_id"], user_id=user["user_id"], divisions=[DIVISION])
    client = Client(
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        redirect_url=REDIRECT_URI,
        caching_enabled=False,
        base_url=f"{tls_rooted.host_url()}/api",  # the only change: the host
        verbose=False,
    )
    browser = ssl.create_default_context(cafile=str(tls_rooted.ca_file))
    redirect = httpx.get(client.auth_client.get_authorization_url(), verify=browser)
    assert redirect.status_code == 302, redirect.text
    client.auth_client.acquire_token(redirect.headers["Location"])
    client.set_initial_division()  # reads current/Me
    return client, control


def test_token_by_http_basic_then_refresh(exactpy_client: tuple[Client, SandboxControl]) -> None:
    client, control = exactpy_client
    assert client.division == DIVISION
    (exchange,) = control.requests(path="oauth2/token")
    assert exchange["basic_auth"] and exchange["status"] == 200  # requests-oauthlib authenticates with Basic
    old = client.auth_client.token_info["refresh_token"]
    control.advance_clock(571)
    client.auth_client.token_info["expires_on"] = 0  # its clock is the real one: tell it the token is old
    client.auth_client._check_token_and_get_headers()
    assert client.auth_client.token_info["refresh_token"] != old
    assert control.counters()["token_refreshes"] == 1


def test_pages_through_accounts_and_validates_gl_accounts(exactpy_client: tuple[Client, SandboxControl]) -> None:
    client, control = exactpy_client
    control.seed(DIVISION, accounts=130, seed=8)
    customers = [row for row in control.dump(DIVISION)["Accounts"] if row["Status"] == "C"]
    control.clear_requests()
    pages = list(client.crm.accounts.all_paged(filters=CUSTOMERS))
    calls = control.requests(path="crm/Accounts")
    # exactpy followed the skiptokens: one call per 60 accounts, each with its mandatory $filter.
    assert len(pages) == len(calls) == -(-len(customers) // 60)
    assert all(call["status"] == 200 and call["query"]["$filter"] == "Status eq 'C'" for call in calls)
    assert [call["query"].get("$skiptoken") is None for call in calls] == [True] + [False] * (len(calls) - 1)
    # Its AccountModel rejects Exact's deferred BankAccounts link, so every page validates to nothing (client bug).
    assert all(page == [] for page in pages)
    # The same rows read with exactpy's own client.get and skiptoken paging: all of them, once each.
    seen: list[str] = []
    skip_token = None
    while True:
        # client.get takes Exact's property names (the controllers translate their own field names).
        exact_filter = [{"key": "Status", "val": "C", "op": "eq"}]
        body = client.get("crm/Accounts", filters=exact_filter, select=["ID"], skip_token=skip_token).json()["d"]
        seen += [row["ID"] for row in body["results"]]
        if "__next" not in body:
            break
        skip_token = client._get_skip_token(body["__next"])
    assert sorted(seen) == sorted(row["ID"] for row in customers)
    # GL accounts come with $expand=DeductibilityPercentages and validate strictly against exactpy's models.
    ledgers = client.financial.gl_accounts.all(skip_invalid=False)
    assert len(ledgers) == len(control.dump(DIVISION)["GLAccounts"])
