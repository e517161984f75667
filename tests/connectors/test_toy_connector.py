"""A throwaway connector written here and plugged in through settings.LEDGERBRIDGE_CONNECTORS alone.

"Toy Books" is an in-memory vendor with API-key auth, no regions and "ledgers" for companies. Nothing outside
this module knows it: it passes the connector contract tests, its connect pages name it in its own words (no
region step, an API-key form checked through the connector), and its contacts come out of the unified API with
the gateway's usual machinery (call context, call log, a refused key marks the connection needs_reauth).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TypeVar

import pytest
from django.test import Client

from connectors.base.connector import ApiKeyConnector, AuthKind, CompanyNoun, ConnectorInfo, Operation
from connectors.base.data import CallContext, CallRecord, ListQuery, Page, Resource, UnifiedRecord
from connectors.base.errors import VendorAuthError, VendorNotFound, VendorUnavailable
from connectors.base.records import Contact, RecordStatus
from connectors.base.types import Company, VendorUser
from connectors.registry import get_connector, reset_registry
from tenants.connect import services as connect_services
from tenants.credentials.store import credential_tokens
from tenants.models import CallLog, Connection, ConnectionStatus, Credential, Tenant
from tenants.services import connect_link_create
from tenants.vendor_calls import connection_context
from tests.connectors.base.contract import ConnectorContract, Grant
from tests.tenants.connect_helpers import allow_app_host, create_link, csrf_token, path_of
from tests.tenants.factories import TenantFactory

T = TypeVar("T")

TOY = "tests.connectors.test_toy_connector.ToyConnector"
KEY = "toy_live_5f4dcc3b5aa765d61d8327deb882cf99"


# ---------------------------------------------------------------------------------------------- the vendor


@dataclass
class ToyAccount:
    name: str
    ledgers: dict[str, str]  # ledger id -> name
    contacts: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # ledger id -> rows


class ToyVendor:
    """The vendor's side, in memory: an API key opens one account, an account keeps ledgers of contacts."""

    def __init__(self) -> None:
        self.keys: dict[str, str] = {}
        self.accounts: dict[str, ToyAccount] = {}
        self.down = False

    def reset(self) -> None:
        self.down = False
        self.accounts = {
            "acct-7": ToyAccount(
                name="Gouden Korst Holding",
                ledgers={"led-1": "Bakery ledger", "led-2": "Property ledger"},
                contacts={
                    "led-1": [
                        {"id": f"c-{n}", "name": name, "updated": f"2025-01-0{n}T10:00:00+00:00"}
                        for n, name in enumerate(["Anna", "Bram", "Cor"], start=1)
                    ],
                    "led-2": [{"id": "c-9", "name": "Dirk", "updated": "2025-02-01T10:00:00+00:00"}],
                },
            )
        }
        self.keys = {KEY: "acct-7"}

    def account(self, api_key: str) -> tuple[str, ToyAccount]:
        if self.down:
            raise VendorUnavailable("Toy Books answered 503.", status=503)
        account_id = self.keys.get(api_key)
        if account_id is None:
            raise VendorAuthError("Toy Books does not know this API key.", status=401)
        return account_id, self.accounts[account_id]

    def contacts(self, api_key: str, ledger_id: str) -> list[dict[str, str]]:
        _, account = self.account(api_key)
        if ledger_id not in account.ledgers:
            raise VendorAuthError("This key does not open that ledger.", status=403)
        return account.contacts.get(ledger_id, [])


VENDOR = ToyVendor()


# ---------------------------------------------------------------------------------------------- the connector


