"""Exact projects and time transactions <-> unified projects and time entries (connectors/exact/projects.py): pure
mapping, no HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.base.records import (
    CostEntryInput,
    CostEntryUpdate,
    InvalidInput,
    ProjectInput,
    ProjectType,
    TimeEntryInput,
    TimeEntryStatus,
    TimeEntryUpdate,
)
from connectors.exact import projects
from connectors.exact.mappers import UnexpectedExactValue

PROJECT = {
    "ID": "8a9b0000-0000-4000-8000-000000000001",
    "Created": "/Date(1740816000000)/",
    "Modified": "/Date(1740816000000)/",
    "Code": " WEB-2025 ",
    "Description": "Nieuwe website",
    "Type": 2,
    "Account": "3c4d0000-0000-4000-8000-000000000002",
    "Manager": None,
    "StartDate": "/Date(1740787200000)/",
    "EndDate": None,
    "SalesTimeQuantity": 120.5,
    "Notes": "",
    "BlockEntry": True,
}
ENTRY = {
    "ID": "1c2d0000-0000-4000-8000-000000000003",
    "Created": "/Date(1741107600000)/",
    "Modified": "/Date(1741107600000)/",
    "Project": PROJECT["ID"],
    "Account": PROJECT["Account"],
    "Employee": "6e7f0000-0000-4000-8000-000000000004",
    "Item": "7e8f0000-0000-4000-8000-000000000005",
    "Date": "/Date(1741046400000)/",
    "Quantity": 2.5,
    "Notes": "Ontwerp",
    "HourStatus": 16,
    "Currency": "EUR",
    "PriceFC": 95.0,
    "AmountFC": 237.5,
}


def test_a_project_reads_with_its_type_dates_and_budget() -> None:
    project = projects.project_from_exact(PROJECT)

    assert (project.id, project.code, project.name, project.type) == (
        PROJECT["ID"],
        "WEB-2025",
        "Nieuwe website",
        ProjectType.FIXED_PRICE,
    )
    assert (project.contact_id, project.manager_id, project.notes) == (PROJECT["Account"], None, None)
    assert (project.start_date, project.end_date) == (date(2025, 3, 1), None)
    assert project.budgeted_hours == Decimal("120.5") and project.entries_blocked is True
    assert project.remote_data == PROJECT


def test_every_exact_project_type_has_its_unified_type_and_back() -> None:
    assert {code: projects.project_from_exact({**PROJECT, "Type": code}).type for code in range(1, 6)} == {
        1: ProjectType.CAMPAIGN,
        2: ProjectType.FIXED_PRICE,
        3: ProjectType.TIME_AND_MATERIAL,
        4: ProjectType.NON_BILLABLE,
        5: ProjectType.PREPAID,
    }
    for unified in ProjectType:
        body = projects.project_to_exact(ProjectInput(code="P", name="n", type=unified))
        assert projects.project_from_exact({**PROJECT, "Type": body["Type"]}).type is unified
    with pytest.raises(UnexpectedExactValue):
        projects.project_from_exact({**PROJECT, "Type": 7})


def test_a_project_input_is_the_post_body_exact_documents() -> None:
    minimal = ProjectInput(code="WEB-2025", name="Nieuwe website", type=ProjectType.TIME_AND_MATERIAL)
    assert projects.project_to_exact(minimal) == {"Code": "WEB-2025", "Description": "Nieuwe website", "Type": 3}
    full = ProjectInput(
        code="WEB-2025",
        name="Nieuwe website",
        type=ProjectType.NON_BILLABLE,
        contact_id="c",
        manager_id="m",
        start_date=date(2025, 3, 1),
        end_date=date(2025, 6, 30),
        budgeted_hours=Decimal("120"),
        notes="Intern",
    )
    assert projects.project_to_exact(full) == {
        "Code": "WEB-2025",
        "Description": "Nieuwe website",
        "Type": 4,
        "Account": "c",
        "Manager": "m",
        "Notes": "Intern",
        "StartDate": "2025-03-01T00:00:00",
        "EndDate": "2025-06-30T00:00:00",
        "SalesTimeQuantity": Decimal("120"),
    }


def test_a_time_transaction_reads_as_hours_with_their_price() -> None:
    entry = projects.time_entry_from_exact(ENTRY)

    assert (entry.project_id, entry.contact_id, entry.employee_id, entry.item_id) == (
        ENTRY["Project"],
        ENTRY["Account"],
        ENTRY["Employee"],
        ENTRY["Item"],
    )
    assert (entry.date, entry.hours, entry.unit_price, entry.amount) == (
        date(2025, 3, 4),
        Decimal("2.5"),
        Decimal("95.0"),
        Decimal("237.50"),
    )
    assert (entry.status, entry.currency, entry.description) == (TimeEntryStatus.PROCESSING, "EUR", "Ontwerp")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, TimeEntryStatus.DRAFT),
        (2, TimeEntryStatus.REJECTED),
        (10, TimeEntryStatus.SUBMITTED),
        (11, TimeEntryStatus.FAILED),
        (14, TimeEntryStatus.PROCESSING),
        (19, TimeEntryStatus.FAILED),
        (20, TimeEntryStatus.FINAL),
    ],
)
def test_every_hour_status_exact_documents_reads(code: int, status: TimeEntryStatus) -> None:
    assert projects.time_entry_from_exact({**ENTRY, "HourStatus": code}).status is status


def test_an_unknown_or_missing_hour_status_is_refused() -> None:
    for value in (3, None):
        with pytest.raises(UnexpectedExactValue):
            projects.time_entry_from_exact({**ENTRY, "HourStatus": value})


def test_a_time_entry_input_is_the_post_body_exact_documents() -> None:
    minimal = TimeEntryInput(project_id="p", item_id="i", hours=Decimal("1.25"))
    assert projects.time_entry_to_exact(minimal) == {"Project": "p", "Item": "i", "Quantity": Decimal("1.25")}
    full = TimeEntryInput(
        project_id="p",
        item_id="i",
        hours=Decimal("8"),
        employee_id="e",
        date=date(2025, 3, 4),
        description="Ontwerp",
        status=TimeEntryStatus.SUBMITTED,
    )
    assert projects.time_entry_to_exact(full) == {
        "Project": "p",
        "Item": "i",
        "Quantity": Decimal("8"),
        "Employee": "e",
        "Date": "2025-03-04T00:00:00",
        "Notes": "Ontwerp",
        "HourStatus": 10,
    }


def test_a_cost_transaction_reads_as_a_priced_quantity() -> None:
    cost = projects.cost_entry_from_exact(
        {**ENTRY, "Quantity": 120, "PriceFC": 0.23, "AmountFC": 27.6, "HourStatus": 20}
    )

    assert (cost.project_id, cost.item_id, cost.quantity, cost.unit_price, cost.amount, cost.status) == (
        ENTRY["Project"],
        ENTRY["Item"],
        Decimal("120"),
        Decimal("0.23"),
        Decimal("27.60"),
        TimeEntryStatus.FINAL,
    )


def test_a_cost_entry_input_sends_its_own_price_only_when_given() -> None:
    assert projects.cost_entry_to_exact(CostEntryInput(project_id="p", item_id="i", quantity=Decimal("2"))) == {
        "Project": "p",
        "Item": "i",
        "Quantity": Decimal("2"),
    }
    priced = CostEntryInput(
        project_id="p", item_id="i", quantity=Decimal("120"), unit_price=Decimal("0.23"), status=TimeEntryStatus.DRAFT
    )
    assert projects.cost_entry_to_exact(priced) == {
        "Project": "p",
        "Item": "i",
        "Quantity": Decimal("120"),
        "PriceFC": Decimal("0.23"),
        "HourStatus": 1,
    }


def test_an_update_sends_only_what_differs_from_the_entry_at_exact() -> None:
    draft = projects.time_entry_from_exact({**ENTRY, "HourStatus": 1})
    same = TimeEntryUpdate(hours=Decimal("2.50"), date=date(2025, 3, 4), description=" Ontwerp ", status=draft.status)
    assert projects.entry_update_to_exact(same, draft) == {}
    changed = TimeEntryUpdate(
        hours=Decimal("3.25"), date=date(2025, 3, 6), description="", status=TimeEntryStatus.SUBMITTED
    )
    assert projects.entry_update_to_exact(changed, draft) == {
        "Quantity": Decimal("3.25"),
        "Date": "2025-03-06T00:00:00",
        "Notes": "",
        "HourStatus": 10,
    }
    cost = projects.cost_entry_from_exact({**ENTRY, "HourStatus": 1, "Type": 2})
    assert projects.entry_update_to_exact(CostEntryUpdate(quantity=Decimal(4), unit_price=Decimal("95")), cost) == {
        "Quantity": Decimal(4)
    }


@pytest.mark.parametrize("code", [11, 14, 16, 19, 20])
def test_an_entry_approval_has_moved_on_keeps_its_status(code: int) -> None:
    """Sending 1 or 10 back would undo an approver's work (a retry after the approval included): refused by name;
    a change of anything else is still sent (whether Exact takes it is its own answer)."""
    entry = projects.time_entry_from_exact({**ENTRY, "HourStatus": code})
    with pytest.raises(InvalidInput) as refused:
        projects.entry_update_to_exact(TimeEntryUpdate(status=TimeEntryStatus.DRAFT), entry)
    assert refused.value.field == "status"
    assert projects.entry_update_to_exact(TimeEntryUpdate(description="Review"), entry) == {"Notes": "Review"}
