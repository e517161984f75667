"""The audit trail: every write request sent to a ledger is recorded (who, which company, the unified input, the
payload as sent, the vendor's answer, timing), through the API and on retries; nobody can change or delete a row
(model, database, API, admin). Mutation and record events come with each write."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.db import transaction
from django.test import Client
from django.utils import timezone

from events.models import AuditEvent, AuditImmutable, AuditOutcome, Event
from tests.unified_models.conftest import Connected, invoice_body
from unified_models.models import Mutation

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_write_through_the_api_is_audited_with_the_payload_as_sent(
    mapped: Connected, first_customer_id: str, api_key
) -> None:
    mapped.world.control.clear_requests()
    response = mapped.client.post(
        mapped.url("invoices"),
        invoice_body(first_customer_id, reference="AUD-1"),
        format="json",
        HTTP_X_REQUEST_ID="req-aud-1",
    )
    assert response.status_code == 201, response.json()

    (audit,) = AuditEvent.objects.all()
    (sent,) = [r for r in mapped.world.control.requests() if r["method"] == "POST" and "oauth2" not in r["path"]]
    assert audit.vendor_payload == sent["body"]
    assert audit.api_key_prefix == api_key.prefix and audit.request_id == "req-aud-1"
    assert (audit.connection_id, audit.company_id, audit.connector) == (mapped.connection.pk, "101", "exact")
    assert (audit.resource, audit.operation, audit.vendor_method) == ("invoices", "create", "POST")
    assert audit.vendor_path == "salesinvoice/SalesInvoices" and audit.vendor_status == 201
    assert audit.outcome == AuditOutcome.ACCEPTED and audit.remote_id == response.json()["remote_id"]
    assert audit.unified_input["reference"] == "AUD-1" and audit.mutation_id == Mutation.objects.get().pk
    assert audit.attempt == 1 and audit.duration_ms >= 0

    listed = mapped.client.get("/api/v1/audit-events", {"connection_id": str(mapped.connection.pk)}).json()
    assert [row["id"] for row in listed["results"]] == [str(audit.pk)]
    assert listed["results"][0]["vendor_payload"] == sent["body"]
    by_remote = mapped.client.get("/api/v1/audit-events", {"remote_id": audit.remote_id, "outcome": "accepted"})
    assert len(by_remote.json()["results"]) == 1
    assert mapped.client.get("/api/v1/audit-events", {"resource": "contacts"}).json()["results"] == []

    types = [(event.type, event.sequence) for event in Event.objects.order_by("sequence")]
    assert types == [("mutation.succeeded", 1), ("invoice.created", 2)]
    created = Event.objects.get(type="invoice.created")
    assert created.data["record"]["reference"] == "AUD-1" and created.source == "api"


def test_the_created_id_is_kept_when_writing_it_with_its_audit_row_fails(
    mapped: Connected, first_customer_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The id on the mutation and the audit row are one statement; should it fail, the id is written on its own
    before the next vendor call, then the audit row alone. The read after the POST fails here, so the id on the
    in-doubt mutation can only come from that early write."""

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("the combined statement failed")

    monkeypatch.setattr("events.audit.insert_all", broken)
    mapped.world.control.add_fault(
        kind="500", pattern="/api/v1/*/salesinvoice/SalesInvoiceLines*", method="GET", times=1
    )
    response = mapped.client.post(
        mapped.url("invoices"), invoice_body(first_customer_id, reference="AUD-2"), format="json"
    )

    assert response.status_code == 503 and response.json()["mutation_status"] == "in_doubt", response.json()
    (created,) = [row for row in mapped.dump("SalesInvoices") if row.get("YourRef") == "AUD-2"]
    mutation = Mutation.objects.get()
    (audit,) = AuditEvent.objects.all()
    assert mutation.remote_id == created["InvoiceID"] == audit.remote_id
    assert audit.mutation_id == mutation.pk and audit.vendor_status == 201


def test_a_refused_write_is_audited_with_the_vendors_answer(mapped: Connected) -> None:
    body = {"method": "POST", "path": "crm/Accounts", "body": {"Name": ""}}
    response = mapped.client.post(mapped.url("passthrough"), body, format="json")
    assert response.status_code == 200 and response.json()["status"] >= 400

    (audit,) = AuditEvent.objects.all()
    assert audit.outcome in (AuditOutcome.REFUSED, AuditOutcome.VENDOR_ERROR)
    assert audit.vendor_status == response.json()["status"] and audit.vendor_message
    assert json.loads(audit.vendor_payload) == {"Name": ""}
    assert Event.objects.filter(type__in=["mutation.failed", "mutation.in_doubt"]).count() == 1


