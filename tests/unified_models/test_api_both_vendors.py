"""The vendor-neutral part of the unified API, run against both connectors (Exact and Xero sandboxes, real HTTP).

The fixture `vendor` yields a connection made through each vendor's real OAuth flow with its default mapping;
the tests only use the unified API and what the vendor declares, so the same assertions hold for both.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from connectors.registry import get_connector
from tenants.models import Connection, ConnectionStatus
from tests.unified_models.conftest import Connected

pytestmark = pytest.mark.django_db(transaction=True)

Vendor = Connected  # one connector's connection as the API sees it (tests/unified_models/conftest.py)


@pytest.fixture
def vendor(any_mapped: Connected) -> Connected:
    """A connection through each vendor's real OAuth flow, with its default mapping."""
    return any_mapped


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
    wrong = {**vendor.profile.mapping}
    wrong["tax_rates"] = [{"rate": "17", "vendor_code": "NO-SUCH-CODE"}]

    response = vendor.client.put(vendor.url("mapping"), wrong, format="json")

    assert response.status_code == 422, response.json()
    assert "tax_rates" in str(response.json())


def _three_line_invoice(vendor: Vendor, contact_id: str, reference: str = "ORDER-4711") -> dict[str, Any]:
    standard, reduced = vendor.rates
    return {
        "contact_id": contact_id,
        "reference": reference,
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": standard},
            {"description": "Handbook", "quantity": "3", "unit_price": "39.95", "tax_rate": reduced},
        ],
    }


def test_cursors_are_signed_and_bound_to_their_list(vendor: Vendor) -> None:
    first = vendor.client.get(vendor.url("contacts"), {"page_size": 2}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]

    tampered = vendor.client.get(vendor.url("contacts"), {"page_size": 2, "cursor": cursor[:-3] + "abc"})
    assert tampered.status_code == 400 and tampered.json()["code"] == "invalid_cursor"
    other_list = vendor.client.get(vendor.url("invoices"), {"cursor": cursor})
    assert other_list.status_code == 400 and other_list.json()["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"include": "everything"}, "include"),
    ],
)
def test_bad_list_parameters_name_the_field_and_call_nothing(vendor: Vendor, params: dict, field: str) -> None:  # type: ignore[type-arg]
    vendor.world.control.reset_counters()
    response = vendor.client.get(vendor.url("invoices"), params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert vendor.calls() == {}


@pytest.mark.parametrize(
    ("status", "code"),
    [(ConnectionStatus.NEEDS_REAUTH, "connection_needs_reauth"), (ConnectionStatus.DISABLED, "connection_disabled")],
)
def test_unusable_connections_are_refused_without_a_call(vendor: Vendor, status: str, code: str) -> None:
    Connection.objects.filter(pk=vendor.connection.pk).update(status=status, status_reason="access withdrawn")
    vendor.world.control.reset_counters()

    for response in (
        vendor.client.get(vendor.url("invoices")),
        vendor.client.post(vendor.url("contacts"), {"name": "X"}, format="json"),
    ):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == code
    assert vendor.calls() == {}


def test_a_retried_create_with_the_same_idempotency_key_makes_one_contact(vendor: Vendor) -> None:
    def post() -> Any:
        return vendor.client.post(
            vendor.url("contacts"), {"name": "Retry B.V."}, format="json", HTTP_IDEMPOTENCY_KEY="retry-1"
        )

    first, second = post(), post()

    assert first.status_code == 201 and second.status_code == 201, second.json()
    assert second.json()["id"] == first.json()["id"]
    named = [contact for contact in _all(vendor, "contacts", page_size=200) if contact["name"] == "Retry B.V."]
    assert len(named) == 1


def test_updated_after_narrows_the_list_strictly(vendor: Vendor) -> None:
    before = _all(vendor, "contacts", page_size=200)
    cut = max(contact["updated_at"] for contact in before)
    created = vendor.client.post(vendor.url("contacts"), {"name": "Nieuw B.V."}, format="json").json()

    changed = _all(vendor, "contacts", page_size=200, updated_after=cut)

    assert created["id"] in {contact["id"] for contact in changed}
    assert all(contact["updated_at"] > cut for contact in changed)


def test_payments_follow_finalized_invoices(vendor: Vendor) -> None:
    created = vendor.client.post(
        vendor.url("invoices"), _three_line_invoice(vendor, _customer_id(vendor)), format="json"
    ).json()
    finalized = vendor.client.post(vendor.url(f"invoices/{created['id']}/finalize"), format="json")
    assert finalized.status_code == 200, finalized.json()
    assert finalized.json()["finalized"] is True and finalized.json()["number"]

    payments = _all(vendor, "payments", page_size=200)
    (payment,) = [payment for payment in payments if payment["invoice_id"] == created["id"]]
    assert payment["amount"] == created["total"] == payment["open_amount"] and payment["status"] == "open"
    one = vendor.client.get(vendor.url(f"payments/{payment['id']}"))
    assert one.status_code == 200 and one.json() == payment


def test_remote_data_only_when_asked_for(vendor: Vendor) -> None:
    plain = vendor.client.get(vendor.url("ledger-accounts"), {"page_size": 1}).json()["results"][0]
    assert "remote_data" not in plain
    full = vendor.client.get(vendor.url(f"ledger-accounts/{plain['id']}"), {"include": "remote_data"})
    assert full.status_code == 200 and isinstance(full.json()["remote_data"], dict) and full.json()["remote_data"]


def test_a_passthrough_read_goes_to_the_connections_company(vendor: Vendor) -> None:
    vendor.world.control.reset_counters()

    response = vendor.client.post(
        vendor.url("passthrough"), {"method": "GET", "path": vendor.passthrough_path}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == 200 and response.json()["body"]
    assert vendor.calls() == {vendor.passthrough_path: {"200": 1}}
