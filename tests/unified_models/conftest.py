"""Fixtures for the unified API against the vendor sandboxes: a connection made through the real OAuth flow, a mapping.

Everything vendor-facing is a sandbox over HTTP; nothing is mocked. The sandboxes' minute limits are raised so
tests that make many calls are not throttled, and put back by the world's reset.

`connected`, `mapped` and `first_customer_id` are Exact's division 101: tests that use them check Exact-specific
behaviour (its tables, codes, messages). `any_connected`, `any_mapped` and `any_customer_id` are parametrised over
every connector (`exact`, `xero`): vendor-neutral tests use those and reach the vendor only through the unified
API and the `VendorProfile` below (where each sandbox keeps what a test checks).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.exact.values import parse_exact_datetime
from connectors.xero.values import parse_xero_datetime
from tenants.models import Connection
from tests.fixtures.exact import ExactWorld
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.tenants.factories import connect_via_sandbox
from unified_models.models import ConnectionMapping

# The sandbox's Dutch defaults (connectors/exact/sandbox/seed.py): VAT codes 2 (21 %), 1 (9 %), 0 (0 %), G/L 8000,
# sales journal 70, purchase journal 60, items CONSULT/HOSTING/LICENSE/BOOK.
DEFAULT_MAPPING: dict[str, Any] = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"rate": "0", "vendor_code": "0"},
        {"code": "zero", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
    "default_purchase_journal": "60",
    "default_item": "CONSULT",
    "items_by_code": {"hosting-monthly": "HOSTING", "handbook": "BOOK"},
}


# The sandbox UK organisation's codes (connectors/xero/sandbox/seed.py): OUTPUT2 20 %, RROUTPUT 5 %,
# ZERORATEDOUTPUT 0 %, sales account 200, items CONSULT/HOSTING/LICENCE; Xero has no sales journals.
XERO_MAPPING: dict[str, Any] = {
    "tax_rates": [
        {"rate": "20", "vendor_code": "OUTPUT2"},
        {"rate": "5", "vendor_code": "RROUTPUT"},
        {"rate": "0", "vendor_code": "ZERORATEDOUTPUT"},
        {"code": "zero", "vendor_code": "ZERORATEDOUTPUT"},
    ],
    "default_revenue_ledger_account": "200",
    "default_sales_journal": "",
    "default_item": "",
    "items_by_code": {"hosting-monthly": "HOSTING", "handbook": "LICENCE"},
}


@dataclass(frozen=True)
class VendorProfile:
    """Where a vendor's sandbox keeps what the vendor-neutral tests check, and the rates its default mapping knows."""

    connector_id: str
    mapping: dict[str, Any]
    rates: tuple[str, str]  # the standard and the reduced rate (percent) of the default mapping
    token_endpoint: str  # the sandbox counters' prefix of token calls, left out of `calls`
    invoices_table: str  # the dump table of sales invoices (also what the path of the call creating one ends in)
    invoice_reference_key: str
    invoice_modified_key: str
    parse_modified: Callable[[Any, str], datetime | None]
    contacts_table: str
    contact_id_key: str
    contact_email_key: str
    invoice_create: tuple[str, str]  # the method and a fault pattern of the vendor call that creates an invoice
    invoice_create_status: int  # the vendor's status for it (Exact 201; Xero answers a create with 200)
    # How often one write request sends the call when its answer is lost or a 5xx: the Xero connector resends once
    # at once with the same Idempotency-Key, which Xero replays (connectors/xero/calls.py, NOTES.md: Idempotency).
    sends_per_write: int = 1
    passthrough_path: str = ""  # a read of the company's ledger accounts in the vendor's own API
    contacts_read_pattern: str = ""  # a fault pattern matching every read of the vendor's contacts by a sync
    sales_only: Callable[[dict[str, Any]], bool] = field(default=lambda row: True)
    invoice_id_key: str = "InvoiceID"  # both vendors' name for an invoice's key

    @property
    def invoice_path_part(self) -> str:
        """What the call log's path of the call creating an invoice contains."""
        return self.invoices_table


