"""unified_models/project_serializers.py: the inputs of projects, time and cost entries: one day's hours at most,
an end not before the start, a new entry only as draft or submitted, prices never negative."""

from __future__ import annotations

from typing import Any

import pytest

from unified_models.project_serializers import (
    CostEntryCreateSerializer,
    ProjectCreateSerializer,
    TimeEntryCreateSerializer,
)

PROJECT = {"code": "P-100", "name": "Shop refit", "type": "time_and_material"}
TIME = {"project_id": "p-1", "item_id": "hours-1", "hours": "7.5"}
COST = {"project_id": "p-1", "item_id": "travel", "quantity": "120"}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"type": "hourly"}, "type"),
        ({"code": "P" * 31}, "code"),
        ({"start_date": "2025-03-10", "end_date": "2025-03-09"}, "end_date"),
        ({"budgeted_hours": "-1"}, "budgeted_hours"),
    ],
)
def test_a_project_input_is_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    serializer = ProjectCreateSerializer(data={**PROJECT, **overrides})
    assert not serializer.is_valid() and field in serializer.errors, serializer.errors


def test_a_project_may_end_the_day_it_starts() -> None:
    serializer = ProjectCreateSerializer(data={**PROJECT, "start_date": "2025-03-10", "end_date": "2025-03-10"})
    assert serializer.is_valid(), serializer.errors


@pytest.mark.parametrize(
    ("hours", "valid"), [("0.000001", True), ("24", True), ("0", False), ("24.01", False), ("-2", False)]
)
def test_a_time_entry_is_more_than_nothing_and_at_most_one_day(hours: str, valid: bool) -> None:
    assert TimeEntryCreateSerializer(data={**TIME, "hours": hours}).is_valid() is valid


@pytest.mark.parametrize(("status", "valid"), [("draft", True), ("submitted", True), ("final", False), (None, True)])
def test_a_new_entry_is_a_draft_or_submitted_only(status: str | None, valid: bool) -> None:
    assert TimeEntryCreateSerializer(data={**TIME, "status": status}).is_valid() is valid
    assert CostEntryCreateSerializer(data={**COST, "status": status}).is_valid() is valid


def test_a_cost_needs_a_positive_quantity_and_a_price_that_is_not_negative() -> None:
    assert CostEntryCreateSerializer(data={**COST, "unit_price": "0"}).is_valid()
    for overrides, field in (({"quantity": "0"}, "quantity"), ({"unit_price": "-0.01"}, "unit_price")):
        serializer = CostEntryCreateSerializer(data={**COST, **overrides})
        assert not serializer.is_valid() and field in serializer.errors