class ToyConnector(ApiKeyConnector):
    info = ConnectorInfo(
        id="toy",
        display_name="Toy Books",
        company_noun=CompanyNoun(singular="ledger", plural="ledgers"),
        auth=AuthKind.API_KEY,
    )
    capabilities = MappingProxyType({Resource.CONTACTS.value: frozenset({Operation.LIST, Operation.RETRIEVE})})

    def check_api_key(self, *, region: str, api_key: str) -> VendorUser:
        account_id, account = VENDOR.account(api_key)
        return VendorUser(user_id=account_id, name=account.name, email="", default_company_id=None)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        _, account = VENDOR.account(access_token)
        return [Company(company_id=ledger_id, name=name) for ledger_id, name in account.ledgers.items()]

    def list_records(self, ctx: CallContext, resource: Resource, query: ListQuery) -> Page[UnifiedRecord]:
        rows = self._call(ctx, "contacts", lambda key: VENDOR.contacts(key, ctx.company_id))
        if query.updated_after is not None:
            after = query.updated_after
            rows = [row for row in rows if datetime.fromisoformat(row["updated"]) > after]
        offset = int(query.cursor or 0)
        chunk = rows[offset : offset + query.page_size]
        end = offset + len(chunk)
        records = [self._contact(row, query.include_remote_data) for row in chunk]
        return Page(records=records, next_cursor=str(end) if end < len(rows) else None)

    def retrieve_record(
        self, ctx: CallContext, resource: Resource, record_id: str, *, include_remote_data: bool = False
    ) -> UnifiedRecord:
        rows = self._call(ctx, f"contacts/{record_id}", lambda key: VENDOR.contacts(key, ctx.company_id))
        for row in rows:
            if row["id"] == record_id:
                return self._contact(row, include_remote_data)
        raise VendorNotFound(f"No contacts record '{record_id}'.", status=404)

    @staticmethod
    def _call(ctx: CallContext, path: str, send: Callable[[str], T]) -> T:
        started = time.monotonic()
        result = ctx.call(send)
        ctx.record_call(
            CallRecord(
                method="GET",
                path=path,
                status=200,
                duration_ms=int((time.monotonic() - started) * 1000),
                company_id=ctx.company_id,
            )
        )
        return result

    @staticmethod
    def _contact(row: dict[str, str], include_remote_data: bool) -> Contact:
        updated = datetime.fromisoformat(row["updated"]).astimezone(UTC)
        return Contact(
            id=row["id"],
            remote_id=row["id"],
            name=row["name"],
            is_customer=True,
            status=RecordStatus.ACTIVE,
            updated_at=updated,
            remote_data=dict(row) if include_remote_data else None,
        )


# ---------------------------------------------------------------------------------------------- plugged in


