"""Xero's official SDK, `xero-python` from PyPI, unchanged, against the sandbox over HTTPS.

Only its URLs differ, set the way the SDK offers: `AccountingApi(base_url=…)`, `IdentityApi(base_url=…)`, the
`TokenApi.refresh_token_url` class attribute, and `Configuration.ssl_ca_cert` to trust the sandbox's certificate.
The SDK has no authorisation-code exchange (its README leaves that to an OAuth library); a user does it with one,
here requests-oauthlib, whose token dict the SDK takes as is.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from requests_oauthlib import OAuth2Session
from xero_python.accounting import AccountingApi, Contact, Invoice, Invoices, LineItem
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.exceptions import AccountingBadRequestException
from xero_python.identity import IdentityApi

from connectors.xero.sandbox.control_client import SandboxControl
from connectors.xero.sandbox.server import SandboxServer
from tests.connectors.xero.sandbox.conftest import REDIRECT_URI

SCOPES = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings",
]


@pytest.fixture(scope="module")
def tls_server() -> Iterator[SandboxServer]:
    with SandboxServer(tls=True, webhook_batch_delay=0) as server:
        yield server


class Session:
    """What an app using xero-python keeps: the token store the SDK reads and writes, and its API objects."""

    def __init__(self, server: SandboxServer, app: dict[str, Any]) -> None:
        self.token: dict[str, Any] = {}
        assert server.ca_file is not None
        # Configuration() hands out copies of the first instance ever made (its TypeWithDefault metaclass), so
        # constructor arguments are ignored after the first test: set the attributes on the copy instead.
        configuration = Configuration()
        configuration.oauth2_token = OAuth2Token(client_id=app["client_id"], client_secret=app["client_secret"])
        configuration.ssl_ca_cert = str(server.ca_file)
        self.api_client = ApiClient(
            configuration,
            oauth2_token_getter=lambda: self.token,
            oauth2_token_saver=self.token.update,
        )
        self.accounting = AccountingApi(self.api_client, base_url=server.accounting_url)
        self.identity = IdentityApi(self.api_client, base_url=server.root_url)


@pytest.fixture
def setup(tls_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> tuple[Session, SandboxControl, str]:
    assert tls_server.ca_file is not None
    monkeypatch.setattr(TokenApi, "refresh_token_url", tls_server.token_url)
    monkeypatch.setattr(TokenApi, "revoke_token_url", tls_server.revocation_url)
    control = tls_server.control
    control.reset()
    org = control.register_organisation(name="Demo Company (UK)", country_code="GB")
    user = control.register_user(email="ada@example.com", tenant_ids=[org["tenant_id"]])
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="xero-python app")
    control.set_auto_consent(app["client_id"], user_id=user["user_id"])

    # Authorise: the browser follows the authorize URL; auto-consent redirects back with a code at once.
    oauth = OAuth2Session(app["client_id"], redirect_uri=REDIRECT_URI, scope=SCOPES)
    url, _state = oauth.authorization_url(tls_server.authorize_url)
    context = ssl.create_default_context(cafile=str(tls_server.ca_file))
    with httpx.Client(verify=context) as browser:
        redirect = browser.get(url)
    assert redirect.status_code == 302
    # requests-oauthlib checks that the granted scopes equal the requested ones (it raises otherwise).
    token = oauth.fetch_token(
        tls_server.token_url,
        authorization_response=redirect.headers["Location"],
        client_secret=app["client_secret"],
        verify=str(tls_server.ca_file),
    )
    session = Session(tls_server, app)
    session.api_client.set_oauth2_token(dict(token))
    return session, control, org["tenant_id"]


def test_authorise_then_list_connections(setup: tuple[Session, SandboxControl, str]) -> None:
    session, control, tenant_id = setup
    connections = session.identity.get_connections()
    assert [str(c.tenant_id) for c in connections] == [tenant_id]
    assert connections[0].tenant_type == "ORGANISATION"
    assert connections[0].tenant_name == "Demo Company (UK)"
    organisations = session.accounting.get_organisations(tenant_id).organisations
    assert organisations[0].name == "Demo Company (UK)"
    assert control.counters()["tokens_issued"] == 1


def test_refresh_through_the_sdk(setup: tuple[Session, SandboxControl, str]) -> None:
    session, control, tenant_id = setup
    old_refresh = session.token["refresh_token"]
    control.advance_clock(31 * 60)
    # The SDK refreshes 60 s before expires_at (its own clock): the sandbox's clock moved, so tell the SDK too.
    session.token["expires_at"] = time.time() - 1
    accounts = session.accounting.get_accounts(tenant_id).accounts
    assert any(a.code == "200" for a in accounts)
    assert session.token["refresh_token"] != old_refresh
    counters = control.counters()
    assert counters["token_refreshes"] == 1
    assert counters["calls"]["connect/token"]["200"] >= 2


def test_lists_contacts_over_several_pages(setup: tuple[Session, SandboxControl, str]) -> None:
    session, control, tenant_id = setup
    control.seed(tenant_id, contacts=230, seed=7)
    control.reset_counters()
    seen: list[str] = []
    page = 1
    while True:
        result = session.accounting.get_contacts(tenant_id, page=page)
        seen.extend(str(c.contact_id) for c in result.contacts)
        if len(result.contacts) < 100:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 230
    assert page == 3
    assert result.pagination.item_count == 230
    assert control.counters()["calls"]["Contacts"]["200"] == 3


def test_creates_an_invoice_with_line_items_and_reads_it_back(setup: tuple[Session, SandboxControl, str]) -> None:
    session, _control, tenant_id = setup
    contact = session.accounting.create_contacts(tenant_id, contacts={"Contacts": [{"Name": "Ada's Bakery"}]}).contacts[
        0
    ]
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact.contact_id),
        date=date(2024, 5, 1),
        due_date=date(2024, 5, 31),
        status="AUTHORISED",
        reference="LB-XP-1",
        line_items=[
            LineItem(description="Consulting", quantity=3.0, unit_amount=120.0, account_code="200", tax_type="OUTPUT2"),
            LineItem(description="Hosting", quantity=1.0, unit_amount=49.5, account_code="200", tax_type="OUTPUT2"),
        ],
    )
    created = session.accounting.create_invoices(
        tenant_id, Invoices(invoices=[invoice]), idempotency_key="lb-xp-invoice-1"
    ).invoices[0]
    assert created.invoice_number == "INV-0001"
    fetched = session.accounting.get_invoice(tenant_id, created.invoice_id).invoices[0]
    assert fetched.status == "AUTHORISED"
    assert fetched.date == date(2024, 5, 1)
    assert [line.description for line in fetched.line_items] == ["Consulting", "Hosting"]
    # The SDK parses money as Decimal; UK VAT 20% on 409.50 is 81.90.
    assert (fetched.sub_total, fetched.total_tax, fetched.total) == (
        Decimal("409.5"),
        Decimal("81.9"),
        Decimal("491.4"),
    )
    assert str(fetched.contact.contact_id) == str(contact.contact_id)


def test_validation_errors_reach_the_sdk(setup: tuple[Session, SandboxControl, str]) -> None:
    session, _control, tenant_id = setup
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(name="Nobody Ltd"),
        line_items=[LineItem(description="x", quantity=1.0, unit_amount=1.0, account_code="999")],
    )
    with pytest.raises(AccountingBadRequestException) as raised:
        session.accounting.create_invoices(tenant_id, Invoices(invoices=[invoice]))
    assert raised.value.reason == "Account code '999' is not a valid code for this document."
