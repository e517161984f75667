"""Items through the API against the sandboxes: create (with a warning for the price Exact cannot take), one item
per Idempotency-Key, input errors name the field, the vendor's refusal of a duplicate code in the problem's vendor
part. Tests on `any_connected` run for every connector; the create test checks Exact's item columns (Exact-only)."""

from __future__ import annotations

import pytest

from tests.unified_models.conftest import Connected
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

NEW_ITEM = {
    "code": "TRAINING",
    "name": "Training per dag",
    "description": "Incompany training, per dag",
    "sales_tax_rate_id": "2",
    "unit_price": "750.00",
}


def _stored(connected: Connected, code: str) -> list[dict[str, object]]:
    return [row for row in connected.dump("Items") if str(row["Code"]).strip() == code]


def test_an_item_created_through_the_api_appears_in_the_division(connected: Connected) -> None:
    response = connected.client.post(connected.url("items"), NEW_ITEM, format="json")

    assert response.status_code == 201, response.json()
    item = response.json()
    assert item["code"] == "TRAINING" and item["name"] == "Training per dag"
    assert item["description"] == "Incompany training, per dag"
    assert item["sales_tax_rate_id"] == "2" and item["is_sales_item"] is True and item["status"] == "active"
    # Exact's standard sales price is read-only in its API: reported, not silently dropped.
    assert [warning["field"] for warning in item["warnings"]] == ["unit_price"]

    (stored,) = _stored(connected, "TRAINING")
    assert stored["ID"] == item["remote_id"]
    assert stored["Description"] == "Training per dag"
    assert stored["ExtraDescription"] == "Incompany training, per dag"
    assert stored["SalesVatCode"].strip() == "2" and stored["IsSalesItem"] is True
    mutation = Mutation.objects.get(pk=item["mutation_id"])
    assert (mutation.resource, mutation.operation, mutation.status) == ("items", "create", MutationStatus.SUCCEEDED)

    retrieved = connected.client.get(connected.url(f"items/{item['id']}"))
    assert retrieved.status_code == 200 and retrieved.json()["code"] == "TRAINING"


def test_the_same_idempotency_key_creates_one_item(any_connected: Connected) -> None:
    connected = any_connected
    body = {"code": "WORKSHOP", "name": "Workshop"}
    first = connected.client.post(connected.url("items"), body, format="json", HTTP_IDEMPOTENCY_KEY="item-1")
    second = connected.client.post(connected.url("items"), body, format="json", HTTP_IDEMPOTENCY_KEY="item-1")

    assert first.status_code == 201, first.json()
    assert second.status_code == 201, second.json()
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["mutation_id"] == first.json()["mutation_id"]
    assert len(_stored(connected, "WORKSHOP")) == 1
    assert Mutation.objects.filter(resource="items").count() == 1

    other = connected.client.post(
        connected.url("items"), {**body, "name": "Other"}, format="json", HTTP_IDEMPOTENCY_KEY="item-1"
    )
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"


def test_input_errors_name_the_field_and_send_nothing(any_connected: Connected) -> None:
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.post(connected.url("items"), {"name": "No code", "unit_price": "abc"}, format="json")
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"code", "unit_price"} <= fields
    assert connected.calls() == {}
    assert not Mutation.objects.exists()


def test_the_vendors_refusal_of_a_duplicate_code_is_a_422_with_its_messages(any_connected: Connected) -> None:
    connected = any_connected
    # CONSULT is one of the items both sandboxes seed a company with.
    duplicate = connected.client.post(connected.url("items"), {"code": "CONSULT", "name": "Nog een"}, format="json")

    assert duplicate.status_code == 422, duplicate.json()
    problem = duplicate.json()
    assert problem["code"] == "vendor_validation_failed"
    assert problem["vendor"]["status"] == 400 and problem["vendor"]["messages"]
    assert len(_stored(connected, "CONSULT")) == 1
    assert Mutation.objects.filter(resource="items", status=MutationStatus.FAILED).count() == 1


def test_a_revenue_account_that_is_not_an_id_is_invalid_input_without_a_call(any_connected: Connected) -> None:
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.post(
        connected.url("items"),
        {"code": "X1", "name": "X", "revenue_ledger_account_id": "8000"},
        format="json",
    )
    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "invalid_input"
    assert connected.calls() == {}
