"""The community client `pyxero` from PyPI, unchanged, against the sandbox over HTTPS.

pyxero reads its authorize and token URLs from module constants imported into `xero.auth`
(`XERO_OAUTH2_AUTHORIZE_URL`, `XERO_OAUTH2_TOKEN_URL`) and offers no other way to change them, so the test patches
those two names; the API and connections host is its documented `credentials.base_url` attribute. requests (and
requests-oauthlib, which insists on HTTPS) trust the sandbox's certificate through REQUESTS_CA_BUNDLE. pyxero
writes XML, which the sandbox parses like Xero.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
import xero.auth
from xero import Xero
from xero.auth import OAuth2Credentials
from xero.exceptions import XeroBadRequest, XeroRateLimitExceeded

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


@pytest.fixture
def setup(tls_server: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> tuple[OAuth2Credentials, SandboxControl, str]:
    assert tls_server.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.ca_file))
    monkeypatch.setattr(xero.auth, "XERO_OAUTH2_AUTHORIZE_URL", tls_server.authorize_url)
    monkeypatch.setattr(xero.auth, "XERO_OAUTH2_TOKEN_URL", tls_server.token_url)
    control = tls_server.control
    control.reset()
    org = control.register_organisation(name="Demo Company (NZ)", country_code="NZ")
    user = control.register_user(email="kiri@example.com", tenant_ids=[org["tenant_id"]])
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="pyxero app")
    control.set_auto_consent(app["client_id"], user_id=user["user_id"])

    credentials = OAuth2Credentials(app["client_id"], app["client_secret"], callback_uri=REDIRECT_URI, scope=SCOPES)
    credentials.base_url = tls_server.root_url
    # Authorise: the browser follows pyxero's URL; auto-consent redirects back with the code at once.
    context = ssl.create_default_context(cafile=str(tls_server.ca_file))
    with httpx.Client(verify=context) as browser:
        redirect = browser.get(credentials.generate_url())
    assert redirect.status_code == 302
    credentials.verify(redirect.headers["Location"])
    credentials.set_default_tenant()
    return credentials, control, org["tenant_id"]


def test_authorise_and_pick_the_tenant(setup: tuple[OAuth2Credentials, SandboxControl, str]) -> None:
    credentials, control, tenant_id = setup
    assert credentials.tenant_id == tenant_id
    assert credentials.get_tenants()[0]["tenantName"] == "Demo Company (NZ)"
    # pyxero calls /Organisations (plural) where Xero documents /Organisation; both answer.
    organisation = Xero(credentials).organisations.all()[0]
    assert organisation["Name"] == "Demo Company (NZ)"
    assert organisation["OrganisationID"] == tenant_id
    assert control.counters()["tokens_issued"] == 1


def test_refresh_through_pyxero(setup: tuple[OAuth2Credentials, SandboxControl, str]) -> None:
    credentials, control, _tenant_id = setup
    old_refresh = credentials.token["refresh_token"]
    control.advance_clock(31 * 60)
    credentials.refresh()
    assert credentials.token["refresh_token"] != old_refresh
    # The new access token works (the old one expired on the sandbox clock).
    assert Xero(credentials).accounts.filter(Code="200")[0]["Name"] == "Sales"
    assert control.counters()["token_refreshes"] == 1


def test_lists_contacts_over_several_pages(setup: tuple[OAuth2Credentials, SandboxControl, str]) -> None:
    credentials, control, tenant_id = setup
    control.seed(tenant_id, contacts=205, seed=3)
    control.reset_counters()
    api = Xero(credentials)
    seen: list[str] = []
    page = 1
    while True:
        contacts = api.contacts.filter(page=page)
        seen.extend(c["ContactID"] for c in contacts)
        if len(contacts) < 100:
            break
        page += 1
    assert len(seen) == len(set(seen)) == 205
    assert control.counters()["calls"]["Contacts"]["200"] == 3


def test_creates_an_invoice_with_line_items_in_xml_and_reads_it_back(
    setup: tuple[OAuth2Credentials, SandboxControl, str],
) -> None:
    credentials, _control, _tenant_id = setup
    api = Xero(credentials)
    contact = api.contacts.put({"Name": "Kiri's Garage", "EmailAddress": "kiri@garage.example"})[0]
    created = api.invoices.put(
        {
            "Type": "ACCREC",
            "Contact": {"ContactID": contact["ContactID"]},
            "Date": date(2024, 6, 3),
            "DueDate": date(2024, 7, 3),
            "Status": "AUTHORISED",
            "LineAmountTypes": "Exclusive",
            "LineItems": [
                {
                    "Description": "Wheel alignment",
                    "Quantity": 2,
                    "UnitAmount": 80,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                },
                {
                    "Description": "Tyres",
                    "Quantity": 4,
                    "UnitAmount": 150.25,
                    "AccountCode": "200",
                    "TaxType": "OUTPUT2",
                },
            ],
        }
    )[0]
    fetched = api.invoices.get(created["InvoiceID"])[0]
    assert fetched["InvoiceNumber"] == created["InvoiceNumber"] == "INV-0001"
    # pyxero turns /Date(…)/ into dates and datetimes.
    assert fetched["Date"].date() == date(2024, 6, 3)
    assert [line["Description"] for line in fetched["LineItems"]] == ["Wheel alignment", "Tyres"]
    # NZ GST 15% on 761.00 is 114.15.
    assert (Decimal(str(fetched["SubTotal"])), Decimal(str(fetched["TotalTax"])), Decimal(str(fetched["Total"]))) == (
        Decimal("761.0"),
        Decimal("114.15"),
        Decimal("875.15"),
    )
    assert fetched["Contact"]["ContactID"] == contact["ContactID"]


def test_filters_and_errors_through_pyxero(setup: tuple[OAuth2Credentials, SandboxControl, str]) -> None:
    credentials, control, tenant_id = setup
    control.seed(tenant_id, contacts=3, seed=5)
    api = Xero(credentials)
    first = api.contacts.all()[0]
    # pyxero builds `Name.contains("…")` and hyphenless IDs lists; the sandbox understands both.
    assert [c["ContactID"] for c in api.contacts.filter(Name__contains=first["Name"][:6])] == [first["ContactID"]]
    assert [c["ContactID"] for c in api.contacts.filter(IDs=[first["ContactID"]])] == [first["ContactID"]]
    with pytest.raises(XeroBadRequest) as raised:
        api.contacts.put({"Name": first["Name"]})
    assert "already assigned to another contact" in raised.value.errors[0]
    control.set_limits(minute_limit=1)
    control.reset_limit_usage()
    api.contacts.filter(page=1)
    with pytest.raises(XeroRateLimitExceeded) as limited:
        api.contacts.filter(page=1)
    assert "minute" in str(limited.value)
