"""Projects and their hours as Exact's project/Projects and project/TimeTransactions.

Facts followed (NOTES.md: Entities, project/Projects and project/TimeTransactions; reference 2022 meta-data and the
2025 Pi-Systems classes):
- Projects: GET, POST, PUT, DELETE. "For POST it is mandatory to provide Code, Description and Type"; Type 1
  Campaign, 2 Fixed price, 3 Time and material, 4 Non billable, 5 Prepaid. Account (the customer) and Manager (an
  employee) are GUIDs; StartDate and EndDate are dates; SalesTimeQuantity is the budgeted hours; BlockEntry blocks
  time and cost entries.
- TimeTransactions: GET, POST, PUT, DELETE. A POST needs Item and Quantity, and one of Account, Project or
  Subscription (the gateway always sends the Project). Employee defaults to the user's employee at Exact. HourStatus
  is 1 Draft, 2 Rejected, 10 Submitted on POST/PUT and also 11, 14, 16, 19, 20 on GET. AmountFC is Quantity x
  PriceFC, both read back.
- CostTransactions: the same shape and POST rules as TimeTransactions (Type 2 Cost), where PriceFC is POST-able, so
  a cost may carry its own unit price.
- The endpoint index has sync/Project/Projects and sync/Project/TimeCostTransactions but no bulk/ set: the local
  copy reads the regular endpoints whole every run (sync.py: a snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base.records import (
    CostEntry,
    CostEntryInput,
    CostEntryUpdate,
    InvalidInput,
    Project,
    ProjectInput,
    ProjectType,
    TimeEntry,
    TimeEntryInput,
    TimeEntryStatus,
    TimeEntryUpdate,
)
from connectors.exact.mappers import UnexpectedExactValue, _base, _int, _optional
from connectors.exact.values import clean_text, format_exact_date, parse_exact_date, to_decimal, to_money

ExactObject = Mapping[str, Any]

PROJECTS_PATH = "project/Projects"
PROJECT_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Code",
    "Description",
    "Type",
    "Account",
    "Manager",
    "StartDate",
    "EndDate",
    "SalesTimeQuantity",
    "Notes",
    "BlockEntry",
)
PROJECT_TYPES: Mapping[int, ProjectType] = {
    1: ProjectType.CAMPAIGN,
    2: ProjectType.FIXED_PRICE,
    3: ProjectType.TIME_AND_MATERIAL,
    4: ProjectType.NON_BILLABLE,
    5: ProjectType.PREPAID,
}
EXACT_PROJECT_TYPES: Mapping[ProjectType, int] = {unified: code for code, unified in PROJECT_TYPES.items()}

TIME_PATH = "project/TimeTransactions"
COST_PATH = "project/CostTransactions"
EMPLOYEES_PATH = "payroll/Employees"  # GET only: whom hours are booked on
TIME_FIELDS = (
    "ID",
    "Created",
    "Modified",
    "Project",
    "Account",
    "Employee",
    "Item",
    "Date",
    "Quantity",
    "Notes",
    "HourStatus",
    "Currency",
    "PriceFC",
    "AmountFC",
)
COST_FIELDS = TIME_FIELDS  # the same properties carry what a cost entry shows
HOUR_STATUSES: Mapping[int, TimeEntryStatus] = {
    1: TimeEntryStatus.DRAFT,
    2: TimeEntryStatus.REJECTED,
    10: TimeEntryStatus.SUBMITTED,
    11: TimeEntryStatus.FAILED,
    14: TimeEntryStatus.PROCESSING,
    16: TimeEntryStatus.PROCESSING,
    19: TimeEntryStatus.FAILED,
    20: TimeEntryStatus.FINAL,
}
# What a POST may set (reference: "For POST/PUT: 1 = Draft, 2 = Rejected, 10 = Submitted").
POSTABLE_HOUR_STATUSES: Mapping[TimeEntryStatus, int] = {TimeEntryStatus.DRAFT: 1, TimeEntryStatus.SUBMITTED: 10}
# The statuses an API client may still move an entry out of (1 Draft, 2 Rejected, 10 Submitted).
CHANGEABLE_STATUSES = frozenset({TimeEntryStatus.DRAFT, TimeEntryStatus.REJECTED, TimeEntryStatus.SUBMITTED})


def project_from_exact(project: ExactObject) -> Project:
    code = _int(project, "Type")
    if code is not None and code not in PROJECT_TYPES:
        raise UnexpectedExactValue("Type", code, "1, 2, 3, 4 or 5")
    return Project(
        **_base(project),
        code=clean_text(project.get("Code")),
        name=clean_text(project.get("Description")),
        type=PROJECT_TYPES[code] if code is not None else None,
        contact_id=clean_text(project.get("Account")),
        manager_id=clean_text(project.get("Manager")),
        start_date=parse_exact_date(project.get("StartDate"), "StartDate"),
        end_date=parse_exact_date(project.get("EndDate"), "EndDate"),
        budgeted_hours=to_decimal(project.get("SalesTimeQuantity"), "SalesTimeQuantity"),
        notes=clean_text(project.get("Notes")),
        entries_blocked=bool(project.get("BlockEntry")),
    )


def project_to_exact(project: ProjectInput) -> dict[str, Any]:
    """ProjectInput -> the POST body (ids already checked to be GUIDs). Hours stay Decimal."""
    payload: dict[str, Any] = {
        "Code": project.code,
        "Description": project.name,
        "Type": EXACT_PROJECT_TYPES[project.type],
        **_optional(project, {"contact_id": "Account", "manager_id": "Manager", "notes": "Notes"}),
    }
    if project.start_date is not None:
        payload["StartDate"] = format_exact_date(project.start_date)
    if project.end_date is not None:
        payload["EndDate"] = format_exact_date(project.end_date)
    if project.budgeted_hours is not None:
        payload["SalesTimeQuantity"] = project.budgeted_hours
    return payload


def time_entry_from_exact(entry: ExactObject) -> TimeEntry:
    return TimeEntry(**_transaction_from_exact(entry, "hours"))


def cost_entry_from_exact(entry: ExactObject) -> CostEntry:
    return CostEntry(**_transaction_from_exact(entry, "quantity"))


def _transaction_from_exact(entry: ExactObject, quantity_field: str) -> dict[str, Any]:
    """The fields of a time or a cost entry: both are read from the same properties (COST_FIELDS), and Quantity is the
    hours of one and the quantity of the other (`quantity_field`)."""
    status = _int(entry, "HourStatus")
    if status not in HOUR_STATUSES:
        raise UnexpectedExactValue("HourStatus", status, "1, 2, 10, 11, 14, 16, 19 or 20")
    return {
        **_base(entry),
        "project_id": clean_text(entry.get("Project")),
        "contact_id": clean_text(entry.get("Account")),
        "employee_id": clean_text(entry.get("Employee")),
        "item_id": clean_text(entry.get("Item")),
        "date": parse_exact_date(entry.get("Date"), "Date"),
        quantity_field: to_decimal(entry.get("Quantity"), "Quantity") or Decimal(0),
        "description": clean_text(entry.get("Notes")),
        "status": HOUR_STATUSES[status],
        "currency": clean_text(entry.get("Currency")),
        "unit_price": to_decimal(entry.get("PriceFC"), "PriceFC"),
        "amount": to_money(entry.get("AmountFC"), "AmountFC"),
    }


def time_entry_to_exact(entry: TimeEntryInput) -> dict[str, Any]:
    """TimeEntryInput -> the POST body (ids already checked to be GUIDs). Hours stay Decimal."""
    return _transaction_to_exact(entry, entry.hours, unit_price=None)


def cost_entry_to_exact(entry: CostEntryInput) -> dict[str, Any]:
    """CostEntryInput -> the POST body (ids already checked to be GUIDs). Amounts stay Decimal."""
    return _transaction_to_exact(entry, entry.quantity, unit_price=entry.unit_price)


def _transaction_to_exact(
    entry: TimeEntryInput | CostEntryInput, quantity: Decimal, *, unit_price: Decimal | None
) -> dict[str, Any]:
    # Only a cost sends its own PriceFC; hours are priced by their item (module docstring: CostTransactions).
    payload: dict[str, Any] = {"Project": entry.project_id, "Item": entry.item_id, "Quantity": quantity}
    if unit_price is not None:
        payload["PriceFC"] = unit_price
    if entry.employee_id is not None:
        payload["Employee"] = entry.employee_id
    if entry.date is not None:
        payload["Date"] = format_exact_date(entry.date)
    if entry.description is not None:
        payload["Notes"] = entry.description
    if entry.status is not None:
        payload["HourStatus"] = POSTABLE_HOUR_STATUSES[entry.status]
    return payload


def entry_update_to_exact(update: TimeEntryUpdate | CostEntryUpdate, current: TimeEntry | CostEntry) -> dict[str, Any]:
    """The PUT body for what `update` changes on the entry as Exact has it now (`current`): only the fields whose
    value differs, so an update that changes nothing sends nothing (NOTES.md: OData, partial PUT bodies)."""
    payload: dict[str, Any] = {}
    if isinstance(update, TimeEntryUpdate):
        quantity, current_quantity = update.hours, getattr(current, "hours", None)
    else:
        quantity, current_quantity = update.quantity, getattr(current, "quantity", None)
        if update.unit_price is not None and update.unit_price != current.unit_price:
            payload["PriceFC"] = update.unit_price
    if quantity is not None and quantity != current_quantity:
        payload["Quantity"] = quantity
    if update.date is not None and update.date != current.date:
        payload["Date"] = format_exact_date(update.date)
    if update.description is not None and update.description.strip() != (current.description or "").strip():
        payload["Notes"] = update.description
    if update.status is not None and update.status != current.status:
        if current.status not in CHANGEABLE_STATUSES:
            # Approval moves the entry on from here (14 processing, 20 final, ...): sending 1 or 10 back would
            # undo an approver's work, e.g. on a retry after the approval, so the gateway never does.
            raise InvalidInput("status", f"The entry is {current.status.value} at Exact; its status is the approver's.")
        payload["HourStatus"] = POSTABLE_HOUR_STATUSES[update.status]
    return payload
