"""connectors/base/jsonbody.py: exact decimals on the wire, dates only where the vendor takes them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.base.jsonbody import decimal_json_dumps


def test_decimals_keep_their_digits_and_nest() -> None:
    text = decimal_json_dumps(
        {"Lines": [{"UnitPrice": Decimal("0.1"), "Quantity": Decimal("-3")}], "Rate": Decimal("1E-7")}, vendor="V"
    )
    assert text == '{"Lines":[{"UnitPrice":0.1,"Quantity":-3}],"Rate":0.0000001}'
    assert json.loads(text, parse_float=Decimal)["Lines"][0]["UnitPrice"] == Decimal("0.1")


def test_a_string_that_looks_like_a_placeholder_is_left_alone() -> None:
    assert json.loads(decimal_json_dumps({"a": "x:0", "b": Decimal("2.50")}, vendor="V")) == {"a": "x:0", "b": 2.5}


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_numbers_are_refused_naming_the_vendor(value: Decimal) -> None:
    with pytest.raises(ValueError, match="non-finite number to Acme"):
        decimal_json_dumps({"Amount": value}, vendor="Acme")


def test_dates_are_iso_only_when_asked() -> None:
    assert decimal_json_dumps({"Date": date(2024, 1, 31)}, vendor="V", dates=True) == '{"Date":"2024-01-31"}'
    with pytest.raises(TypeError):
        decimal_json_dumps({"Date": date(2024, 1, 31)}, vendor="V")


def test_datetimes_are_refused_where_the_vendor_wants_dates() -> None:
    with pytest.raises(TypeError, match="Send V dates, not datetimes"):
        decimal_json_dumps({"Date": datetime(2024, 1, 31, tzinfo=UTC)}, vendor="V", dates=True)
