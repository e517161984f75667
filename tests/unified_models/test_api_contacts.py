"""Contacts through the API against the sandboxes: create, retrieve, update, list; input errors name the field;
the vendor's refusals come back in the problem's vendor part. Tests on `any_connected` run for every connector;
Exact's one-address rule and its account columns are checked on `connected` (Exact-specific)."""

from __future__ import annotations

import pytest

from tests.unified_models.conftest import Connected
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

NEW_CONTACT = {
    "name": "Fietsenmakerij Van Dam",
    "code": "4711",
    "is_customer": True,
    "email": "info@vandam.example",
    "phone": "+31 20 123 4567",
    "vat_number": "NL001234567B01",
    "chamber_of_commerce_number": "12345678",
    "currency": "eur",
    "addresses": [
        {"type": "main", "line1": "Damstraat 1", "postal_code": "1012 JL", "city": "Amsterdam", "country": "nl"},
        {"type": "shipping", "line1": "Magazijnweg 5", "city": "Zaandam", "country": "NL"},
    ],
}


def test_a_contact_created_through_the_api_is_stored_by_the_vendor(any_connected: Connected) -> None:
    connected = any_connected
    response = connected.client.post(connected.url("contacts"), NEW_CONTACT, format="json")

    assert response.status_code == 201, response.json()
    contact = response.json()
    assert contact["name"] == "Fietsenmakerij Van Dam" and contact["code"] == "4711"
    assert contact["addresses"][0]["city"] == "Amsterdam" and contact["addresses"][0]["country"] == "NL"
    assert contact["status"] == "active"
    stored = connected.stored_contact(contact["remote_id"])
    assert stored["Name"] == "Fietsenmakerij Van Dam"
    assert stored[connected.profile.contact_email_key] == "info@vandam.example"
    assert Mutation.objects.get(pk=contact["mutation_id"]).status == MutationStatus.SUCCEEDED


def test_a_contact_created_through_the_api_appears_in_the_division(connected: Connected) -> None:
    """Exact-specific: its account columns, the customer flag, and its one address per account."""
    response = connected.client.post(connected.url("contacts"), NEW_CONTACT, format="json")

    assert response.status_code == 201, response.json()
    contact = response.json()
    assert contact["name"] == "Fietsenmakerij Van Dam" and contact["code"] == "4711"
    assert contact["is_customer"] is True and contact["is_supplier"] is False
    assert contact["addresses"][0]["city"] == "Amsterdam" and contact["addresses"][0]["country"] == "NL"
    assert contact["status"] == "active"
    # Exact keeps one address on an account: the second one is reported, not silently dropped.
    assert any(warning["field"].startswith("addresses") for warning in contact["warnings"])

    (stored,) = [row for row in connected.dump("Accounts") if row["ID"] == contact["remote_id"]]
    assert stored["Name"] == "Fietsenmakerij Van Dam"
    assert stored["Code"].strip() == "4711"
    assert stored["Status"] == "C"
    assert stored["Email"] == "info@vandam.example"
    assert stored["VATNumber"] == "NL001234567B01"
    assert stored["City"] == "Amsterdam" and stored["Country"] == "NL"
    assert Mutation.objects.get(pk=contact["mutation_id"]).status == MutationStatus.SUCCEEDED


def test_retrieve_update_and_list(any_connected: Connected) -> None:
    connected = any_connected
    email_key, id_key = connected.profile.contact_email_key, connected.profile.contact_id_key
    created = connected.client.post(connected.url("contacts"), {"name": "Brasserie Zuid"}, format="json").json()

    retrieved = connected.client.get(connected.url(f"contacts/{created['id']}"))
    assert retrieved.status_code == 200 and retrieved.json()["name"] == "Brasserie Zuid"
    assert "remote_data" not in retrieved.json()
    raw = connected.client.get(connected.url(f"contacts/{created['id']}"), {"include": "remote_data"}).json()
    assert raw["remote_data"][id_key] == created["remote_id"] and raw["remote_data"]["Name"] == "Brasserie Zuid"

    updated = connected.client.patch(
        connected.url(f"contacts/{created['id']}"),
        {"email": "boekhouding@zuid.example", "phone": "+31 10 000 0000"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="upd-1",
    )
    assert updated.status_code == 200, updated.json()
    assert updated.json()["email"] == "boekhouding@zuid.example"
    assert updated.json()["name"] == "Brasserie Zuid"  # untouched
    stored = connected.stored_contact(created["remote_id"])
    assert stored[email_key] == "boekhouding@zuid.example" and stored["Name"] == "Brasserie Zuid"
    assert Mutation.objects.get(pk=updated.json()["mutation_id"]).operation == "update"

    listed = connected.client.get(connected.url("contacts"), {"page_size": 200})
    assert listed.status_code == 200
    names = {contact["name"] for contact in listed.json()["results"]}
    assert "Brasserie Zuid" in names and len(names) > 1  # ours and those the company was seeded with
    if connected.connector_id == "exact":  # Exact-specific: a customer its seed always makes
        assert "Fietsenmakerij Van Dam" in names


def test_input_errors_name_the_field_and_send_nothing(any_connected: Connected) -> None:
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.post(
        connected.url("contacts"),
        {"email": "not-an-email", "addresses": [{"country": "Netherlands"}], "status": "gone"},
        format="json",
    )
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"name", "email", "addresses.0.country", "status"} <= fields
    assert connected.calls() == {}
    assert not Mutation.objects.exists()


def test_exacts_refusal_is_a_422_with_its_messages(connected: Connected) -> None:
    first = connected.client.post(connected.url("contacts"), {"name": "Een", "code": "900"}, format="json")
    assert first.status_code == 201
    duplicate = connected.client.post(connected.url("contacts"), {"name": "Twee", "code": "900"}, format="json")

    assert duplicate.status_code == 422, duplicate.json()
    problem = duplicate.json()
    assert problem["code"] == "vendor_validation_failed"
    assert problem["vendor"]["status"] == 400 and problem["vendor"]["messages"]
    assert Mutation.objects.filter(status=MutationStatus.FAILED).count() == 1


def test_updating_an_unknown_contact_is_not_found(any_connected: Connected) -> None:
    connected = any_connected
    response = connected.client.patch(
        connected.url("contacts/0f0f0f0f-0000-4000-8000-000000000000"), {"name": "X"}, format="json"
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"