def test_audit_rows_cannot_be_changed_or_deleted(mapped: Connected, first_customer_id: str) -> None:
    mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id), format="json")
    audit = AuditEvent.objects.get()
    url = f"/api/v1/audit-events/{audit.pk}"
    assert mapped.client.get(url).status_code == 200

    # The API has no write method on the audit trail.
    for method in ("post", "put", "patch", "delete"):
        response = getattr(mapped.client, method)(url, {"outcome": "refused"}, format="json")
        assert response.status_code == 405, (method, response.status_code)
    assert mapped.client.post("/api/v1/audit-events", {}, format="json").status_code == 405

    # The model refuses.
    audit.outcome = AuditOutcome.REFUSED
    with pytest.raises(AuditImmutable):
        audit.save()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.filter(pk=audit.pk).update(outcome=AuditOutcome.REFUSED)
    with pytest.raises(AuditImmutable):
        audit.delete()
    with pytest.raises(AuditImmutable):
        AuditEvent.objects.all().delete()

    # And so does the database itself (PostgreSQL trigger), for SQL that goes around the model.
    if db_connection.vendor == "postgresql":
        for sql in ("UPDATE events_auditevent SET outcome = 'refused'", "DELETE FROM events_auditevent"):
            with pytest.raises(Exception, match="append-only"), transaction.atomic(), db_connection.cursor() as cursor:
                cursor.execute(sql)

    # Admin: readable, not changeable, not deletable, nothing to add.
    User.objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.login(username="root", password="pw")
    change_url = f"/admin/events/auditevent/{audit.pk}/change/"
    page = admin.get(change_url)
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin.post(change_url, {"outcome": "refused"}).status_code == 403
    assert admin.get("/admin/events/auditevent/add/").status_code == 403
    assert admin.post(f"/admin/events/auditevent/{audit.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/events/auditevent/").status_code == 200

    audit.refresh_from_db()
    assert audit.outcome == AuditOutcome.ACCEPTED and AuditEvent.objects.count() == 1


def test_exports_for_accountants(mapped: Connected, first_customer_id: str) -> None:
    mapped.client.post(mapped.url("invoices"), invoice_body(first_customer_id, reference="EXP-1"), format="json")
    audit = AuditEvent.objects.get()
    jsonl = mapped.client.get("/api/v1/audit-events.jsonl")
    assert jsonl.status_code == 200 and jsonl["Content-Type"].startswith("application/jsonl")
    (line,) = b"".join(jsonl.streaming_content).decode().splitlines()
    assert json.loads(line)["id"] == str(audit.pk) and json.loads(line)["vendor_payload"] == audit.vendor_payload
    exported = mapped.client.get("/api/v1/audit-events.csv", {"outcome": "accepted"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))
    assert [row["id"] for row in rows] == [str(audit.pk)]
    assert json.loads(rows[0]["unified_input"])["reference"] == "EXP-1"
    assert rows[0]["vendor_payload"] == audit.vendor_payload


def test_a_write_found_by_reconciliation_is_in_the_trail_as_recovered(
    mapped: Connected, first_customer_id: str
) -> None:
    """The answer to the POST was lost (its row says no_answer): once a retry finds the invoice at the vendor, a row
    says it landed, with its id. A write whose accepted answer is already in the trail gets no second row."""
    mapped.world.control.add_fault(
        kind="drop_after_apply", pattern="/api/v1/*/salesinvoice/SalesInvoices", method="POST", times=1
    )
    body = invoice_body(first_customer_id, reference="AUD-R1")
    lost = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="aud-r1")
    assert lost.status_code == 503, lost.json()
    (no_answer,) = AuditEvent.objects.all()
    assert no_answer.outcome == AuditOutcome.NO_ANSWER and no_answer.vendor_payload

    mutation = Mutation.objects.get(idempotency_key="aud-r1")
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now())  # settled
    retried = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="aud-r1")
    assert retried.status_code == 201, retried.json()

    recovered = AuditEvent.objects.get(outcome=AuditOutcome.RECOVERED)
    (created,) = [row for row in mapped.dump("SalesInvoices") if row.get("YourRef") == "AUD-R1"]
    assert recovered.remote_id == created["InvoiceID"] and recovered.mutation_id == mutation.pk
    assert (recovered.attempt, recovered.resource, recovered.operation) == (2, "invoices", "create")

    # A create whose POST was accepted and recorded, and whose read of its lines then failed: the retry finds it by
    # its id, and the trail already says it landed.
    mapped.world.control.add_fault(
        kind="500", pattern="/api/v1/*/salesinvoice/SalesInvoiceLines*", method="GET", times=1
    )
    item_body = invoice_body(first_customer_id, reference="AUD-R2")  # an item line: its lines are read
    failed = mapped.client.post(mapped.url("invoices"), item_body, format="json", HTTP_IDEMPOTENCY_KEY="aud-r2")
    assert failed.status_code == 503, failed.json()
    again = mapped.client.post(mapped.url("invoices"), item_body, format="json", HTTP_IDEMPOTENCY_KEY="aud-r2")
    assert again.status_code == 201, again.json()
    second = Mutation.objects.get(idempotency_key="aud-r2")
    assert list(AuditEvent.objects.filter(mutation_id=second.pk).values_list("outcome", flat=True)) == [
        AuditOutcome.ACCEPTED
    ]
