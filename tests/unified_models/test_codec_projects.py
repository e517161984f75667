"""unified_models/codec.py for projects and time entries: the stored request of a create (the validated serializer
data) reads back as its typed input and round-trips; data that is no such input is refused naming the field."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.records import (
    CostEntryInput,
    InvalidInput,
    ProjectInput,
    ProjectType,
    TimeEntryInput,
    TimeEntryStatus,
)
from unified_models import codec
from unified_models.project_serializers import ProjectCreateSerializer, TimeEntryCreateSerializer


def _stored(serializer_class: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(json.loads(json.dumps(serializer.data)))


def test_a_stored_project_request_reads_back_as_its_input() -> None:
    data = _stored(
        ProjectCreateSerializer,
        {"code": "P-1", "name": "Website", "type": "fixed_price", "start_date": "2025-03-01", "budgeted_hours": "8.50"},
    )
    assert codec.input_from_data("projects", "create", data) == ProjectInput(
        code="P-1",
        name="Website",
        type=ProjectType.FIXED_PRICE,
        start_date=date(2025, 3, 1),
        budgeted_hours=Decimal("8.5"),
    )


def test_a_stored_time_entry_request_reads_back_as_its_input() -> None:
    data = _stored(
        TimeEntryCreateSerializer,
        {"project_id": "p", "item_id": "i", "hours": "2.50", "date": "2025-03-04", "status": "submitted"},
    )
    assert codec.input_from_data("time-entries", "create", data) == TimeEntryInput(
        project_id="p", item_id="i", hours=Decimal("2.5"), date=date(2025, 3, 4), status=TimeEntryStatus.SUBMITTED
    )


@pytest.mark.parametrize(
    ("resource", "value"),
    [
        ("projects", ProjectInput(code="P", name="N", type=ProjectType.PREPAID, end_date=date(2025, 1, 31))),
        ("time-entries", TimeEntryInput(project_id="p", item_id="i", hours=Decimal("0.25"), employee_id="e")),
        ("cost-entries", CostEntryInput(project_id="p", item_id="i", quantity=Decimal(3), unit_price=Decimal("0.2"))),
    ],
)
def test_the_codec_round_trips_project_inputs(resource: str, value: Any) -> None:
    data = codec.input_to_data(value)
    assert all(isinstance(v, str) for v in data.values()), data
    assert codec.input_from_data(resource, "create", data) == value


@pytest.mark.parametrize(
    ("resource", "data", "field"),
    [
        ("projects", {"name": "N", "type": "campaign"}, "code"),
        ("projects", {"code": "P", "name": "N", "type": "hourly"}, "type"),
        ("projects", {"code": "P", "name": "N", "type": "campaign", "budgeted_hours": 8.5}, "budgeted_hours"),
        ("time-entries", {"item_id": "i", "hours": "1"}, "project_id"),
        ("time-entries", {"project_id": "p", "item_id": "i", "hours": "1", "status": "done"}, "status"),
        ("time-entries", {"project_id": "p", "item_id": "i", "hours": "1", "minutes": "5"}, "minutes"),
        ("cost-entries", {"project_id": "p", "item_id": "i"}, "quantity"),
        ("cost-entries", {"project_id": "p", "item_id": "i", "quantity": "1", "unit_price": "x"}, "unit_price"),
    ],
)
def test_data_that_is_no_project_input_is_refused_naming_the_field(
    resource: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        codec.input_from_data(resource, "create", data)
    assert refused.value.field == field and refused.value.problem == "validation_error"
