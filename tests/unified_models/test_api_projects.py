"""Projects and time entries through the API against the Exact sandbox: a project and hours on it land in the sandbox
with Exact's fields (checked in its dump) and read back, live and from the store after a sync; bad input (a missing
or unknown project, zero or negative hours, a missing field, an unknown item, employee or customer, a taken code) is
refused naming the field before anything is sent; Xero, whose accounting API has no projects, declares both
resources unsupported (and cost entries, which follow time entries' pattern)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

NOWHERE = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


def _items(connected: Connected) -> dict[str, str]:
    response = connected.client.get(connected.url("items"), {"page_size": 200})
    assert response.status_code == 200, response.json()
    return {row["code"]: row["id"] for row in response.json()["results"]}


def _employees(connected: Connected) -> dict[str, str]:
    """The division's employees (payroll/Employees; the unified API has no employee resource): code -> id."""
    return {row["Code"]: row["ID"] for row in connected.dump("Employees")}


def _project_body(customer: str, **overrides: Any) -> dict[str, Any]:
    return {
        "code": "WEB-2025",
        "name": "Nieuwe website",
        "type": "time_and_material",
        "contact_id": customer,
        "start_date": "2025-03-01",
        "end_date": "2025-06-30",
        "budgeted_hours": "120",
        **overrides,
    }


def _create_project(connected: Connected, customer: str, **overrides: Any) -> dict[str, Any]:
    response = connected.client.post(connected.url("projects"), _project_body(customer, **overrides), format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def _entry_body(project: str, item: str, employee: str, **overrides: Any) -> dict[str, Any]:
    return {
        "project_id": project,
        "item_id": item,
        "employee_id": employee,
        "date": "2025-03-04",
        "hours": "2.5",
        "description": "Ontwerp homepage",
        **overrides,
    }


def _calls_to(connected: Connected, endpoint: str) -> int:
    return sum(
        count
        for name, by_status in connected.calls().items()
        if endpoint.lower() in name.lower()
        for count in by_status.values()
    )


def _sync(connected: Connected, *resources: str) -> None:
    for resource in resources:
        run = services.sync_run_request(connection=connected.connection, resource=resource, trigger="test")
        assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED, resource


# The request's own validation refused the body (422 `validation_error`, no connector involved); otherwise a 422 of
# the vendor's rules (`invalid_input`, ...), found out by the connector before any write.
REQUEST = "validation_error"
VENDOR_RULES = None


def _problem(response: Any, code: str | None, field: str) -> None:
    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    if code is None:
        assert response.json()["code"] != REQUEST, response.json()
    else:
        assert response.json()["code"] == code, response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()


def test_a_project_and_hours_on_it_land_in_the_sandbox_with_exacts_fields(
    mapped: Connected, first_customer_id: str
) -> None:
    employee = _employees(mapped)["1"]
    consult = _items(mapped)["CONSULT"]

    project = _create_project(mapped, first_customer_id)

    assert {name: project[name] for name in _project_body(first_customer_id)} == {
        **_project_body(first_customer_id),
        "budgeted_hours": "120.0",
    }
    assert (project["entries_blocked"], project["manager_id"], project["notes"]) == (False, None, None)
    (stored,) = mapped.dump("Projects")
    assert {name: stored[name] for name in ("ID", "Code", "Description", "Type", "Account", "SalesTimeQuantity")} == {
        "ID": project["remote_id"],
        "Code": "WEB-2025",
        "Description": "Nieuwe website",
        "Type": 3,
        "Account": first_customer_id,
        "SalesTimeQuantity": 120.0,
    }
    assert (stored["StartDate"], stored["EndDate"]) == ("/Date(1740787200000)/", "/Date(1751241600000)/")

    response = mapped.client.post(
        mapped.url("time-entries"), _entry_body(project["id"], consult, employee), format="json"
    )

    assert response.status_code == 201, response.json()
    entry = response.json()
    assert {name: entry[name] for name in ("project_id", "contact_id", "employee_id", "item_id", "date")} == {
        "project_id": project["id"],
        "contact_id": first_customer_id,  # Exact takes the project's customer
        "employee_id": employee,
        "item_id": consult,
        "date": "2025-03-04",
    }
    # The item prices the hours: CONSULT's 95.00 x 2.5.
    assert (entry["hours"], entry["unit_price"], entry["amount"], entry["currency"], entry["status"]) == (
        "2.5",
        "95.0",
        "237.50",
        "EUR",
        "draft",
    )
    assert entry["description"] == "Ontwerp homepage"
    (booked,) = mapped.dump("TimeTransactions")
    assert {
        name: booked[name]
        for name in ("ID", "Project", "Item", "Employee", "Quantity", "Notes", "HourStatus", "Type", "AmountFC")
    } == {
        "ID": entry["remote_id"],
        "Project": project["remote_id"],
        "Item": consult,
        "Employee": employee,
        "Quantity": 2.5,
        "Notes": "Ontwerp homepage",
        "HourStatus": 1,
        "Type": 1,
        "AmountFC": 237.5,
    }

    # Read back live (no copy yet): one record each, and the list filters.
    expected_entry = {name: value for name, value in entry.items() if name not in ("warnings", "mutation_id")}
    expected_project = {name: value for name, value in project.items() if name not in ("warnings", "mutation_id")}
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).json() == expected_entry
    assert mapped.client.get(mapped.url(f"projects/{project['id']}")).json() == expected_project
    by_project = mapped.client.get(mapped.url("time-entries"), {"project_id": project["id"]})
    assert by_project.status_code == 200 and by_project.json()["results"] == [expected_entry]
    by_other = mapped.client.get(mapped.url("time-entries"), {"employee_id": _employees(mapped)["2"]})
    assert by_other.status_code == 200 and by_other.json()["results"] == []
    by_customer = mapped.client.get(mapped.url("projects"), {"contact_id": first_customer_id})
    assert by_customer.status_code == 200 and by_customer.json()["results"] == [expected_project]

    # After a sync both come from the store, the same records, without a vendor call.
    _sync(mapped, "projects", "time-entries")
    mapped.world.control.reset_counters()
    stored_entries = mapped.client.get(mapped.url("time-entries"), {"project_id": project["id"]})
    stored_entry = mapped.client.get(mapped.url(f"time-entries/{entry['id']}"))
    stored_projects = mapped.client.get(mapped.url("projects"), {"contact_id": first_customer_id})
    stored_project = mapped.client.get(mapped.url(f"projects/{project['id']}"))
    assert mapped.calls() == {}
    assert stored_entries.json()["source"] == "store" and stored_entries.json()["results"] == [expected_entry]
    assert stored_projects.json()["source"] == "store" and stored_projects.json()["results"] == [expected_project]
    assert stored_entry.headers["X-Data-Source"] == "store" and stored_entry.json() == expected_entry
    assert stored_project.headers["X-Data-Source"] == "store" and stored_project.json() == expected_project


