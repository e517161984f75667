"""Files on purchase and sales invoices through the API against both sandboxes: a multipart upload lands at the vendor
(Exact: a document of the entry's type with the file as its attachment; Xero: an attachment of the invoice, bill or
credit note), is listed and downloaded again; a file the vendor would not take is refused naming `file` before any
vendor call; Xero's cap of 10 files and its replacing of a file by name are refused naming `file` before the
upload."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.unified_models.conftest import CONNECTORS, Connected, mapping_store
from tests.unified_models.test_api_purchase_invoices import VENDOR_BILLS, _bill, _ledger_account, _vendor_bill
from unified_models.models import Mutation
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MB = 1024 * 1024


def _purchase_invoice(connected: Connected, *, supplier: str | None = None) -> dict[str, Any]:
    """A bill of a new supplier, or of `supplier` (Xero's contact names are unique: one supplier for two bills)."""
    if supplier is None:
        body = _vendor_bill(connected)
    else:
        code, reduced, _, _ = VENDOR_BILLS[connected.connector_id]
        body = _bill(supplier, _ledger_account(connected, code), number="INV-88232")
        body["lines"][1]["tax_rate_id"] = reduced
    response = connected.client.post(connected.url("purchase-invoices"), body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def _upload(connected: Connected, resource: str, record_id: str, name: str, content: bytes, kind: str) -> Any:
    upload = SimpleUploadedFile(name, content, content_type=kind)
    return connected.client.post(
        connected.url(f"{resource}/{record_id}/attachments"), {"file": upload}, format="multipart"
    )


def _stored_files(connected: Connected) -> list[dict[str, Any]]:
    """Every file the vendor's sandbox holds for the company, each as (parent, name, bytes) in a dict."""
    if connected.connector_id == "exact":
        documents = {row["ID"]: row for row in connected.dump("Documents")}
        return [
            {
                "id": row["ID"],
                "parent": documents[row["Document"]]["FinancialTransactionEntryID"],
                "name": row["FileName"],
                "content": base64.b64decode(row["Attachment"]),
            }
            for row in connected.dump("DocumentAttachments")
        ]
    return [
        {
            "id": row["AttachmentID"],
            "parent": row["ParentID"],
            "name": row["FileName"],
            "content": base64.b64decode(row["Content"]),
            "endpoint": row["Endpoint"],
            "media_type": row["MimeType"],
        }
        for row in connected.dump("Attachments")
    ]


def test_a_pdf_on_a_bill_round_trips_through_the_sandbox(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)

    response = _upload(connected, "purchase-invoices", bill["id"], "INV-88231.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    attachment = response.json()
    assert attachment["record_id"] == bill["id"] and attachment["file_name"] == "INV-88231.pdf"
    assert (attachment["content_type"], attachment["size"]) == ("application/pdf", len(PDF))
    # The write that attached it, as every write answers: its outcome is this attachment.
    write = Mutation.objects.get(pk=attachment["mutation_id"])
    assert (write.operation, write.status, write.remote_id) == ("attach", "succeeded", attachment["id"])
    (stored,) = _stored_files(connected)
    assert (stored["id"], stored["parent"], stored["name"], stored["content"]) == (
        attachment["id"],
        bill["remote_id"],
        "INV-88231.pdf",
        PDF,
    )
    if connected.connector_id == "exact":
        # A purchase invoice document (Type 20) linked to the entry and its supplier, the file base64 on it.
        (document,) = connected.dump("Documents")
        assert (document["Type"], document["Account"], document["Subject"]) == (20, bill["contact_id"], "INV-88231.pdf")
    else:
        # An attachment of the bill itself, raw bytes with their media type; the bill says it has one.
        assert (stored["endpoint"], stored["media_type"]) == ("Invoices", "application/pdf")
        (row,) = [row for row in connected.dump("Invoices") if row["InvoiceID"] == bill["remote_id"]]
        assert (row["Type"], row["HasAttachments"]) == ("ACCPAY", True)

    # The bill itself comes back from the store after a sync; its files are read from the vendor.
    run = services.sync_run_request(connection=connected.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    one = connected.client.get(connected.url(f"purchase-invoices/{bill['id']}"))
    assert one.json()["remote_id"] == bill["remote_id"]
    listed = connected.client.get(connected.url(f"purchase-invoices/{bill['id']}/attachments"))
    assert listed.status_code == 200, listed.json()
    listed_as = {key: value for key, value in attachment.items() if key != "mutation_id"}  # a write's own
    assert listed.json() == {"results": [listed_as], "next": None}

    download = connected.client.get(connected.url(f"purchase-invoices/{bill['id']}/attachments/{attachment['id']}"))

    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="INV-88231.pdf"'
    assert download.content == PDF


def test_an_image_on_a_sales_invoice_lands_on_the_sales_invoice(any_mapped: Connected, any_customer_id: str) -> None:
    created = any_mapped.client.post(
        any_mapped.url("invoices"), any_mapped.invoice_body(any_customer_id), format="json"
    )
    assert created.status_code == 201, created.json()
    invoice = created.json()

    response = _upload(any_mapped, "invoices", invoice["id"], "bon.png", PNG, "image/png")

    assert response.status_code == 201, response.json()
    (stored,) = _stored_files(any_mapped)
    assert (stored["parent"], stored["content"]) == (invoice["remote_id"], PNG)
    if any_mapped.connector_id == "exact":
        # For a sales invoice document the entry link is the InvoiceID (Exact's reference: NOTES.md: Documents).
        (document,) = any_mapped.dump("Documents")
        assert document["Type"] == 10
    else:
        assert (stored["endpoint"], stored["media_type"]) == ("Invoices", "image/png")
    listed = any_mapped.client.get(any_mapped.url(f"invoices/{invoice['id']}/attachments")).json()["results"]
    assert [(row["file_name"], row["content_type"]) for row in listed] == [("bon.png", "image/png")]


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("big.pdf", PDF + b"0" * (10 * MB + 1 - len(PDF)), "application/pdf"),
        ("notes.txt", b"just some text", "text/plain"),
        ("scan.pdf", PNG, "application/pdf"),
        ("empty.pdf", b"", "application/pdf"),
        (None, None, None),
    ],
    ids=["oversize", "wrong-type", "extension-does-not-match", "empty", "missing-file"],
)
def test_a_file_the_vendor_would_not_take_is_refused_naming_it(
    any_mapped: Connected, name: str | None, content: bytes | None, kind: str | None
) -> None:
    bill = _purchase_invoice(any_mapped)
    any_mapped.world.control.reset_counters()
    url = any_mapped.url(f"purchase-invoices/{bill['id']}/attachments")

    if name is None:
        response = any_mapped.client.post(url, {"note": "no file"}, format="multipart")
    else:
        assert content is not None and kind is not None
        response = _upload(any_mapped, "purchase-invoices", bill["id"], name, content, kind)

    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_input"
    assert [error["field"] for error in response.json()["errors"]] == ["file"]
    assert any_mapped.calls() == {}  # no vendor call at all
    assert _stored_files(any_mapped) == []


def test_a_file_for_an_unknown_bill_is_not_found_and_nothing_is_stored(any_mapped: Connected) -> None:
    unknown = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"
    for record_id in (unknown, "not-an-id"):
        response = _upload(any_mapped, "purchase-invoices", record_id, "a.pdf", PDF, "application/pdf")

        assert response.status_code == 404, response.json()
        assert response.json()["code"] == "not_found"
    assert _stored_files(any_mapped) == []


def test_a_file_of_another_bill_is_not_downloaded_through_this_one(any_mapped: Connected) -> None:
    first = _purchase_invoice(any_mapped)
    second = _purchase_invoice(any_mapped, supplier=first["contact_id"])
    attachment = _upload(any_mapped, "purchase-invoices", first["id"], "a.pdf", PDF, "application/pdf").json()

    response = any_mapped.client.get(any_mapped.url(f"purchase-invoices/{second['id']}/attachments/{attachment['id']}"))

    assert response.status_code == 404, response.json()
    assert (
        any_mapped.client.get(any_mapped.url(f"purchase-invoices/{second['id']}/attachments")).json()["results"] == []
    )


def test_an_upload_with_an_idempotency_key_is_attached_once(any_mapped: Connected) -> None:
    bill = _purchase_invoice(any_mapped)
    url = any_mapped.url(f"purchase-invoices/{bill['id']}/attachments")

    def upload(content: bytes) -> Any:
        file = SimpleUploadedFile("a.pdf", content, content_type="application/pdf")
        return any_mapped.client.post(url, {"file": file}, format="multipart", HTTP_IDEMPOTENCY_KEY="bill-scan-1")

    first, again = upload(PDF), upload(PDF)
    other_file = upload(PDF + b"% another scan\n")

    assert first.status_code == 201 and first["Idempotent-Replayed"] == "false"
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # The same name with other bytes is another request: the key may not be reused for it.
    assert other_file.status_code == 422 and other_file.json()["code"] == "idempotency_key_reused"
    assert len(_stored_files(any_mapped)) == 1


# ---------------------------------------------------------------------------------------------- Xero's own rules


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: Any) -> Connected:
    """A Xero connection through the real OAuth flow with the default UK mapping."""
    connected = CONNECTORS["xero"](request, workspace, auth_client)
    mapping_store(connected.connection, connected.profile.mapping)
    return connected


def test_xero_refuses_an_eleventh_file_and_a_name_already_used_before_uploading(xero: Connected) -> None:
    bill = _purchase_invoice(xero)
    for index in range(10):
        assert (
            _upload(xero, "purchase-invoices", bill["id"], f"p{index}.pdf", PDF, "application/pdf").status_code == 201
        )
    xero.world.control.reset_counters()

    eleventh = _upload(xero, "purchase-invoices", bill["id"], "p10.pdf", PDF, "application/pdf")
    same_name = _upload(xero, "purchase-invoices", bill["id"], "P3.pdf", PDF + b"% v2\n", "application/pdf")

    for response in (eleventh, same_name):
        assert response.status_code == 422, response.json()
        assert [error["field"] for error in response.json()["errors"]] == ["file"]
    assert "10" in eleventh.json()["errors"][0]["message"]
    assert "replace" in same_name.json()["errors"][0]["message"]
    # The bill and its list were read; nothing was uploaded, and the file named p3.pdf is still the first one.
    assert xero.calls() == {"Invoices/{id}": {"200": 2}, "Invoices/{id}/Attachments": {"200": 2}}
    files = _stored_files(xero)
    assert len(files) == 10 and next(f for f in files if f["name"] == "p3.pdf")["content"] == PDF


def test_xero_credit_notes_take_files_and_a_bill_is_no_sales_invoice(xero: Connected) -> None:
    customer = xero.client.get(xero.url("contacts"), {"page_size": 1}).json()["results"][0]["id"]
    body = xero.invoice_body(customer, type="credit_note", reference="RETURN-1")
    credit_note = xero.client.post(xero.url("invoices"), body, format="json").json()
    bill = _purchase_invoice(xero)

    response = _upload(xero, "invoices", credit_note["id"], "return.pdf", PDF, "application/pdf")
    wrong_side = _upload(xero, "invoices", bill["id"], "bill.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    (stored,) = _stored_files(xero)
    assert (stored["endpoint"], stored["parent"], stored["name"]) == (
        "CreditNotes",
        credit_note["remote_id"],
        "return.pdf",
    )
    download = xero.client.get(xero.url(f"invoices/{credit_note['id']}/attachments/{response.json()['id']}"))
    assert download.status_code == 200 and download.content == PDF
    # A bill's id among the sales invoices is unknown there: 404, and nothing is attached to the bill.
    assert wrong_side.status_code == 404, wrong_side.json()
    assert len(_stored_files(xero)) == 1


def test_a_xero_upload_whose_answer_is_lost_is_resent_with_its_key_and_attached_once(xero: Connected) -> None:
    bill = _purchase_invoice(xero)
    # Xero stores the file but the answer never arrives: the connector resends the PUT with the same
    # Idempotency-Key and Xero replays its first answer (NOTES.md: Idempotency).
    xero.world.control.add_fault(
        kind="drop_after_apply", pattern="/api.xro/2.0/Invoices/*/Attachments/*", method="PUT", times=1
    )
    xero.world.control.reset_counters()

    response = _upload(xero, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    (stored,) = _stored_files(xero)
    assert (stored["id"], stored["content"]) == (response.json()["id"], PDF)
    assert xero.world.control.counters()["idempotent_replays"] == 1


def test_a_pdf_on_a_purchase_credit_note_lands_on_the_credit_note(any_mapped: Connected) -> None:
    """Exact: a purchase invoice document (Type 20) linked to the Type 31 entry; Xero: an attachment of the
    ACCPAYCREDIT credit note at its own endpoint."""
    body = {**_vendor_bill(any_mapped), "type": "credit_note", "number": "CN-77"}
    created = any_mapped.client.post(any_mapped.url("purchase-invoices"), body, format="json")
    assert created.status_code == 201, created.json()
    note = created.json()

    response = _upload(any_mapped, "purchase-invoices", note["id"], "CN-77.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    (stored,) = _stored_files(any_mapped)
    assert (stored["parent"], stored["name"], stored["content"]) == (note["remote_id"], "CN-77.pdf", PDF)
    if any_mapped.connector_id == "exact":
        (document,) = any_mapped.dump("Documents")
        (entry,) = any_mapped.dump("PurchaseEntries")
        assert (document["Type"], entry["Type"]) == (20, 31)
    else:
        assert stored["endpoint"] == "CreditNotes"
    download = any_mapped.client.get(
        any_mapped.url(f"purchase-invoices/{note['id']}/attachments/{response.json()['id']}")
    )
    assert download.status_code == 200 and download.content == PDF
