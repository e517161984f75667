"""API representations of projects, time and cost entries (connectors.base.records.Project, TimeEntry, CostEntry) and
their inputs.

The same conventions as unified_models.serializers (whose fields these use): record serializers describe what
codec.record_to_data writes, input serializers validate the client's JSON and their `.data` is the stored request.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import Field

from connectors.base.records import ProjectType, TimeEntryStatus
from gateway.api.fields import StrictCharField, StrictDateField
from gateway.api.serializers import Serializer
from unified_models.serializers import DecimalString, EnumField, RecordSerializer, _decimal_input


class TimeEntryNewStatus(StrEnum):
    """The status a new time entry may be given: a draft, or submitted for approval."""

    DRAFT = TimeEntryStatus.DRAFT.value
    SUBMITTED = TimeEntryStatus.SUBMITTED.value


# One entry is one day's work on one project: more than 24 hours cannot be one entry.
MAX_HOURS = Decimal(24)
MIN_HOURS = Decimal("0.000001")


class ProjectSerializer(RecordSerializer):
    """A piece of work that hours and costs are booked on, usually for one customer."""

    code = StrictCharField(allow_null=True)
    name = StrictCharField(allow_null=True)
    type = EnumField(ProjectType, allow_null=True)
    contact_id = StrictCharField(allow_null=True, help_text="The customer (a contact `id`).")
    manager_id = StrictCharField(allow_null=True, help_text="The responsible employee (the vendor's employee id).")
    start_date = serializers.DateField(allow_null=True)
    end_date = serializers.DateField(allow_null=True)
    budgeted_hours = DecimalString(allow_null=True)
    notes = StrictCharField(allow_null=True)
    entries_blocked = serializers.BooleanField(help_text="No new time or cost entries may be booked on the project.")


def _placed_after(fields: dict[str, Field], names: tuple[str, ...], anchor: str) -> dict[str, Field]:
    """`fields` with `names` moved to just after `anchor`: DRF lists a subclass's own fields after its base's, and an
    entry's quantity stands in the middle of the record and of the request (tests/unified_models/test_codec.py)."""
    moved = {name: fields.pop(name) for name in names}
    placed: dict[str, Field] = {}
    for name, field in fields.items():
        placed[name] = field
        if name == anchor:
            placed.update(moved)
    return placed


class _ProjectEntrySerializer(RecordSerializer):
    """What a time entry and a cost entry show alike; each names its quantity field and words its own help."""

    quantity_fields: ClassVar[tuple[str, ...]]

    project_id = StrictCharField(allow_null=True, help_text="The project (a project `id`).")
    contact_id = StrictCharField(allow_null=True, help_text="The project's customer (a contact `id`).")
    employee_id = StrictCharField(allow_null=True)
    item_id = StrictCharField(allow_null=True)
    date = serializers.DateField(allow_null=True)
    description = StrictCharField(allow_null=True)
    status = EnumField(TimeEntryStatus)
    currency = StrictCharField(allow_null=True)
    unit_price = DecimalString(allow_null=True)
    amount = DecimalString(allow_null=True)

    def get_fields(self) -> dict[str, Field]:
        return _placed_after(super().get_fields(), self.quantity_fields, "date")


class TimeEntrySerializer(_ProjectEntrySerializer):
    """Hours an employee worked on a project, priced by the item (hour type) they are booked with."""

    quantity_fields = ("hours",)

    employee_id = StrictCharField(allow_null=True, help_text="Who worked (the vendor's employee id).")
    item_id = StrictCharField(allow_null=True, help_text="The hour type (an item `id`).")
    hours = DecimalString()
    unit_price = DecimalString(allow_null=True, help_text="Price per hour, from the item at the vendor.")
    amount = DecimalString(allow_null=True, help_text="hours x unit_price, in `currency`.")


class CostEntrySerializer(_ProjectEntrySerializer):
    """A cost booked on a project: a quantity of a cost item at a unit price."""

    quantity_fields = ("quantity",)

    employee_id = StrictCharField(allow_null=True, help_text="Who made the cost (the vendor's employee id).")
    item_id = StrictCharField(allow_null=True, help_text="The cost type (an item `id`).")
    quantity = DecimalString()
    amount = DecimalString(allow_null=True, help_text="quantity x unit_price, in `currency`.")


