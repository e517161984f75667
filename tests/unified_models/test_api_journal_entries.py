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


def _vat_entry(accounts: dict[str, str], **line_overrides: Any) -> dict[str, Any]:
    """Cash sales with 21 % VAT in the memorial journal with VAT (91): 121.00 debit = 100.00 + 21.00 credit."""
    revenue = {"ledger_account_id": accounts["8000"], "credit": "100.00", "tax_rate_id": "2", **line_overrides}
    return {
        "journal_code": "91",
        "date": "2025-03-31",
        "description": "Omzet kassa maart",
        "lines": [{"ledger_account_id": accounts["1100"], "debit": "121.00"}, revenue],
    }


def test_a_line_with_vat_books_its_tax_in_the_sandbox_and_reads_back_from_the_store(mapped: Connected) -> None:
    accounts = _accounts(mapped)

    response = mapped.client.post(mapped.url("journal-entries"), _vat_entry(accounts), format="json")

    assert response.status_code == 201, response.json()
    entry = response.json()
    assert [(line["debit"], line["credit"], line["tax_rate_id"], line["tax_amount"]) for line in entry["lines"]] == [
        ("121.00", "0.00", None, "0.00"),
        ("0.00", "100.00", "2", "21.00"),  # the mapping's 21 % for code 2
    ]
    assert (entry["journal_code"], entry["total_debit"], entry["total_credit"]) == ("91", "121.00", "121.00")
    lines = sorted(mapped.dump("GeneralJournalEntryLines"), key=lambda line: line["LineNumber"])
    assert [(line["GLAccount"], line["AmountFC"], line.get("VATCode"), line.get("AmountVATFC")) for line in lines] == [
        (accounts["1100"], 121.0, None, None),
        (accounts["8000"], -100.0, "2", -21.0),
    ]
    assert lines[1]["VATPercentage"] == 0.21 and lines[1]["VATBaseAmountFC"] == -100.0

    # A given tax amount is sent as is (a rate the mapping has no percent for: purchase VAT code 5).
    given = _vat_entry(accounts, tax_rate_id="5", tax_amount="20.99")
    given["lines"][0]["debit"] = "120.99"
    assert mapped.client.post(mapped.url("journal-entries"), given, format="json").status_code == 201

    run = services.sync_run_request(connection=mapped.connection, resource="journal-entries", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    mapped.world.control.reset_counters()
    one = mapped.client.get(mapped.url(f"journal-entries/{entry['id']}"))
    assert mapped.calls() == {}
    assert one.json() == {name: value for name, value in entry.items() if name not in ("warnings", "mutation_id")}


@pytest.mark.parametrize(
    ("line", "debit", "field"),
    [
        ({}, "120.00", "lines"),  # 120.00 against 100.00 + 21.00 VAT
        ({"tax_rate_id": "5"}, "121.00", "lines[1].tax_rate_id"),  # no percent in the mapping, no tax_amount
        ({"tax_rate_id": None, "tax_amount": "21.00"}, "121.00", "lines[1].tax_amount"),
    ],
    ids=["unbalanced-with-vat", "rate-without-percent", "tax-without-rate"],
)
def test_bad_vat_input_is_refused_naming_the_field_before_any_vendor_call(
    mapped: Connected, line: dict[str, Any], debit: str, field: str
) -> None:
    body = _vat_entry(_accounts(mapped), **line)
    body["lines"][0]["debit"] = debit
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("journal-entries"), body, format="json")

    assert response.status_code == 422, response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert mapped.calls() == {}
    assert mapped.dump("GeneralJournalEntries") == []


def test_vat_in_a_journal_without_vat_is_exacts_refusal(mapped: Connected) -> None:
    response = mapped.client.post(
        mapped.url("journal-entries"), _vat_entry(_accounts(mapped), **{}) | {"journal_code": "90"}, format="json"
    )

    assert response.status_code == 422, response.json()
    assert "btw" in str(response.json()["vendor"]), response.json()
    assert mapped.dump("GeneralJournalEntries") == []


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
