"""gateway/api/parsers.py: the JSON parser refuses oversized bodies (413), deep nesting (400, before parsing),
text in another encoding and the non-JSON constants Python's parser would take."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rest_framework.exceptions import ParseError

from gateway.api.parsers import MAX_JSON_DEPTH, JSONParser, PayloadTooLarge, json_depth_exceeds


def _parse(raw: bytes, **context: Any) -> Any:
    return JSONParser().parse(io.BytesIO(raw), "application/json", context or None)


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert not json_depth_exceeds('{"a": [1, {"b": 2}]}', 3)
    assert json_depth_exceeds('{"a": [1, {"b": 2}]}', 2)
    assert not json_depth_exceeds('{"a": "[[[[[[{{{{{{"}', 1)
    assert not json_depth_exceeds('{"a": "quote \\" then [[[["}', 1)  # an escaped quote does not end the string
    assert not json_depth_exceeds("[]" * 1000, 1)  # siblings are not nesting


def test_a_body_nested_deeper_than_the_limit_is_refused_before_parsing() -> None:
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    assert _parse(at_limit.encode()) is not None
    with pytest.raises(ParseError, match="nested deeper"):
        _parse(("[" * 100_000).encode())  # no RecursionError, no parse at all


def test_a_body_over_the_upload_limit_is_413(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 20
    assert _parse(b'{"name": "Acme BV"}') == {"name": "Acme BV"}  # 19 bytes
    with pytest.raises(PayloadTooLarge) as refused:
        _parse(b'{"name": "Acme BV!!"}')
    assert refused.value.status_code == 413 and refused.value.default_code == "payload_too_large"


def test_nan_infinity_and_other_encodings_are_not_json() -> None:
    for raw in (b'{"amount": NaN}', b'{"amount": Infinity}', b'{"amount": -Infinity}'):
        with pytest.raises(ParseError, match="not JSON"):
            _parse(raw)
    with pytest.raises(ParseError, match="not utf-8 text"):
        _parse('{"name": "Café"}'.encode("latin-1"), encoding="utf-8")
    assert _parse('{"name": "Café"}'.encode("latin-1"), encoding="latin-1") == {"name": "Café"}
