"""Entity behaviour over real HTTP: Me, Divisions, Accounts, Contacts, invoices, printing, receivables, webhooks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.conftest import make_tenant
from tests.connectors.exact.sandbox.data_fixtures import (
    ExactClient,
    connect,
    exact_fixture,  # noqa: F401  (pytest fixture)
)


def _item(exact: ExactClient, code: str) -> str:
    return exact.results("logistics/Items", {"$select": "ID", "$filter": f"Code eq '{code}'"})[0]["ID"]


def _customer(exact: ExactClient) -> str:
    return exact.results("crm/Accounts", {"$select": "ID", "$filter": "trim(Code) eq '1'"})[0]["ID"]


def _invoice(exact: ExactClient, **extra: Any) -> dict[str, Any]:
    body = {
        "OrderedBy": _customer(exact),
        "YourRef": "PO-1",
        "SalesInvoiceLines": [
            {"Item": _item(exact, "CONSULT"), "Quantity": 1.5, "UnitPrice": 33.33},
            {"Item": _item(exact, "BOOK"), "Quantity": 1},
        ],
        **extra,
    }
    response = exact.post("salesinvoice/SalesInvoices", body)
    assert response.status_code == 201, response.text
    return response.json()["d"]


def _message(response: httpx.Response) -> str:
    return response.json()["error"]["message"]["value"]


def test_me_has_no_division_and_reports_current_division(exact: ExactClient) -> None:
    response = exact.http.get(
        f"{exact.tenant.base_url}/api/v1/current/Me",
        headers=exact.headers(),
        params={"$select": "CurrentDivision,UserName"},
    )
    assert response.status_code == 200
    (me,) = response.json()["d"]["results"]
    assert me["CurrentDivision"] == exact.tenant.division
    assert me["__metadata"]["uri"] == f"{exact.tenant.base_url}/api/v1/current/Me(guid'{exact.tenant.user['user_id']}')"


def test_divisions_lists_only_granted(control: SandboxControl, server: SandboxServer, http: httpx.Client) -> None:
    tenant = connect(http, make_tenant(control, server, divisions=(200001, 200002, 200003), granted=(200001, 200003)))
    rows = http.get(tenant.api_url("system/Divisions"), headers=tenant.headers()).json()["d"]["results"]
    assert [(r["Code"], r["Current"]) for r in rows] == [(200001, True), (200003, False)]
    assert rows[0]["Currency"] == "EUR" and rows[0]["Description"] == "BV 200001"


def test_all_divisions_stays_within_the_users_divisions_and_region(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    """AllDivisions lists one licence's divisions, not every division Exact hosts.

    (connectors/exact/NOTES.md: Divisions)"""
    tenant = connect(http, make_tenant(control, server, divisions=(300001, 300002), granted=(300001,)))
    # Another customer's division in the same region, and a division of the same user in another region.
    other = control.register_user(username="piet", region="nl")
    control.register_division(code=300009, name="Andermans BV", region="nl", users=[other["user_id"]])
    control.register_division(code=300050, name="BV België", region="be", users=[tenant.user["user_id"]])
    response = http.get(tenant.api_url("system/AllDivisions"), headers=tenant.headers())
    assert response.status_code == 200, response.text
    # Not only the granted ones (that is system/Divisions), but never a stranger's or another region's.
    assert [r["Code"] for r in response.json()["d"]["results"]] == [300001, 300002]


def test_seeded_reference_data(exact: ExactClient) -> None:
    gl = {r["Code"]: r for r in exact.results("financial/GLAccounts", {"$select": "Code,Description,Type"})}
    assert gl["8000"]["Description"] == "Omzet hoog" and gl["1300"]["Type"] == 20 and "1600" in gl and "1100" in gl
    vat = {r["Code"]: r["Percentage"] for r in exact.results("vat/VATCodes", {"$select": "Code,Percentage"})}
    assert vat["2"] == 0.21 and vat["1"] == 0.09 and vat["0"] == 0.0
    journals = {r["Code"]: r["Type"] for r in exact.results("financial/Journals", {"$select": "Code,Type"})}
    assert journals == {"70": 20, "60": 22, "20": 12, "90": 90, "91": 90}
    items = exact.results(
        "logistics/Items", {"$select": "Code,GLRevenueCode,SalesVatCode", "$filter": "IsSalesItem eq true"}
    )
    assert {i["Code"] for i in items} >= {"CONSULT", "HOSTING", "LICENSE"}


def test_account_code_padding_and_validation(exact: ExactClient) -> None:
    created = exact.post("crm/Accounts", {"Name": "Acme", "Code": "4711"}).json()["d"]
    assert created["Code"] == "4711".rjust(18)
    auto = exact.post("crm/Accounts", {"Name": "Auto"}).json()["d"]
    assert auto["Code"] == "4712".rjust(18)
    missing = exact.post("crm/Accounts", {"City": "Delft"})
    assert missing.status_code == 400 and _message(missing) == "Verplicht: Naam"
    duplicate = exact.post("crm/Accounts", {"Name": "Twin", "Code": "  4711"})
    assert duplicate.status_code == 400
    unknown = exact.post("crm/Accounts", {"Name": "X", "Colour": "red"})
    assert unknown.status_code == 400 and "Colour" in _message(unknown)


def test_post_without_prefer_returns_nulls_except_key(exact: ExactClient) -> None:
    response = exact.http.post(
        exact.tenant.api_url("crm/Accounts"), json={"Name": "Minimal"}, headers=exact.tenant.headers()
    )
    assert response.status_code == 201
    record = response.json()["d"]
    assert record["ID"] and record["Name"] is None and record["Code"] is None


def test_a_sales_invoice_post_answers_the_whole_header_and_defers_the_lines(exact: ExactClient) -> None:
    created = _invoice(exact)
    # The lines come back as a deferred link, never expanded, however the invoice was posted (NOTES.md: Writes).
    deferred = created["SalesInvoiceLines"]
    assert set(deferred) == {"__deferred"}
    assert deferred["__deferred"]["uri"].endswith(
        f"/salesinvoice/SalesInvoices(guid'{created['InvoiceID']}')/SalesInvoiceLines"
    )
    # Every header property is filled as a later GET shows it, totals and the assigned number included.
    (read,) = exact.results(f"salesinvoice/SalesInvoices(guid'{created['InvoiceID']}')")
    assert {name: value for name, value in created.items() if name != "__metadata"} == {
        name: value for name, value in read.items() if name != "__metadata"
    }
    assert created["InvoiceNumber"] and created["AmountFC"] == read["AmountFC"] and created["Status"] == 20
    lines = exact.http.get(deferred["__deferred"]["uri"], headers=exact.headers()).json()["d"]["results"]
    assert len(lines) == 2 and {line["InvoiceID"] for line in lines} == {created["InvoiceID"]}


def test_put_and_delete_answer_204_and_delete_is_logged(exact: ExactClient) -> None:
    account = exact.post("crm/Accounts", {"Name": "Old"}).json()["d"]
    url = f"crm/Accounts(guid'{account['ID']}')"
    put = exact.put(url, {"Name": "New", "Website": "https://new.example"})
    assert put.status_code == 204 and put.content == b""
    assert exact.results(url)[0]["Name"] == "New"
    deleted = exact.delete(url)
    assert deleted.status_code == 204
    assert exact.get(url).status_code == 404
    log = exact.results("sync/Deleted", {"$filter": "Timestamp gt 1L and EntityType eq 2"})
    assert [row["EntityKey"] for row in log] == [account["ID"]]


def test_contacts_need_account_and_a_name(exact: ExactClient) -> None:
    missing = exact.post("crm/Contacts", {"Email": "x@example.nl"})
    assert missing.status_code == 400
    assert _message(missing) == "Verplicht: Relatie\r\nVerplicht: Voornaam of Achternaam"
    broken = exact.post("crm/Contacts", {"Account": "00000000-0000-0000-0000-000000000001", "LastName": "Jansen"})
    assert broken.status_code == 500 and _message(broken) == "Ongeldige referentie: Relatie"
    contact = exact.post("crm/Contacts", {"Account": _customer(exact), "FirstName": "Piet", "LastName": "Jansen"})
    assert contact.status_code == 201
    assert contact.json()["d"]["FullName"] == "Piet Jansen"
    assert contact.json()["d"]["AccountName"] == "Bakkerij De Gouden Korenschoof B.V."


def test_invoice_amounts_defaults_and_numbering(exact: ExactClient) -> None:
    first = _invoice(exact)
    second = _invoice(exact)
    assert (first["InvoiceNumber"], second["InvoiceNumber"]) == (1, 2)
    assert first["Journal"] == "70" and first["Status"] == 20 and first["Type"] == 8020
    assert first["InvoiceTo"] == first["OrderedBy"] == first["DeliverTo"]
    # 1.5 x 33.33 = 49.995 -> 50.00 (half-up); VAT 21% = 10.50. BOOK: 39.95 at 9% = 3.5955 -> 3.60.
    assert first["AmountFCExclVat"] == 89.95
    assert first["VATAmountFC"] == 14.10
    assert first["AmountFC"] == 104.05 == first["AmountDC"]
    lines = exact.results(f"salesinvoice/SalesInvoices(guid'{first['InvoiceID']}')/SalesInvoiceLines")
    assert [(line["LineNumber"], line["AmountFC"], line["VATAmountFC"], line["VATCode"]) for line in lines] == [
        (1, 50.0, 10.5, "2"),
        (2, 39.95, 3.6, "1"),
    ]
    assert lines[0]["GLAccountDescription"] == "Omzet hoog" and lines[1]["GLAccountDescription"] == "Omzet laag"
    assert lines[1]["UnitPrice"] == 39.95  # the item's standard sales price


def test_draft_status_on_request(exact: ExactClient) -> None:
    assert _invoice(exact, Status=10)["Status"] == 10


def test_invoice_validation_messages(exact: ExactClient) -> None:
    missing = exact.post("salesinvoice/SalesInvoices", {"SalesInvoiceLines": [{"Quantity": 1}]})
    assert missing.status_code == 400
    # Neither InvoiceTo nor OrderedBy: both are named, InvoiceTo first, joined by CRLF (picqer #10).
    assert _message(missing) == "Verplicht: Factuur voor\r\nVerplicht: Besteld door\r\nVerplicht: Artikel"
    line = [{"Item": _item(exact, "BOOK")}]
    only_invoice_to = exact.post(
        "salesinvoice/SalesInvoices", {"InvoiceTo": _customer(exact), "SalesInvoiceLines": line}
    )
    assert only_invoice_to.status_code == 400 and _message(only_invoice_to) == "Verplicht: Besteld door"
    only_ordered_by = exact.post(
        "salesinvoice/SalesInvoices", {"OrderedBy": _customer(exact), "SalesInvoiceLines": line}
    )
    assert only_ordered_by.status_code == 201 and only_ordered_by.json()["d"]["InvoiceTo"] == _customer(exact)
    nowhere = "11111111-2222-3333-4444-555555555555"
    broken = exact.post(
        "salesinvoice/SalesInvoices", {"OrderedBy": nowhere, "SalesInvoiceLines": [{"Item": _item(exact, "BOOK")}]}
    )
    assert broken.status_code == 500
    assert _message(broken).startswith("Ongeldige referentie: Besteld door\r\nOngeldige referentie: Factuur voor")
    bad_item = exact.post(
        "salesinvoice/SalesInvoices", {"OrderedBy": _customer(exact), "SalesInvoiceLines": [{"Item": nowhere}]}
    )
    assert bad_item.status_code == 500 and _message(bad_item) == "Ongeldige referentie: Artikel"
    bad_journal = exact.post(
        "salesinvoice/SalesInvoices",
        {"OrderedBy": _customer(exact), "Journal": "99", "SalesInvoiceLines": [{"Item": _item(exact, "BOOK")}]},
    )
    assert bad_journal.status_code == 500 and _message(bad_journal) == "Ongeldige referentie: Journals"


@pytest.mark.parametrize("lines", [None, []])
def test_invoice_post_needs_lines(exact: ExactClient, lines: list[Any] | None) -> None:
    """The lines are mandatory on POST (picqer #117); nothing is stored without them.

    (connectors/exact/NOTES.md: Entities)"""
    body: dict[str, Any] = {"OrderedBy": _customer(exact), "YourRef": "NO-LINES"}
    if lines is not None:
        body["SalesInvoiceLines"] = lines
    response = exact.post("salesinvoice/SalesInvoices", body)
    assert response.status_code == 400
    assert _message(response) == "Verplicht: Factuurregels"
    assert (
        exact.results("salesinvoice/SalesInvoices", {"$select": "InvoiceID", "$filter": "YourRef eq 'NO-LINES'"}) == []
    )
    # Other mandatory fields are reported together, one per line, as Exact does.
    both = exact.post("salesinvoice/SalesInvoices", {"YourRef": "NO-LINES"})
    assert _message(both) == "Verplicht: Factuur voor\r\nVerplicht: Besteld door\r\nVerplicht: Factuurregels"


def test_a_client_chosen_line_id_that_exists_is_refused(exact: ExactClient) -> None:
    first = _invoice(exact)
    [line] = exact.results(f"salesinvoice/SalesInvoices(guid'{first['InvoiceID']}')/SalesInvoiceLines", {"$top": "1"})
    body = {"OrderedBy": _customer(exact), "SalesInvoiceLines": [{"ID": line["ID"], "Item": _item(exact, "BOOK")}]}
    response = exact.post("salesinvoice/SalesInvoices", body)
    assert response.status_code == 400 and _message(response) == "Bestaat reeds: ID"
    # Nothing was stored and the existing line is untouched.
    assert len(exact.results("salesinvoice/SalesInvoices", {"$select": "InvoiceID"})) == 1
    again = exact.get(f"salesinvoice/SalesInvoiceLines(guid'{line['ID']}')")
    assert again.status_code == 200 and again.json()["d"]["InvoiceID"] == first["InvoiceID"]


@pytest.mark.parametrize(
    "body",
    [
        ["not", "an", "object"],
        {"OrderedBy": "x", "SalesInvoiceLines": {"Item": "y"}},  # lines as an object (picqer #117)
    ],
)
def test_malformed_bodies(exact: ExactClient, body: Any) -> None:
    response = exact.post("salesinvoice/SalesInvoices", body)
    assert response.status_code == 400
    assert _message(response) == (
        "Error processing request stream. The request should be a valid top-level resource object."
    )


def test_put_ignores_post_only_fields_and_keeps_them(exact: ExactClient) -> None:
    # Choice: InvoiceTo/OrderedBy/DeliverTo/Journal are GP-only (reference); a PUT that sends them is accepted
    # and those fields keep their stored value, as Exact treats read-only properties.
    invoice = _invoice(exact)
    other = exact.results("crm/Accounts", {"$select": "ID", "$filter": "trim(Code) eq '2'"})[0]["ID"]
    url = f"salesinvoice/SalesInvoices(guid'{invoice['InvoiceID']}')"
    response = exact.put(url, {"InvoiceTo": other, "Journal": "90", "YourRef": "PO-2", "Description": "Changed"})
    assert response.status_code == 204
    after = exact.results(url)[0]
    assert after["InvoiceTo"] == invoice["InvoiceTo"] and after["Journal"] == "70"
    assert (after["YourRef"], after["Description"]) == ("PO-2", "Changed")


def test_standalone_line_changes_recompute_the_invoice(exact: ExactClient) -> None:
    invoice = _invoice(exact)
    line = exact.post(
        "salesinvoice/SalesInvoiceLines",
        {"InvoiceID": invoice["InvoiceID"], "Item": _item(exact, "HOSTING"), "Quantity": 2},
    )
    assert line.status_code == 201, line.text
    assert line.json()["d"]["LineNumber"] == 3
    url = f"salesinvoice/SalesInvoices(guid'{invoice['InvoiceID']}')"
    assert exact.results(url)[0]["AmountFCExclVat"] == 89.95 + 99.0
    assert exact.delete(f"salesinvoice/SalesInvoiceLines(guid'{line.json()['d']['ID']}')").status_code == 204
    assert exact.results(url)[0]["AmountFCExclVat"] == 89.95


def test_printing_processes_the_invoice(exact: ExactClient) -> None:
    invoice = _invoice(exact)
    printed = exact.post(
        "salesinvoice/PrintedSalesInvoices", {"InvoiceID": invoice["InvoiceID"], "InvoiceDate": "2025-03-14T00:00:00"}
    )
    assert printed.status_code == 201, printed.text
    assert printed.json()["d"]["InvoiceID"] == invoice["InvoiceID"]
    url = f"salesinvoice/SalesInvoices(guid'{invoice['InvoiceID']}')"
    after = exact.results(url)[0]
    assert after["Status"] == 50 and after["StatusDescription"] == "Verwerkt"
    assert after["InvoiceDate"] == "/Date(1741910400000)/"
    (receivable,) = exact.results("cashflow/Receivables")
    assert receivable["AmountFC"] == 104.05 and receivable["IsFullyPaid"] is False
    assert receivable["InvoiceNumber"] == invoice["InvoiceNumber"] and receivable["Account"] == invoice["InvoiceTo"]
    (entry,) = exact.results("salesentry/SalesEntries", {"$expand": "SalesEntryLines"})
    assert entry["EntryNumber"] == invoice["InvoiceNumber"] and entry["AmountFC"] == 104.05
    assert len(entry["SalesEntryLines"]["results"]) == 2
    refused = exact.put(url, {"YourRef": "late"})
    assert refused.status_code == 400
    assert exact.post("salesinvoice/PrintedSalesInvoices", {"InvoiceID": invoice["InvoiceID"]}).status_code == 400
    assert exact.delete(url).status_code == 400
    put = exact.put(
        f"cashflow/Receivables(guid'{receivable['ID']}')", {"Description": "Herinnering", "IsFullyPaid": True}
    )
    assert put.status_code == 204
    changed = exact.results(f"cashflow/Receivables(guid'{receivable['ID']}')")[0]
    assert changed["Description"] == "Herinnering" and changed["IsFullyPaid"] is False  # read-only


def test_sales_entry_post(exact: ExactClient) -> None:
    revenue = exact.results("financial/GLAccounts", {"$select": "ID", "$filter": "Code eq '8000'"})[0]["ID"]
    missing = exact.post("salesentry/SalesEntries", {"SalesEntryLines": []})
    assert missing.status_code == 400
    entry = exact.post(
        "salesentry/SalesEntries",
        {"Customer": _customer(exact), "Journal": "70", "SalesEntryLines": [{"AmountFC": 100, "GLAccount": revenue}]},
    )
    assert entry.status_code == 201, entry.text
    record = entry.json()["d"]
    assert record["AmountFC"] == 121.0 and record["VATAmountFC"] == 21.0 and record["Status"] == 20


def test_purchase_entry_post_rules(exact: ExactClient) -> None:
    """Fidelity 82a/82b: a purchase entry needs Supplier, Journal and lines with AmountFC and GLAccount; the journal
    must be a purchase journal; wrong references are 500 "Ongeldige referentie"."""
    costs = exact.results("financial/GLAccounts", {"$select": "ID", "$filter": "Code eq '4000'"})[0]["ID"]
    missing = exact.post("purchaseentry/PurchaseEntries", {"PurchaseEntryLines": [{"Description": "x"}]})
    assert missing.status_code == 400
    assert _message(missing) == (
        "Verplicht: Leverancier\r\nVerplicht: Journals\r\nVerplicht: Bedrag\r\nVerplicht: Grootboekrekening"
    )
    no_lines = exact.post("purchaseentry/PurchaseEntries", {"Supplier": _customer(exact), "Journal": "60"})
    assert no_lines.status_code == 400 and _message(no_lines) == "Verplicht: Boekingsregels"
    line = [{"AmountFC": 100, "GLAccount": costs}]
    sales_journal = exact.post(
        "purchaseentry/PurchaseEntries", {"Supplier": _customer(exact), "Journal": "70", "PurchaseEntryLines": line}
    )
    assert sales_journal.status_code == 500 and _message(sales_journal) == "Ongeldige referentie: Journals"
    nowhere = "11111111-2222-3333-4444-555555555555"
    broken = exact.post(
        "purchaseentry/PurchaseEntries",
        {"Supplier": nowhere, "Journal": "60", "PurchaseEntryLines": [{"AmountFC": 1, "GLAccount": nowhere}]},
    )
    assert broken.status_code == 500
    assert _message(broken) == "Ongeldige referentie: Leverancier\r\nOngeldige referentie: Grootboekrekening"
    assert exact.results("purchaseentry/PurchaseEntries", {"$select": "EntryID"}) == []


def test_purchase_entry_amounts_and_payable(exact: ExactClient) -> None:
    """Fidelity 82c: without VATCode a line takes its G/L account's VAT code, VAT is computed per line (half-up
    cents), the entry is open (Type 30, Status 20) and its payable appears in cashflow/Payments."""
    costs = exact.results("financial/GLAccounts", {"$select": "ID", "$filter": "Code eq '4000'"})[0]["ID"]
    supplier = _customer(exact)
    entry = exact.post(
        "purchaseentry/PurchaseEntries",
        {
            "Supplier": supplier,
            "Journal": "60",
            "YourRef": "INV-1",
            "PurchaseEntryLines": [
                {"AmountFC": 10.05, "GLAccount": costs},
                {"AmountFC": 20, "GLAccount": costs, "VATCode": "6"},
            ],
        },
    )
    assert entry.status_code == 201, entry.text
    record = entry.json()["d"]
    assert (record["Type"], record["Status"], record["YourRef"]) == (30, 20, "INV-1")
    assert record["VATAmountFC"] == 3.91 and record["AmountFC"] == 33.96
    lines = exact.results(
        "purchaseentry/PurchaseEntryLines",
        {"$select": "VATCode,VATAmountFC,LineNumber", "$filter": f"EntryID eq guid'{record['EntryID']}'"},
    )
    assert sorted((x["LineNumber"], x["VATCode"], x["VATAmountFC"]) for x in lines) == [(1, "5", 2.11), (2, "6", 1.8)]
    (payable,) = exact.results("cashflow/Payments", {"$select": "EntryID,Account,AmountFC,Status"})
    assert payable == {**payable, "EntryID": record["EntryID"], "Account": supplier, "AmountFC": 33.96, "Status": 20}


def test_a_purchase_entry_with_a_negative_amount_is_a_credit_note(exact: ExactClient) -> None:
    """Fidelity 82n: Type is GET-only; an entry posted with negative amounts (VAT included) is a purchase credit
    note, Type 31 on the header and its lines, and its payable is negative with TransactionType 31; a mixed entry
    whose total stays positive is a purchase entry (Type 30)."""
    costs = exact.results("financial/GLAccounts", {"$select": "ID", "$filter": "Code eq '4000'"})[0]["ID"]
    supplier = _customer(exact)
    credit = exact.post(
        "purchaseentry/PurchaseEntries",
        {"Supplier": supplier, "Journal": "60", "PurchaseEntryLines": [{"AmountFC": -100, "GLAccount": costs}]},
    )
    assert credit.status_code == 201, credit.text
    record = credit.json()["d"]
    assert (record["Type"], record["AmountFC"], record["VATAmountFC"]) == (31, -121.0, -21.0)
    (line,) = exact.results(
        "purchaseentry/PurchaseEntryLines",
        {"$select": "Type,AmountFC", "$filter": f"EntryID eq guid'{record['EntryID']}'"},
    )
    assert (line["Type"], line["AmountFC"]) == (31, -100.0)
    mixed = exact.post(
        "purchaseentry/PurchaseEntries",
        {
            "Supplier": supplier,
            "Journal": "60",
            "PurchaseEntryLines": [{"AmountFC": 50, "GLAccount": costs}, {"AmountFC": -20, "GLAccount": costs}],
        },
    )
    assert mixed.status_code == 201 and mixed.json()["d"]["Type"] == 30
    payables = exact.results("cashflow/Payments", {"$select": "EntryID,AmountFC,TransactionType"})
    assert sorted((row["AmountFC"], row["TransactionType"]) for row in payables) == [(-121.0, 31), (36.3, 30)]


def test_general_journal_entry_rules(exact: ExactClient) -> None:
    """Fidelity 82d/82e: JournalCode and lines with GLAccount and AmountFC are required, the journal must be a general
    journal, the lines must balance, a VATCode needs a journal with VAT; a balanced entry is open, Type 90."""
    gl = {
        row["Code"]: row["ID"]
        for row in exact.results(
            "financial/GLAccounts", {"$select": "ID,Code", "$filter": "Code eq '4000' or Code eq '1100'"}
        )
    }
    path = "generaljournalentry/GeneralJournalEntries"
    missing = exact.post(path, {"GeneralJournalEntryLines": [{"Description": "x"}]})
    assert missing.status_code == 400
    assert _message(missing) == "Verplicht: Dagboek\r\nVerplicht: Bedrag\r\nVerplicht: Grootboekrekening"
    lines = [{"GLAccount": gl["4000"], "AmountFC": 10}, {"GLAccount": gl["1100"], "AmountFC": -10}]
    sales_journal = exact.post(path, {"JournalCode": "70", "GeneralJournalEntryLines": lines})
    assert sales_journal.status_code == 500 and _message(sales_journal) == "Ongeldige referentie: Dagboek"
    unbalanced = exact.post(
        path, {"JournalCode": "90", "GeneralJournalEntryLines": [lines[0], {**lines[1], "AmountFC": -9.99}]}
    )
    assert unbalanced.status_code == 400 and _message(unbalanced) == "Boeking is niet in balans"
    with_vat = exact.post(
        path, {"JournalCode": "90", "GeneralJournalEntryLines": [{**lines[0], "VATCode": "5"}, lines[1]]}
    )
    assert with_vat.status_code == 400
    assert exact.results(path, {"$select": "EntryID"}) == []
    booked = exact.post(path, {"JournalCode": "90", "GeneralJournalEntryLines": lines})
    assert booked.status_code == 201, booked.text
    assert (booked.json()["d"]["Type"], booked.json()["d"]["Status"]) == (90, 20)
    # Fidelity 82h: in a journal with VAT the code's VAT joins the line and the balance; AmountVATFC needs a VATCode.
    gl_1600 = exact.results("financial/GLAccounts", {"$select": "ID", "$filter": "Code eq '1600'"})[0]["ID"]
    purchase = [
        {"GLAccount": gl["4000"], "AmountFC": 100.05, "VATCode": "5"},
        {"GLAccount": gl_1600, "AmountFC": -121.06},
    ]
    net_only = exact.post(
        path, {"JournalCode": "91", "GeneralJournalEntryLines": [purchase[0], {**purchase[1], "AmountFC": -100.05}]}
    )
    assert net_only.status_code == 400 and _message(net_only) == "Boeking is niet in balans"
    unknown_code = exact.post(
        path, {"JournalCode": "91", "GeneralJournalEntryLines": [{**purchase[0], "VATCode": "77"}, purchase[1]]}
    )
    assert unknown_code.status_code == 500 and _message(unknown_code) == "Ongeldige referentie: Btw-code"
    bare_vat = exact.post(
        path, {"JournalCode": "91", "GeneralJournalEntryLines": [{**lines[0], "AmountVATFC": 2.1}, lines[1]]}
    )
    assert bare_vat.status_code == 400
    with_vat_journal = exact.post(path, {"JournalCode": "91", "GeneralJournalEntryLines": purchase})
    assert with_vat_journal.status_code == 201, with_vat_journal.text
    entry_id = with_vat_journal.json()["d"]["EntryID"]
    vat_lines = exact.results(
        "generaljournalentry/GeneralJournalEntryLines",
        {
            "$select": "VATCode,VATPercentage,VATBaseAmountFC,AmountVATFC,AmountFC",
            "$filter": f"EntryID eq guid'{entry_id}'",
        },
    )
    # 100.05 x 21 % = 21.0105: 21.01, half up per line in cents.
    by_amount = {
        row["AmountFC"]: (row["VATCode"], row["VATPercentage"], row["VATBaseAmountFC"], row["AmountVATFC"])
        for row in vat_lines
    }
    assert by_amount[100.05] == ("5", 0.21, 100.05, 21.01)
    assert by_amount[-121.06][0] is None
    # Fidelity 82f: a list needs $select or $top.
    bare = exact.get(path)
    assert bare.status_code == 400
    assert _message(bare) == "Please add a $select or a $top=1 statement to the query string."
    assert len(exact.results(path, {"$top": "1"})) == 1


def test_webhook_subscriptions(exact: ExactClient, control: SandboxControl) -> None:
    https = exact.post(
        "webhooks/WebhookSubscriptions", {"CallbackURL": "https://hooks.example.test/exact", "Topic": "Accounts"}
    )
    assert https.status_code == 201, https.text
    record = https.json()["d"]
    assert record["ClientID"] == exact.tenant.app["client_id"] and record["Division"] == exact.tenant.division
    local = exact.post(
        "webhooks/WebhookSubscriptions", {"CallbackURL": "http://127.0.0.1:9/hook", "Topic": "SalesInvoices"}
    )
    assert local.status_code == 201
    plain = exact.post(
        "webhooks/WebhookSubscriptions", {"CallbackURL": "http://hooks.example.test/", "Topic": "Accounts"}
    )
    assert plain.status_code == 400
    assert exact.post("webhooks/WebhookSubscriptions", {"Topic": "Accounts"}).status_code == 400
    topics = {r["Topic"] for r in exact.results("webhooks/WebhookSubscriptions")}
    assert topics == {"Accounts", "SalesInvoices"}
    assert {s["topic"] for s in control.webhook_subscriptions()} >= {"Accounts", "SalesInvoices"}
    url = f"webhooks/WebhookSubscriptions(guid'{record['ID']}')"
    assert exact.put(url, {"Topic": "Items"}).status_code == 204
    assert exact.get(url).json()["d"]["Topic"] == "Items"
    assert exact.put(url, {"CallbackURL": "http://hooks.example.test/"}).status_code == 400
    assert exact.put(url, {"Topic": "Nonsense"}).status_code == 400
    assert exact.put(url, {"IsInstant": True}).status_code == 400  # instant delivery is for GoodsDeliveries only
    assert exact.put(url, {"Topic": "Accounts"}).status_code == 204
    assert exact.delete(f"webhooks/WebhookSubscriptions(guid'{record['ID']}')").status_code == 204
    assert [r["Topic"] for r in exact.results("webhooks/WebhookSubscriptions")] == ["SalesInvoices"]


def test_dump_matches_get_shape(exact: ExactClient, control: SandboxControl) -> None:
    _invoice(exact)
    dump = control.dump(exact.tenant.division)
    assert len(dump["SalesInvoices"]) == 1 and len(dump["SalesInvoiceLines"]) == 2
    assert len(dump["Accounts"]) == 3 and dump["GLAccounts"]
    assert dump["SalesInvoices"][0] == exact.results("salesinvoice/SalesInvoices")[0]


def test_hrm_divisions_lists_the_users_divisions_with_its_own_spelling(
    control: SandboxControl, server: SandboxServer, http: httpx.Client
) -> None:
    tenant = connect(http, make_tenant(control, server, divisions=(500001, 500002), granted=(500001,)))
    response = http.get(tenant.api_url("hrm/Divisions"), headers=tenant.headers())
    assert response.status_code == 200, response.text
    rows = response.json()["d"]["results"]
    assert [row["Code"] for row in rows] == [500001, 500002]
    # HID and Main here, Hid and IsMainDivision on system/Divisions (picqer PR#195).
    assert rows[0]["HID"] == 500001 and rows[0]["Main"] is True and "Hid" not in rows[0]
    system = http.get(tenant.api_url("system/Divisions"), headers=tenant.headers()).json()["d"]["results"]
    assert system[0]["Hid"] == 500001 and "HID" not in system[0]
    assert system[0]["IsHRDivision"] is False and system[0]["DivisionHRLinkUnlinkDate"] is None
    assert system[0]["Class_01"]["__deferred"]["uri"].endswith("/system/Divisions(500001)/Class_01")
    expanded = http.get(
        tenant.api_url("system/Divisions"), params={"$expand": "Class_01,Class_05"}, headers=tenant.headers()
    ).json()["d"]["results"]
    assert expanded[0]["Class_01"] is None and expanded[0]["Class_05"] is None


def test_expandable_collections_of_accounts_gl_accounts_and_vat_codes(exact: ExactClient) -> None:
    account = exact.results(
        "crm/Accounts",
        {"$select": "ID,BankAccounts", "$filter": "trim(Code) eq '1'", "$expand": "BankAccounts"},
    )[0]
    assert account["BankAccounts"] == {"results": []}
    gl = exact.results(
        "financial/GLAccounts",
        {
            "$select": "Code,DeductibilityPercentages",
            "$filter": "Code eq '8000'",
            "$expand": "DeductibilityPercentages",
        },
    )[0]
    assert gl["DeductibilityPercentages"] == {"results": []}
    vat = exact.results(
        "vat/VATCodes",
        {"$select": "Code,VATPercentages/Percentage", "$filter": "Code eq '2'", "$expand": "VATPercentages"},
    )[0]
    assert [p["Percentage"] for p in vat["VATPercentages"]["results"]] == [0.21]
    # Sync rows link their collections to the CRUD resource, where they can be read.
    (row,) = exact.results("sync/CRM/Accounts", {"$filter": "Timestamp gt 1L", "$select": "ID,BankAccounts", "$top": 1})
    deferred = row["BankAccounts"]["__deferred"]["uri"]
    assert deferred.endswith(f"/crm/Accounts(guid'{row['ID']}')/BankAccounts")
    assert exact.http.get(deferred, headers=exact.headers()).json()["d"]["results"] == []


REFERENCE_FIELDS = {
    # Properties of Exact's reference (entities/*.md, picqer @8b35057) that a full GET must show.
    "crm/Accounts": ["EORINumber", "PeppolIdentifier", "PeppolIdentifierType", "EnableSalesPaymentLink", "CustomField"],
    "crm/Contacts": ["TitleAbbreviation", "TitleDescription", "CustomField"],
    "financial/GLAccounts": ["AllowCostsInSales", "DeductibilityPercentages"],
    "salesinvoice/SalesInvoices": ["ShippingMethod", "ShippingMethodCode", "ShippingMethodDescription"],
    "webhooks/WebhookSubscriptions": ["IsInstant", "UserID"],
    "sync/CRM/Accounts": ["BankAccounts", "EORINumber", "Timestamp"],
}


@pytest.mark.parametrize(("path", "fields"), list(REFERENCE_FIELDS.items()))
def test_records_carry_the_reference_properties(exact: ExactClient, path: str, fields: list[str]) -> None:
    exact.post("webhooks/WebhookSubscriptions", {"CallbackURL": "https://hooks.example.test/x", "Topic": "Items"})
    _invoice(exact)
    exact.post("crm/Contacts", {"Account": _customer(exact), "LastName": "Bos"})
    params = {"$top": 1, "$filter": "Timestamp gt 1L"} if path.startswith("sync/") else {"$top": 1}
    if path == "crm/Accounts":
        params["$filter"] = "Status eq 'C'"
    (record,) = exact.results(path, params)
    assert set(fields) <= set(record), set(fields) - set(record)


def test_me_has_the_2025_properties(exact: ExactClient) -> None:
    response = exact.http.get(f"{exact.tenant.base_url}/api/v1/current/Me", headers=exact.headers())
    (me,) = response.json()["d"]["results"]
    for name in ("IsEmployeeSelfServiceUser", "IsMyFirmLiteUser", "IsOEIMigrationMandatory", "IsStarterUser"):
        assert me[name] is False
    assert "PackageCode" in me


def test_sales_order_rules(exact: ExactClient) -> None:
    """Fidelity 82i: OrderedBy and lines required, each line an existing Item; amounts and VAT from the item; open."""
    customer = exact.results("crm/Accounts", {"$select": "ID", "$filter": "Status eq 'C'"})[0]["ID"]
    item = exact.results("logistics/Items", {"$select": "ID", "$filter": "Code eq 'CONSULT'"})[0]["ID"]
    path = "salesorder/SalesOrders"
    missing = exact.post(path, {"Description": "x"})
    assert missing.status_code == 400
    assert _message(missing) == "Verplicht: Besteld door\r\nVerplicht: Orderregels"
    no_item = exact.post(path, {"OrderedBy": customer, "SalesOrderLines": [{"Quantity": 2}]})
    assert no_item.status_code == 400 and _message(no_item) == "Verplicht: Artikel"
    unknown = exact.post(
        path, {"OrderedBy": customer, "SalesOrderLines": [{"Item": "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"}]}
    )
    assert unknown.status_code == 500 and _message(unknown) == "Ongeldige referentie: Artikel"
    assert exact.results(path, {"$select": "OrderID"}) == []
    created = exact.post(path, {"OrderedBy": customer, "SalesOrderLines": [{"Item": item, "Quantity": 2}]})
    assert created.status_code == 201, created.text
    order = created.json()["d"]
    assert (order["Status"], order["InvoiceTo"], order["AmountFCExclVat"], order["AmountFC"]) == (
        12,
        customer,
        190.0,
        229.9,
    )
    (line,) = exact.results(
        "salesorder/SalesOrderLines",
        {
            "$select": "Item,Quantity,UnitPrice,AmountFC,VATCode,VATAmount",
            "$filter": f"OrderID eq guid'{order['OrderID']}'",
        },
    )
    assert {name: value for name, value in line.items() if name != "__metadata"} == {
        "Item": item,
        "Quantity": 2.0,
        "UnitPrice": 95.0,
        "AmountFC": 190.0,
        "VATCode": "2",
        "VATAmount": 39.9,
    }


def test_invoice_sales_orders(exact: ExactClient) -> None:
    """Fidelity 82j: InvoiceSalesOrders turns an order into an open invoice whose lines name the order."""
    customer = exact.results("crm/Accounts", {"$select": "ID", "$filter": "Status eq 'C'"})[0]["ID"]
    item = exact.results("logistics/Items", {"$select": "ID", "$filter": "Code eq 'CONSULT'"})[0]["ID"]
    order = exact.post(
        "salesorder/SalesOrders", {"OrderedBy": customer, "SalesOrderLines": [{"Item": item, "Quantity": 3}]}
    ).json()["d"]
    path = "salesinvoice/InvoiceSalesOrders"
    assert exact.post(path, {"CreateMode": 1}).status_code == 400
    by_delivered = exact.post(path, {"SalesOrderIDs": [{"ID": order["OrderID"]}], "CreateMode": 1})
    assert by_delivered.status_code == 201, by_delivered.text
    assert (
        by_delivered.json()["d"]["NumberOfCreatedInvoices"],
        by_delivered.json()["d"]["NumberOfFailedInvoices"],
    ) == (
        0,
        1,
    )
    by_ordered = exact.post(path, {"SalesOrderIDs": [{"ID": order["OrderID"]}], "CreateMode": 1, "InvoiceMode": 1})
    assert by_ordered.json()["d"]["NumberOfCreatedInvoices"] == 1, by_ordered.text
    (line,) = exact.results(
        "salesinvoice/SalesInvoiceLines",
        {
            "$select": "InvoiceID,Quantity,AmountFC,SalesOrderNumber",
            "$filter": f"SalesOrder eq guid'{order['OrderID']}'",
        },
    )
    assert (line["Quantity"], line["AmountFC"], line["SalesOrderNumber"]) == (3.0, 285.0, order["OrderNumber"])
    (status,) = exact.results(
        "salesorder/SalesOrders", {"$select": "InvoiceStatus", "$filter": f"OrderID eq guid'{order['OrderID']}'"}
    )
    assert status["InvoiceStatus"] == 21
    again = exact.post(path, {"SalesOrderIDs": [{"ID": order["OrderID"]}], "CreateMode": 1, "InvoiceMode": 1})
    assert again.json()["d"]["NumberOfCreatedInvoices"] == 0  # nothing left to invoice
