"""The vendor-neutral part of the unified API, run against both connectors (Exact and Xero sandboxes, real HTTP).

The fixture `vendor` yields a connection made through each vendor's real OAuth flow with its default mapping;
the tests only use the unified API and what the vendor declares, so the same assertions hold for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from connectors.registry import get_connector
from tenants.models import Connection
from tests.fixtures.exact import ExactWorld
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.tenants.factories import connect_via_sandbox
from tests.unified_models.conftest import DEFAULT_MAPPING
from unified_models.models import ConnectionMapping

pytestmark = pytest.mark.django_db(transaction=True)

# The sandbox UK organisation's codes (connectors/xero/sandbox/seed.py): 20 %, 5 %, 0 % and sales account 200.
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
    "items_by_code": {},
}


@dataclass
class Vendor:
    """One connector's connection as the API sees it, with the rates its mapping knows (standard, reduced)."""

    connector_id: str
    client: APIClient
    connection: Connection
    rates: tuple[str, str]

    def url(self, suffix: str) -> str:
        return f"/api/v1/connections/{self.connection.pk}/{suffix.lstrip('/')}"


def _save_mapping(connection: Connection, values: dict[str, Any]) -> None:
    ConnectionMapping.objects.update_or_create(
        connection=connection,
        defaults={
            "tax_rates": values["tax_rates"],
            "default_revenue_ledger_account": values["default_revenue_ledger_account"] or "",
            "default_sales_journal": values["default_sales_journal"] or "",
            "default_item": values["default_item"] or "",
            "items_by_code": values["items_by_code"],
        },
    )


def _exact(request: pytest.FixtureRequest, workspace: Any, client: APIClient) -> Vendor:
    world: ExactWorld = request.getfixturevalue("exact_world")
    world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(world, workspace=workspace, divisions=[101, 102], connect=(101,))
    _save_mapping(connection, DEFAULT_MAPPING)
    return Vendor("exact", client, connection, rates=("21", "9"))


def _xero(request: pytest.FixtureRequest, workspace: Any, client: APIClient) -> Vendor:
    world: XeroWorld = request.getfixturevalue("xero_world")
    _, (connection,) = connect_xero_via_sandbox(world, workspace=workspace)
    _save_mapping(connection, XERO_MAPPING)
    return Vendor("xero", client, connection, rates=("20", "5"))


SETUPS: dict[str, Callable[[pytest.FixtureRequest, Any, APIClient], Vendor]] = {"exact": _exact, "xero": _xero}


@pytest.fixture(params=sorted(SETUPS))
def vendor(request: pytest.FixtureRequest, workspace: Any, auth_client: APIClient) -> Vendor:
    return SETUPS[request.param](request, workspace, auth_client)


def _all(vendor: Vendor, resource: str, **params: Any) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    response = vendor.client.get(vendor.url(resource), params)
    while True:
        assert response.status_code == 200, response.json()
        results.extend(response.json()["results"])
        if not response.json()["next"]:
            return results
        response = vendor.client.get(response.json()["next"])


def _customer_id(vendor: Vendor) -> str:
    response = vendor.client.get(vendor.url("contacts"), {"page_size": 1})
    assert response.status_code == 200, response.json()
    return str(response.json()["results"][0]["id"])


def test_contacts_page_with_next_links_and_retrieve(vendor: Vendor) -> None:
    small = _all(vendor, "contacts", page_size=2)
    whole = _all(vendor, "contacts", page_size=200)

    assert [contact["id"] for contact in small] == [contact["id"] for contact in whole]
    assert len(small) == len({contact["id"] for contact in small}) > 2
    one = vendor.client.get(vendor.url(f"contacts/{small[1]['id']}"))
    assert one.status_code == 200 and one.json() == small[1]