def test_the_next_sync_brings_changes_and_deletions_at_the_vendor(mapped: Connected, first_customer_id: str) -> None:
    """Projects and hours are read whole each run (Exact has no bulk/ set for them): a project changed in Exact and
    hours deleted there show in the store after the next run."""
    project = _create_project(mapped, first_customer_id)
    body = _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["1"])
    entry = mapped.client.post(mapped.url("time-entries"), body, format="json").json()
    _sync(mapped, "projects", "time-entries")
    assert len(mapped.client.get(mapped.url("time-entries")).json()["results"]) == 1

    for method, path, change in (
        ("PUT", f"project/Projects(guid'{project['remote_id']}')", {"Description": "Website (fase 2)"}),
        ("DELETE", f"project/TimeTransactions(guid'{entry['remote_id']}')", None),
    ):
        request = {"method": method, "path": path, **({"body": change} if change else {})}
        answer = mapped.client.post(mapped.url("passthrough"), request, format="json")
        assert answer.status_code in (200, 204), answer.json()
    _sync(mapped, "projects", "time-entries")

    entries = mapped.client.get(mapped.url("time-entries"))
    assert entries.json()["source"] == "store" and entries.json()["results"] == []
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).status_code == 404
    assert mapped.client.get(mapped.url(f"projects/{project['id']}")).json()["name"] == "Website (fase 2)"


