"""gateway/api/renderers.py: the API's JSON, byte for byte what DRF's JSONRenderer writes, orjson or not."""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pytest
from django.utils.functional import lazy
from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from gateway.api.renderers import JSONRenderer


class Kind(StrEnum):
    SALES = "sales"


@dataclass
class Point:
    x: int


lazy_text = lazy(lambda: "lazy tekst", str)


def drf(data: Any, accepted: str | None = None) -> bytes:
    return DRFJSONRenderer().render(data, accepted)


PAGE = {
    "results": [
        {
            "id": "f4a1c8e2-0d7b-4b2c-9a55-3f1e2d4c5b6a",
            "number": 20240001,
            "total": "121.00",
            "rate": 0.21,
            "paid": False,
            "contact": None,
            "lines": [{"description": "Café \u2013 \u201cquoted\u201d \\ back", "quantity": "1.5"}],
            "remote_data": {"Nested": {"Deep": [1, -2, 121.0, 0.1, 12345.678, "x"]}},
        }
    ]
    * 3,
    "next": "https://gw.example/api/v1/connections/1/invoices?cursor=abc%3D",
    "source": "live",
    "synced_at": None,
}


@pytest.mark.parametrize(
    "data",
    [
        PAGE,
        [],
        {},
        "plain",
        12,
        {"utc": datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC), "naive": datetime(2024, 5, 1, 12, 0)},
        {"offset": datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), "day": date(2024, 2, 29)},
        {"at": time(8, 15, 30), "for": timedelta(minutes=90)},
        {"amount": Decimal("10.50"), "id": uuid.UUID("12345678-1234-5678-1234-567812345678")},
        {"lazy": lazy_text(), "kind": Kind.SALES, "ordered": OrderedDict([("b", 1), ("a", 2)])},
        {"tuple": (1, "two"), "bytes": b"raw"},
        {"separators": "line\u2028paragraph\u2029end"},
        {"unicode": "naïve ☃ 😀", "control": "tab\tnew\nline\x00nul", "quote": '"'},
    ],
)
def test_same_bytes_as_drf(data: Any) -> None:
    assert JSONRenderer().render(data, "application/json") == drf(data, "application/json")


def test_a_small_float_may_be_the_same_number_in_other_text() -> None:
    data = {"small": 3.5e-7, "large": 1e16, "negative": -2.5e-5}
    assert JSONRenderer().render(data) == b'{"small":3.5e-7,"large":1e+16,"negative":-0.000025}'
    assert drf(data) == b'{"small":3.5e-07,"large":1e+16,"negative":-2.5e-05}'
    assert json.loads(JSONRenderer().render(data)) == json.loads(drf(data)) == data


@pytest.mark.parametrize(
    "data",
    [
        {1: "integer key", "b": 2},  # orjson refuses non-string keys
        {"big": 2**70},  # beyond 64 bits
        {"point": Point(1)},  # DRF refuses a dataclass: so must this renderer
    ],
    ids=["non-string key", "big integer", "dataclass"],
)
def test_what_orjson_refuses_or_writes_otherwise_goes_to_drf(data: Any) -> None:
    try:
        expected = drf(data)
    except TypeError as exc:
        with pytest.raises(TypeError, match=str(exc)):
            JSONRenderer().render(data)
        return
    assert JSONRenderer().render(data) == expected


def test_pretty_printing_asked_in_accept_is_drfs() -> None:
    data = {"a": [1, {"b": None}]}
    accepted = "application/json; indent=4"
    assert JSONRenderer().render(data, accepted) == drf(data, accepted)
    assert b"\n    " in JSONRenderer().render(data, accepted)


def test_no_data_is_an_empty_body() -> None:
    assert JSONRenderer().render(None) == b""


def test_the_api_answers_with_it(settings: Any) -> None:
    assert settings.REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] == ["gateway.api.renderers.JSONRenderer"]