def test_a_contact_created_through_the_api_reads_back(vendor: Vendor) -> None:
    response = vendor.client.post(
        vendor.url("contacts"),
        {"name": "Van Dam Consultancy", "email": "billing@vandam.example"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"contact-{vendor.connector_id}",
    )

    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["name"] == "Van Dam Consultancy" and created["email"] == "billing@vandam.example"
    again = vendor.client.get(vendor.url(f"contacts/{created['id']}"))
    assert again.status_code == 200 and again.json()["email"] == "billing@vandam.example"


def test_an_invoice_with_three_tax_rates_is_created_and_reads_back(vendor: Vendor) -> None:
    contact_id = _customer_id(vendor)
    standard, reduced = vendor.rates
    body = {
        "contact_id": contact_id,
        "reference": "ORDER-4711",
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": standard},
            {"description": "Handbook", "quantity": "3", "unit_price": "39.95", "tax_rate": reduced},
            {"description": "Export service", "quantity": "1", "unit_price": "50.00", "tax_code": "zero"},
        ],
    }

    response = vendor.client.post(vendor.url("invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    invoice = response.json()
    assert invoice["type"] == "invoice" and invoice["status"] == "open" and invoice["contact_id"] == contact_id
    assert [line["net_amount"] for line in invoice["lines"]] == ["200.00", "119.85", "50.00"]
    expected_tax = [
        (Decimal("200.00") * Decimal(standard) / 100).quantize(Decimal("0.01")),
        (Decimal("119.85") * Decimal(reduced) / 100).quantize(Decimal("0.01")),
        Decimal("0.00"),
    ]
    assert [Decimal(line["tax_amount"]) for line in invoice["lines"]] == expected_tax
    assert Decimal(invoice["net_total"]) == Decimal("369.85")
    assert Decimal(invoice["total"]) == Decimal("369.85") + sum(expected_tax)
    read = vendor.client.get(vendor.url(f"invoices/{invoice['id']}"))
    assert read.status_code == 200 and read.json()["lines"] == invoice["lines"]
    by_contact = _all(vendor, "invoices", contact_id=contact_id, page_size=50)
    assert invoice["id"] in {row["id"] for row in by_contact}
    assert {row["contact_id"] for row in by_contact} == {contact_id}


def test_a_mapping_gap_is_refused_before_any_write(vendor: Vendor) -> None:
    body = {
        "contact_id": _customer_id(vendor),
        "lines": [{"description": "Consultancy", "quantity": "1", "unit_price": "10.00", "tax_rate": "17"}],
    }

    response = vendor.client.post(vendor.url("invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert "tax_rates" in str(response.json())


def test_every_declared_resource_lists_and_the_others_are_a_clear_problem(vendor: Vendor) -> None:
    connector = get_connector(vendor.connector_id)
    for resource in ("contacts", "invoices", "ledger-accounts", "tax-rates", "journals", "items", "payments"):
        response = vendor.client.get(vendor.url(resource), {"page_size": 5})
        if resource in connector.capabilities:
            assert response.status_code == 200, (resource, response.json())
            assert len(response.json()["results"]) <= 5
        else:
            assert 400 <= response.status_code < 500, (resource, response.status_code)
            assert response.json()["code"], response.json()


def test_unknown_ids_and_foreign_cursors_are_problems_not_errors(vendor: Vendor) -> None:
    missing = vendor.client.get(vendor.url("contacts/00000000-0000-4000-8000-000000000000"))
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    bad_cursor = vendor.client.get(vendor.url("contacts"), {"cursor": "bm90LWEtY3Vyc29y"})
    assert bad_cursor.status_code == 400, bad_cursor.json()


def test_the_mapping_check_names_codes_the_company_lacks(vendor: Vendor) -> None:
    wrong = {**(DEFAULT_MAPPING if vendor.connector_id == "exact" else XERO_MAPPING)}
    wrong["tax_rates"] = [{"rate": "17", "vendor_code": "NO-SUCH-CODE"}]

    response = vendor.client.put(vendor.url("mapping"), wrong, format="json")

    assert response.status_code == 422, response.json()
    assert "tax_rates" in str(response.json())
