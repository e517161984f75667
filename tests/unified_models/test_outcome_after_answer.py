"""A write through the API answers once the vendor's answer and the remote id are committed; the transaction that
ends its attempt (the events, the Idempotency-Key's answer) follows the answer, run by the response's close().

The WSGI handler is called as a server calls it, and `close()` is called (the server sent the body) or never called
(the process died right after the answer): the second write is then finished by reconciliation, from the remote id,
without sending it twice.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from django.http import HttpResponseBase
from django.test import RequestFactory
from django.utils import timezone

from events.models import AuditEvent, Event
from gateway.models import IdempotencyKey, IdempotencyStatus
from tenants.models import CallLog
from tests.unified_models.conftest import Connected, invoice_body
from tests.unified_models.test_api_projects import _create_project, _employees, _entry_body, _items
from unified_models import tasks
from unified_models.models import Mutation, MutationStatus
from unified_models.store import services as store_services
from unified_models.store.models import StoredRecord, SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

SALES_INVOICES = "salesinvoice/SalesInvoices"


def _answered(
    connected: Connected,
    api_key: Any,
    body: dict[str, Any],
    key: str,
    resource: str = "invoices",
    method: str = "post",
) -> HttpResponseBase:
    """POST (or `method`) through the WSGI handler and return the response as the server has it, not closed."""
    request = getattr(RequestFactory(), method)(
        connected.url(resource),
        data=json.dumps(body),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_key.secret}",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    # As Django's test client does: the test's database connection is not closed at the request's start.
    request_started.disconnect(close_old_connections)
    try:
        response: HttpResponseBase = WSGIHandler()(request.environ, lambda status, headers: None)
    finally:
        request_started.connect(close_old_connections)
    return response


def _posts_of(connected: Connected) -> int:
    """Invoices created at the vendor since the counters were reset (the endpoint's 201 answers)."""
    return connected.calls().get(SALES_INVOICES, {}).get("201", 0)


def test_the_answer_precedes_the_outcome_and_close_records_it(
    mapped: Connected, first_customer_id: str, api_key: Any
) -> None:
    response = _answered(mapped, api_key, invoice_body(first_customer_id, reference="AFTER-1"), "after-1")

    assert response.status_code == 201
    answer = json.loads(response.content)
    mutation = Mutation.objects.get(pk=answer["mutation_id"])
    # Committed before the answer: the remote id, the POST's call-log row and its audit row.
    assert mutation.status == MutationStatus.SENDING and mutation.remote_id == answer["id"]
    assert CallLog.objects.filter(connection=mapped.connection, method="POST", path=SALES_INVOICES).count() == 1
    assert AuditEvent.objects.filter(mutation_id=mutation.pk, remote_id=answer["id"]).count() == 1
    # Not yet: the attempt's end, the events and the key's answer.
    assert not mutation.attempt_log.exists()
    assert not Event.objects.filter(data__mutation_id=str(mutation.pk)).exists()
    assert IdempotencyKey.objects.get(key="after-1").status == IdempotencyStatus.IN_FLIGHT

    response.close()  # what the server calls once the body is sent

    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.lease_expires_at is None
    assert list(mutation.attempt_log.values_list("number", "error_code")) == [(1, "")]
    events = Event.objects.filter(data__mutation_id=str(mutation.pk)).order_by("sequence")
    assert [event.type for event in events] == ["mutation.succeeded", "invoice.created"]
    assert {event.request_id for event in events} == {response["X-Request-Id"]}, "in the request's own context"
    key = IdempotencyKey.objects.get(key="after-1")
    assert key.status == IdempotencyStatus.COMPLETED and key.response_status == 201
    assert key.response_body == answer
    replay = mapped.client.post(
        mapped.url("invoices"),
        invoice_body(first_customer_id, reference="AFTER-1"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="after-1",
    )
    assert replay.status_code == 201 and replay.json() == answer and replay["Idempotent-Replayed"] == "true"


def test_a_process_that_dies_after_the_answer_leaves_a_write_reconciliation_ends(
    mapped: Connected, first_customer_id: str, api_key: Any
) -> None:
    body = invoice_body(first_customer_id, reference="AFTER-2")
    mapped.world.control.reset_counters()
    response = _answered(mapped, api_key, body, "after-2")
    assert response.status_code == 201
    answer = json.loads(response.content)
    # close() never runs: the process was killed once the answer was out.

    mutation = Mutation.objects.get(pk=answer["mutation_id"])
    assert mutation.status == MutationStatus.SENDING and mutation.remote_id == answer["id"]
    busy = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="after-2")
    assert busy.status_code == 409, "the key is in flight until its request's outcome is known"

    Mutation.objects.filter(pk=mutation.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.mutations_reconcile() == {MutationStatus.SUCCEEDED: 1}

    mutation.refresh_from_db()
    assert mutation.remote_id == answer["id"]
    assert [(number, code) for number, code in mutation.attempt_log.values_list("number", "error_code")] == [
        (1, ""),
        (2, "recovered"),
    ]
    assert mapped.invoices_with_reference("AFTER-2") == 1 and _posts_of(mapped) == 1, "read back, not sent again"
    events = Event.objects.filter(data__mutation_id=str(mutation.pk)).order_by("sequence")
    assert [event.type for event in events] == ["mutation.succeeded", "invoice.created"]
    assert events[1].data["recovered"] is True and events[1].data["record"]["id"] == answer["id"]

    # The client retries once the dead request's key is stale: the same record, nothing sent.
    IdempotencyKey.objects.filter(key="after-2").update(created_at=timezone.now() - timedelta(hours=1))
    retried = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="after-2")
    assert retried.status_code == 201 and retried.json()["id"] == answer["id"]
    assert retried.json()["mutation_id"] == answer["mutation_id"]
    assert _posts_of(mapped) == 1


def test_a_write_outcome_whose_lease_was_taken_over_still_answers_the_key(
    mapped: Connected, first_customer_id: str, api_key: Any
) -> None:
    """Between the answer and close(), another sender took the write over (its lease had expired): the late job
    changes nothing of the write, and the key still gets the answer that was sent."""
    response = _answered(mapped, api_key, invoice_body(first_customer_id, reference="AFTER-3"), "after-3")
    answer = json.loads(response.content)
    Mutation.objects.filter(pk=answer["mutation_id"]).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.mutations_reconcile() == {MutationStatus.SUCCEEDED: 1}

    response.close()

    mutation = Mutation.objects.get(pk=answer["mutation_id"])
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.attempts == 2
    assert Event.objects.filter(data__mutation_id=str(mutation.pk), type="mutation.succeeded").count() == 1
    key = IdempotencyKey.objects.get(key="after-3")
    assert key.status == IdempotencyStatus.COMPLETED and key.response_body == answer


def test_a_passthrough_write_is_ended_before_its_answer(mapped: Connected, api_key: Any) -> None:
    """A passthrough POST cannot be looked up at the vendor, so nothing of it waits for close()."""
    body = {"method": "POST", "path": "crm/Accounts", "body": {"Name": "Before the answer B.V.", "Status": "C"}}
    response = _answered(mapped, api_key, body, "after-4", resource="passthrough")

    assert response.status_code == 200 and json.loads(response.content)["status"] == 201
    mutation = Mutation.objects.get(pk=json.loads(response.content)["mutation_id"])
    assert mutation.status == MutationStatus.SUCCEEDED
    assert Event.objects.filter(data__mutation_id=str(mutation.pk), type="mutation.succeeded").count() == 1
    assert IdempotencyKey.objects.get(key="after-4").status == IdempotencyStatus.COMPLETED
    response.close()


def _copied(connected: Connected, resource: str) -> None:
    run = store_services.sync_run_request(connection=connected.connection, resource=resource, trigger="test")
    assert store_services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED


def test_an_update_is_in_the_local_copy_before_its_answer(mapped: Connected, api_key: Any) -> None:
    """A read right after a PATCH, sent before the server has run close(), gets the new record from the copy, not
    the old one: an update (or delete) reaches the copy before the answer; only its outcome transaction follows."""
    _copied(mapped, "contacts")
    contact = StoredRecord.objects.filter(connection=mapped.connection, resource="contacts").order_by("record_id")[0]

    response = _answered(
        mapped, api_key, {"name": "Renamed Before Close BV"}, "after-5", f"contacts/{contact.record_id}", "patch"
    )

    assert response.status_code == 200, response.content
    mutation = Mutation.objects.get(pk=json.loads(response.content)["mutation_id"])
    assert mutation.status == MutationStatus.SENDING, "the outcome waits for close()"
    read = mapped.client.get(mapped.url(f"contacts/{contact.record_id}"))
    assert read["X-Data-Source"] == "store" and read.json()["name"] == "Renamed Before Close BV"
    response.close()
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED


def test_a_delete_leaves_the_local_copy_before_its_answer(
    mapped: Connected, first_customer_id: str, api_key: Any
) -> None:
    project = _create_project(mapped, first_customer_id)
    entry = mapped.client.post(
        mapped.url("time-entries"),
        _entry_body(project["id"], _items(mapped)["CONSULT"], _employees(mapped)["1"]),
        format="json",
    ).json()
    _copied(mapped, "time-entries")

    response = _answered(mapped, api_key, {}, "after-6", f"time-entries/{entry['id']}", "delete")

    assert response.status_code == 200, response.content
    assert Mutation.objects.get(pk=json.loads(response.content)["mutation_id"]).status == MutationStatus.SENDING
    assert mapped.client.get(mapped.url(f"time-entries/{entry['id']}")).status_code == 404
    response.close()