def test_hours_can_be_submitted_for_approval(mapped: Connected, first_customer_id: str) -> None:
    project = _create_project(mapped, first_customer_id)
    body = _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["2"], status="submitted")

    response = mapped.client.post(mapped.url("time-entries"), body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"
    assert [row["HourStatus"] for row in mapped.dump("TimeTransactions")] == [10]


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda body: body.pop("project_id"), REQUEST, "project_id"),
        (lambda body: body.pop("item_id"), REQUEST, "item_id"),
        (lambda body: body.pop("hours"), REQUEST, "hours"),
        (lambda body: body.update(hours="0"), REQUEST, "hours"),
        (lambda body: body.update(hours="-2"), REQUEST, "hours"),
        (lambda body: body.update(hours="24.5"), REQUEST, "hours"),
        (lambda body: body.update(hours=2.5), REQUEST, "hours"),
        (lambda body: body.update(status="final"), REQUEST, "status"),
        (lambda body: body.update(project_id="WEB-2025"), VENDOR_RULES, "project_id"),
        (lambda body: body.update(project_id=NOWHERE), VENDOR_RULES, "project_id"),
        (lambda body: body.update(item_id=NOWHERE), VENDOR_RULES, "item_id"),
        (lambda body: body.update(employee_id=NOWHERE), VENDOR_RULES, "employee_id"),
    ],
    ids=[
        "no-project",
        "no-item",
        "no-hours",
        "zero-hours",
        "negative-hours",
        "more-than-a-day",
        "hours-as-a-number",
        "status-final",
        "project-not-an-id",
        "unknown-project",
        "unknown-item",
        "unknown-employee",
    ],
)
def test_bad_hours_are_refused_naming_the_field_before_anything_is_sent(
    mapped: Connected, first_customer_id: str, change: Any, code: str | None, field: str
) -> None:
    project = _create_project(mapped, first_customer_id)
    body = _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["1"])
    change(body)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("time-entries"), body, format="json")

    _problem(response, code, field)
    assert _calls_to(mapped, "TimeTransactions") == 0
    if code == REQUEST or (field == "project_id" and body["project_id"] == "WEB-2025"):
        assert mapped.calls() == {}  # refused before the connector read anything
    assert mapped.dump("TimeTransactions") == []


def test_hours_on_a_project_blocked_for_entries_are_refused(mapped: Connected, first_customer_id: str) -> None:
    project = _create_project(mapped, first_customer_id)
    mapped.world.control.reset_counters()
    # Exact's BlockEntry ("Block time and cost entries"); the unified API does not set it, the vendor's UI does.
    blocked = mapped.client.post(
        mapped.url("passthrough"),
        {"method": "PUT", "path": f"project/Projects(guid'{project['remote_id']}')", "body": {"BlockEntry": True}},
        format="json",
    )
    assert blocked.status_code == 200, blocked.json()
    assert mapped.client.get(mapped.url(f"projects/{project['id']}")).json()["entries_blocked"] is True
    mapped.world.control.reset_counters()

    body = _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["1"])
    response = mapped.client.post(mapped.url("time-entries"), body, format="json")

    _problem(response, VENDOR_RULES, "project_id")
    assert _calls_to(mapped, "TimeTransactions") == 0
    assert mapped.dump("TimeTransactions") == []


def test_without_an_employee_exact_takes_the_users_and_refuses_when_there_is_none(
    mapped: Connected, first_customer_id: str
) -> None:
    """Exact books on the vendor user's employee when none is given; the sandbox's users have none, so Exact's own
    refusal ("Verplicht: Medewerker") comes back as the vendor's 422, and nothing is booked."""
    project = _create_project(mapped, first_customer_id)
    body = _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["1"])
    del body["employee_id"]

    response = mapped.client.post(mapped.url("time-entries"), body, format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "vendor_validation_failed"
    assert "Verplicht: Medewerker" in str(response.json())
    assert mapped.dump("TimeTransactions") == []


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda body: body.pop("code"), REQUEST, "code"),
        (lambda body: body.pop("name"), REQUEST, "name"),
        (lambda body: body.pop("type"), REQUEST, "type"),
        (lambda body: body.update(type="hourly"), REQUEST, "type"),
        (lambda body: body.update(end_date="2025-02-01"), REQUEST, "end_date"),
        (lambda body: body.update(budgeted_hours="-1"), REQUEST, "budgeted_hours"),
        (lambda body: body.update(contact_id=NOWHERE), VENDOR_RULES, "contact_id"),
        (lambda body: body.update(contact_id="bakkerij"), VENDOR_RULES, "contact_id"),
        (lambda body: body.update(manager_id=NOWHERE), VENDOR_RULES, "manager_id"),
        (lambda body: body.update(code="TAKEN"), VENDOR_RULES, "code"),
    ],
    ids=[
        "no-code",
        "no-name",
        "no-type",
        "unknown-type",
        "ends-before-it-starts",
        "negative-budget",
        "unknown-customer",
        "customer-not-an-id",
        "unknown-manager",
        "code-taken",
    ],
)
def test_bad_projects_are_refused_naming_the_field_before_anything_is_sent(
    mapped: Connected, first_customer_id: str, change: Any, code: str | None, field: str
) -> None:
    _create_project(mapped, first_customer_id, code="TAKEN")
    body = _project_body(first_customer_id)
    change(body)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("projects"), body, format="json")

    _problem(response, code, field)
    if code == REQUEST:
        assert mapped.calls() == {}
    else:  # the connector's reads only: no POST reached project/Projects
        assert all(set(by_status) == {"200"} for by_status in mapped.calls().values()), mapped.calls()
    assert [row["Code"] for row in mapped.dump("Projects")] == ["TAKEN"]


