"""Durable writes against the sandbox: the mutation is committed before the call, lost answers leave it in doubt
and a retry finds the invoice instead of sending it twice, failures stay visible and can be retried from admin,
the call log shows every vendor call without bodies or tokens. Every test runs for every connector (`any_mapped`):
the vendor's invoice call and tables come from the connector's VendorProfile."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tenants.credentials.store import credential_tokens
from tenants.models import CallLog, Credential
from tests.unified_models.conftest import Connected
from unified_models import tasks
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)


def _invoices_with_reference(connected: Connected, reference: str) -> int:
    return connected.invoices_with_reference(reference)


def _fault_on_invoice_create(connected: Connected, kind: str, **options: Any) -> None:
    """The fault on every send of one invoice write (a latency fault: on the first send only)."""
    method, pattern = connected.profile.invoice_create
    times = 1 if kind == "latency" else connected.profile.sends_per_write
    connected.world.control.add_fault(kind=kind, pattern=pattern, method=method, times=times, **options)


def test_the_mutation_is_committed_before_the_vendor_is_called(any_mapped: Connected, any_customer_id: str) -> None:
    mapped, first_customer_id = any_mapped, any_customer_id
    _fault_on_invoice_create(mapped, "latency", latency_ms=1500)
    responses: list[Any] = []
    body = mapped.invoice_body(first_customer_id, reference="SLOW-1")
    sender = threading.Thread(
        target=lambda: responses.append(
            mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
        )
    )
    sender.start()
    try:
        deadline = time.monotonic() + 5
        seen = None
        while time.monotonic() < deadline and seen is None:
            seen = Mutation.objects.filter(idempotency_key="slow-1", status=MutationStatus.SENDING).first()
            time.sleep(0.05)
        assert seen is not None, "the mutation must be visible (committed) while the vendor call runs"
        assert seen.request["reference"] == "SLOW-1" and seen.attempts == 1
        # The same key while the first request is still in flight.
        concurrent = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="slow-1")
        assert concurrent.status_code == 409, concurrent.json()
    finally:
        sender.join(timeout=30)
    assert responses[0].status_code == 201
    assert _invoices_with_reference(mapped, "SLOW-1") == 1


def test_two_concurrent_requests_with_one_key_get_the_same_mutation(
    any_mapped: Connected, any_customer_id: str
) -> None:
    mapped, first_customer_id = any_mapped, any_customer_id
    # The vendor answers slowly, so both requests (released together) overlap; one sends, the other is told so.
    _fault_on_invoice_create(mapped, "latency", latency_ms=1500)
    body = mapped.invoice_body(first_customer_id, reference="RACE-1")
    start = threading.Barrier(2)
    answers: list[Any] = []

    def post() -> None:
        try:
            start.wait(timeout=10)
            answers.append(
                mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="race-1")
            )
        finally:
            connection.close()  # this thread's own connection; left open it blocks dropping the test database

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answer.status_code for answer in answers) == [201, 409], [answer.json() for answer in answers]
    (sent,) = [answer for answer in answers if answer.status_code == 201]
    (refused,) = [answer for answer in answers if answer.status_code == 409]
    assert refused.json()["code"] in ("idempotency_key_in_flight", "mutation_in_flight")
    (mutation,) = Mutation.objects.filter(idempotency_key="race-1")
    assert sent.json()["mutation_id"] == str(mutation.pk)
    # The refused client retries with its key and gets the same write, not a second one.
    retried = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="race-1")
    assert retried.status_code == 201 and retried["Idempotent-Replayed"] == "true"
    assert retried.json()["mutation_id"] == str(mutation.pk)
    assert _invoices_with_reference(mapped, "RACE-1") == 1


def test_a_lost_answer_is_in_doubt_and_the_retry_finds_the_invoice(any_mapped: Connected, any_customer_id: str) -> None:
    mapped, first_customer_id = any_mapped, any_customer_id
    _fault_on_invoice_create(mapped, "drop_after_apply")
    body = mapped.invoice_body(first_customer_id, reference="LOST-1")

    lost = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")

    assert lost.status_code == 503, lost.json()
    assert lost.json()["code"] == "vendor_unavailable"
    mutation = Mutation.objects.get(idempotency_key="lost-1")
    assert mutation.status == MutationStatus.IN_DOUBT
    assert _invoices_with_reference(mapped, "LOST-1") == 1  # the vendor did create it
    assert lost.json()["mutation_status"] == "in_doubt" and int(lost.headers["Retry-After"]) >= 1

    # Too early: a lost request may still be applied at the vendor, so nothing is looked up or sent yet.
    early = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")
    assert early.status_code == 409 and early.json()["code"] == "mutation_in_doubt", early.json()
    assert int(early.headers["Retry-After"]) >= 1
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now())  # the settle time has passed

    retried = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="lost-1")

    assert retried.status_code == 201, retried.json()
    assert retried.json()["reference"] == "LOST-1" and retried.json()["mutation_id"] == str(mutation.pk)
    assert _invoices_with_reference(mapped, "LOST-1") == 1, "the retry must not create a second invoice"
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.attempts == 2
    assert [attempt.error_code for attempt in mutation.attempt_log.all()] == ["vendor_unavailable", "recovered"]


def test_a_vendor_outage_leaves_a_failed_mutation_that_admin_can_retry(
    any_mapped: Connected, any_customer_id: str, admin_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    mapped, first_customer_id = any_mapped, any_customer_id
    _fault_on_invoice_create(mapped, "503")
    body = mapped.invoice_body(first_customer_id, reference="OUTAGE-1")

    response = mapped.client.post(mapped.url("invoices"), body, format="json")

    assert response.status_code == 503 and response.json()["code"] == "vendor_unavailable"
    assert response.headers["Retry-After"]
    mutation = Mutation.objects.get()
    assert mutation.status == MutationStatus.FAILED and mutation.error_code == "vendor_unavailable"
    assert _invoices_with_reference(mapped, "OUTAGE-1") == 0

    # Admin: the failed mutation is listed, its attempts are shown, the retry action queues it on "vendor".
    queued: list[tuple[list[str], str]] = []
    monkeypatch.setattr(tasks.mutation_retry, "apply_async", lambda args, queue: queued.append((list(args), queue)))
    browser = Client()
    browser.force_login(admin_user)
    listing = browser.get("/admin/unified_models/mutation/", {"status__exact": "failed"})
    assert listing.status_code == 200 and str(mutation.pk) in listing.content.decode()
    detail = browser.get(f"/admin/unified_models/mutation/{mutation.pk}/change/")
    assert detail.status_code == 200 and "vendor_unavailable" in detail.content.decode()
    action = browser.post(
        "/admin/unified_models/mutation/", {"action": "retry_mutations", "_selected_action": [str(mutation.pk)]}
    )
    assert action.status_code == 302 and queued == [([str(mutation.pk)], "vendor")]

    # What the worker runs for a queued id.
    assert tasks.mutation_retry(str(mutation.pk)) == MutationStatus.SUCCEEDED
    assert _invoices_with_reference(mapped, "OUTAGE-1") == 1
    mutation.refresh_from_db()
    assert mutation.attempts == 2 and mutation.remote_id


def test_the_call_log_records_calls_without_bodies_or_tokens(
    any_mapped: Connected, any_customer_id: str, admin_user
) -> None:  # type: ignore[no-untyped-def]
    mapped, first_customer_id = any_mapped, any_customer_id
    response = mapped.client.post(
        mapped.url("invoices"), mapped.invoice_body(first_customer_id), format="json", HTTP_X_REQUEST_ID="req-calllog-1"
    )
    assert response.status_code == 201

    logs = list(CallLog.objects.filter(connection=mapped.connection))
    method = mapped.profile.invoice_create[0]
    posts = [log for log in logs if log.method == method and mapped.profile.invoice_path_part in log.path]
    assert len(posts) == 1
    (post,) = posts
    assert post.status == mapped.profile.invoice_create_status and post.duration_ms >= 0
    assert post.rate_limit_remaining is not None or post.minutely_remaining is not None
    assert post.request_id == "req-calllog-1"

    browser = Client()
    browser.force_login(admin_user)
    page = browser.get("/admin/tenants/calllog/", {"connection__id__exact": str(mapped.connection.pk)})
    assert page.status_code == 200
    html = page.content.decode()
    assert mapped.profile.invoice_path_part in html
    tokens = credential_tokens(Credential.objects.get(pk=mapped.connection.credential_id))
    access_token, refresh_token = tokens.access_token, tokens.refresh_token
    assert access_token not in html and refresh_token not in html
    assert "ORDER-4711" not in html  # no bodies
    filtered = browser.get("/admin/tenants/calllog/", {"status": "201"})
    assert filtered.status_code == 200


def test_mutation_admin_pages_never_render_tokens(any_mapped: Connected, any_customer_id: str, admin_user) -> None:  # type: ignore[no-untyped-def]
    mapped, first_customer_id = any_mapped, any_customer_id
    created = mapped.client.post(mapped.url("invoices"), mapped.invoice_body(first_customer_id), format="json").json()
    browser = Client()
    browser.force_login(admin_user)
    tokens = credential_tokens(Credential.objects.get(pk=mapped.connection.credential_id))
    access_token, refresh_token = tokens.access_token, tokens.refresh_token
    for url in (
        "/admin/unified_models/mutation/",
        f"/admin/unified_models/mutation/{created['mutation_id']}/change/",
        "/admin/unified_models/connectionmapping/",
    ):
        html = browser.get(url).content.decode()
        assert access_token not in html and refresh_token not in html
