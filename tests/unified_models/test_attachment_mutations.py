"""Attachment uploads are recorded writes (operation `attach`) under faults injected in both sandboxes: a refused
upload stays visible as failed with its context (never its bytes) and a retry lands it once; a server error or a
lost answer leaves it in doubt and the retry looks at the record's files before it sends; every landed upload has
its audit row with the vendor's attachment id; the file's bytes are kept only until the upload lands.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from events.models import AuditEvent, Event, EventType
from tests.unified_models.conftest import Connected
from tests.unified_models.test_api_attachments import PDF, _purchase_invoice, _stored_files, _upload
from unified_models import services, tasks
from unified_models.models import Mutation, MutationFile, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

MUTATIONS = "/api/v1/mutations"
# The request that carries the file: Exact's DocumentAttachments POST (after its Documents POST), Xero's raw PUT.
UPLOADS = {
    "exact": ("/api/v1/*/documents/DocumentAttachments", "POST"),
    "xero": ("/api.xro/2.0/Invoices/*/Attachments/*", "PUT"),
}
# Xero's client resends a write whose answer was lost or that failed with a 5xx once, with the same Idempotency-Key
# (connectors/xero/calls.py): the fault must strike both sends for the attempt to end without the file.
STRIKES = {"exact": 1, "xero": 2}


def _fault(connected: Connected, kind: str) -> None:
    pattern, method = UPLOADS[connected.connector_id]
    connected.world.control.add_fault(kind=kind, pattern=pattern, method=method, times=STRIKES[connected.connector_id])


def _upload_with_key(connected: Connected, bill: dict[str, Any], key: str) -> Any:
    file = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")
    url = connected.url(f"purchase-invoices/{bill['id']}/attachments")
    return connected.client.post(url, {"file": file}, format="multipart", HTTP_IDEMPOTENCY_KEY=key)


def _upload_writes(mutation: Mutation, attempt: int) -> list[AuditEvent]:
    """The audit rows of the file-carrying requests one attempt of the upload sent."""
    rows = AuditEvent.objects.filter(mutation_id=mutation.pk, attempt=attempt)
    return [row for row in rows if "Attachments" in row.vendor_path or "DocumentAttachments" in row.vendor_path]


def _event_types(mutation: Mutation) -> list[str]:
    return [
        event.type
        for event in Event.objects.filter(data__mutation_id=str(mutation.pk)).order_by("created_at", "sequence")
    ]


def _assert_landed_once(connected: Connected, mutation: Mutation, bill: dict[str, Any]) -> dict[str, Any]:
    """One file on the bill, the mutation succeeded with its id, its bytes no longer kept, its audit row written."""
    (stored,) = _stored_files(connected)
    assert stored["parent"] == bill["remote_id"] and stored["content"] == PDF
    if connected.connector_id == "exact":
        # A resend finishes the document its first Documents POST made: no empty document is left beside it.
        documents = [
            row for row in connected.dump("Documents") if row["FinancialTransactionEntryID"] == bill["remote_id"]
        ]
        assert len(documents) == 1, documents
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED
    assert mutation.remote_id == stored["id"] and mutation.outcome["id"] == stored["id"]
    assert not MutationFile.objects.filter(mutation=mutation).exists(), "the bytes are the vendor's now"
    landed = [row for row in AuditEvent.objects.filter(mutation_id=mutation.pk) if row.remote_id == stored["id"]]
    assert len(landed) == 1 and landed[0].outcome == "accepted", "one audit row names the vendor's attachment id"
    return stored


def test_a_refused_upload_is_failed_with_its_context_and_a_retry_lands_it_once(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    _fault(connected, "503")

    refused = _upload(connected, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")

    assert refused.status_code == 503, refused.json()
    assert refused.json()["mutation_status"] == "failed"
    mutation_id = refused.json()["mutation_id"]
    assert _stored_files(connected) == []
    listed = connected.client.get(MUTATIONS, {"status": "failed"})
    assert [row["id"] for row in listed.json()["results"]] == [mutation_id]
    (shown,) = listed.json()["results"]
    assert (shown["resource"], shown["operation"], shown["target_id"]) == ("purchase-invoices", "attach", bill["id"])
    assert shown["request"] == {
        "file_name": "scan.pdf",
        "content_type": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
    }
    assert base64.b64encode(PDF).decode() not in listed.content.decode(), "never the bytes in the API"
    assert PDF.decode() not in listed.content.decode()
    mutation = Mutation.objects.get(pk=mutation_id)
    assert bytes(MutationFile.objects.get(mutation=mutation).content) == PDF, "kept until the upload lands"
    assert EventType.MUTATION_FAILED in _event_types(mutation)

    retried = connected.client.post(f"{MUTATIONS}/{mutation_id}/retry")

    assert retried.status_code == 200, retried.json()
    assert retried.json()["status"] == "succeeded" and retried.json()["attempts"] == 2
    stored = _assert_landed_once(connected, mutation, bill)
    assert retried.json()["remote_id"] == stored["id"]
    listing = connected.client.get(connected.url(f"purchase-invoices/{bill['id']}/attachments")).json()["results"]
    assert [row["id"] for row in listing] == [stored["id"]]
    assert _event_types(mutation)[-1] == EventType.MUTATION_SUCCEEDED
    # The audit trail keeps what was sent, the file as its name, size and SHA-256 (it outlives the file).
    for row in AuditEvent.objects.filter(mutation_id=mutation.pk):
        assert base64.b64encode(PDF).decode() not in row.vendor_payload and PDF.decode() not in row.vendor_payload
    (sent,) = _upload_writes(mutation, 2)
    assert hashlib.sha256(PDF).hexdigest() in sent.vendor_payload


def test_a_server_error_on_the_upload_is_in_doubt_and_the_retry_looks_before_it_sends(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    _fault(connected, "500")

    first = _upload(connected, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")

    assert first.status_code == 503, first.json()
    assert first.json()["mutation_status"] == "in_doubt", "a 500 is no refusal: the vendor may have stored it"
    mutation = Mutation.objects.get(pk=first.json()["mutation_id"])
    assert EventType.MUTATION_IN_DOUBT in _event_types(mutation)
    connected.world.control.reset_counters()

    retried = connected.client.post(f"{MUTATIONS}/{mutation.pk}/retry")

    assert retried.status_code == 200, retried.json()
    _assert_landed_once(connected, mutation, bill)
    assert len(_upload_writes(mutation, 2)) == 1, "looked up (no file), then sent once"
    assert [a["error_code"] for a in retried.json()["attempt_log"]] == ["vendor_unavailable", ""]


def test_a_lost_answer_leaves_the_upload_in_doubt_and_the_retry_finds_it_without_attaching_twice(
    any_mapped: Connected,
) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    _fault(connected, "drop_after_apply")

    lost = _upload_with_key(connected, bill, "scan-lost-1")

    assert lost.status_code == 503, lost.json()
    assert lost.json()["mutation_status"] == "in_doubt"
    mutation = Mutation.objects.get(pk=lost.json()["mutation_id"])
    assert mutation.status == MutationStatus.IN_DOUBT and mutation.reconcile_after is not None
    (applied,) = _stored_files(connected)
    assert MutationFile.objects.filter(mutation=mutation).exists(), "kept: the gateway cannot tell it landed"
    early = connected.client.post(f"{MUTATIONS}/{mutation.pk}/retry")
    assert early.status_code == 409 and early.json()["code"] == "mutation_in_doubt", early.json()
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now())  # the settle time has passed

    # The client's own retry with the same key: the gateway finds the file on the bill and sends nothing.
    retried = _upload_with_key(connected, bill, "scan-lost-1")

    assert retried.status_code == 201, retried.json()
    assert retried.json()["id"] == applied["id"] and retried.json()["file_name"] == "scan.pdf"
    assert retried.json()["mutation_id"] == str(mutation.pk), "the same write, settled by the retry"
    mutation.refresh_from_db()
    assert mutation.attempt_log.last().error_code == "recovered"
    assert _upload_writes(mutation, 2) == [], "not sent again"
    (stored,) = _stored_files(connected)
    assert stored["id"] == applied["id"]
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.remote_id == applied["id"]
    assert not MutationFile.objects.filter(mutation=mutation).exists()
    assert _event_types(mutation)[-1] == EventType.MUTATION_SUCCEEDED


def test_a_landed_upload_has_its_audit_row_and_keeps_no_bytes(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)

    response = _upload(connected, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")

    assert response.status_code == 201, response.json()
    mutation = Mutation.objects.get(operation="attach")
    assert mutation.attempts == 1 and mutation.target_id == bill["id"]
    _assert_landed_once(connected, mutation, bill)
    assert _event_types(mutation) == [EventType.MUTATION_SUCCEEDED], "no invoice event: the invoice did not change"


def test_bad_input_is_refused_naming_file_with_no_mutation_and_no_vendor_call(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    connected.world.control.reset_counters()

    not_a_pdf = _upload(connected, "purchase-invoices", bill["id"], "notes.pdf", b"plain text", "application/pdf")
    missing = connected.client.post(
        connected.url(f"purchase-invoices/{bill['id']}/attachments"), {"other": "x"}, format="multipart"
    )

    for response in (not_a_pdf, missing):
        assert response.status_code == 422, response.json()
        assert [error["field"] for error in response.json()["errors"]] == ["file"], response.json()
    assert not Mutation.objects.filter(operation="attach").exists()
    assert not MutationFile.objects.exists()
    assert connected.calls() == {}, "no vendor call"


def test_an_in_doubt_upload_is_landed_by_beats_reconciliation_once(any_mapped: Connected) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    _fault(connected, "500")
    first = _upload(connected, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")
    assert first.status_code == 503 and first.json()["mutation_status"] == "in_doubt", first.json()
    mutation = Mutation.objects.get(pk=first.json()["mutation_id"])

    # Nobody retries it: beat's reconciliation takes it up, looks at the bill's files, and sends it from the kept bytes.
    ended = services.mutations_reconcile()

    assert ended == {MutationStatus.SUCCEEDED: 1}
    _assert_landed_once(connected, mutation, bill)
    assert services.mutations_reconcile() == {}, "nothing left to reconcile"
    assert len(_stored_files(connected)) == 1


def test_a_failed_upload_is_shown_and_retried_in_admin_without_its_bytes(  # type: ignore[no-untyped-def]
    any_mapped: Connected, admin_user, monkeypatch
) -> None:
    connected = any_mapped
    bill = _purchase_invoice(connected)
    _fault(connected, "503")
    refused = _upload(connected, "purchase-invoices", bill["id"], "scan.pdf", PDF, "application/pdf")
    assert refused.status_code == 503 and refused.json()["mutation_status"] == "failed", refused.json()
    mutation = Mutation.objects.get(pk=refused.json()["mutation_id"])

    queued: list[tuple[list[str], str]] = []
    monkeypatch.setattr(tasks.mutation_retry, "apply_async", lambda args, queue: queued.append((list(args), queue)))
    browser = Client()
    browser.force_login(admin_user)
    listing = browser.get("/admin/unified_models/mutation/", {"status__exact": "failed", "operation": "attach"})
    assert listing.status_code == 200 and str(mutation.pk) in listing.content.decode()
    detail = browser.get(f"/admin/unified_models/mutation/{mutation.pk}/change/").content.decode()
    assert "scan.pdf" in detail and bill["id"] in detail and hashlib.sha256(PDF).hexdigest() in detail
    assert f"yes, {len(PDF)} bytes" in detail, "the admin says the bytes are kept for a retry"
    assert base64.b64encode(PDF).decode() not in detail and "%PDF-" not in detail, "never the bytes"
    action = browser.post(
        "/admin/unified_models/mutation/", {"action": "retry_mutations", "_selected_action": [str(mutation.pk)]}
    )
    assert action.status_code == 302 and queued == [([str(mutation.pk)], "vendor")]

    # What the worker runs for the queued id.
    assert tasks.mutation_retry(str(mutation.pk)) == MutationStatus.SUCCEEDED
    _assert_landed_once(connected, mutation, bill)
    after = browser.get(f"/admin/unified_models/mutation/{mutation.pk}/change/").content.decode()
    assert "no (landed)" in after


def test_an_earlier_file_of_the_same_name_and_size_is_not_taken_for_a_lost_upload(mapped: Connected) -> None:
    # Exact keeps two files of one name on an entry (Xero refuses the second before its PUT): only the bytes tell
    # the lost upload from an earlier file that shares its name and size.
    bill = _purchase_invoice(mapped)
    earlier = PDF.replace(b"1 0 obj", b"2 0 obj")
    assert len(earlier) == len(PDF) and earlier != PDF
    first = _upload(mapped, "purchase-invoices", bill["id"], "scan.pdf", earlier, "application/pdf")
    assert first.status_code == 201, first.json()
    mapped.world.control.add_fault(kind="drop_before_apply", pattern=UPLOADS["exact"][0], method="POST", times=1)
    lost = _upload_with_key(mapped, bill, "scan-again-1")
    assert lost.status_code == 503 and lost.json()["mutation_status"] == "in_doubt", lost.json()
    mutation = Mutation.objects.get(pk=lost.json()["mutation_id"])
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now())  # the settle time has passed

    retried = _upload_with_key(mapped, bill, "scan-again-1")

    assert retried.status_code == 201, retried.json()
    assert retried.json()["id"] != first.json()["id"], "the earlier file is not this upload"
    contents = sorted(row["content"] for row in _stored_files(mapped))
    assert contents == sorted([earlier, PDF]), "the lost upload was sent again, once"
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.attempt_log.last().error_code == ""
