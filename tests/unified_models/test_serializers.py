"""Write inputs are exactly as strict as the OpenAPI schema says, in both directions: what the schema refuses the
serializers refuse (naming the field), and what the schema allows they take."""

from __future__ import annotations

import re
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from gateway.api.problems import flatten_validation_errors
from unified_models.serializers import (
    MAX_LINES,
    ContactCreateSerializer,
    ContactUpdateSerializer,
    InvoiceCreateSerializer,
    InvoiceUpdateSerializer,
    ItemCreateSerializer,
    LedgerMappingSerializer,
    ReconciliationCreateSerializer,
)

LINE = {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"}


def _invoice(**overrides: Any) -> dict[str, Any]:
    return {"contact_id": "c-1", "lines": [dict(LINE)], **overrides}


def _errors(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False) -> list[str]:
    """The dotted fields the API's problem would name (empty: valid)."""
    serializer = serializer_class(data=data, partial=partial)
    if serializer.is_valid():
        return []
    return [error["field"] for error in flatten_validation_errors(serializer.errors)]


@pytest.mark.parametrize(
    ("serializer_class", "data", "partial", "field"),
    [
        # An address is an object: `[null]` is not a list of addresses.
        (ContactCreateSerializer, {"name": "A", "addresses": [None]}, False, "addresses.0"),
        (ContactUpdateSerializer, {"addresses": [{"city": "Delft"}, None]}, True, "addresses.1"),
        # Booleans are JSON true or false, not 1, 0 or strings.
        (ContactCreateSerializer, {"name": "A", "is_customer": 1}, False, "is_customer"),
        (ContactCreateSerializer, {"name": "A", "is_supplier": 0}, False, "is_supplier"),
        (ContactUpdateSerializer, {"is_customer": "true"}, True, "is_customer"),
        (ItemCreateSerializer, {"code": "X", "name": "Y", "is_sales_item": 1}, False, "is_sales_item"),
        # Decimals are strings (the schema says so; a JSON number has lost digits before it arrives).
        (ItemCreateSerializer, {"code": "X", "name": "Y", "unit_price": 12}, False, "unit_price"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "unit_price": 100}]), False, "lines.0.unit_price"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "quantity": 2.5}]), False, "lines.0.quantity"),
        (InvoiceCreateSerializer, _invoice(lines=[LINE, {**LINE, "tax_rate": 21}]), False, "lines.1.tax_rate"),
        (LedgerMappingSerializer, {"tax_rates": [{"rate": 21, "vendor_code": "2"}]}, False, "tax_rates.0.rate"),
        # ... written as the schema's pattern says: no exponent, spaces, plus sign or other scripts' digits.
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "unit_price": "1e3"}]), False, "lines.0.unit_price"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "unit_price": " 1"}]), False, "lines.0.unit_price"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "unit_price": "+1"}]), False, "lines.0.unit_price"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "quantity": "١٢"}]), False, "lines.0.quantity"),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "tax_rate": "-0"}]), False, "lines.0.tax_rate"),
        # Lines: 1 to 500 objects, on create and on update alike.
        (InvoiceCreateSerializer, _invoice(lines=[None]), False, "lines.0"),
        (InvoiceCreateSerializer, _invoice(lines=[]), False, "lines"),
        (InvoiceCreateSerializer, _invoice(lines=[LINE] * (MAX_LINES + 1)), False, "lines"),
        (InvoiceUpdateSerializer, {"lines": []}, True, "lines"),
        (InvoiceUpdateSerializer, {"lines": [None]}, True, "lines.0"),
        # Dates are YYYY-MM-DD only.
        (InvoiceCreateSerializer, _invoice(issue_date="2025-1-5"), False, "issue_date"),
        (InvoiceUpdateSerializer, {"due_date": "20250105"}, True, "due_date"),
        (
            ReconciliationCreateSerializer,
            {"period_start": "2025-W01-1", "period_end": "2025-01-31"},
            False,
            "period_start",
        ),
        # An email address with a space is none.
        (ContactCreateSerializer, {"name": "A", "email": " a@example.com"}, False, "email"),
    ],
)
def test_input_the_schema_refuses_is_refused_naming_the_field(
    serializer_class: type[serializers.Serializer], data: dict[str, Any], partial: bool, field: str
) -> None:
    assert field in _errors(serializer_class, data, partial=partial)


