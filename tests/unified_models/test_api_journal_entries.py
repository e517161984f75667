"""General journal entries through the API against both sandboxes: Exact books them balanced in the memorial journal,
Xero as posted manual journals; each is read back live and from the store after a sync; unbalanced input and unknown
accounts are refused naming the field before any vendor call."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unified_models.conftest import CONNECTORS, Connected, mapping_store
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

NOWHERE = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


def _accounts(connected: Connected) -> dict[str, str]:
    response = connected.client.get(connected.url("ledger-accounts"), {"page_size": 200})
    assert response.status_code == 200, response.json()
    return {row["code"]: row["id"] for row in response.json()["results"]}


def _entry(accounts: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """An entry on the accounts the keys "4000" (costs) and "1100" (a balance-sheet account) name."""
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


# Per vendor: a cost and a balance-sheet account code, the vendor path that books an entry, its dump table.
VENDOR_ENTRIES: dict[str, tuple[str, str, str, str]] = {
    "exact": ("4000", "1100", "generaljournalentry", "GeneralJournalEntries"),
    "xero": ("429", "800", "ManualJournals", "ManualJournals"),
}


def _vendor_entry(connected: Connected) -> dict[str, Any]:
    cost, balance, _, _ = VENDOR_ENTRIES[connected.connector_id]
    accounts = _accounts(connected)
    return _entry({"4000": accounts[cost], "1100": accounts[balance]})


def _bookings(connected: Connected) -> int:
    path = VENDOR_ENTRIES[connected.connector_id][2]
    return sum(
        count for endpoint, by_status in connected.calls().items() if path in endpoint for count in by_status.values()
    )


REQUEST = "validation_error"  # the body refused by the request's own validation
VENDOR_RULES = None  # a 422 of a booking's rules (`invalid_input`, ...)


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda body, accounts: body["lines"][2].update(credit="120.49"), VENDOR_RULES, "lines"),
        (lambda body, accounts: body["lines"][1].update(credit="1.00"), VENDOR_RULES, "lines[1]"),
        (
            lambda body, accounts: body["lines"][0].update(ledger_account_id=NOWHERE),
            VENDOR_RULES,
            "lines[0].ledger_account_id",
        ),
        (lambda body, accounts: body["lines"][1].update(debit="-20.50"), REQUEST, "lines.1.debit"),
        (lambda body, accounts: body.pop("journal_code"), REQUEST, "journal_code"),
    ],
    ids=["unbalanced", "both-sides", "unknown-gl-account", "negative", "no-journal"],
)
def test_bad_input_is_refused_naming_the_field_before_any_booking(
    any_mapped: Connected, change: Any, code: str | None, field: str
) -> None:
    body = _vendor_entry(any_mapped)
    change(body, None)
    any_mapped.world.control.reset_counters()

    response = any_mapped.client.post(any_mapped.url("journal-entries"), body, format="json")

    # The request's own validation (422 `validation_error`) or the rules of a booking (422 `invalid_input`).
    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert (response.json()["code"] == REQUEST) == (code == REQUEST), response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert _bookings(any_mapped) == 0
    if field != "lines[0].ledger_account_id":
        assert any_mapped.calls() == {}  # refused before the connector read anything
    assert any_mapped.dump(VENDOR_ENTRIES[any_mapped.connector_id][3]) == []


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: Any) -> Connected:
    """A Xero connection through the real OAuth flow with the default UK mapping."""
    connected = CONNECTORS["xero"](request, workspace, auth_client)
    mapping_store(connected.connection, connected.profile.mapping)
    return connected


def test_a_balanced_entry_round_trips_through_the_xero_sandbox_and_the_store(xero: Connected) -> None:
    accounts = _accounts(xero)
    body = _entry({"4000": accounts["429"], "1100": accounts["800"]}, currency="GBP")

    response = xero.client.post(xero.url("journal-entries"), body, format="json")

    assert response.status_code == 201, response.json()
    entry = response.json()
    assert (entry["journal_code"], entry["date"], entry["currency"], entry["finalized"], entry["number"]) == (
        None,
        "2025-03-31",
        None,
        True,
        None,
    )
    assert [
        (line["ledger_account_id"], line["debit"], line["credit"], line["description"]) for line in entry["lines"]
    ] == [
        (accounts["429"], "100.00", "0.00", None),
        (accounts["429"], "20.50", "0.00", "Afronding"),
        (accounts["800"], "0.00", "120.50", None),
    ]
    assert (entry["total_debit"], entry["total_credit"]) == ("120.50", "120.50")
    # Xero has no journals: the code sent is reported, not lost silently.
    assert [warning["field"] for warning in entry["warnings"]] == ["journal_code"]

    (journal,) = xero.dump("ManualJournals")
    assert journal["ManualJournalID"] == entry["remote_id"]
    assert (journal["Narration"], journal["Status"], journal["LineAmountTypes"]) == (
        "Herclassificatie",
        "POSTED",
        "NoTax",
    )
    assert [(line["AccountCode"], line["LineAmount"]) for line in journal["JournalLines"]] == [
        ("429", 100.0),
        ("429", 20.5),
        ("800", -120.5),
    ]

    run = services.sync_run_request(connection=xero.connection, resource="journal-entries", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    xero.world.control.reset_counters()
    page = xero.client.get(xero.url("journal-entries"))
    one = xero.client.get(xero.url(f"journal-entries/{entry['id']}"))
    assert xero.calls() == {}

    expected = {name: value for name, value in entry.items() if name not in ("warnings", "mutation_id")}
    assert page.status_code == 200 and page.json()["source"] == "store" and page.json()["results"] == [expected]
    assert one.status_code == 200 and one.json() == expected


def test_a_xero_journal_line_with_a_tax_rate_books_its_tax(xero: Connected) -> None:
    """A line's tax_rate_id is its TaxType in a tax-exclusive manual journal; Xero calculates the tax on the line's
    side and the lines balance with it; a line without a rate is sent as NONE (no tax)."""
    accounts = _accounts(xero)
    body = {
        "journal_code": "90",
        "date": "2025-03-31",
        "description": "Kosten met btw",
        "lines": [
            {"ledger_account_id": accounts["429"], "debit": "100.00", "tax_rate_id": "INPUT2"},
            {"ledger_account_id": accounts["800"], "credit": "120.00"},
        ],
    }

    response = xero.client.post(xero.url("journal-entries"), body, format="json")

    assert response.status_code == 201, response.json()
    entry = response.json()
    assert [(line["debit"], line["credit"], line["tax_rate_id"], line["tax_amount"]) for line in entry["lines"]] == [
        ("100.00", "0.00", "INPUT2", "20.00"),
        ("0.00", "120.00", None, "0.00"),
    ]
    assert (entry["total_debit"], entry["total_credit"]) == ("120.00", "120.00")
    (journal,) = xero.dump("ManualJournals")
    assert journal["LineAmountTypes"] == "Exclusive"
    assert [
        (line["AccountCode"], line["LineAmount"], line["TaxType"], line["TaxAmount"])
        for line in journal["JournalLines"]
    ] == [
        ("429", 100.0, "INPUT2", 20.0),
        ("800", -120.0, "NONE", 0.0),
    ]

    run = services.sync_run_request(connection=xero.connection, resource="journal-entries", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    xero.world.control.reset_counters()
    one = xero.client.get(xero.url(f"journal-entries/{entry['id']}"))
    assert xero.calls() == {}
    assert one.json() == {name: value for name, value in entry.items() if name not in ("warnings", "mutation_id")}


@pytest.mark.parametrize(
    ("change", "field", "calls"),
    [
        (lambda body: body.pop("description"), "description", False),
        (lambda body: body.update(currency="USD"), "currency", True),
        (lambda body: body["lines"][0].update(tax_rate_id="INPUT2", tax_amount="20.00"), "lines[0].tax_amount", False),
        (lambda body: body["lines"][0].update(tax_rate_id="OUTPUT2"), "lines[0].tax_rate_id", True),
        (lambda body: body["lines"][0].update(tax_rate_id="BOGUS"), "lines[0].tax_rate_id", True),
        (lambda body: body["lines"][0].update(tax_rate_id="INPUT2"), "lines", True),  # 120.50 + 20.00 tax vs 120.50
        (lambda body: body["lines"][0].update(tax_rate_id="INPUT2", credit="1.00"), "lines[0]", False),
    ],
    ids=[
        "no-narration",
        "not-the-base-currency",
        "tax-amount-given",
        "sales-tax-on-expenses",
        "unknown-tax-type",
        "unbalanced-with-tax",
        "two-sides-with-tax",
    ],
)
def test_xero_refuses_what_xero_would_refuse_naming_the_field(
    xero: Connected, change: Any, field: str, calls: bool
) -> None:
    accounts = _accounts(xero)
    body = _entry({"4000": accounts["429"], "1100": accounts["800"]})
    change(body)
    xero.world.control.reset_counters()

    response = xero.client.post(xero.url("journal-entries"), body, format="json")

    assert response.status_code == 422, response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert _bookings(xero) == 0 and xero.dump("ManualJournals") == []
    if not calls:
        assert xero.calls() == {}


def test_the_xero_sandbox_refuses_an_unbalanced_manual_journal_in_xeros_words(xero: Connected) -> None:
    """Passthrough straight to the sandbox: Xero's own rule and message (fidelity row 72)."""
    lines = [{"LineAmount": 100, "AccountCode": "429"}, {"LineAmount": -99.99, "AccountCode": "800"}]
    response = xero.client.post(
        xero.url("passthrough"),
        {
            "method": "PUT",
            "path": "ManualJournals",
            "body": {"ManualJournals": [{"Narration": "x", "JournalLines": lines}]},
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    answer = response.json()
    assert answer["status"] == 400
    assert answer["body"]["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The total debits (100.00) must equal total credits (99.99)"
    )
