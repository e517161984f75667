"""Deleting time and cost entries through the API against the Exact sandbox: the entry leaves Exact and the store at
once (reads answer 404 without a sync run), the answer names the record and its recorded write and is replayed for
the same Idempotency-Key; an id Exact does not have (or no longer has) is 404, a malformed one is refused before any
call; a dry run shows the DELETE without sending it; a delete whose answer was lost is looked up and ends as
succeeded without a second DELETE; Xero, without projects in its accounting API, answers 405."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from events.models import AuditEvent, AuditOutcome, Event
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from tests.unified_models.test_api_projects import NOWHERE, _create_project, _employees, _entry_body, _items, _sync
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

TIME_TRANSACTIONS = "/api/v1/*/project/TimeTransactions*"


def _book(mapped: Connected, customer: str, resource: str) -> dict[str, Any]:
    """One time entry (2.5 hours) or cost entry (3 x hosting) on a new project, as the API answered it."""
    project = _create_project(mapped, customer)
    employee = _employees(mapped)["1"]
    if resource == "time-entries":
        body = _entry_body(project["id"], _items(mapped)["CONSULT"], employee)
    else:
        body = {"project_id": project["id"], "item_id": _items(mapped)["HOSTING"], "employee_id": employee}
        body["quantity"] = "3"
    response = mapped.client.post(mapped.url(resource), body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def _delete(mapped: Connected, path: str, key: str | None = None) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return mapped.client.delete(mapped.url(path), **headers)


def _deletes_sent(mapped: Connected) -> int:
    return sum(
        1
        for request in mapped.world.control.requests()
        if request["method"] == "DELETE" and "Transactions" in request["path"]
    )


@pytest.mark.parametrize(
    ("resource", "dumped"), [("time-entries", "TimeTransactions"), ("cost-entries", "CostTransactions")]
)
def test_an_entry_deleted_through_the_api_leaves_exact_and_the_store_at_once(
    mapped: Connected, first_customer_id: str, resource: str, dumped: str
) -> None:
    entry = _book(mapped, first_customer_id, resource)
    _sync(mapped, resource)  # the store has a copy: reads come from it
    assert [row["ID"] for row in mapped.dump(dumped)] == [entry["remote_id"]]

    response = _delete(mapped, f"{resource}/{entry['id']}", key=f"delete-{resource}")

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer == {"id": entry["id"], "deleted": True, "mutation_id": answer["mutation_id"]}
    assert mapped.dump(dumped) == []
    mapped.world.control.reset_counters()
    assert mapped.client.get(mapped.url(f"{resource}/{entry['id']}")).status_code == 404
    listed = mapped.client.get(mapped.url(resource))
    assert listed.json()["source"] == "store" and listed.json()["results"] == []
    assert mapped.calls() == {}, "both answered from the store, without a sync run"
    mutation = Mutation.objects.get(pk=answer["mutation_id"])
    assert (mutation.operation, mutation.status, mutation.target_id) == (
        "delete",
        MutationStatus.SUCCEEDED,
        entry["id"],
    )
    assert mutation.remote_id == entry["remote_id"]
    (succeeded,) = Event.objects.filter(type="mutation.succeeded", data__mutation_id=answer["mutation_id"])
    assert succeeded.data["operation"] == "delete" and succeeded.data["resource"] == resource

    # The same key: the first answer again, nothing sent. A new key: Exact no longer has it (404), recorded as failed.
    replay = _delete(mapped, f"{resource}/{entry['id']}", key=f"delete-{resource}")
    assert replay.status_code == 200 and replay.json() == answer and replay["Idempotent-Replayed"] == "true"
    assert mapped.calls() == {}
    again = _delete(mapped, f"{resource}/{entry['id']}", key=f"delete-{resource}-again")
    assert again.status_code == 404 and again.json()["code"] == "not_found", again.json()
    assert Mutation.objects.get(idempotency_key=f"delete-{resource}-again").status == MutationStatus.FAILED


def test_an_unknown_entry_is_404_and_a_malformed_id_sends_nothing(mapped: Connected, first_customer_id: str) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    mapped.world.control.reset_counters()

    unknown = _delete(mapped, f"time-entries/{NOWHERE}")
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found", unknown.json()
    assert _deletes_sent(mapped) == 1
    malformed = _delete(mapped, "time-entries/not-an-id")
    assert malformed.status_code == 404 and malformed.json()["code"] == "not_found", malformed.json()
    assert _deletes_sent(mapped) == 1, "a malformed id never reaches Exact"
    assert [row["ID"] for row in mapped.dump("TimeTransactions")] == [entry["remote_id"]]


def test_an_id_in_capitals_deletes_the_entry_and_the_answer_gives_its_id_as_reads_do(
    mapped: Connected, first_customer_id: str
) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    _sync(mapped, "time-entries")

    response = _delete(mapped, f"time-entries/{entry['id'].upper()}")

    assert response.status_code == 200, response.json()
    assert response.json()["id"] == entry["id"]
    assert Mutation.objects.get(pk=response.json()["mutation_id"]).remote_id == entry["remote_id"]
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).status_code == 404
    assert mapped.client.get(mapped.url("time-entries")).json()["results"] == []


def test_an_entry_exact_no_longer_has_is_404_and_leaves_the_copy_too(mapped: Connected, first_customer_id: str) -> None:
    """Deleted in Exact itself (no webhook came): the API's delete is Exact's 404, and the copy stops serving it."""
    entry = _book(mapped, first_customer_id, "time-entries")
    _sync(mapped, "time-entries")
    answer = mapped.client.post(
        mapped.url("passthrough"),
        {"method": "DELETE", "path": f"project/TimeTransactions(guid'{entry['remote_id']}')"},
        format="json",
    )
    assert answer.status_code == 200 and answer.json()["status"] == 204, answer.json()
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).status_code == 200, "the copy still has it"

    response = _delete(mapped, f"time-entries/{entry['id']}")

    assert response.status_code == 404 and response.json()["code"] == "not_found", response.json()
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).status_code == 404


def test_an_id_longer_than_any_record_id_is_404_and_nothing_is_recorded(mapped: Connected) -> None:
    mapped.world.control.reset_counters()
    for method in ("delete", "patch"):
        resource = "time-entries" if method == "delete" else "contacts"
        response = getattr(mapped.client, method)(mapped.url(f"{resource}/{'a' * 101}"), {}, format="json")
        assert response.status_code == 404 and response.json()["code"] == "not_found", response.json()
    assert not Mutation.objects.exists() and mapped.calls() == {}


def test_a_dry_run_shows_the_delete_without_sending_it(mapped: Connected, first_customer_id: str) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    mapped.world.control.clear_requests()

    response = mapped.client.delete(mapped.url(f"time-entries/{entry['id']}") + "?dry_run=true")

    assert response.status_code == 200, response.json()
    (request,) = response.json()["vendor_requests"]
    assert request["method"] == "DELETE"
    assert request["path"] == f"project/TimeTransactions(guid'{entry['remote_id']}')" and request["body"] is None
    assert _deletes_sent(mapped) == 0 and len(mapped.dump("TimeTransactions")) == 1
    assert not Mutation.objects.filter(operation="delete").exists()


def test_a_delete_whose_answer_was_lost_is_looked_up_and_not_sent_again(
    mapped: Connected, first_customer_id: str
) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    mapped.world.control.add_fault(kind="drop_after_apply", pattern=TIME_TRANSACTIONS, method="DELETE", times=1)
    mapped.world.control.clear_requests()

    lost = _delete(mapped, f"time-entries/{entry['id']}", key="lost-delete")

    assert lost.status_code == 503, lost.json()
    mutation = Mutation.objects.get(idempotency_key="lost-delete")
    assert mutation.status == MutationStatus.IN_DOUBT
    assert mapped.dump("TimeTransactions") == [], "Exact applied it; only the answer was lost"
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now() - timedelta(seconds=1))

    retried = _delete(mapped, f"time-entries/{entry['id']}", key="lost-delete")

    assert retried.status_code == 200, retried.json()
    assert retried.json() == {"id": entry["id"], "deleted": True, "mutation_id": str(mutation.pk)}
    assert _deletes_sent(mapped) == 1, "looked up (gone), not deleted twice"
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED
    assert list(mutation.attempt_log.values_list("error_code", flat=True))[-1] == "recovered"
    (recovered,) = AuditEvent.objects.filter(mutation_id=mutation.pk, outcome=AuditOutcome.RECOVERED)
    assert recovered.remote_id == entry["remote_id"] and "Not found at the vendor" in recovered.vendor_message


def test_xero_answers_405_to_a_delete_of_entries(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    for resource in ("time-entries", "cost-entries"):
        response = auth_client.delete(f"/api/v1/connections/{connection.pk}/{resource}/{NOWHERE}")
        assert response.status_code == 405, response.json()
        assert response.json()["code"] == "operation_not_supported" and "Xero" in response.json()["detail"]
    assert not Mutation.objects.exists(), "refused before anything is recorded"


# ---------------------------------------------------------------------------------------------- changes


def test_hours_are_changed_in_exact_and_in_the_copy(mapped: Connected, first_customer_id: str) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    _sync(mapped, "time-entries")
    mapped.world.control.clear_requests()

    response = mapped.client.patch(
        mapped.url(f"time-entries/{entry['id']}"),
        {"hours": "3.25", "description": "Ontwerp en review", "status": "submitted", "date": "2025-03-06"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="change-hours",
    )

    assert response.status_code == 200, response.json()
    changed = response.json()
    assert (changed["hours"], changed["description"], changed["status"], changed["date"]) == (
        "3.25",
        "Ontwerp en review",
        "submitted",
        "2025-03-06",
    )
    assert changed["project_id"] == entry["project_id"] and changed["item_id"] == entry["item_id"]
    (row,) = mapped.dump("TimeTransactions")
    assert (row["Quantity"], row["Notes"], row["HourStatus"]) == (3.25, "Ontwerp en review", 10)
    puts = [r for r in mapped.world.control.requests() if r["method"] == "PUT" and "TimeTransactions" in r["path"]]
    assert len(puts) == 1
    mapped.world.control.reset_counters()
    read = mapped.client.get(mapped.url(f"time-entries/{entry['id']}"))
    assert read["X-Data-Source"] == "store" and read.json()["hours"] == "3.25"
    assert mapped.calls() == {}

    # The same values again: nothing to change, so nothing is sent.
    mapped.world.control.clear_requests()
    again = mapped.client.patch(mapped.url(f"time-entries/{entry['id']}"), {"hours": "3.25"}, format="json")
    assert again.status_code == 200 and again.json()["hours"] == "3.25"
    assert not [r for r in mapped.world.control.requests() if r["method"] == "PUT"]


def test_a_cost_entrys_quantity_and_price_change(mapped: Connected, first_customer_id: str) -> None:
    entry = _book(mapped, first_customer_id, "cost-entries")

    response = mapped.client.patch(
        mapped.url(f"cost-entries/{entry['id']}"), {"quantity": "4", "unit_price": "12.50"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["quantity"], response.json()["unit_price"], response.json()["amount"]) == (
        "4.0",
        "12.5",
        "50.00",
    )
    (row,) = mapped.dump("CostTransactions")
    assert (row["Quantity"], row["PriceFC"]) == (4.0, 12.5)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"project_id": NOWHERE}, "project_id"),
        ({"item_id": NOWHERE}, "item_id"),
        ({"employee_id": NOWHERE}, "employee_id"),
        ({"colour": "blue"}, "colour"),
        ({"hours": "0"}, "hours"),
        ({"hours": "25"}, "hours"),
        ({"status": "final"}, "status"),
    ],
    ids=["project", "item", "employee", "unknown-field", "zero-hours", "more-than-a-day", "status-final"],
)
def test_a_change_exact_cannot_make_is_refused_naming_the_field(
    mapped: Connected, first_customer_id: str, body: dict[str, Any], field: str
) -> None:
    entry = _book(mapped, first_customer_id, "time-entries")
    mapped.world.control.reset_counters()

    response = mapped.client.patch(mapped.url(f"time-entries/{entry['id']}"), body, format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "validation_error"
    assert [error["field"] for error in response.json()["errors"]] == [field], response.json()
    assert mapped.calls() == {} and not Mutation.objects.filter(operation="update").exists()
    (row,) = mapped.dump("TimeTransactions")
    assert row["Quantity"] == 2.5


def test_xero_answers_405_to_a_change_of_entries(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    response = auth_client.patch(
        f"/api/v1/connections/{connection.pk}/time-entries/{NOWHERE}", {"hours": "1"}, format="json"
    )
    assert response.status_code == 405 and response.json()["code"] == "operation_not_supported", response.json()
