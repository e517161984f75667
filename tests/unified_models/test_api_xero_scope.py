"""What Xero has that the unified model does not cover, answered through the API as clear problems (never a 500):
bills are purchase invoices, never unified (sales) invoices, and journals (Xero has no sales journals; its manual
journals are journal entries). connectors/xero/NOTES.md: Scope of the unified model."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.unified_models.conftest import CONNECTORS, Connected, mapping_store

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: APIClient) -> Connected:
    """A Xero connection through the real OAuth flow with the default UK mapping (Xero-specific tests)."""
    connected = CONNECTORS["xero"](request, workspace, auth_client)
    mapping_store(connected.connection, connected.profile.mapping)
    return connected


def _customer_id(xero: Connected) -> str:
    return str(xero.client.get(xero.url("contacts"), {"page_size": 1}).json()["results"][0]["id"])


def test_a_bill_is_not_a_unified_invoice(xero: Connected) -> None:
    xero.seed_invoices(20, seed=11)
    bills = [row for row in xero.dump("Invoices") if row["Type"] == "ACCPAY"]
    assert bills

    response = xero.client.get(xero.url(f"invoices/{bills[0]['InvoiceID']}"))
    assert response.status_code == 404 and response.json()["code"] == "not_found", response.json()
    listed = xero.client.get(xero.url("invoices"), {"page_size": 200}).json()["results"]
    sales = {row["InvoiceID"] for row in xero.sales_invoices()}
    assert {row["remote_id"] for row in listed} == sales and bills[0]["InvoiceID"] not in sales


def test_journals_are_a_clear_problem(xero: Connected) -> None:
    for path in ("journals", "journals/00000000-0000-4000-8000-000000000000"):
        response = xero.client.get(xero.url(path))
        assert response.status_code == 405, response.json()
        assert response.json()["code"] == "operation_not_supported"
        assert response.json()["detail"].startswith("Xero does not support")
