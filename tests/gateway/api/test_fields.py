"""gateway/api/fields.py: fields that take exactly what the schema says (JSON types, canonical forms)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from rest_framework import serializers

from gateway.api.fields import StrictBooleanField, StrictDateField, StrictDateTimeField, StrictIntegerField


def _taken(field: serializers.Field, value: Any) -> tuple[bool, Any]:
    try:
        return True, field.run_validation(value)
    except serializers.ValidationError:
        return False, None


@pytest.mark.parametrize(
    ("value", "taken"),
    [(True, True), (False, True), (1, False), (0, False), ("true", False), ("false", False), ("yes", False)],
)
def test_a_boolean_is_json_true_or_false(value: Any, taken: bool) -> None:
    assert _taken(StrictBooleanField(), value)[0] is taken


@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), (0, 0), (60.0, 60), ("60", None), (True, None), (1.5, None), (None, None)]
)
def test_an_integer_is_a_json_integer(value: Any, expected: int | None) -> None:
    taken, result = _taken(StrictIntegerField(), value)
    assert (result if taken else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-05", date(2025, 1, 5)),
        ("2025-1-5", None),
        ("20250105", None),
        ("2025-W01-1", None),
        ("２０２５-01-05", None),  # noqa: RUF001 - full-width digits on purpose
        ("2025-02-30", None),
        (20250105, None),
    ],
)
def test_a_date_is_yyyy_mm_dd(value: Any, expected: date | None) -> None:
    taken, result = _taken(StrictDateField(), value)
    assert (result if taken else None) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01t10:00:00.250+01:00", datetime(2025, 3, 1, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))),
        ("2025-03-01T10:00:00", None),  # no zone: which moment is it?
        ("2025-03-01", None),
        ("2025-03-01 10:00:00Z", None),
        ("2025-03-01T25:00:00Z", None),
        (1740823200, None),
    ],
)
def test_a_moment_is_an_rfc_3339_date_time(value: Any, expected: datetime | None) -> None:
    taken, result = _taken(StrictDateTimeField(), value)
    assert (result if taken else None) == expected