class ProjectCreateSerializer(Serializer):
    code = StrictCharField(max_length=30, help_text="The project code; unique within the company.")
    name = StrictCharField(max_length=60, help_text="Exact: the project's Description.")
    type = EnumField(ProjectType, help_text="How the project is billed.")
    contact_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="The customer: a contact `id`."
    )
    manager_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="The responsible employee's id at the vendor."
    )
    start_date = StrictDateField(required=False, allow_null=True)
    end_date = StrictDateField(required=False, allow_null=True, help_text="Not before `start_date`.")
    budgeted_hours = _decimal_input(required=False, allow_null=True, min_value=Decimal(0))
    notes = StrictCharField(required=False, allow_null=True, max_length=2000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start is not None and end is not None and end < start:
            raise serializers.ValidationError({"end_date": "Not before start_date."})
        return attrs


# What booking a time entry and a cost entry take alike; each names its quantity fields and words its own help. (A
# comment, not a docstring: the schema would show an inherited docstring as both request bodies' description.)
class _ProjectEntryCreateSerializer(Serializer):
    quantity_fields: ClassVar[tuple[str, ...]]

    project_id = StrictCharField(max_length=100)
    item_id = StrictCharField(max_length=100)
    employee_id = StrictCharField(required=False, allow_null=True, max_length=100)
    date = StrictDateField(required=False, allow_null=True, help_text="Default: today at the vendor.")
    description = StrictCharField(required=False, allow_null=True, max_length=2000)
    status = EnumField(
        TimeEntryNewStatus, required=False, allow_null=True, help_text="Default: the vendor's (Exact: draft)."
    )

    def get_fields(self) -> dict[str, Field]:
        return _placed_after(super().get_fields(), self.quantity_fields, "item_id")


class TimeEntryCreateSerializer(_ProjectEntryCreateSerializer):
    quantity_fields = ("hours",)

    project_id = StrictCharField(max_length=100, help_text="The project worked on: a project `id`.")
    item_id = StrictCharField(max_length=100, help_text="The hour type: an item `id` (it prices the hours).")
    hours = _decimal_input(
        min_value=MIN_HOURS, max_value=MAX_HOURS, help_text="Hours worked: more than 0, at most 24 (one day)."
    )
    employee_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Who worked (the vendor's employee id); default: the employee of the connection's vendor user.",
    )


class CostEntryCreateSerializer(_ProjectEntryCreateSerializer):
    quantity_fields = ("quantity", "unit_price")

    project_id = StrictCharField(max_length=100, help_text="The project the cost is for: a project `id`.")
    item_id = StrictCharField(max_length=100, help_text="The cost type: an item `id`.")
    quantity = _decimal_input(min_value=MIN_HOURS, help_text="How many of the item: more than 0.")
    unit_price = _decimal_input(
        required=False, allow_null=True, min_value=Decimal(0), help_text="Default: the vendor's price of the item."
    )
    employee_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Who made the cost (the vendor's employee id); default: the vendor user's employee.",
    )


# What changing a booked time or cost entry takes alike (a PATCH: only the fields given change). The project, item
# and employee are not fields here: a body naming one is refused as an unknown field.
class _ProjectEntryUpdateSerializer(Serializer):
    fixed: ClassVar[tuple[str, ...]] = ("project_id", "item_id", "employee_id")

    date = StrictDateField(required=False, allow_null=True)
    description = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=2000, help_text='`""` clears it.'
    )
    status = EnumField(
        TimeEntryNewStatus, required=False, allow_null=True, help_text="Back to draft, or submitted for approval."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A field that cannot change is refused by name, never dropped without a word.
        given = self.initial_data if isinstance(self.initial_data, dict) else {}
        refused = {
            name: "Fixed once booked: book a new entry (and delete this one) instead."
            if name in self.fixed
            else "Not a field of this resource."
            for name in given
            if name not in self.fields
        }
        if refused:
            raise serializers.ValidationError(refused)
        return attrs


class TimeEntryUpdateSerializer(_ProjectEntryUpdateSerializer):
    hours = _decimal_input(
        required=False,
        allow_null=True,
        min_value=MIN_HOURS,
        max_value=MAX_HOURS,
        help_text="Hours worked: more than 0, at most 24 (one day).",
    )


class CostEntryUpdateSerializer(_ProjectEntryUpdateSerializer):
    quantity = _decimal_input(
        required=False, allow_null=True, min_value=MIN_HOURS, help_text="How many of the item: more than 0."
    )
    unit_price = _decimal_input(required=False, allow_null=True, min_value=Decimal(0))
