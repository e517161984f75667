"""GET/PUT /connections/{id}/mapping: empty defaults, shape errors naming fields, codes checked in the division,
and the same check in admin. Tests on `any_connected` run for every connector (the vendor's own default mapping);
those on `connected` use Exact's codes, journals and items (Exact-specific)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.tenants.factories import ConnectionFactory, TenantFactory, WorkspaceFactory
from tests.unified_models.conftest import DEFAULT_MAPPING, Connected
from unified_models.models import ConnectionMapping

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_connection_without_mapping_has_empty_defaults(any_connected: Connected) -> None:
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.get(connected.url("mapping"))
    assert response.status_code == 200
    assert response.json() == {
        "tax_rates": [],
        "default_revenue_ledger_account": None,
        "default_sales_journal": None,
        "default_purchase_journal": None,
        "default_item": None,
        "items_by_code": {},
        "updated_at": None,
    }
    assert connected.calls() == {}


def test_put_checks_the_codes_in_the_company_and_saves(any_connected: Connected) -> None:
    connected = any_connected
    mapping = connected.profile.mapping
    response = connected.client.put(connected.url("mapping"), mapping, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["tax_rates"] == mapping["tax_rates"]
    assert body["items_by_code"] == mapping["items_by_code"]
    if connected.connector_id == "exact":  # Exact-specific: its sales journal, default item and item codes
        assert mapping is DEFAULT_MAPPING
        assert body["default_sales_journal"] == "70" and body["default_item"] == "CONSULT"
        assert body["default_purchase_journal"] == "60"
        assert body["items_by_code"] == {"hosting-monthly": "HOSTING", "handbook": "BOOK"}
    assert body["updated_at"]
    assert connected.client.get(connected.url("mapping")).json() == body
    stored = ConnectionMapping.objects.get(connection=connected.connection)
    assert stored.default_revenue_ledger_account == mapping["default_revenue_ledger_account"]


def test_the_purchase_journal_must_be_a_purchase_journal(connected: Connected) -> None:
    # 70 is the division's sales journal (Journal.Type 20): not one for purchase entries (Type 22).
    response = connected.client.put(
        connected.url("mapping"), {**DEFAULT_MAPPING, "default_purchase_journal": "70"}, format="json"
    )
    assert response.status_code == 422, response.json()
    (error,) = response.json()["errors"]
    assert error["field"] == "default_purchase_journal" and "purchase journal" in error["message"]


def test_put_names_each_code_the_division_lacks(connected: Connected) -> None:
    wrong = {
        **DEFAULT_MAPPING,
        "tax_rates": [{"rate": "21", "vendor_code": "99"}],
        "default_revenue_ledger_account": "9999",
        "default_sales_journal": "71",
        "default_item": "NOPE",
    }
    response = connected.client.put(connected.url("mapping"), wrong, format="json")
    assert response.status_code == 422, response.json()
    problem = response.json()
    assert problem["code"] == "mapping_invalid"
    fields = {error["field"] for error in problem["errors"]}
    assert {"default_revenue_ledger_account", "default_sales_journal", "default_item"} <= fields
    assert any(field.startswith("tax_rates") for field in fields)
    assert all(error["message"] for error in problem["errors"])
    assert not ConnectionMapping.objects.filter(connection=connected.connection).exists()


def test_put_shape_errors_name_the_fields_and_call_nothing(any_connected: Connected) -> None:
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.put(
        connected.url("mapping"),
        {
            "tax_rates": [
                {"rate": "21"},
                {"rate": "9", "code": "low", "vendor_code": "1"},
                {"rate": "-1", "vendor_code": "1"},
            ],
            "items_by_code": ["not", "a", "dict"],
        },
        format="json",
    )
    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert {"tax_rates.0.vendor_code", "tax_rates.1.code", "tax_rates.2.rate", "items_by_code"} <= fields
    assert connected.calls() == {}


def test_a_rate_mapped_twice_is_refused(any_connected: Connected) -> None:
    connected = any_connected
    response = connected.client.put(
        connected.url("mapping"),
        {"tax_rates": [{"rate": "21", "vendor_code": "2"}, {"rate": "21.00", "vendor_code": "5"}]},
        format="json",
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "tax_rates.1.rate"


def test_another_workspaces_connection_is_not_found(any_connected: Connected) -> None:
    connected = any_connected
    other = ConnectionFactory(tenant=TenantFactory(workspace=WorkspaceFactory()))
    for method in ("get", "put"):
        response = getattr(connected.client, method)(f"/api/v1/connections/{other.pk}/mapping", {}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_admin_rejects_a_mapping_naming_a_missing_item(connected: Connected, admin_user) -> None:  # type: ignore[no-untyped-def]
    browser = Client()
    browser.force_login(admin_user)
    page = browser.get("/admin/unified_models/connectionmapping/add/")
    assert page.status_code == 200
    form = {
        "connection": str(connected.connection.pk),
        "tax_rates": '[{"rate": "21", "vendor_code": "2"}]',
        "default_revenue_ledger_account": "8000",
        "default_sales_journal": "70",
        "default_item": "NOPE",
        "items_by_code": "{}",
    }
    refused = browser.post("/admin/unified_models/connectionmapping/add/", form)
    assert refused.status_code == 200
    assert re.search(r"NOPE", refused.content.decode())
    assert not ConnectionMapping.objects.exists()

    accepted = browser.post("/admin/unified_models/connectionmapping/add/", {**form, "default_item": "CONSULT"})
    assert accepted.status_code == 302, accepted.context["adminform"].form.errors
    assert ConnectionMapping.objects.get().default_item == "CONSULT"