@pytest.mark.parametrize(
    ("serializer_class", "data", "partial"),
    [
        (ContactCreateSerializer, {"name": "A", "is_customer": True, "is_supplier": False, "addresses": []}, False),
        (ContactCreateSerializer, {"name": "A", "addresses": None, "is_customer": None}, False),
        (ContactUpdateSerializer, {"addresses": [{"city": "Delft", "country": "nl"}]}, True),
        (ItemCreateSerializer, {"code": "X", "name": "Y", "unit_price": "12", "is_sales_item": False}, False),
        (InvoiceCreateSerializer, _invoice(lines=[{**LINE, "unit_price": ".5", "quantity": "-1."}]), False),
        (InvoiceCreateSerializer, _invoice(lines=[LINE] * MAX_LINES, issue_date="2025-01-05"), False),
        (InvoiceUpdateSerializer, {"lines": [LINE], "due_date": None}, True),
        (LedgerMappingSerializer, {"tax_rates": [{"rate": "5.5", "vendor_code": "X"}]}, False),
    ],
)
def test_input_the_schema_allows_is_taken(
    serializer_class: type[serializers.Serializer], data: dict[str, Any], partial: bool
) -> None:
    assert _errors(serializer_class, data, partial=partial) == []


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    schema: dict[str, Any] = SchemaGenerator().get_schema(request=None, public=True)
    return schema["components"]["schemas"]  # type: ignore[no-any-return]


DECIMAL_SAMPLES = [
    "0", "12", "12.5", "-3", ".5", "1.", "-.25", "0.000001", "99999999999999.999999", "", "-", ".", "1.0000001",
    "123456789012345", "1e3", "1E3", " 1", "1 ", "+1", "1,5", "NaN", "Infinity", "١٢", "\uff11\uff12", "12\n", "0x1",
]  # fmt: skip


def _line_with(name: str) -> Any:
    return lambda value: _invoice(lines=[{name: value}])


@pytest.mark.parametrize(
    ("component", "path", "serializer_class", "build"),
    [
        ("InvoiceLineInputRequest", "unit_price", InvoiceCreateSerializer, _line_with("unit_price")),
        ("InvoiceLineInputRequest", "tax_rate", InvoiceCreateSerializer, _line_with("tax_rate")),
        (
            "ItemCreateRequest",
            "unit_price",
            ItemCreateSerializer,
            lambda v: {"code": "X", "name": "Y", "unit_price": v},
        ),
        (
            "TaxRateRuleRequest",
            "rate",
            LedgerMappingSerializer,
            lambda v: {"tax_rates": [{"rate": v, "vendor_code": "2"}]},
        ),
    ],
)
def test_a_decimal_is_taken_exactly_when_the_schema_pattern_matches(
    schemas: dict[str, Any], component: str, path: str, serializer_class: type[serializers.Serializer], build: Any
) -> None:
    pattern = schemas[component]["properties"][path]["pattern"]
    for sample in DECIMAL_SAMPLES:
        # ECMA-262 semantics: `$` is the end of the input (Python's search would also take it before a final "\n").
        allowed = re.fullmatch(pattern, sample, flags=re.ASCII) is not None
        taken = not _errors(serializer_class, build(sample))
        assert taken == allowed, (component, path, repr(sample), pattern)


@pytest.mark.parametrize(
    ("component", "serializer_class", "base", "partial"),
    [
        ("InvoiceCreateRequest", InvoiceCreateSerializer, {"contact_id": "c-1"}, False),
        ("PatchedInvoiceUpdateRequest", InvoiceUpdateSerializer, {}, True),
    ],
)
def test_the_number_of_lines_is_checked_as_the_schema_states_it(
    schemas: dict[str, Any],
    component: str,
    serializer_class: type[serializers.Serializer],
    base: dict[str, Any],
    partial: bool,
) -> None:
    lines = schemas[component]["properties"]["lines"]
    assert (lines["minItems"], lines["maxItems"]) == (1, MAX_LINES)
    for count in (0, 1, MAX_LINES, MAX_LINES + 1):
        taken = not _errors(serializer_class, {**base, "lines": [LINE] * count}, partial=partial)
        assert taken == (lines["minItems"] <= count <= lines["maxItems"]), count


def test_address_items_and_booleans_are_what_the_schema_says(schemas: dict[str, Any]) -> None:
    for component in ("ContactCreateRequest", "PatchedContactUpdateRequest"):
        properties = schemas[component]["properties"]
        assert properties["addresses"]["items"] == {"$ref": "#/components/schemas/AddressRequest"}
        assert "nullable" not in schemas["AddressRequest"]
        assert properties["is_customer"]["type"] == "boolean"
    assert schemas["ItemCreateRequest"]["properties"]["is_sales_item"]["type"] == "boolean"
