"""Idempotency-Key on the write handlers, whose key is claimed with the write it starts (`idempotent_write`): the
key's row is inserted in the statement that records the mutation and answered in the transaction that records the
outcome, with the semantics of a key claimed up front (gateway/api/idempotency.py)."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from gateway.models import IdempotencyKey, IdempotencyStatus
from tests.unified_models.conftest import Connected, invoice_body
from unified_models.models import Mutation

pytestmark = pytest.mark.django_db(transaction=True)


def _commits(statements: list[str]) -> int:
    """Commits among `statements`: each COMMIT, and each write sent outside a BEGIN … COMMIT (autocommit)."""
    commits, open_transaction = 0, False
    for sql in statements:
        verb = sql.split(None, 1)[0].upper()
        if verb == "BEGIN":
            open_transaction = True
        elif verb == "COMMIT":
            commits, open_transaction = commits + 1, False
        elif not open_transaction and verb in ("INSERT", "UPDATE", "DELETE", "WITH"):
            commits += 1
    return commits


@pytest.mark.postgres
def test_a_create_claims_its_key_with_the_write_and_answers_it_with_the_outcome(
    mapped: Connected, first_customer_id: str
) -> None:
    # Lines named in full: the POST alone, no read of the lines (each further call adds its call-log row's commit).
    lines = [{"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"}]
    body = invoice_body(first_customer_id, reference="KEY-1", lines=lines)
    warm = mapped.client.post(mapped.url("invoices"), {**body, "reference": "WARM"}, format="json")
    assert warm.status_code == 201, warm.json()
    with CaptureQueriesContext(db) as captured:
        first = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == 201 and first["Idempotent-Replayed"] == "false", first.json()
    statements = [query["sql"] for query in captured.captured_queries]
    # The key with the mutation, the answer's call log with its audit row and id, the outcome with the key's answer.
    assert _commits(statements) == 3, "\n".join(statements)
    assert not any(sql.startswith('INSERT INTO "gateway_idempotencykey"') for sql in statements), "not on its own"

    row = IdempotencyKey.objects.get(key="key-1")
    assert row.status == IdempotencyStatus.COMPLETED and row.response_status == 201
    assert row.response_body == first.json()
    sent = mapped.calls()
    replay = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert mapped.calls() == sent, "a replay calls no vendor"
    assert Mutation.objects.filter(idempotency_key="key-1").count() == 1
    assert mapped.invoices_with_reference("KEY-1") == 1


def test_invalid_input_leaves_the_key_free_and_a_refusal_after_recording_is_the_keys_answer(
    mapped: Connected, first_customer_id: str
) -> None:
    # Refused by validation before anything is recorded: no answer is kept (Stripe's rule), the key stays free.
    invalid = invoice_body(first_customer_id, reference="KEY-2", lines=[])
    refused = mapped.client.post(mapped.url("invoices"), invalid, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert refused.status_code == 422, refused.json()
    assert not IdempotencyKey.objects.filter(key="key-2").exists() and not Mutation.objects.exists()
    corrected = invoice_body(first_customer_id, reference="KEY-2")
    created = mapped.client.post(mapped.url("invoices"), corrected, format="json", HTTP_IDEMPOTENCY_KEY="key-2")
    assert created.status_code == 201 and created["Idempotent-Replayed"] == "false", created.json()

    # Refused by the vendor after the write was recorded: that answer is the key's, replayed without a vendor call.
    unknown = invoice_body(first_customer_id, reference="KEY-4")
    unknown["lines"][1]["item_code"] = "no-such-item"  # the division has no such item: refused, nothing booked
    first = mapped.client.post(mapped.url("invoices"), unknown, format="json", HTTP_IDEMPOTENCY_KEY="key-4")
    assert first.status_code == 422 and first["Idempotent-Replayed"] == "false", first.json()
    row = IdempotencyKey.objects.get(key="key-4")
    assert row.status == IdempotencyStatus.COMPLETED and row.response_status == 422
    sent = mapped.calls()
    again = mapped.client.post(mapped.url("invoices"), unknown, format="json", HTTP_IDEMPOTENCY_KEY="key-4")
    assert again.status_code == 422 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and mapped.calls() == sent


def test_a_key_with_an_answer_is_answered_with_it_even_where_the_request_would_now_be_refused(
    mapped: Connected, first_customer_id: str
) -> None:
    body = invoice_body(first_customer_id, reference="KEY-3")
    first = mapped.client.post(mapped.url("invoices"), body, format="json", HTTP_IDEMPOTENCY_KEY="key-3")
    assert first.status_code == 201, first.json()
    # The handler now refuses before it records anything (the connection is gone: 404), but the key has an answer.
    url = mapped.url("invoices")
    mapped.connection.delete()
    replay = mapped.client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-3")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    fresh = mapped.client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-3b")
    assert fresh.status_code == 404, fresh.json()