@pytest.fixture(autouse=True)
def toy_registered(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The only thing the toy needs from the project: its line in the settings list."""
    settings.LEDGERBRIDGE_CONNECTORS = [*settings.LEDGERBRIDGE_CONNECTORS, TOY]
    reset_registry()
    VENDOR.reset()
    yield
    reset_registry()


@pytest.fixture
def tenant(workspace) -> Tenant:  # type: ignore[no-untyped-def]
    allow_app_host(workspace)
    return TenantFactory(workspace=workspace, name="Gouden Korst")


@pytest.fixture
def toy_connection(tenant: Tenant) -> Connection:
    """Ledger led-1 connected through the connect services (the API-key way)."""
    link = connect_link_create(
        tenant=tenant, connector_id="toy", redirect_url="https://app.example.com/done", trusted_redirect=True
    ).link
    pending = connect_services.connect_api_key_finish(link=link, region="", api_key=KEY)
    (connection,) = connect_services.connect_complete(link_id=str(link.pk), pending=pending, company_ids=["led-1"])
    return connection


@pytest.mark.django_db
class TestToyFulfilsTheContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> ToyConnector:
        connector = get_connector("toy")
        assert isinstance(connector, ToyConnector)
        return connector

    @pytest.fixture
    def grant(self, connector: ToyConnector) -> Grant:
        return Grant(region="", access_token=KEY, vendor_user=connector.check_api_key(region="", api_key=KEY))

    @pytest.fixture
    def refuse(self, connector: ToyConnector) -> Callable[[], object]:
        return lambda: connector.check_api_key(region="", api_key="toy_live_not-a-key")

    @pytest.fixture
    def ctx(self, toy_connection: Connection) -> CallContext:
        return connection_context(toy_connection)


@pytest.mark.django_db
def test_its_connect_pages_name_it_and_take_an_api_key(auth_client, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    link = create_link(auth_client, tenant, connector="toy")
    browser = Client(enforce_csrf_checks=True)

    start = browser.get(path_of(str(link["url"])))
    assert start.status_code == 302  # no regions, so no region step
    continue_path = start["Location"]
    page = browser.get(continue_path).content.decode()
    assert "<h1>Connect Toy Books</h1>" in page
    assert 'type="password" id="api-key" name="api_key"' in page and "Check key and continue" in page
    steps = page[page.index('<ol class="steps"') : page.index("</ol>")]
    assert "API key" in steps and "Ledgers" in steps and "Region" not in steps and "Sign in" not in steps
    assert "Your API key is stored encrypted and only ever sent to Toy Books." in page
    for other_vendor in ("Exact", "administration", "Administration", "division", "Division"):
        assert other_vendor not in page

    refused = browser.post(continue_path, {"api_key": "toy_live_wrong", "csrfmiddlewaretoken": csrf_token(page)})
    assert refused.status_code == 400
    assert "Toy Books did not accept this API key." in refused.content.decode()
    assert Credential.objects.count() == 0

    accepted = browser.post(continue_path, {"api_key": KEY, "csrfmiddlewaretoken": csrf_token(page)})
    assert accepted.status_code == 302
    picker_path = accepted["Location"]
    picker = browser.get(picker_path).content.decode()
    assert "<h1>Choose ledgers</h1>" in picker and "Each ledger you select becomes a separate connection" in picker
    assert "Your API key opens Toy Books as <strong>Gouden Korst Holding</strong>" in picker
    assert "Bakery ledger" in picker and "Ledger led-2" in picker and KEY not in picker

    done = browser.post(picker_path, {"divisions": ["led-1", "led-2"], "csrfmiddlewaretoken": csrf_token(picker)})
    html = done.content.decode()
    assert done.status_code == 200 and "2 ledgers of Toy Books are now connected" in html and KEY not in html

    connections = list(Connection.objects.order_by("company_id"))
    assert [(c.connector, c.region, c.company_id, c.status) for c in connections] == [
        ("toy", "", "led-1", ConnectionStatus.ACTIVE),
        ("toy", "", "led-2", ConnectionStatus.ACTIVE),
    ]
    credential = Credential.objects.get()
    assert (credential.connector, credential.region, credential.client_id) == ("toy", "", "")
    assert credential_tokens(credential).access_token == KEY and KEY not in credential.access_token_encrypted


@pytest.mark.django_db
def test_a_key_the_vendor_cannot_check_now_leaves_the_link_usable(auth_client, tenant: Tenant) -> None:  # type: ignore[no-untyped-def]
    link = create_link(auth_client, tenant, connector="toy")
    browser = Client(enforce_csrf_checks=True)
    continue_path = browser.get(path_of(str(link["url"])))["Location"]
    page = browser.get(continue_path).content.decode()
    VENDOR.down = True

    unchecked = browser.post(continue_path, {"api_key": KEY, "csrfmiddlewaretoken": csrf_token(page)})

    assert unchecked.status_code == 502
    assert "Toy Books could not check this API key right now" in unchecked.content.decode()
    assert Credential.objects.count() == 0
    VENDOR.down = False
    again = browser.post(continue_path, {"api_key": KEY, "csrfmiddlewaretoken": csrf_token(page)})
    assert again.status_code == 302 and "/connect/divisions/" in again["Location"]


@pytest.mark.django_db
def test_its_records_come_out_of_the_unified_api(auth_client, toy_connection: Connection) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/connections/{toy_connection.pk}/contacts"

    first = auth_client.get(url, {"page_size": 2})
    assert first.status_code == 200, first.json()
    assert [contact["name"] for contact in first.json()["results"]] == ["Anna", "Bram"]
    rest = auth_client.get(first.json()["next"])
    assert [contact["name"] for contact in rest.json()["results"]] == ["Cor"] and rest.json()["next"] is None
    one = auth_client.get(f"{url}/c-2")
    assert one.status_code == 200 and one.json()["name"] == "Bram"
    assert auth_client.get(f"{url}/c-404").json()["code"] == "not_found"
    # The gateway's call log saw every vendor call, as for any connector.
    assert CallLog.objects.filter(connection=toy_connection, status=200).count() == 4


@pytest.mark.django_db
def test_a_key_the_vendor_revoked_marks_the_connection_needs_reauth(auth_client, toy_connection: Connection) -> None:  # type: ignore[no-untyped-def]
    VENDOR.keys.clear()  # the user revoked the key in Toy Books

    refused = auth_client.get(f"/api/v1/connections/{toy_connection.pk}/contacts")

    assert refused.json()["code"] == "connection_needs_reauth", refused.json()
    toy_connection.refresh_from_db()
    assert toy_connection.status == ConnectionStatus.NEEDS_REAUTH
    assert "Toy Books refused the API key" in toy_connection.status_reason
