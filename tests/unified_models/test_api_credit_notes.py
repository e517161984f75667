"""Sales credit notes through the API against both sandboxes: a unified invoice of type credit_note lands as the
vendor's credit note (Exact: a sales invoice of type 8021; Xero: an ACCRECCREDIT credit note, kept apart from the
invoices), is listed after the invoices and retrieved by id, and comes back from the store after a sync. Purchase
credit notes Xero holds are read as purchase invoices of type credit_note."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from tests.unified_models.conftest import CONNECTORS, Connected, _first_contact_id, mapping_store
from tests.unified_models.test_api_purchase_invoices import _vendor_bill
from unified_models.models import Mutation
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)


def _stored_credit_note(connected: Connected, remote_id: str) -> dict[str, Any]:
    if connected.connector_id == "exact":
        (row,) = [row for row in connected.dump("SalesInvoices") if row["InvoiceID"] == remote_id]
        assert row["Type"] == 8021
        return row
    (row,) = [row for row in connected.dump("CreditNotes") if row["CreditNoteID"] == remote_id]
    assert (row["Type"], row["Status"]) == ("ACCRECCREDIT", "AUTHORISED")
    return row


def test_a_credit_note_round_trips_next_to_the_invoices(any_mapped: Connected, any_customer_id: str) -> None:
    invoice = any_mapped.client.post(
        any_mapped.url("invoices"), any_mapped.invoice_body(any_customer_id, reference="ORDER-1"), format="json"
    )
    assert invoice.status_code == 201, invoice.json()
    body = any_mapped.invoice_body(any_customer_id, type="credit_note", reference="RETURN-1")

    response = any_mapped.client.post(any_mapped.url("invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    credit_note = response.json()
    assert (credit_note["type"], credit_note["contact_id"], credit_note["reference"]) == (
        "credit_note",
        any_customer_id,
        "RETURN-1",
    )
    # Amounts stay positive: the type says which way the money goes.
    assert credit_note["total"] == f"{any_mapped.invoice_total():.2f}"
    assert all(float(line["net_amount"]) > 0 for line in credit_note["lines"])
    stored = _stored_credit_note(any_mapped, credit_note["remote_id"])
    reference_key = any_mapped.profile.invoice_reference_key
    assert stored[reference_key] == "RETURN-1"

    one = any_mapped.client.get(any_mapped.url(f"invoices/{credit_note['id']}"))
    assert one.status_code == 200, one.json()
    assert (one.json()["type"], one.json()["total"]) == ("credit_note", credit_note["total"])
    # One page at a time: the invoice, then the credit note (Xero reads them from two endpoints).
    first = any_mapped.client.get(any_mapped.url("invoices"), {"page_size": 1}).json()
    assert first["next"], first
    seen = [row["id"] for row in first["results"]]
    following = first["next"]
    while following:
        page = any_mapped.client.get(following).json()
        seen += [row["id"] for row in page["results"]]
        following = page["next"]
    assert sorted(seen) == sorted([invoice.json()["id"], credit_note["id"]])

    run = services.sync_run_request(connection=any_mapped.connection, resource="invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    any_mapped.world.control.reset_counters()
    from_store = any_mapped.client.get(any_mapped.url(f"invoices/{credit_note['id']}"))
    assert any_mapped.calls() == {}
    assert from_store.status_code == 200, from_store.json()
    assert (from_store.json()["type"], from_store.json()["total"]) == ("credit_note", credit_note["total"])


# ---------------------------------------------------------------------------------------- purchase credit notes


def test_a_purchase_credit_note_round_trips_through_both_sandboxes(any_mapped: Connected) -> None:
    """A purchase invoice of type credit_note: Exact books a purchase entry with negative amounts (Type 31, its
    payable negative too), Xero an approved ACCPAYCREDIT credit note with positive ones; read back as posted."""
    body = _vendor_bill(any_mapped)
    body.update(type="credit_note", number="CN-2025-007")

    response = any_mapped.client.post(any_mapped.url("purchase-invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    note = response.json()
    assert (note["type"], note["number"], note["contact_id"]) == ("credit_note", "CN-2025-007", body["contact_id"])
    assert [line["net_amount"] for line in note["lines"]] == ["120.00", "40.00"]  # positive, like an invoice's
    total = float(note["total"])
    assert total > 160
    if any_mapped.connector_id == "exact":
        (entry,) = any_mapped.dump("PurchaseEntries")
        assert (entry["EntryID"], entry["Type"], entry["YourRef"]) == (note["remote_id"], 31, "CN-2025-007")
        assert entry["AmountFC"] == -total
        lines = sorted(any_mapped.dump("PurchaseEntryLines"), key=lambda line: line["LineNumber"])
        assert [(line["AmountFC"], line["Type"]) for line in lines] == [(-120.0, 31), (-40.0, 31)]
        (payable,) = any_mapped.dump("Payments")
        assert (payable["EntryID"], payable["AmountFC"], payable["TransactionType"]) == (note["remote_id"], -total, 31)
    else:
        (row,) = [row for row in any_mapped.dump("CreditNotes") if row["CreditNoteID"] == note["remote_id"]]
        assert (row["Type"], row["Status"], row["CreditNoteNumber"], row["Total"]) == (
            "ACCPAYCREDIT",
            "AUTHORISED",
            "CN-2025-007",
            total,
        )
        assert [row for row in any_mapped.dump("Invoices") if row["Type"] == "ACCPAY"] == []

    one = any_mapped.client.get(any_mapped.url(f"purchase-invoices/{note['id']}"))
    assert one.status_code == 200, one.json()
    assert (one.json()["type"], one.json()["total"]) == ("credit_note", note["total"])
    run = services.sync_run_request(connection=any_mapped.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    any_mapped.world.control.reset_counters()
    from_store = any_mapped.client.get(any_mapped.url(f"purchase-invoices/{note['id']}"))
    assert any_mapped.calls() == {}
    expected = {name: value for name, value in note.items() if name not in ("warnings", "mutation_id")}
    assert from_store.status_code == 200 and from_store.json() == expected


def test_an_unknown_purchase_document_type_is_refused_before_any_call(any_mapped: Connected) -> None:
    body = _vendor_bill(any_mapped)
    body["type"] = "refund"
    any_mapped.world.control.reset_counters()

    response = any_mapped.client.post(any_mapped.url("purchase-invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert "type" in {error["field"] for error in response.json()["errors"]}
    assert any_mapped.calls() == {}


# ---------------------------------------------------------------------------------------- the corrected invoice


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: Any) -> Connected:
    connected = CONNECTORS["xero"](request, workspace, auth_client)
    mapping_store(connected.connection, connected.profile.mapping)
    return connected


def _xero_credit_note(connected: Connected, remote_id: str) -> dict[str, Any]:
    (row,) = [row for row in connected.dump("CreditNotes") if row["CreditNoteID"] == remote_id]
    return row


def test_a_xero_credit_note_is_allocated_to_the_invoice_it_corrects(xero: Connected) -> None:
    customer = _first_contact_id(xero)
    invoice = xero.client.post(xero.url("invoices"), xero.invoice_body(customer, reference="ORDER-9"), format="json")
    assert invoice.status_code == 201, invoice.json()
    body = xero.invoice_body(customer, type="credit_note", reference="RETURN-9")
    body["lines"] = body["lines"][:1]  # less than the invoice: part of it stays due
    body["corrects_invoice_id"] = invoice.json()["id"]

    response = xero.client.post(xero.url("invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    note = response.json()
    assert (note["type"], note["corrects_invoice_id"], note["status"]) == ("credit_note", invoice.json()["id"], "paid")
    stored = _xero_credit_note(xero, note["remote_id"])
    assert stored["RemainingCredit"] == 0 and stored["Status"] == "PAID"
    (corrected,) = [row for row in xero.dump("Invoices") if row["InvoiceID"] == invoice.json()["remote_id"]]
    assert corrected["AmountCredited"] == float(note["total"])
    assert corrected["AmountDue"] == round(float(invoice.json()["total"]) - float(note["total"]), 2) > 0

    run = services.sync_run_request(connection=xero.connection, resource="invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    xero.world.control.reset_counters()
    from_store = xero.client.get(xero.url(f"invoices/{note['id']}"))
    assert xero.calls() == {}
    assert from_store.json()["corrects_invoice_id"] == invoice.json()["id"]
    assert xero.client.get(xero.url(f"invoices/{invoice.json()['id']}")).json()["corrects_invoice_id"] is None


def test_a_xero_purchase_credit_note_larger_than_the_amount_due_leaves_the_rest_as_credit(xero: Connected) -> None:
    full = _vendor_bill(xero)  # 186.00 with both lines
    bill_body = {**full, "lines": full["lines"][:1]}  # 120.00 + 20 % = 144.00 due
    bill = xero.client.post(xero.url("purchase-invoices"), bill_body, format="json")
    assert bill.status_code == 201, bill.json()
    body = {**full, "type": "credit_note", "number": "CN-1", "corrects_invoice_id": bill.json()["id"]}

    response = xero.client.post(xero.url("purchase-invoices"), body, format="json")

    assert response.status_code == 201, response.json()
    note = response.json()
    assert (note["corrects_invoice_id"], note["total"], note["status"]) == (
        bill.json()["id"],
        "186.00",
        "partially_paid",
    )
    stored = _xero_credit_note(xero, note["remote_id"])
    assert (stored["Type"], stored["RemainingCredit"]) == ("ACCPAYCREDIT", 42.0)
    assert [a["Amount"] for a in stored["Allocations"]] == [144.0]
    (settled,) = [row for row in xero.dump("Invoices") if row["InvoiceID"] == bill.json()["remote_id"]]
    assert (settled["Status"], settled["AmountDue"]) == ("PAID", 0)


def _credit_note_puts(connected: Connected) -> int:
    return sum(
        count
        for endpoint, by_status in connected.calls().items()
        if "CreditNotes" in endpoint or "SalesInvoices" in endpoint or "PurchaseEntries" in endpoint
        for count in by_status.values()
    )


def test_a_link_on_an_invoice_is_refused_before_any_call(any_mapped: Connected, any_customer_id: str) -> None:
    body = any_mapped.invoice_body(any_customer_id, corrects_invoice_id="2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b")
    any_mapped.world.control.reset_counters()

    response = any_mapped.client.post(any_mapped.url("invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert [error["field"] for error in response.json()["errors"]] == ["corrects_invoice_id"]
    assert any_mapped.calls() == {}


@pytest.mark.parametrize("resource", ["invoices", "purchase-invoices"])
def test_exact_keeps_no_link_and_says_so_before_any_call(mapped: Connected, resource: str) -> None:
    invoice = mapped.client.post(mapped.url("invoices"), mapped.invoice_body(_first_contact_id(mapped)), format="json")
    assert invoice.status_code == 201, invoice.json()
    if resource == "invoices":
        body = mapped.invoice_body(_first_contact_id(mapped), type="credit_note")
    else:
        body = {**_vendor_bill(mapped), "type": "credit_note"}
    body["corrects_invoice_id"] = invoice.json()["id"]
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url(resource), body, format="json")

    assert response.status_code == 422, response.json()
    problem = response.json()
    assert [error["field"] for error in problem["errors"]] == ["corrects_invoice_id"], problem
    assert "Exact" in str(problem)
    assert mapped.calls() == {}


@pytest.mark.parametrize("case", ["other-contact", "draft", "a-bill", "unknown", "not-an-id", "draft-credit-note"])
def test_xero_refuses_an_invoice_it_could_not_allocate_to_before_creating_the_credit_note(
    xero: Connected, case: str
) -> None:
    customer = _first_contact_id(xero)
    other = xero.client.post(xero.url("contacts"), {"name": "Someone Else Ltd"}, format="json").json()["id"]
    invoice_of = {"other-contact": other, "draft": customer}
    target: str
    if case in invoice_of:
        extra = {"status": "draft"} if case == "draft" else {}
        made = xero.client.post(xero.url("invoices"), xero.invoice_body(invoice_of[case], **extra), format="json")
        assert made.status_code == 201, made.json()
        target = made.json()["id"]
    elif case == "a-bill":
        bill = {**_vendor_bill(xero), "contact_id": customer}
        target = xero.client.post(xero.url("purchase-invoices"), bill, format="json").json()["id"]
    elif case == "draft-credit-note":
        made = xero.client.post(xero.url("invoices"), xero.invoice_body(customer), format="json")
        target = made.json()["id"]
    else:
        target = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b" if case == "unknown" else "INV-1"
    body = {**xero.invoice_body(customer, type="credit_note"), "corrects_invoice_id": target}
    if case == "draft-credit-note":
        body["status"] = "draft"  # Xero allocates only an approved credit note
    xero.world.control.reset_counters()

    response = xero.client.post(xero.url("invoices"), body, format="json")

    assert response.status_code == 422, response.json()
    assert [error["field"] for error in response.json()["errors"]] == ["corrects_invoice_id"]
    assert _credit_note_puts(xero) == 0 and xero.dump("CreditNotes") == []


def test_a_draft_xero_credit_note_is_updated_then_approved(xero: Connected) -> None:
    """Xero changes a credit note at its own path (POST CreditNotes/{id}): the reference and due date through PATCH,
    DRAFT -> AUTHORISED through finalize; what Xero fixes is refused naming the field, with no call."""
    customer = _first_contact_id(xero)
    body = xero.invoice_body(customer, type="credit_note", status="draft", reference="RETURN-DRAFT")
    created = xero.client.post(xero.url("invoices"), body, format="json")
    assert created.status_code == 201, created.json()
    note = created.json()
    assert (note["type"], note["status"], note["finalized"]) == ("credit_note", "draft", False)

    updated = xero.client.patch(xero.url(f"invoices/{note['id']}"), {"reference": "RETURN-42"}, format="json")

    assert updated.status_code == 200, updated.json()
    assert (updated.json()["type"], updated.json()["reference"]) == ("credit_note", "RETURN-42")
    stored = _xero_credit_note(xero, note["remote_id"])
    assert (stored["Reference"], stored["Status"]) == ("RETURN-42", "DRAFT")
    xero.world.control.reset_counters()
    refused = xero.client.patch(xero.url(f"invoices/{note['id']}"), {"currency": "USD"}, format="json")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "currency"
    assert xero.calls() == {}

    approved = xero.client.post(
        xero.url(f"invoices/{note['id']}/finalize"), format="json", HTTP_IDEMPOTENCY_KEY="approve-cn"
    )

    assert approved.status_code == 200, approved.json()
    assert (approved.json()["type"], approved.json()["finalized"], approved.json()["status"]) == (
        "credit_note",
        True,
        "open",
    )
    assert _xero_credit_note(xero, note["remote_id"])["Status"] == "AUTHORISED"
    assert [row for row in xero.dump("Invoices") if row["Type"] == "ACCREC"] == []  # nothing landed among invoices


def test_an_exact_purchase_credit_note_whose_answer_was_lost_is_found_not_booked_twice(mapped: Connected) -> None:
    """Exact takes no idempotency key: a retry of a lost purchase entry POST looks for a recent entry of the
    supplier with the same number, type and lines (the credit note's amounts negated) before sending again."""
    body = {**_vendor_bill(mapped), "type": "credit_note", "number": "CN-LOST"}
    bill = {**body, "type": "invoice"}  # the same supplier, number and lines, but an invoice: not the lost write
    assert mapped.client.post(mapped.url("purchase-invoices"), bill, format="json").status_code == 201
    mapped.world.control.add_fault(
        kind="drop_after_apply", pattern="/api/v1/*/purchaseentry/PurchaseEntries", method="POST", times=1
    )
    lost = mapped.client.post(mapped.url("purchase-invoices"), body, format="json")
    assert lost.status_code == 503 and lost.json()["mutation_status"] == "in_doubt", lost.json()
    mutation_id = str(lost.json()["mutation_id"])
    Mutation.objects.filter(pk=mutation_id).update(reconcile_after=timezone.now())  # the settle time has passed
    mapped.world.control.reset_counters()

    retried = mapped.client.post(f"/api/v1/mutations/{mutation_id}/retry")

    assert retried.status_code == 200, retried.json()
    assert retried.json()["status"] == "succeeded"
    assert [a["error_code"] for a in retried.json()["attempt_log"]] == ["vendor_unavailable", "recovered"]
    entries = mapped.dump("PurchaseEntries")
    assert sorted(entry["Type"] for entry in entries) == [30, 31], "found, not booked again"
    (note,) = [entry for entry in entries if entry["Type"] == 31]
    assert retried.json()["remote_id"] == note["EntryID"]
    assert "201" not in mapped.calls().get("purchaseentry/PurchaseEntries", {})


def test_a_finalized_exact_credit_note_books_a_sales_credit_entry(mapped: Connected) -> None:
    """Processing a sales invoice of Type 8021 books a sales entry of Type 21 (REF SalesEntries Type: 20 sales
    entry, 21 sales credit note) with negative amounts, and a negative receivable of that transaction type."""
    body = mapped.invoice_body(_first_contact_id(mapped), type="credit_note", reference="RETURN-FIN")
    created = mapped.client.post(mapped.url("invoices"), body, format="json")
    assert created.status_code == 201, created.json()
    note = created.json()

    response = mapped.client.post(
        mapped.url(f"invoices/{note['id']}/finalize"), format="json", HTTP_IDEMPOTENCY_KEY="fin-cn"
    )

    assert response.status_code == 200, response.json()
    assert (response.json()["type"], response.json()["finalized"], response.json()["total"]) == (
        "credit_note",
        True,
        note["total"],
    )
    (entry,) = [row for row in mapped.dump("SalesEntries") if row["YourRef"] == "RETURN-FIN"]
    assert (entry["Type"], entry["AmountFC"]) == (21, -float(note["total"]))
    (receivable,) = [row for row in mapped.dump("Receivables") if row["EntryID"] == entry["EntryID"]]
    assert (receivable["TransactionType"], receivable["AmountFC"]) == (21, -float(note["total"]))
    booked = [row for row in mapped.dump("TransactionLines") if row["EntryID"] == entry["EntryID"]]
    assert booked and {row["Type"] for row in booked} == {21}
