"""Invoice input at the edges: amounts Exact cannot store are refused before any call (422), digits must be ASCII,
negative quantities and prices are credit and discount lines (documented), not silently accepted noise. The
storable-amount limits are Exact's (`mapped`, Exact-specific); the other tests run for every connector."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unified_models.conftest import Connected, invoice_body

pytestmark = pytest.mark.django_db(transaction=True)


def _line(**values: Any) -> dict[str, Any]:
    return {"description": "Consultancy", "tax_rate": "21", **values}


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (_line(quantity="100000", unit_price="99999999999999"), "lines[0].unit_price"),
        (_line(quantity="99999999999999.999999", unit_price="1"), "lines[0].quantity"),
        (_line(quantity="1", unit_price="1234567890.123456"), "lines[0].unit_price"),
        (_line(quantity="-2", unit_price="9000000000000"), "lines[0].unit_price"),
    ],
)
def test_amounts_exact_cannot_store_are_refused_before_any_call(
    mapped: Connected, first_customer_id: str, line: dict[str, Any], field: str
) -> None:
    mapped.world.control.reset_counters()
    response = mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id, lines=[line]), format="json")
    assert response.status_code == 422, response.json()
    problem = response.json()
    assert problem["code"] == "invalid_input" and problem["errors"][0]["field"] == field
    assert mapped.calls() == {}, "nothing was sent to Exact"


@pytest.mark.parametrize("value", ["\u0661\u0662", "\uff11\uff12", "1\u00a02"])
def test_digits_must_be_ascii(any_mapped: Connected, any_customer_id: str, value: str) -> None:
    mapped = any_mapped
    line = _line(quantity=value, unit_price="10", tax_rate=mapped.rates[0])
    body = invoice_body(any_customer_id, lines=[line])
    response = mapped.client.post(mapped.url("invoices"), body, format="json")
    assert response.status_code == 422, response.json()
    assert response.json()["errors"][0]["field"] == "lines.0.quantity"


def test_a_negative_quantity_is_a_credit_line(any_mapped: Connected, any_customer_id: str) -> None:
    mapped = any_mapped
    rate = mapped.rates[0]
    lines = [
        _line(quantity="2", unit_price="100.00", tax_rate=rate),
        _line(description="Returned", quantity="-1", unit_price="100", tax_rate=rate),
    ]
    response = mapped.client.post(
        mapped.url("invoices"), invoice_body(any_customer_id, reference="CREDIT-LINE", lines=lines), format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["net_total"] == "100.00"
