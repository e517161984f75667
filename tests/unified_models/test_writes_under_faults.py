"""Writes under injected faults: a write the vendor may have applied is never `failed` and never sent twice; a
write whose sender died (SIGKILL mid-request) is taken over by reconciliation once its lease expires.

Every fault is the sandbox's (500, 503, dropped connections, latency past the client timeout) or a real killed
process; the invoices are counted in the sandbox's own store.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from events.models import AuditEvent
from tenants.models import CallLog, Workspace
from tests.fixtures.exact import subprocess_env
from tests.gateway.test_celery import database_url_for_subprocess
from tests.unified_models.conftest import Connected, invoice_body
from unified_models import services, tasks
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
SALES_INVOICES = "/api/v1/*/salesinvoice/SalesInvoices"
# The read after a create: its header comes with the POST's answer, its lines are read (connectors/exact/provider.py).
LINES_OF_AN_INVOICE = "/api/v1/*/salesinvoice/SalesInvoiceLines*"


def _with_reference(connected: Connected, reference: str) -> list[dict[str, Any]]:
    return [row for row in connected.dump("SalesInvoices") if row.get("YourRef") == reference]


def _post(connected: Connected, body: dict[str, Any], key: str) -> Any:
    return connected.client.post(connected.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_failed_read_back_after_the_post_leaves_the_write_in_doubt_with_its_id(
    mapped: Connected, first_customer_id: str
) -> None:
    # Exact created the invoice, then the read-back GET of it failed: the write happened.
    mapped.world.control.add_fault(kind="500", pattern=LINES_OF_AN_INVOICE, method="GET", times=1)
    body = invoice_body(first_customer_id, reference="READBACK-1")

    first = _post(mapped, body, "readback-1")

    assert first.status_code == 503, first.json()
    assert first.json()["mutation_status"] == "in_doubt"
    mutation = Mutation.objects.get(idempotency_key="readback-1")
    (created,) = _with_reference(mapped, "READBACK-1")
    assert mutation.status == MutationStatus.IN_DOUBT, "the POST was answered: the write exists, it is not failed"
    assert mutation.remote_id == created["InvoiceID"], "the id from the POST's answer is stored before the read-back"
    mapped.world.control.reset_counters()

    retried = _post(mapped, body, "readback-1")

    assert retried.status_code == 201, retried.json()
    assert retried.json()["id"] == created["InvoiceID"] and retried.json()["mutation_id"] == str(mutation.pk)
    assert len(_with_reference(mapped, "READBACK-1")) == 1
    assert mapped.calls()["salesinvoice/SalesInvoices"] == {"200": 1}, "read back by its id, not posted again"
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED
    assert [attempt.error_code for attempt in mutation.attempt_log.all()] == ["vendor_unavailable", "recovered"]


def test_a_server_error_on_the_post_is_in_doubt_and_the_retry_looks_before_it_sends(
    mapped: Connected, first_customer_id: str
) -> None:
    mapped.world.control.add_fault(kind="500", pattern=SALES_INVOICES, method="POST", times=1)
    body = invoice_body(first_customer_id, reference="ERR500-1")

    first = _post(mapped, body, "err500-1")

    assert first.status_code == 503 and first.json()["code"] == "vendor_unavailable", first.json()
    mutation = Mutation.objects.get(idempotency_key="err500-1")
    assert mutation.status == MutationStatus.IN_DOUBT, "a 500 is no refusal: the vendor may have applied it"
    assert mutation.attempt_log.get().vendor_status == 500
    mapped.world.control.reset_counters()

    retried = _post(mapped, body, "err500-1")

    assert retried.status_code == 201, retried.json()
    assert len(_with_reference(mapped, "ERR500-1")) == 1
    calls = mapped.calls()
    assert calls["salesinvoice/SalesInvoices"] == {"200": 1, "201": 1}, f"a lookup (nothing found), one POST: {calls}"
    assert calls["salesinvoice/SalesInvoiceLines"] == {"200": 1}, f"the read of its lines: {calls}"


def test_a_timeout_waits_until_the_vendor_is_done_before_looking(
    mapped: Connected,
    first_customer_id: str,
    settings,  # type: ignore[no-untyped-def]
) -> None:
    # The client gives up after 0.5 s; the sandbox applies the POST only after 1.5 s. Looking it up at once would
    # find nothing and send it again: the settle time prevents exactly that.
    settings.EXACT_HTTP_TIMEOUT = 0.5
    settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS = 2.0
    mapped.world.control.add_fault(kind="latency", pattern=SALES_INVOICES, method="POST", latency_ms=1500, times=1)
    body = invoice_body(first_customer_id, reference="TIMEOUT-1")

    first = _post(mapped, body, "timeout-1")

    assert first.status_code == 503, first.json()
    assert first.json()["mutation_status"] == "in_doubt"
    retry_after = int(first.headers["Retry-After"])
    assert retry_after >= 2
    early = _post(mapped, body, "timeout-1")
    assert early.status_code == 409 and early.json()["code"] == "mutation_in_doubt", early.json()
    assert _with_reference(mapped, "TIMEOUT-1") == [], "the vendor has not applied it yet"
    # The in-doubt answer names when the write will have settled (the settle time): a client waits that long, not
    # the first answer's generic Retry-After.
    settles_in = int(early.headers["Retry-After"])
    assert 1 <= settles_in <= 3

    time.sleep(settles_in + 0.2)
    retried = _post(mapped, body, "timeout-1")

    assert retried.status_code == 201, retried.json()
    assert len(_with_reference(mapped, "TIMEOUT-1")) == 1
    mutation = Mutation.objects.get(idempotency_key="timeout-1")
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.attempt_log.last().error_code == "recovered"


def test_a_clear_refusal_fails_and_a_vendor_503_is_one(mapped: Connected, first_customer_id: str) -> None:
    mapped.world.control.add_fault(kind="503", pattern=SALES_INVOICES, method="POST", times=1)
    response = _post(mapped, invoice_body(first_customer_id, reference="REFUSED-1"), "refused-1")
    assert response.status_code == 503
    assert Mutation.objects.get(idempotency_key="refused-1").status == MutationStatus.FAILED

    # A refusal of the input (no such customer): failed with the vendor's words, replayed for the same key.
    unknown = invoice_body("00000000-0000-4000-8000-000000000999", reference="REFUSED-2")
    refused = _post(mapped, unknown, "refused-2")
    assert refused.status_code == 422, refused.json()
    mutation = Mutation.objects.get(idempotency_key="refused-2")
    assert mutation.status == MutationStatus.FAILED and mutation.error_code == "vendor_validation_failed"


def test_a_dropped_request_before_it_reached_the_vendor_is_looked_up_then_sent_once(
    mapped: Connected, first_customer_id: str
) -> None:
    mapped.world.control.add_fault(kind="drop_before_apply", pattern=SALES_INVOICES, method="POST", times=1)
    body = invoice_body(first_customer_id, reference="DROP-1")
    first = _post(mapped, body, "drop-1")
    assert first.status_code == 503
    mutation = Mutation.objects.get(idempotency_key="drop-1")
    assert mutation.status == MutationStatus.IN_DOUBT  # we cannot tell before from after
    Mutation.objects.filter(pk=mutation.pk).update(reconcile_after=timezone.now())  # the settle time has passed

    assert _post(mapped, body, "drop-1").status_code == 201
    assert len(_with_reference(mapped, "DROP-1")) == 1


# --------------------------------------------------------------------------------------------- killed senders


def _sender(world: Any, mutation: Mutation | None, *claim: str) -> subprocess.Popen[str]:
    """A process sending `mutation`, or (with `claim`: connection id, key, request JSON) recording and sending one
    as the API does."""
    env = subprocess_env(
        world,
        DATABASE_URL=database_url_for_subprocess(),
        LEDGERBRIDGE_CREDENTIAL_KEYS=",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.unified_models.write_sender",
            *(["--claim", *claim] if claim else [str(mutation.pk if mutation else "")]),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _kill_mid_post(mapped: Connected, reference: str, key: str) -> tuple[Mutation, dict[str, Any]]:
    """Record an invoice write and have another process send it; SIGKILL that process while its POST is at the
    vendor (which applies it a moment later, like a request that outlives the worker that sent it)."""
    fault = mapped.world.control.add_fault(
        kind="latency", pattern=SALES_INVOICES, method="POST", latency_ms=1500, times=1
    )
    body = invoice_body(first_customer_id_of(mapped), reference=reference)
    mutation = services.mutation_create(
        workspace=Workspace.objects.get(pk=mapped.connection.workspace_id),
        connection=mapped.connection,
        resource="invoices",
        operation="create",
        request=services_request(body),
        idempotency_key=key,
    )
    sender = _sender(mapped.world, mutation)
    _kill_when_fired(mapped, fault, sender)
    time.sleep(2.0)  # the vendor finishes the request the dead process sent
    mutation.refresh_from_db()
    return mutation, body


def _kill_when_fired(mapped: Connected, fault: dict[str, Any], sender: subprocess.Popen[str]) -> None:
    """SIGKILL `sender` once the sandbox holds the request `fault` delays."""
    try:
        _wait_until_fired(mapped, fault, sender)
        os.kill(sender.pid, signal.SIGKILL)
    finally:
        sender.wait(timeout=30)


def _wait_until_fired(mapped: Connected, fault: dict[str, Any], sender: subprocess.Popen[str]) -> None:
    """Return once the sandbox holds the request `fault` delays (the sender still running)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if next(f["fired"] for f in mapped.world.control.faults() if f["id"] == fault["id"]):
            return
        assert sender.poll() is None, sender.communicate()
        time.sleep(0.05)
    pytest.fail("the sender never reached the vendor")