EXACT = VendorProfile(
    connector_id="exact",
    mapping=DEFAULT_MAPPING,
    rates=("21", "9"),
    token_endpoint="oauth2",
    invoices_table="SalesInvoices",
    invoice_reference_key="YourRef",
    invoice_modified_key="Modified",
    parse_modified=parse_exact_datetime,
    contacts_table="Accounts",
    contact_id_key="ID",
    contact_email_key="Email",
    invoice_create=("POST", "/api/v1/*/salesinvoice/SalesInvoices"),
    invoice_create_status=201,
    passthrough_path="financial/GLAccounts",
    contacts_read_pattern="/api/v1/*/sync/CRM/Accounts*",
)
XERO = VendorProfile(
    connector_id="xero",
    mapping=XERO_MAPPING,
    rates=("20", "5"),
    token_endpoint="connect/token",
    invoices_table="Invoices",
    invoice_reference_key="Reference",
    invoice_modified_key="UpdatedDateUTC",
    parse_modified=parse_xero_datetime,
    contacts_table="Contacts",
    contact_id_key="ContactID",
    contact_email_key="EmailAddress",
    invoice_create=("PUT", "/api.xro/2.0/Invoices"),
    invoice_create_status=200,
    sends_per_write=2,
    passthrough_path="Accounts",
    contacts_read_pattern="/api.xro/2.0/Contacts*",
    # Bills (ACCPAY) share Xero's Invoices table; the unified invoice is the sales side (ACCREC).
    sales_only=lambda row: row.get("Type") == "ACCREC",
)


@dataclass
class Connected:
    """A workspace's API client, its connection to a sandbox company, and the sandbox (default: Exact division 101)."""

    client: APIClient
    connection: Connection
    world: Any  # ExactWorld or XeroWorld
    division: int = 101
    profile: VendorProfile = EXACT

    @property
    def connector_id(self) -> str:
        return self.profile.connector_id

    @property
    def rates(self) -> tuple[str, str]:
        return self.profile.rates

    @property
    def passthrough_path(self) -> str:
        return self.profile.passthrough_path

    @property
    def company(self) -> int | str:
        """The company as the sandbox's control API names it: Exact's division number, Xero's tenant id."""
        return self.division if self.profile is EXACT else self.connection.company_id

    @property
    def base(self) -> str:
        return f"/api/v1/connections/{self.connection.pk}"

    def url(self, suffix: str) -> str:
        return f"{self.base}/{suffix.lstrip('/')}"

    def dump(self, entity: str) -> list[dict[str, Any]]:
        return self.world.control.dump(self.company).get(entity, [])

    def calls(self) -> dict[str, dict[str, int]]:
        """Vendor API calls since the last counter reset, by endpoint and status (token calls excluded)."""
        calls: dict[str, dict[str, int]] = self.world.control.counters()["calls"]
        token = self.profile.token_endpoint
        return {endpoint: by_status for endpoint, by_status in calls.items() if not endpoint.startswith(token)}

    def seed_contacts(self, contacts: int, *, seed: int) -> None:
        """More customers in the company (Exact: accounts; Xero: contacts)."""
        if self.profile is EXACT:
            self.world.control.seed(self.division, accounts=contacts, seed=seed)
        else:
            self.world.control.seed(self.company, contacts=contacts, seed=seed)

    def seed_invoices(self, invoices: int, *, seed: int, lines_per_invoice: int = 3) -> None:
        self.world.control.seed(self.company, invoices=invoices, lines_per_invoice=lines_per_invoice, seed=seed)

    def sales_invoices(self) -> list[dict[str, Any]]:
        """The company's sales invoices as the sandbox stores them."""
        return [row for row in self.dump(self.profile.invoices_table) if self.profile.sales_only(row)]

    def invoice_line_counts(self) -> dict[str, int]:
        """Lines per stored sales invoice (Xero keeps them in the invoice, Exact in SalesInvoiceLines)."""
        if self.profile is EXACT:
            return dict(Counter(row["InvoiceID"] for row in self.dump("SalesInvoiceLines")))
        return {row["InvoiceID"]: len(row.get("LineItems") or []) for row in self.sales_invoices()}

    def stored_invoice(self, remote_id: str) -> dict[str, Any]:
        (row,) = [row for row in self.sales_invoices() if row[self.profile.invoice_id_key] == remote_id]
        return row

    def invoices_with_reference(self, reference: str) -> int:
        return [row.get(self.profile.invoice_reference_key) for row in self.sales_invoices()].count(reference)

    def stored_contact(self, remote_id: str) -> dict[str, Any]:
        key = self.profile.contact_id_key
        (row,) = [row for row in self.dump(self.profile.contacts_table) if row[key] == remote_id]
        return row

    def invoice_body(self, contact_id: str, **overrides: Any) -> dict[str, Any]:
        """`invoice_body` at this vendor's standard and reduced rates."""
        body = invoice_body(contact_id, **overrides)
        standard, reduced = self.profile.rates
        rates = iter((standard, reduced))
        body["lines"] = [{**line, "tax_rate": next(rates)} if "tax_rate" in line else line for line in body["lines"]]
        return body

    def invoice_total(self) -> Decimal:
        """The gross total of `invoice_body`: each line's tax rounded to cents (both vendors round per line)."""
        standard, reduced = (Decimal(rate) for rate in self.profile.rates)
        cents = Decimal("0.01")
        taxes = [(Decimal("200.00") * standard / 100), (Decimal("119.85") * reduced / 100)]
        return Decimal("369.85") + sum((tax.quantize(cents, rounding=ROUND_HALF_UP) for tax in taxes), Decimal(0))


