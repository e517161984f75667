"""project/Projects and project/TimeTransactions over real HTTP (fidelity 82u, 82v, 82w), with payroll/Employees."""

from __future__ import annotations

from typing import Any

import httpx

from tests.connectors.exact.sandbox.data_fixtures import (
    ExactClient,
    exact_fixture,  # noqa: F401  (pytest fixture)
)

UNKNOWN = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


def _message(response: httpx.Response) -> str:
    return response.json()["error"]["message"]["value"]


def _first(exact: ExactClient, path: str, filter_: str) -> str:
    return exact.results(path, {"$select": "ID", "$filter": filter_})[0]["ID"]


def _project(exact: ExactClient, **extra: Any) -> dict[str, Any]:
    customer = _first(exact, "crm/Accounts", "trim(Code) eq '1'")
    body = {"Code": "P-1", "Description": "Website", "Type": 3, "Account": customer, **extra}
    response = exact.post("project/Projects", body)
    assert response.status_code == 201, response.text
    return response.json()["d"]


def test_employees_are_seeded_read_only(exact: ExactClient) -> None:
    employees = exact.results("payroll/Employees", {"$select": "ID,Code,FullName,IsActive"})
    assert sorted(e["FullName"] for e in employees) == ["Daan Visser", "Sanne de Boer"]
    assert all(e["IsActive"] for e in employees)
    assert exact.post("payroll/Employees", {"FirstName": "X"}).status_code == 405


def test_project_rules(exact: ExactClient) -> None:
    """Fidelity 82u: Code, Description and Type required; Type 1-5; Code unique; Account/Manager must exist."""
    path = "project/Projects"
    missing = exact.post(path, {"Notes": "x"})
    assert missing.status_code == 400
    assert _message(missing) == "Verplicht: Code\r\nVerplicht: Omschrijving\r\nVerplicht: Type"
    bad_type = exact.post(path, {"Code": "P", "Description": "d", "Type": 9})
    assert bad_type.status_code == 400 and _message(bad_type) == "Ongeldige waarde: Type (9)"
    unknown = exact.post(path, {"Code": "P", "Description": "d", "Type": 3, "Account": UNKNOWN})
    assert unknown.status_code == 500 and _message(unknown) == "Ongeldige referentie: Relatie"
    no_manager = exact.post(path, {"Code": "P", "Description": "d", "Type": 3, "Manager": UNKNOWN})
    assert no_manager.status_code == 500 and _message(no_manager) == "Ongeldige referentie: Projectmanager"
    assert exact.results(path, {"$select": "ID"}) == []
    project = _project(exact)
    assert (project["Code"], project["TypeDescription"], project["AccountName"], project["BlockEntry"]) == (
        "P-1",
        "Nacalculatie",
        "Bakkerij De Gouden Korenschoof B.V.",
        False,
    )
    again = exact.post(path, {"Code": "P-1", "Description": "d", "Type": 4})
    assert again.status_code == 400 and _message(again) == "Bestaat reeds: Code (P-1)"


