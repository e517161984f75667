"""Purchase invoices (bills) through the API against both sandboxes: Exact books a purchase entry in the mapping's
purchase journal, Xero an approved ACCPAY invoice; each is read back live and from the store after a sync; bad input
is refused naming the field before anything is booked."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unified_models.conftest import CONNECTORS, Connected, mapping_store
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


# Per vendor: a cost account's code, another purchase tax rate, the vendor path that books a bill, its dump table.
VENDOR_BILLS: dict[str, tuple[str, str, str, str]] = {
    "exact": ("4000", "6", ENTRIES, "PurchaseEntries"),
    "xero": ("429", "RRINPUT", "Invoices", "Invoices"),
}


def _vendor_bill(connected: Connected) -> dict[str, Any]:
    code, reduced, _, _ = VENDOR_BILLS[connected.connector_id]
    body = _bill(_supplier(connected), _ledger_account(connected, code))
    body["lines"][1]["tax_rate_id"] = reduced
    return body


def _bookings(connected: Connected) -> int:
    """Calls to the vendor path that books a bill (Xero: any call to Invoices; its checks read other paths)."""
    path = VENDOR_BILLS[connected.connector_id][2]
    return sum(
        count for endpoint, by_status in connected.calls().items() if path in endpoint for count in by_status.values()
    )


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
def test_bad_input_is_refused_naming_the_field_before_any_booking(
    any_mapped: Connected, change: Any, field: str
) -> None:
    body = _vendor_bill(any_mapped)
    change(body, None)
    any_mapped.world.control.reset_counters()

    response = any_mapped.client.post(any_mapped.url("purchase-invoices"), body, format="json")

    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert response.status_code == 422, problem
    if field == "contact_id" and "contact_id" not in body:
        # A required member missing from the request: the request's own validation, no vendor call at all.
        assert problem["code"] == "validation_error", problem
        assert any_mapped.calls() == {}
    else:  # the vendor's rules, found out before any booking (`invalid_input`)
        assert problem["code"] != "validation_error", problem
    assert field in {error["field"] for error in problem["errors"]}, problem
    assert _bookings(any_mapped) == 0  # nothing was booked, not even tried
    assert any_mapped.dump(VENDOR_BILLS[any_mapped.connector_id][3]) == []


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


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: Any) -> Connected:
    """A Xero connection through the real OAuth flow with the default UK mapping."""
    connected = CONNECTORS["xero"](request, workspace, auth_client)
    mapping_store(connected.connection, connected.profile.mapping)
    return connected


def test_a_bill_round_trips_through_the_xero_sandbox_and_the_store(xero: Connected) -> None:
    supplier = _supplier(xero)
    costs = _ledger_account(xero, "429")
    body = _bill(supplier, costs, currency="GBP")
    body["lines"][1]["tax_rate_id"] = "RRINPUT"

    response = xero.client.post(xero.url("purchase-invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    bill = response.json()
    assert bill["contact_id"] == supplier and bill["number"] == "INV-88231" and bill["booking_number"] is None
    assert (bill["issue_date"], bill["due_date"], bill["currency"]) == ("2025-03-03", "2025-04-02", "GBP")
    assert (bill["type"], bill["status"], bill["finalized"], bill["journal_code"]) == ("invoice", "open", True, None)
    # Line 1 takes account 429's default tax type (INPUT2: 20 %); line 2 names RRINPUT (5 %).
    assert [
        (line["ledger_account_id"], line["tax_rate_id"], line["net_amount"], line["tax_amount"])
        for line in bill["lines"]
    ] == [(costs, "INPUT2", "120.00", "24.00"), (costs, "RRINPUT", "40.00", "2.00")]
    assert (bill["net_total"], bill["tax_total"], bill["total"]) == ("160.00", "26.00", "186.00")
    # Xero has no description on a bill: said, not lost silently.
    assert [warning["field"] for warning in bill["warnings"]] == ["description"]

    (stored,) = [row for row in xero.dump("Invoices") if row["Type"] == "ACCPAY"]
    assert stored["InvoiceID"] == bill["remote_id"]
    assert (stored["Contact"]["ContactID"], stored["InvoiceNumber"], stored["Status"]) == (
        supplier,
        "INV-88231",
        "AUTHORISED",
    )
    assert "Reference" not in stored  # Reference is for sales invoices only
    assert [
        (line["AccountCode"], line["LineAmount"], line["TaxType"], line["Description"]) for line in stored["LineItems"]
    ] == [("429", 120.0, "INPUT2", "Papier en toner"), ("429", 40.0, "RRINPUT", "Boeken")]
    assert (stored["Total"], stored["AmountDue"]) == (186.0, 186.0)

    run = services.sync_run_request(connection=xero.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    xero.world.control.reset_counters()
    page = xero.client.get(xero.url("purchase-invoices"), {"contact_id": supplier})
    one = xero.client.get(xero.url(f"purchase-invoices/{bill['id']}"))
    assert xero.calls() == {}  # both from the store

    assert page.status_code == 200 and page.json()["source"] == "store"
    (listed,) = page.json()["results"]
    expected = {name: value for name, value in bill.items() if name not in ("warnings", "mutation_id")}
    assert listed == expected
    assert one.status_code == 200 and one.json() == expected


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda body, accounts: body["lines"][0].update(tax_rate_id="OUTPUT2"), "lines[0].tax_rate_id"),
        (lambda body, accounts: body["lines"][1].update(tax_rate_id="BOGUS"), "lines[1].tax_rate_id"),
        (
            lambda body, accounts: body["lines"][0].update(ledger_account_id=accounts["090"]),
            "lines[0].ledger_account_id",
        ),
        (lambda body, accounts: body["lines"][1].pop("description"), "lines[1].description"),
    ],
    ids=["income-tax-on-expenses", "unknown-tax-type", "bank-account", "no-line-description"],
)
def test_xero_refuses_what_xero_would_refuse_naming_the_field(xero: Connected, change: Any, field: str) -> None:
    response = xero.client.get(xero.url("ledger-accounts"), {"page_size": 200})
    accounts = {row["code"]: row["id"] for row in response.json()["results"]}
    body = _bill(_supplier(xero), accounts["429"])
    body["lines"][1]["tax_rate_id"] = "RRINPUT"
    change(body, accounts)
    xero.world.control.reset_counters()

    response = xero.client.post(xero.url("purchase-invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert _bookings(xero) == 0
    assert [row for row in xero.dump("Invoices") if row["Type"] == "ACCPAY"] == []


def test_a_purchase_credit_note_in_xero_reads_as_a_purchase_invoice_of_type_credit_note(xero: Connected) -> None:
    supplier = _supplier(xero)
    line = {"Description": "Returned toner", "Quantity": 1, "LineAmount": 30, "AccountCode": "429"}
    element = {"Type": "ACCPAYCREDIT", "Contact": {"ContactID": supplier}, "Status": "AUTHORISED", "LineItems": [line]}
    made = xero.client.post(
        xero.url("passthrough"),
        {"method": "PUT", "path": "CreditNotes", "body": {"CreditNotes": [element]}},
        format="json",
    )
    assert made.status_code == 200 and made.json()["status"] == 200, made.json()
    credit_note_id = made.json()["body"]["CreditNotes"][0]["CreditNoteID"]
    body = _bill(supplier, _ledger_account(xero, "429"))
    body["lines"][1]["tax_rate_id"] = "RRINPUT"
    bill = xero.client.post(xero.url("purchase-invoices"), body, format="json").json()

    listed = xero.client.get(xero.url("purchase-invoices"), {"contact_id": supplier}).json()["results"]
    one = xero.client.get(xero.url(f"purchase-invoices/{credit_note_id}")).json()

    assert [(row["id"], row["type"]) for row in listed] == [(bill["id"], "invoice"), (credit_note_id, "credit_note")]
    assert (one["type"], one["status"], one["total"], one["contact_id"]) == ("credit_note", "open", "36.00", supplier)
    run = services.sync_run_request(connection=xero.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    xero.world.control.reset_counters()
    stored = xero.client.get(xero.url("purchase-invoices")).json()
    assert xero.calls() == {} and stored["source"] == "store"
    assert sorted(row["type"] for row in stored["results"]) == ["credit_note", "invoice"]
