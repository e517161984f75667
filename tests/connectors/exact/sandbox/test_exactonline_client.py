"""A client nobody here wrote: ossobv's `exactonline` 0.4.0 from PyPI, unchanged, against the sandbox.

Only its configured URLs differ. It insists on HTTPS with certificate checks (`opt_secure`), so the sandbox
runs in TLS mode and the test trusts its certificate through SSL_CERT_FILE, the standard OpenSSL variable.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from exactonline.api import ExactApi
from exactonline.resource import GET
from exactonline.storage.base import ExactOnlineConfig, MissingSetting

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import REDIRECT_URI, data_layer_available

pytestmark = pytest.mark.skipif(not data_layer_available(), reason="needs the data layer (store, resources, seed)")

DIVISION = 400001


class MemoryStorage(ExactOnlineConfig):
    """The library's documented extension point: implement get() and set()."""

    def __init__(self, values: dict[tuple[str, str], str]) -> None:
        self.values = dict(values)

    def get(self, section: str, option: str) -> str:
        try:
            return self.values[(section, option)]
        except KeyError:
            raise MissingSetting(option) from None

    def set(self, section: str, option: str, value: Any) -> None:
        self.values[(section, option)] = value


@pytest.fixture(scope="module")
def tls_server() -> Iterator[SandboxServer]:
    with SandboxServer(tls=True, regions=["nl"], webhook_validation_delay=0) as server:
        yield server


@pytest.fixture
def setup(tls_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> tuple[ExactApi, SandboxControl]:
    assert tls_server.ca_file is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_server.ca_file))
    control = tls_server.control
    control.reset()
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="ossobv exactonline")
    user = control.register_user(username="walter", region="nl")
    control.register_division(code=DIVISION, name="OSSO B.V.", region="nl", users=[user["user_id"]])
    control.set_auto_consent(app["client_id"], user_id=user["user_id"], divisions=[DIVISION])
    base = tls_server.base_url("nl")
    storage = MemoryStorage(
        {
            ("server", "auth_url"): f"{base}/api/oauth2/auth",
            ("server", "rest_url"): f"{base}/api",
            ("server", "token_url"): f"{base}/api/oauth2/token",
            ("application", "base_url"): REDIRECT_URI,
            ("application", "client_id"): app["client_id"],
            ("application", "client_secret"): app["client_secret"],
        }
    )
    api = ExactApi(storage=storage)

    # Authorise: the user's browser follows the library's auth URL; auto-consent redirects at once.
    context = ssl.create_default_context(cafile=str(tls_server.ca_file))
    with httpx.Client(verify=context) as browser:
        redirect = browser.get(api.create_auth_request_url())
    assert redirect.status_code == 302
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    api.request_token(code)
    api.set_division(DIVISION)
    return api, control


def test_authorise_and_read_current_division(setup: tuple[ExactApi, SandboxControl]) -> None:
    api, control = setup
    assert api.storage.get_access_token()
    assert api.storage.get_division() == DIVISION
    # The first half of the library's get_divisions(); its second half needs hrm/Divisions (see README).
    me = api.rest(GET("v1/current/Me?$select=CurrentDivision"))
    assert me[0]["CurrentDivision"] == DIVISION
    divisions = api.restv1(GET("system/Divisions?$select=Code,Description"))
    assert [d["Code"] for d in divisions] == [DIVISION]
    assert control.counters()["tokens_issued"] == 1


def test_lists_accounts_across_pages(setup: tuple[ExactApi, SandboxControl]) -> None:
    api, control = setup
    control.seed(DIVISION, accounts=130, seed=11)
    expected = len(control.dump(DIVISION)["Accounts"])
    assert expected >= 130
    control.reset_counters()
    # relations.all() sends no $filter, which Exact refuses on crm/Accounts (mandatory filtering, see the sandbox
    # README's fidelity table); the library's filter() with a listed field is how it lists every account.
    relations = api.relations.filter(filter="Status eq 'C'")
    assert len(relations) == expected
    assert len({r["ID"] for r in relations}) == expected
    # 60 per page on CRUD endpoints: the library followed __next until it was absent.
    assert control.counters()["calls"]["crm/Accounts"]["200"] == -(-expected // 60)


def test_refresh_through_the_library(setup: tuple[ExactApi, SandboxControl]) -> None:
    api, control = setup
    old_refresh = api.storage.get_refresh_token()
    control.advance_clock(571)
    # The library refreshes when it believes fewer than 30 s are left (real time), so tell it so.
    api.storage.set_access_expiry(int(time.time()))
    api.relations.filter(filter="Status eq 'C'", top=1)
    assert api.storage.get_refresh_token() != old_refresh
    assert control.counters()["token_refreshes"] == 1


def test_creates_an_invoice_with_lines(setup: tuple[ExactApi, SandboxControl]) -> None:
    api, _control = setup
    customer = api.relations.filter(filter="Status eq 'C'", top=1)[0]
    gl_accounts = {gl["Code"].strip(): gl["ID"] for gl in api.ledgeraccounts.filter(code__in=["8000", "8010"])}
    created = api.invoices.create(
        {
            "Customer": customer["ID"],
            "Journal": "70",
            "YourRef": "LB-2024-0001",
            "Description": "Ledgerbridge via exactonline",
            "SalesEntryLines": [
                {"GLAccount": gl_accounts["8000"], "AmountFC": 100.0, "Description": "Consultancy", "VATCode": "2"},
                {"GLAccount": gl_accounts["8010"], "AmountFC": 39.95, "Description": "Handboek", "VATCode": "1"},
            ],
        }
    )
    assert created["EntryID"]
    fetched = api.invoices.get(invoice_number="LB-2024-0001")
    assert fetched["EntryID"] == created["EntryID"]
    lines = fetched["SalesEntryLines"]
    assert isinstance(lines, list)
    assert sorted(line["AmountFC"] for line in lines) == [39.95, 100.0]