def test_a_cost_lands_in_the_sandbox_and_comes_back_from_the_store(mapped: Connected, first_customer_id: str) -> None:
    project = _create_project(mapped, first_customer_id)
    hosting = _items(mapped)["HOSTING"]
    employee = _employees(mapped)["2"]
    body = {
        "project_id": project["id"],
        "item_id": hosting,
        "employee_id": employee,
        "date": "2025-03-05",
        "quantity": "3",
        "unit_price": "12.50",
        "description": "Extra opslag",
    }

    response = mapped.client.post(mapped.url("cost-entries"), body, format="json")

    assert response.status_code == 201, response.json()
    cost = response.json()
    assert {name: cost[name] for name in ("project_id", "contact_id", "employee_id", "item_id", "date", "status")} == {
        "project_id": project["id"],
        "contact_id": first_customer_id,
        "employee_id": employee,
        "item_id": hosting,
        "date": "2025-03-05",
        "status": "draft",
    }
    assert (cost["quantity"], cost["unit_price"], cost["amount"], cost["description"]) == (
        "3.0",
        "12.5",
        "37.50",
        "Extra opslag",
    )
    (booked,) = mapped.dump("CostTransactions")
    assert {name: booked[name] for name in ("ID", "Project", "Item", "Employee", "Quantity", "PriceFC", "Type")} == {
        "ID": cost["remote_id"],
        "Project": project["remote_id"],
        "Item": hosting,
        "Employee": employee,
        "Quantity": 3.0,
        "PriceFC": 12.5,
        "Type": 2,
    }
    assert mapped.dump("TimeTransactions") == []

    _sync(mapped, "cost-entries")
    mapped.world.control.reset_counters()
    page = mapped.client.get(mapped.url("cost-entries"), {"project_id": project["id"]})
    one = mapped.client.get(mapped.url(f"cost-entries/{cost['id']}"))
    assert mapped.calls() == {}
    expected = {name: value for name, value in cost.items() if name not in ("warnings", "mutation_id")}
    assert page.json()["source"] == "store" and page.json()["results"] == [expected]
    assert one.headers["X-Data-Source"] == "store" and one.json() == expected


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda body: body.pop("project_id"), REQUEST, "project_id"),
        (lambda body: body.pop("quantity"), REQUEST, "quantity"),
        (lambda body: body.update(quantity="0"), REQUEST, "quantity"),
        (lambda body: body.update(unit_price="-1"), REQUEST, "unit_price"),
        (lambda body: body.update(project_id=NOWHERE), VENDOR_RULES, "project_id"),
        (lambda body: body.update(item_id=NOWHERE), VENDOR_RULES, "item_id"),
    ],
    ids=["no-project", "no-quantity", "zero-quantity", "negative-price", "unknown-project", "unknown-item"],
)
def test_bad_costs_are_refused_naming_the_field_before_anything_is_sent(
    mapped: Connected, first_customer_id: str, change: Any, code: str | None, field: str
) -> None:
    project = _create_project(mapped, first_customer_id)
    body = {"project_id": project["id"], "item_id": _items(mapped)["HOSTING"], "quantity": "1"}
    body["employee_id"] = _employees(mapped)["1"]
    change(body)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("cost-entries"), body, format="json")

    _problem(response, code, field)
    assert _calls_to(mapped, "CostTransactions") == 0
    if code == REQUEST:
        assert mapped.calls() == {}
    assert mapped.dump("CostTransactions") == []


def test_xero_declares_projects_and_time_entries_unsupported(
    xero_world: XeroWorld, workspace: Any, auth_client: Any
) -> None:
    """Xero's accounting API has no projects (they live in its separate Projects API): 405, not a 500, for projects
    and the time and cost entries booked on them."""
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    base = f"/api/v1/connections/{connection.pk}"

    for resource, body in (
        ("projects", _project_body(NOWHERE)),
        ("time-entries", _entry_body(NOWHERE, NOWHERE, NOWHERE)),
        ("cost-entries", {"project_id": NOWHERE, "item_id": NOWHERE, "quantity": "1"}),
    ):
        listed = auth_client.get(f"{base}/{resource}")
        one = auth_client.get(f"{base}/{resource}/{NOWHERE}")
        created = auth_client.post(f"{base}/{resource}", body, format="json")
        for response in (listed, one, created):
            assert response.status_code == 405, (resource, response.json())
            assert response.headers["Content-Type"] == "application/problem+json"
            assert response.json()["code"] == "operation_not_supported"
            assert "Xero" in response.json()["detail"]
