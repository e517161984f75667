"""Purchase invoices (bills) through the API against the Exact sandbox: booked as a purchase entry in the mapping's
purchase journal, read back live and from the store after a sync; bad input is refused naming the field before
anything is booked; Xero declares the resource unsupported."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected, mapping_store
from unified_models.models import Mutation
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

ENTRIES = "purchaseentry/PurchaseEntries"


def _supplier(connected: Connected) -> str:
    response = connected.client.post(
        connected.url("contacts"), {"name": "Kantoorgigant B.V.", "is_supplier": True}, format="json"
    )
    assert response.status_code == 201, response.json()
    return str(response.json()["id"])


def _ledger_account(connected: Connected, code: str) -> str:
    response = connected.client.get(connected.url("ledger-accounts"), {"page_size": 200})
    assert response.status_code == 200, response.json()
    (account,) = [row for row in response.json()["results"] if row["code"] == code]
    return str(account["id"])


def _bill(supplier: str, cost_account: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contact_id": supplier,
        "number": "INV-88231",
        "issue_date": "2025-03-03",
        "due_date": "2025-04-02",
        "description": "Kantoorartikelen maart",
        "lines": [
            {"description": "Papier en toner", "ledger_account_id": cost_account, "net_amount": "120.00"},
            {
                "description": "Boeken",
                "ledger_account_id": cost_account,
                "tax_rate_id": "6",
                "net_amount": "40.00",
            },
        ],
    }
    body.update(overrides)
    return body


def _posts(connected: Connected) -> int:
    return sum(
        count
        for endpoint, by_status in connected.calls().items()
        if ENTRIES in endpoint
        for count in by_status.values()
    )


def test_a_bill_round_trips_through_the_sandbox_and_the_store(mapped: Connected) -> None:
    supplier = _supplier(mapped)
    costs = _ledger_account(mapped, "4000")

    response = mapped.client.post(mapped.url("purchase-invoices"), _bill(supplier, costs), format="json")

    assert response.status_code == 201, response.json()
    bill = response.json()
    assert bill["contact_id"] == supplier and bill["number"] == "INV-88231" and bill["journal_code"] == "60"
    assert (bill["issue_date"], bill["due_date"]) == ("2025-03-03", "2025-04-02")
    assert (bill["type"], bill["status"], bill["finalized"], bill["currency"]) == ("invoice", "open", False, "EUR")
    # Line 1 takes G/L 4000's default VAT code (5: 21 % purchase); line 2 names code 6 (9 %).
    assert [(line["tax_rate_id"], line["net_amount"], line["tax_amount"]) for line in bill["lines"]] == [
        ("5", "120.00", "25.20"),
        ("6", "40.00", "3.60"),
    ]
    assert (bill["net_total"], bill["tax_total"], bill["total"]) == ("160.00", "28.80", "188.80")
    assert bill["booking_number"]

    (entry,) = mapped.dump("PurchaseEntries")
    assert entry["EntryID"] == bill["remote_id"]
    assert (entry["Supplier"], entry["Journal"], entry["YourRef"], entry["Type"], entry["Status"]) == (
        supplier,
        "60",
        "INV-88231",
        30,
        20,
    )
    assert entry["Description"] == "Kantoorartikelen maart" and entry["AmountFC"] == 188.8
    lines = sorted(mapped.dump("PurchaseEntryLines"), key=lambda line: line["LineNumber"])
    assert [(line["GLAccount"], line["AmountFC"], line["VATCode"]) for line in lines] == [
        (costs, 120.0, "5"),
        (costs, 40.0, "6"),
    ]
    (payable,) = mapped.dump("Payments")
    assert payable["EntryID"] == bill["remote_id"] and payable["Account"] == supplier

    run = services.sync_run_request(connection=mapped.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    mapped.world.control.reset_counters()
    page = mapped.client.get(mapped.url("purchase-invoices"), {"contact_id": supplier})
    one = mapped.client.get(mapped.url(f"purchase-invoices/{bill['id']}"))
    assert mapped.calls() == {}  # both from the store

    assert page.status_code == 200 and page.json()["source"] == "store"
    (listed,) = page.json()["results"]
    expected = {name: value for name, value in bill.items() if name not in ("warnings", "mutation_id")}
    assert listed == expected
    assert one.status_code == 200 and one.json() == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body, _: body.pop("contact_id"), "contact_id"),
        (lambda body, _: body.update(contact_id="2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"), "contact_id"),
        (
            lambda body, _: body["lines"][1].update(ledger_account_id="2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"),
            "lines[1].ledger_account_id",
        ),
        (lambda body, _: body["lines"][0].update(ledger_account_id="4000"), "lines[0].ledger_account_id"),
    ],
    ids=["missing-supplier", "unknown-supplier", "unknown-gl-account", "not-an-id"],
)
def test_bad_input_is_refused_naming_the_field_before_any_booking(mapped: Connected, change: Any, field: str) -> None:
    body = _bill(_supplier(mapped), _ledger_account(mapped, "4000"))
    change(body, None)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("purchase-invoices"), body, format="json")

    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    if field == "contact_id" and "contact_id" not in body:
        # A required member missing from the request: the request's own validation (400), no vendor call at all.
        assert response.status_code == 400, problem
        assert mapped.calls() == {}
    else:
        assert response.status_code == 422, problem
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert _posts(mapped) == 0  # nothing was booked, not even tried
    assert mapped.dump("PurchaseEntries") == []


def test_without_a_purchase_journal_the_mapping_is_named(connected: Connected) -> None:
    mapping_store(connected.connection, {"default_purchase_journal": None})
    body = _bill(_supplier(connected), _ledger_account(connected, "4000"))
    connected.world.control.reset_counters()

    response = connected.client.post(connected.url("purchase-invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "mapping_missing"
    assert connected.calls() == {}
    assert not Mutation.objects.filter(resource="purchase-invoices", status="succeeded").exists()


def test_the_sandbox_refuses_what_exact_refuses(mapped: Connected) -> None:
    """Passthrough straight to the sandbox: Exact's own rules for a purchase entry (fidelity rows)."""
    supplier = _supplier(mapped)
    costs = _ledger_account(mapped, "4000")

    def post(body: dict[str, Any]) -> Any:
        response = mapped.client.post(
            mapped.url("passthrough"), {"method": "POST", "path": ENTRIES, "body": body}, format="json"
        )
        assert response.status_code == 200, response.json()
        return response.json()

    no_lines = post({"Supplier": supplier, "Journal": "60"})
    assert no_lines["status"] == 400 and "Boekingsregels" in str(no_lines["body"])
    sales_journal = post(
        {"Supplier": supplier, "Journal": "70", "PurchaseEntryLines": [{"GLAccount": costs, "AmountFC": 10}]}
    )
    assert sales_journal["status"] == 500 and "Journals" in str(sales_journal["body"])
    no_amount = post({"Supplier": supplier, "Journal": "60", "PurchaseEntryLines": [{"GLAccount": costs}]})
    assert no_amount["status"] == 400 and "Bedrag" in str(no_amount["body"])
    assert mapped.dump("PurchaseEntries") == []


def test_xero_declares_purchase_invoices_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    url = f"/api/v1/connections/{connection.pk}/purchase-invoices"

    listed = auth_client.get(url)
    body = {"contact_id": "x", "lines": [{"ledger_account_id": "y", "net_amount": "1.00"}]}
    created = auth_client.post(url, body, format="json")

    for response in (listed, created):
        assert response.status_code == 405, response.json()
        assert response.json()["code"] == "operation_not_supported"
        assert "xero" in response.json()["detail"].lower()