def test_time_transaction_rules(exact: ExactClient) -> None:
    """Fidelity 82v: Item and Quantity always, one of Account/Project/Subscription; Project, Item and Employee must
    exist; no Employee and no employee for the user is refused; amounts from the item's price; Draft, Type 1."""
    path = "project/TimeTransactions"
    project = _project(exact)
    item = _first(exact, "logistics/Items", "Code eq 'CONSULT'")
    employee = _first(exact, "payroll/Employees", "Code eq '1'")
    missing = exact.post(path, {"Notes": "x", "Employee": employee})
    assert missing.status_code == 400
    assert _message(missing) == "Verplicht: Artikel\r\nVerplicht: Aantal\r\nVerplicht: Project"
    no_employee = exact.post(path, {"Project": project["ID"], "Item": item, "Quantity": 2})
    assert no_employee.status_code == 400 and _message(no_employee) == "Verplicht: Medewerker"
    for name, caption in (("Project", "Project"), ("Item", "Artikel"), ("Employee", "Medewerker")):
        body = {"Project": project["ID"], "Item": item, "Quantity": 2, "Employee": employee, name: UNKNOWN}
        refused = exact.post(path, body)
        assert refused.status_code == 500, name
        assert _message(refused) == f"Ongeldige referentie: {caption}"
    assert exact.results(path, {"$select": "ID"}) == []
    created = exact.post(
        path,
        {
            "Project": project["ID"],
            "Item": item,
            "Quantity": 2.5,
            "Employee": employee,
            "Date": "/Date(1733443200000)/",
            "Notes": "Ontwerp",
        },
    )
    assert created.status_code == 201, created.text
    entry = created.json()["d"]
    assert {
        name: entry[name]
        for name in (
            "Account",
            "PriceFC",
            "AmountFC",
            "HourStatus",
            "Type",
            "ProjectCode",
            "ItemDescription",
            "EntryNumber",
            "Currency",
        )
    } == {
        "Account": project["Account"],
        "PriceFC": 95.0,
        "AmountFC": 237.5,
        "HourStatus": 1,
        "Type": 1,
        "ProjectCode": "P-1",
        "ItemDescription": "Consultancy per uur",
        "EntryNumber": 1,
        "Currency": "EUR",
    }
    assert entry["Date"] == "/Date(1733443200000)/"


def test_a_project_blocked_for_entries_refuses_time(exact: ExactClient) -> None:
    project = _project(exact, Code="P-B", BlockEntry=True)
    item = _first(exact, "logistics/Items", "Code eq 'CONSULT'")
    employee = _first(exact, "payroll/Employees", "Code eq '2'")
    refused = exact.post(
        "project/TimeTransactions", {"Project": project["ID"], "Item": item, "Quantity": 1, "Employee": employee}
    )
    assert refused.status_code == 400
    assert _message(refused) == "Project is geblokkeerd voor tijd- en kosteninvoer"


def test_cost_transaction_rules(exact: ExactClient) -> None:
    """Fidelity 82x: the same rules as time transactions (Item, Quantity, a project; references checked); PriceFC may
    be given (POST-able on CostTransactions, not on TimeTransactions); Type 2."""
    path = "project/CostTransactions"
    project = _project(exact)
    item = _first(exact, "logistics/Items", "Code eq 'HOSTING'")
    employee = _first(exact, "payroll/Employees", "Code eq '1'")
    missing = exact.post(path, {"Employee": employee, "Project": project["ID"]})
    assert missing.status_code == 400 and _message(missing) == "Verplicht: Artikel\r\nVerplicht: Aantal"
    unknown = exact.post(path, {"Project": UNKNOWN, "Item": item, "Quantity": 1, "Employee": employee})
    assert unknown.status_code == 500 and _message(unknown) == "Ongeldige referentie: Project"
    assert exact.results(path, {"$select": "ID"}) == []
    priced = exact.post(
        path, {"Project": project["ID"], "Item": item, "Quantity": 3, "PriceFC": 12.5, "Employee": employee}
    )
    assert priced.status_code == 201, priced.text
    by_item = exact.post(path, {"Project": project["ID"], "Item": item, "Quantity": 2, "Employee": employee})
    assert by_item.status_code == 201, by_item.text
    assert [
        (r["Type"], r["PriceFC"], r["AmountFC"], r["EntryNumber"]) for r in (priced.json()["d"], by_item.json()["d"])
    ] == [
        (2, 12.5, 37.5, 1),
        (2, 49.5, 99.0, 2),
    ]
    # PriceFC is GET-only on time transactions: a given one is ignored, the item prices the hours.
    time = exact.post(
        "project/TimeTransactions",
        {"Project": project["ID"], "Item": item, "Quantity": 1, "PriceFC": 1.0, "Employee": employee},
    )
    assert time.status_code == 201 and time.json()["d"]["PriceFC"] == 49.5


