"""General journal entries through the API against the Exact sandbox: booked balanced in the memorial journal, read
back live and from the store after a sync; unbalanced input and unknown accounts are refused naming the field before
any vendor call; Xero declares the resource unsupported."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

NOWHERE = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


def _accounts(connected: Connected) -> dict[str, str]:
    response = connected.client.get(connected.url("ledger-accounts"), {"page_size": 200})
    assert response.status_code == 200, response.json()
    return {row["code"]: row["id"] for row in response.json()["results"]}


def _entry(accounts: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "journal_code": "90",
        "date": "2025-03-31",
        "description": "Herclassificatie",
        "lines": [
            {"ledger_account_id": accounts["4000"], "debit": "100.00"},
            {"ledger_account_id": accounts["4000"], "debit": "20.50", "description": "Afronding"},
            {"ledger_account_id": accounts["1100"], "credit": "120.50"},
        ],
    }
    body.update(overrides)
    return body


def _entry_calls(connected: Connected) -> int:
    return sum(
        count
        for endpoint, by_status in connected.calls().items()
        if "generaljournalentry" in endpoint
        for count in by_status.values()
    )


def test_a_balanced_entry_round_trips_through_the_sandbox_and_the_store(mapped: Connected) -> None:
    accounts = _accounts(mapped)

    response = mapped.client.post(mapped.url("journal-entries"), _entry(accounts), format="json")

    assert response.status_code == 201, response.json()
    entry = response.json()
    assert (entry["journal_code"], entry["date"], entry["currency"], entry["finalized"]) == (
        "90",
        "2025-03-31",
        "EUR",
        False,
    )
    assert [(line["debit"], line["credit"], line["description"]) for line in entry["lines"]] == [
        ("100.00", "0.00", "Herclassificatie"),
        ("20.50", "0.00", "Afronding"),
        ("0.00", "120.50", "Herclassificatie"),
    ]
    assert (entry["total_debit"], entry["total_credit"]) == ("120.50", "120.50") and entry["number"]

    (header,) = mapped.dump("GeneralJournalEntries")
    assert (header["EntryID"], header["JournalCode"], header["Type"]) == (entry["remote_id"], "90", 90)
    lines = sorted(mapped.dump("GeneralJournalEntryLines"), key=lambda line: line["LineNumber"])
    assert [(line["GLAccount"], line["AmountFC"]) for line in lines] == [
        (accounts["4000"], 100.0),
        (accounts["4000"], 20.5),
        (accounts["1100"], -120.5),
    ]

    run = services.sync_run_request(connection=mapped.connection, resource="journal-entries", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    mapped.world.control.reset_counters()
    page = mapped.client.get(mapped.url("journal-entries"))
    one = mapped.client.get(mapped.url(f"journal-entries/{entry['id']}"))
    assert mapped.calls() == {}

    expected = {name: value for name, value in entry.items() if name not in ("warnings", "mutation_id")}
    assert page.status_code == 200 and page.json()["source"] == "store" and page.json()["results"] == [expected]
    assert one.status_code == 200 and one.json() == expected


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (lambda body, accounts: body["lines"][2].update(credit="120.49"), 422, "lines"),
        (lambda body, accounts: body["lines"][1].update(credit="1.00"), 422, "lines[1]"),
        (lambda body, accounts: body["lines"][0].update(ledger_account_id=NOWHERE), 422, "lines[0].ledger_account_id"),
        (lambda body, accounts: body["lines"][1].update(debit="-20.50"), 400, "lines.1.debit"),
        (lambda body, accounts: body.pop("journal_code"), 400, "journal_code"),
    ],
    ids=["unbalanced", "both-sides", "unknown-gl-account", "negative", "no-journal"],
)
def test_bad_input_is_refused_naming_the_field_before_any_booking(
    mapped: Connected, change: Any, status: int, field: str
) -> None:
    body = _entry(_accounts(mapped))
    change(body, None)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("journal-entries"), body, format="json")

    assert response.status_code == status, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert _entry_calls(mapped) == 0
    if field != "lines[0].ledger_account_id":
        assert mapped.calls() == {}  # refused before the connector read anything
    assert mapped.dump("GeneralJournalEntries") == []


def test_xero_declares_journal_entries_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/journal-entries")

    assert response.status_code == 405, response.json()
    assert response.json()["code"] == "operation_not_supported"
