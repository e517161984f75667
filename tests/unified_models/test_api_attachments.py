"""Files on purchase and sales invoices through the API against the Exact sandbox: a multipart upload lands as an Exact
document of the entry's type with the file as its attachment, is listed and downloaded again; a file Exact would not
take is refused naming `file` before any vendor call; Xero declares attachments unsupported."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from tests.unified_models.test_api_purchase_invoices import _bill, _ledger_account, _supplier
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MB = 1024 * 1024


def _purchase_invoice(connected: Connected) -> dict[str, Any]:
    body = _bill(_supplier(connected), _ledger_account(connected, "4000"))
    response = connected.client.post(connected.url("purchase-invoices"), body, format="json")
    assert response.status_code == 201, response.json()
    return dict(response.json())


def _upload(connected: Connected, resource: str, record_id: str, name: str, content: bytes, kind: str) -> Any:
    upload = SimpleUploadedFile(name, content, content_type=kind)
    return connected.client.post(
        connected.url(f"{resource}/{record_id}/attachments"), {"file": upload}, format="multipart"
    )


def test_a_pdf_on_a_bill_round_trips_through_the_sandbox(mapped: Connected) -> None:
    bill = _purchase_invoice(mapped)

    response = _upload(mapped, "purchase-invoices", bill["id"], "INV-88231.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    attachment = response.json()
    assert attachment["record_id"] == bill["id"] and attachment["file_name"] == "INV-88231.pdf"
    assert (attachment["content_type"], attachment["size"]) == ("application/pdf", len(PDF))
    # Exact: a purchase invoice document (Type 20) linked to the entry and its supplier, the file base64 on it.
    (document,) = mapped.dump("Documents")
    assert (document["Type"], document["FinancialTransactionEntryID"], document["Account"]) == (
        20,
        bill["remote_id"],
        bill["contact_id"],
    )
    assert document["Subject"] == "INV-88231.pdf"
    (stored,) = mapped.dump("DocumentAttachments")
    assert stored["ID"] == attachment["id"] and stored["Document"] == document["ID"]
    assert (stored["FileName"], stored["FileSize"]) == ("INV-88231.pdf", len(PDF))
    assert base64.b64decode(stored["Attachment"]) == PDF

    # The bill itself comes back from the store after a sync; its files are read from Exact.
    run = services.sync_run_request(connection=mapped.connection, resource="purchase-invoices", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    assert mapped.client.get(mapped.url(f"purchase-invoices/{bill['id']}")).json()["remote_id"] == bill["remote_id"]
    listed = mapped.client.get(mapped.url(f"purchase-invoices/{bill['id']}/attachments"))
    assert listed.status_code == 200, listed.json()
    assert listed.json() == {"results": [attachment], "next": None}

    download = mapped.client.get(mapped.url(f"purchase-invoices/{bill['id']}/attachments/{attachment['id']}"))

    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="INV-88231.pdf"'
    assert download.content == PDF


def test_an_image_on_a_sales_invoice_is_a_sales_invoice_document(mapped: Connected, first_customer_id: str) -> None:
    created = mapped.client.post(mapped.url("invoices"), mapped.invoice_body(first_customer_id), format="json")
    assert created.status_code == 201, created.json()
    invoice = created.json()

    response = _upload(mapped, "invoices", invoice["id"], "bon.png", PNG, "image/png")

    assert response.status_code == 201, response.json()
    (document,) = mapped.dump("Documents")
    # For a sales invoice document the entry link is the InvoiceID (Exact's reference: NOTES.md: Documents).
    assert (document["Type"], document["FinancialTransactionEntryID"]) == (10, invoice["remote_id"])
    listed = mapped.client.get(mapped.url(f"invoices/{invoice['id']}/attachments")).json()["results"]
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
def test_a_file_exact_would_not_take_is_refused_naming_it(
    mapped: Connected, name: str | None, content: bytes | None, kind: str | None
) -> None:
    bill = _purchase_invoice(mapped)
    mapped.world.control.reset_counters()
    url = mapped.url(f"purchase-invoices/{bill['id']}/attachments")

    if name is None:
        response = mapped.client.post(url, {"note": "no file"}, format="multipart")
    else:
        assert content is not None and kind is not None
        response = _upload(mapped, "purchase-invoices", bill["id"], name, content, kind)

    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "invalid_input"
    assert [error["field"] for error in response.json()["errors"]] == ["file"]
    assert mapped.calls() == {}  # no vendor call at all
    assert mapped.dump("Documents") == [] and mapped.dump("DocumentAttachments") == []


def test_a_file_for_an_unknown_bill_is_not_found_and_nothing_is_stored(mapped: Connected) -> None:
    response = _upload(
        mapped, "purchase-invoices", "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b", "a.pdf", PDF, "application/pdf"
    )

    assert response.status_code == 404, response.json()
    assert response.json()["code"] == "not_found"
    assert mapped.dump("Documents") == []


def test_a_file_of_another_bill_is_not_downloaded_through_this_one(mapped: Connected) -> None:
    first, second = _purchase_invoice(mapped), _purchase_invoice(mapped)
    attachment = _upload(mapped, "purchase-invoices", first["id"], "a.pdf", PDF, "application/pdf").json()

    response = mapped.client.get(mapped.url(f"purchase-invoices/{second['id']}/attachments/{attachment['id']}"))

    assert response.status_code == 404, response.json()
    assert mapped.client.get(mapped.url(f"purchase-invoices/{second['id']}/attachments")).json()["results"] == []


def test_xero_declares_attachments_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    url = f"/api/v1/connections/{connection.pk}/invoices/some-invoice/attachments"

    listed = auth_client.get(url)
    upload = SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf")
    created = auth_client.post(url, {"file": upload}, format="multipart")

    for response in (listed, created):
        assert response.status_code == 405, response.json()
        assert response.json()["code"] == "operation_not_supported"
        assert "xero" in response.json()["detail"].lower()


def test_an_upload_with_an_idempotency_key_is_attached_once(mapped: Connected) -> None:
    bill = _purchase_invoice(mapped)
    url = mapped.url(f"purchase-invoices/{bill['id']}/attachments")

    def upload(content: bytes) -> Any:
        file = SimpleUploadedFile("a.pdf", content, content_type="application/pdf")
        return mapped.client.post(url, {"file": file}, format="multipart", HTTP_IDEMPOTENCY_KEY="bill-scan-1")

    first, again = upload(PDF), upload(PDF)
    other_file = upload(PDF + b"% another scan\n")

    assert first.status_code == 201 and first["Idempotent-Replayed"] == "false"
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    # The same name with other bytes is another request: the key may not be reused for it.
    assert other_file.status_code == 422 and other_file.json()["code"] == "idempotency_key_reused"
    assert len(mapped.dump("DocumentAttachments")) == 1