def first_customer_id_of(connected: Connected) -> str:
    return next(str(row["ID"]) for row in connected.dump("Accounts") if row.get("Status") == "C")


def services_request(body: dict[str, Any]) -> dict[str, Any]:
    """The mutation's stored request, as the invoices view stores it (the validated serializer data)."""
    from unified_models.serializers import InvoiceCreateSerializer

    serializer = InvoiceCreateSerializer(data=body)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.data)


def test_a_write_whose_sender_was_killed_is_reconciled_by_beat_after_its_lease(mapped: Connected) -> None:
    mutation, body = _kill_mid_post(mapped, "KILLED-1", "killed-1")

    assert mutation.status == MutationStatus.SENDING and mutation.lease_expires_at > timezone.now()
    assert len(_with_reference(mapped, "KILLED-1")) == 1, "the vendor applied the write of the dead process"
    # While the lease runs, the same key is answered 409 with when to come back; the lease is what makes
    # "still sending" and "sender died" distinguishable.
    busy = _post(mapped, body, "killed-1")
    assert busy.status_code == 409 and busy.json()["code"] == "mutation_in_flight"
    assert 1 <= int(busy.headers["Retry-After"]) <= services.web_lease_seconds() + 1
    assert services.mutations_reconcile() == {}, "nothing is taken over while the lease runs"

    Mutation.objects.filter(pk=mutation.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.mutations_reconcile() == {MutationStatus.SUCCEEDED: 1}

    mutation.refresh_from_db()
    assert mutation.remote_id == _with_reference(mapped, "KILLED-1")[0]["InvoiceID"]
    assert len(_with_reference(mapped, "KILLED-1")) == 1, "found at the vendor, not sent again"
    assert mutation.attempt_log.last().error_code == "recovered"
    replay = _post(mapped, body, "killed-1")
    assert replay.status_code == 201 and replay.json()["id"] == mutation.remote_id


def test_a_retry_takes_over_a_write_whose_lease_expired_and_admin_can_retry_it(
    mapped: Connected, admin_user, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    mutation, body = _kill_mid_post(mapped, "KILLED-2", "killed-2")
    Mutation.objects.filter(pk=mutation.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    # Operators see it as abandoned and may queue it (the queued task is what the worker would run).
    queued: list[list[str]] = []
    monkeypatch.setattr(tasks.mutation_retry, "apply_async", lambda args, queue: queued.append(list(args)))
    browser = Client()
    browser.force_login(admin_user)
    action = browser.post(
        "/admin/unified_models/mutation/", {"action": "retry_mutations", "_selected_action": [str(mutation.pk)]}
    )
    assert action.status_code == 302 and queued == [[str(mutation.pk)]]

    retried = _post(mapped, body, "killed-2")

    assert retried.status_code == 201, retried.json()
    assert len(_with_reference(mapped, "KILLED-2")) == 1
    mutation.refresh_from_db()
    assert mutation.status == MutationStatus.SUCCEEDED and mutation.attempts == 2


def test_a_claimed_write_killed_after_its_post_was_answered_loses_no_row(
    mapped: Connected, first_customer_id: str
) -> None:
    """The API's path (the mutation inserted already claimed, its attempt row written at the end): a sender killed
    during the read-back that follows the POST. The POST's call-log row, its audit row and the created id were each
    written the moment the answer came (nothing is held in memory for later); the attempt the dead sender never
    finished is recorded by the reconciliation that takes the write over."""
    fault = mapped.world.control.add_fault(
        kind="latency", pattern=LINES_OF_AN_INVOICE, method="GET", latency_ms=1500, times=1
    )
    body = invoice_body(first_customer_id, reference="KILLED-3")
    sender = _sender(mapped.world, None, str(mapped.connection.pk), "killed-3", json.dumps(services_request(body)))
    _kill_when_fired(mapped, fault, sender)

    mutation = Mutation.objects.get(idempotency_key="killed-3")
    (created,) = _with_reference(mapped, "KILLED-3")
    assert mutation.status == MutationStatus.SENDING and mutation.attempts == 1
    assert mutation.remote_id == created["InvoiceID"]
    posts = CallLog.objects.filter(connection=mapped.connection, method="POST", path="salesinvoice/SalesInvoices")
    assert [row.status for row in posts] == [201], "the POST's call-log row was written when its answer came"
    (audit,) = AuditEvent.objects.filter(mutation_id=mutation.pk)
    assert audit.vendor_method == "POST" and audit.vendor_status == 201 and audit.remote_id == created["InvoiceID"]
    assert not mutation.attempt_log.exists(), "the dead sender's attempt row is written by whoever takes over"

    Mutation.objects.filter(pk=mutation.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.mutations_reconcile() == {MutationStatus.SUCCEEDED: 1}

    attempts = list(mutation.attempt_log.values_list("number", "finished_at", "error_code"))
    assert [(number, code) for number, _, code in attempts] == [(1, ""), (2, "recovered")]
    assert attempts[0][1] is None, "the lost attempt never finished"
    assert len(_with_reference(mapped, "KILLED-3")) == 1, "read back by its id, not sent again"
    assert AuditEvent.objects.filter(mutation_id=mutation.pk).count() == 1


def test_a_claimed_write_refused_after_its_lease_was_taken_over_keeps_the_takeovers_outcome(
    mapped: Connected,
) -> None:
    """The failure path of the takeover case: a claimed create's sender whose POST is still at the vendor when its
    lease expires and reconciliation takes the write over (writing the first attempt's row). The takeover's own
    attempt is refused and ends the write; the first sender's refusal then arrives and changes nothing: its attempt
    row exists already, which `_finished_in_transaction` reads as "taken over", not as an error."""
    fault = mapped.world.control.add_fault(
        kind="latency", pattern=SALES_INVOICES, method="POST", latency_ms=3000, times=1
    )
    # No such customer: Exact refuses the invoice, the first sender's POST after the delay, the takeover's at once.
    body = invoice_body("00000000-0000-4000-8000-000000000998", reference="TAKEN-1")
    sender = _sender(mapped.world, None, str(mapped.connection.pk), "taken-1", json.dumps(services_request(body)))
    try:
        _wait_until_fired(mapped, fault, sender)
        Mutation.objects.filter(idempotency_key="taken-1").update(
            lease_expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert tasks.mutations_reconcile() == {MutationStatus.FAILED: 1}
    finally:
        _, stderr = sender.communicate(timeout=60)

    assert "VendorValidationError" in stderr and "IntegrityError" not in stderr, stderr
    assert "ended after its lease was taken over" in stderr
    mutation = Mutation.objects.get(idempotency_key="taken-1")
    assert mutation.status == MutationStatus.FAILED and mutation.attempts == 2
    assert mutation.error_code == "vendor_validation_failed"
    attempts = list(mutation.attempt_log.values_list("number", "finished_at", "error_code"))
    assert [(number, code) for number, _, code in attempts] == [(1, ""), (2, "vendor_validation_failed")]
    assert attempts[0][1] is None, "the first attempt's end is not written over the takeover's history"
    refused = CallLog.objects.filter(connection=mapped.connection, method="POST", path="salesinvoice/SalesInvoices")
    # Exact answers a GUID that points nowhere with 500 "Ongeldige referentie" (connectors/exact/NOTES.md).
    assert [row.status for row in refused] == [500, 500]
    assert _with_reference(mapped, "TAKEN-1") == []