def mapping_store(connection: Connection, mapping: dict[str, Any] | None = None) -> ConnectionMapping:
    """Save a mapping without the vendor check (tests of the check go through the API): the connector's default
    mapping (Exact's or Xero's) with `mapping`'s keys replaced."""
    defaults = XERO_MAPPING if connection.connector == "xero" else DEFAULT_MAPPING
    values = {**defaults, **(mapping or {})}
    row, _ = ConnectionMapping.objects.update_or_create(
        connection=connection,
        defaults={
            "tax_rates": values["tax_rates"],
            "default_revenue_ledger_account": values["default_revenue_ledger_account"] or "",
            "default_sales_journal": values["default_sales_journal"] or "",
            "default_purchase_journal": values.get("default_purchase_journal") or "",
            "default_item": values["default_item"] or "",
            "items_by_code": values["items_by_code"],
        },
    )
    return row


@pytest.fixture
def connected(exact_world: ExactWorld, workspace, auth_client: APIClient) -> Connected:  # type: ignore[no-untyped-def]
    """A connection to division 101 through the real OAuth flow (auto-consent), without a mapping."""
    exact_world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[101, 102], connect=(101,))
    return Connected(client=auth_client, connection=connection, world=exact_world)


@pytest.fixture
def mapped(connected: Connected) -> Connected:
    """`connected` with the default Dutch mapping saved."""
    mapping_store(connected.connection)
    return connected


@pytest.fixture
def first_customer_id(mapped: Connected) -> str:
    """The id of one of the division's seeded customers."""
    return _first_contact_id(mapped)


def _first_contact_id(connected: Connected) -> str:
    response = connected.client.get(connected.url("contacts"), {"page_size": 1})
    assert response.status_code == 200, response.json()
    return str(response.json()["results"][0]["id"])


def _connect_exact(request: pytest.FixtureRequest, workspace: Any, client: APIClient) -> Connected:
    return request.getfixturevalue("connected")


def _connect_xero(request: pytest.FixtureRequest, workspace: Any, client: APIClient) -> Connected:
    # Customers but no invoices yet, like Exact's fresh division: each test seeds the invoices it counts.
    world: XeroWorld = request.getfixturevalue("xero_world_factory")(seed_invoices=0)
    _, (connection,) = connect_xero_via_sandbox(world, workspace=workspace)
    return Connected(client=client, connection=connection, world=world, profile=XERO)


CONNECTORS: dict[str, Callable[[pytest.FixtureRequest, Any, APIClient], Connected]] = {
    "exact": _connect_exact,
    "xero": _connect_xero,
}


@pytest.fixture(params=sorted(CONNECTORS))
def any_connected(request: pytest.FixtureRequest, workspace, auth_client: APIClient) -> Connected:  # type: ignore[no-untyped-def]
    """A connection through the real OAuth flow, once per connector, without a mapping."""
    return CONNECTORS[request.param](request, workspace, auth_client)


@pytest.fixture
def any_mapped(any_connected: Connected) -> Connected:
    """`any_connected` with its vendor's default mapping saved."""
    mapping_store(any_connected.connection, any_connected.profile.mapping)
    return any_connected


@pytest.fixture
def any_customer_id(any_mapped: Connected) -> str:
    """The id of one of the company's seeded customers."""
    return _first_contact_id(any_mapped)


def invoice_body(contact_id: str, **overrides: Any) -> dict[str, Any]:
    """An invoice with three lines at three VAT rates (21 %, 9 %, 0 %)."""
    body: dict[str, Any] = {
        "contact_id": contact_id,
        "reference": "ORDER-4711",
        "description": "March services",
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
            {
                "description": "Handbook",
                "quantity": "3",
                "unit_price": "39.95",
                "tax_rate": "9",
                "item_code": "handbook",
            },
            {"description": "Export service", "quantity": "1", "unit_price": "50.00", "tax_code": "zero"},
        ],
    }
    body.update(overrides)
    return body


Poster = Callable[..., Any]
