"""SQL statements per API request (issue 15, item 2), counted with Django's CaptureQueriesContext against the
sandbox: upper bounds, so a change that adds bookkeeping statements to the hot path fails here.

Counted are all statements the request runs, BEGIN/COMMIT included, in steady state (the connection's
`last_success_at` written less than a minute ago, the reference GUIDs cached).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from tests.unified_models.conftest import Connected

# The bounds are PostgreSQL's: there, paired writes are one statement each (gateway/statements.py).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _invoice(contact_id: str, reference: str, *, item_code: str | None = None) -> dict[str, Any]:
    second: dict[str, Any] = {"description": "Export", "quantity": "1", "unit_price": "50.00", "tax_rate": "0"}
    if item_code:
        second["item_code"] = item_code  # an item without a G/L account: Exact fills it in, the lines are read
    return {
        "contact_id": contact_id,
        "reference": reference,
        "lines": [{"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"}, second],
    }


def _statements(run: Any) -> list[str]:
    with CaptureQueriesContext(db) as captured:
        response = run()
    assert response.status_code in (200, 201), response.json()
    return [query["sql"] for query in captured.captured_queries]


def test_statements_per_request_stay_within_their_bounds(mapped: Connected, first_customer_id: str) -> None:
    client = mapped.client
    for number in range(2):  # warm: GUIDs cached, last_success_at fresh
        body = _invoice(first_customer_id, f"WARM-{number}", item_code="handbook")
        assert client.post(mapped.url("invoices"), body, format="json").status_code == 201

    create = _statements(
        lambda: client.post(
            mapped.url("invoices"), _invoice(first_customer_id, "ONE"), format="json", HTTP_IDEMPOTENCY_KEY="q-1"
        )
    )
    created_id = client.get(mapped.url("invoices"), {"page_size": 1}).json()["results"][0]["id"]
    create_and_read = _statements(
        lambda: client.post(
            mapped.url("invoices"),
            _invoice(first_customer_id, "TWO", item_code="handbook"),
            format="json",
            HTTP_IDEMPOTENCY_KEY="q-2",
        )
    )
    retrieve = _statements(lambda: client.get(mapped.url(f"invoices/{created_id}")))
    page = _statements(lambda: client.get(mapped.url("invoices"), {"page_size": 60}))
    workspace = _statements(lambda: client.get("/api/v1/workspace"))

    # Before issue 15's item 2: 44, 7, 7 and 1 (the credential read again and last_success_at written per vendor
    # call, the idempotency key's expired row deleted in a transaction of its own before every claim, two
    # statements per event counter and a savepoint around every event). Then 29, 5, 5 and 1 (the API key read per
    # request, the connection read again for the vendor call and after the write, the mapping read on its own,
    # the lease taken in a transaction of its own and the first attempt's row written twice, the mutation read back
    # twice, each event inserted on its own). Then 12 and 3 (whether the resource has a store copy asked in a
    # statement of its own; now read with the connection). Then 11 (6 commits): the Idempotency-Key's row inserted
    # and answered in statements (and commits) of their own, the write's call-log row apart from its audit row;
    # now the key goes in with the mutation and is answered with the outcome, the call log with the audit row.
    # Then 9; now 7: the workspace's webhook endpoints read and locked, and the key answered, in the statement
    # that inserts the outcome's numbered events.
    assert len(create) <= 7, "\n".join(create)
    events_insert = [sql for sql in create if sql.startswith("WITH counter AS")]
    assert len(events_insert) == 1, "\n".join(create)
    assert 'FROM "events_webhookendpoint"' in events_insert[0] and 'UPDATE "gateway_idempotencykey"' in events_insert[0]
    assert not any(sql.startswith(('SELECT "id", "event_types"', 'UPDATE "gateway_idempotencykey"')) for sql in create)
    assert len(retrieve) <= 2, "\n".join(retrieve)  # the connection with its store state, the call-log row
    assert len(page) <= 3, "\n".join(page)
    assert workspace == [], "\n".join(workspace)  # the key is served from the process's cache
    for statements in (create, create_and_read, retrieve, page):
        assert sum(sql.startswith('SELECT "tenants_connection"') for sql in statements) == 1, "\n".join(statements)
        assert not any('FROM "tenants_apikey"' in sql for sql in statements), "\n".join(statements)
        assert not any('FROM "unified_models_connectionmapping"' in sql for sql in statements), (
            "read with the connection"
        )
    # A second vendor call costs one statement: its call log row.
    assert len(create_and_read) - len(create) == 1, "\n".join(create_and_read)
    assert not any(sql.startswith('SELECT "tenants_credential"') for sql in create_and_read), "read with the connection"
    assert not any('UPDATE "tenants_connection"' in sql for sql in create + create_and_read + retrieve + page)