def test_a_put_on_a_project_transaction_keeps_its_amount_true(exact: ExactClient) -> None:
    """Fidelity 82y: a PUT on a time or cost transaction checks its references as POST does, and AmountFC is
    Quantity x PriceFC again (a cost may change its PriceFC; a time transaction's PriceFC follows its Item)."""
    project = _project(exact)
    item = _first(exact, "logistics/Items", "Code eq 'HOSTING'")
    employee = _first(exact, "payroll/Employees", "Code eq '1'")
    cost = exact.post(
        "project/CostTransactions",
        {"Project": project["ID"], "Item": item, "Quantity": 3, "PriceFC": 12.5, "Employee": employee},
    ).json()["d"]
    path = f"project/CostTransactions(guid'{cost['ID']}')"

    assert exact.put(path, {"Quantity": 4, "PriceFC": 10}).status_code == 204
    row = exact.get(path, {"$select": "Quantity,PriceFC,AmountFC"}).json()["d"]
    assert (row["Quantity"], row["PriceFC"], row["AmountFC"]) == (4.0, 10.0, 40.0)
    unknown = exact.put(path, {"Project": UNKNOWN})
    assert unknown.status_code == 500 and _message(unknown) == "Ongeldige referentie: Project"
    cleared = exact.put(path, {"Quantity": None})
    assert cleared.status_code == 400 and _message(cleared) == "Verplicht: Aantal"
    assert exact.get(path, {"$select": "Quantity,AmountFC"}).json()["d"]["Quantity"] == 4.0

    time = exact.post(
        "project/TimeTransactions", {"Project": project["ID"], "Item": item, "Quantity": 2, "Employee": employee}
    ).json()["d"]
    time_path = f"project/TimeTransactions(guid'{time['ID']}')"
    assert exact.put(time_path, {"Quantity": 3, "PriceFC": 1, "AmountFC": 999}).status_code == 204
    row = exact.get(time_path, {"$select": "Quantity,PriceFC,AmountFC"}).json()["d"]
    assert (row["Quantity"], row["PriceFC"], row["AmountFC"]) == (3.0, 49.5, 148.5), "PriceFC is GET-only on time"
    consult = _first(exact, "logistics/Items", "Code eq 'CONSULT'")
    assert exact.put(time_path, {"Item": consult}).status_code == 204
    row = exact.get(time_path, {"$select": "PriceFC,AmountFC"}).json()["d"]
    consult_price = exact.get(f"logistics/Items(guid'{consult}')", {"$select": "StandardSalesPrice"}).json()["d"]
    assert row["PriceFC"] == consult_price["StandardSalesPrice"] and row["AmountFC"] == 3 * row["PriceFC"]


def test_a_project_transaction_takes_only_the_hour_statuses_a_client_may_set(exact: ExactClient) -> None:
    """Fidelity 82y: POST and PUT take HourStatus 1, 2 or 10 (20 Final and the others come from approval); a PUT
    keeps Item and Employee given and moves no entry onto a project blocked for entries."""
    project = _project(exact)
    item = _first(exact, "logistics/Items", "Code eq 'HOSTING'")
    employee = _first(exact, "payroll/Employees", "Code eq '1'")
    body = {"Project": project["ID"], "Item": item, "Quantity": 1, "Employee": employee}
    final = exact.post("project/TimeTransactions", {**body, "HourStatus": 20})
    assert final.status_code == 400 and _message(final) == "Ongeldige waarde: HourStatus (20)"
    entry = exact.post("project/TimeTransactions", {**body, "HourStatus": 10}).json()["d"]
    path = f"project/TimeTransactions(guid'{entry['ID']}')"
    assert exact.put(path, {"HourStatus": 20}).status_code == 400
    assert exact.put(path, {"HourStatus": 2}).status_code == 204
    emptied = exact.put(path, {"Item": None, "Employee": None})
    assert emptied.status_code == 400 and _message(emptied) == "Verplicht: Artikel\r\nVerplicht: Medewerker"
    blocked = _project(exact, Code="BLOCKED-1", BlockEntry=True)
    moved = exact.put(path, {"Project": blocked["ID"]})
    assert moved.status_code == 400 and "geblokkeerd" in _message(moved)
    row = exact.get(path, {"$select": "Project,HourStatus,Item"}).json()["d"]
    assert (row["Project"], row["HourStatus"], row["Item"]) == (project["ID"], 2, item)
