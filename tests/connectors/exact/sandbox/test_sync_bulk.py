"""Sync (Timestamp paging), sync/Deleted and bulk endpoints over real HTTP, at small scale (2,000 invoices)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer
from tests.connectors.exact.sandbox.data_fixtures import (
    ExactClient,
    connect,
    exact_fixture,  # noqa: F401  (pytest fixture)
)

SYNC_SELECT = "Timestamp,ID,InvoiceID,InvoiceNumber,LineNumber,AmountFC,AmountFCExclVat,ItemCode,InvoiceToName"


def test_sync_invoices_one_row_per_line_in_pages_of_1000(exact: ExactClient, control: SandboxControl) -> None:
    control.seed(exact.tenant.division, invoices=2000, seed=7)
    params = {"$filter": "Timestamp gt 1L", "$select": SYNC_SELECT}
    first = exact.get("sync/SalesInvoice/SalesInvoices", params).json()["d"]
    assert len(first["results"]) == 1000
    query = parse_qs(urlsplit(first["__next"]).query)
    assert query["$skiptoken"] == [f"{first['results'][-1]['Timestamp']}L"]
    assert query["$filter"] == ["Timestamp gt 1L"] and query["$select"] == [SYNC_SELECT]
    rows, pages = exact.all_pages("sync/SalesInvoice/SalesInvoices", params)
    assert pages == 6 and len(rows) == 6000
    timestamps = [row["Timestamp"] for row in rows]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == 6000
    assert len({row["ID"] for row in rows}) == 6000 and len({row["InvoiceID"] for row in rows}) == 2000
    sample = rows[0]
    # Header fields ride along on every line row; AmountFC is the line amount (excl. VAT).
    assert sample["LineNumber"] == 1 and sample["ItemCode"] and sample["InvoiceToName"]
    same_invoice = [r for r in rows if r["InvoiceID"] == sample["InvoiceID"]]
    assert round(sum(r["AmountFC"] for r in same_invoice), 2) == sample["AmountFCExclVat"]


def test_sync_returns_changes_after_the_stored_timestamp(exact: ExactClient, control: SandboxControl) -> None:
    control.seed(exact.tenant.division, invoices=50, seed=1)
    rows, _ = exact.all_pages("sync/SalesInvoice/SalesInvoices", {"$filter": "Timestamp gt 1L", "$select": SYNC_SELECT})
    high = max(r["Timestamp"] for r in rows)
    assert exact.results("sync/SalesInvoice/SalesInvoices", {"$filter": f"Timestamp gt {high}L"}) == []
    invoice_id = rows[10]["InvoiceID"]
    assert exact.put(f"salesinvoice/SalesInvoices(guid'{invoice_id}')", {"YourRef": "changed"}).status_code == 204
    changed = exact.results(
        "sync/SalesInvoice/SalesInvoices", {"$filter": f"Timestamp gt {high}L", "$select": "InvoiceID,YourRef"}
    )
    assert len(changed) == 3 and {(r["InvoiceID"], r["YourRef"]) for r in changed} == {(invoice_id, "changed")}


def test_sync_filter_only_on_timestamp(exact: ExactClient) -> None:
    response = exact.get("sync/CRM/Accounts", {"$filter": "Name eq 'x'"})
    assert response.status_code == 400
    assert "Timestamp" in response.json()["error"]["message"]["value"]


def test_sync_accounts_and_deleted_log(exact: ExactClient, control: SandboxControl) -> None:
    accounts = exact.results("sync/CRM/Accounts", {"$filter": "Timestamp gt 1L", "$select": "Timestamp,ID,Name"})
    assert len(accounts) == 3
    high = max(a["Timestamp"] for a in accounts)
    created = exact.post("crm/Accounts", {"Name": "Nieuw"}).json()["d"]
    (row,) = exact.results("sync/CRM/Accounts", {"$filter": f"Timestamp gt {high}L", "$select": "ID,Name,Timestamp"})
    assert row["ID"] == created["ID"] and row["Timestamp"] > high
    control.seed(exact.tenant.division, invoices=1, seed=3)
    invoice = exact.results("salesinvoice/SalesInvoices", {"$select": "InvoiceID"})[0]["InvoiceID"]
    assert exact.delete(f"salesinvoice/SalesInvoices(guid'{invoice}')").status_code == 204
    assert exact.delete(f"crm/Accounts(guid'{created['ID']}')").status_code == 204
    deleted = exact.results("sync/Deleted", {"$filter": "Timestamp gt 1L", "$select": "EntityKey,EntityType,Timestamp"})
    assert [(d["EntityKey"], d["EntityType"]) for d in deleted] == [(invoice, 13), (created["ID"], 2)]
    only_accounts = exact.results("sync/Deleted", {"$filter": "Timestamp gt 1L and EntityType eq 2"})
    assert [d["EntityKey"] for d in only_accounts] == [created["ID"]]
    # The deleted invoice's line rows no longer appear in the sync feed.
    rows = exact.results("sync/SalesInvoice/SalesInvoices", {"$filter": "Timestamp gt 1L", "$select": "InvoiceID"})
    assert invoice not in {r["InvoiceID"] for r in rows}


def test_bulk_requires_select_and_pages_by_1000(exact: ExactClient, control: SandboxControl) -> None:
    control.seed(exact.tenant.division, invoices=1100, seed=5)
    missing = exact.get("bulk/SalesInvoice/SalesInvoices")
    assert missing.status_code == 400
    assert (
        missing.json()["error"]["message"]["value"] == "Please add a $select or a $top=1 statement to the query string."
    )
    first = exact.get("bulk/SalesInvoice/SalesInvoices", {"$select": "InvoiceID,InvoiceNumber"}).json()["d"]
    assert len(first["results"]) == 1000
    assert parse_qs(urlsplit(first["__next"]).query)["$skiptoken"][0].startswith("guid'")
    invoices, pages = exact.all_pages("bulk/SalesInvoice/SalesInvoices", {"$select": "InvoiceID,InvoiceNumber"})
    assert (len(invoices), pages) == (1100, 2)
    lines, line_pages = exact.all_pages("bulk/SalesInvoice/SalesInvoiceLines", {"$select": "ID,InvoiceID,AmountFC"})
    assert (len(lines), line_pages) == (3300, 4)
    accounts, _ = exact.all_pages("bulk/CRM/Accounts", {"$select": "ID,Code", "$filter": "Blocked eq false"})
    assert len(accounts) == 3


def test_deleted_log_keeps_two_months(exact: ExactClient, control: SandboxControl) -> None:
    """The deleted log is kept for 2 months, 60 days on the sandbox clock.

    (connectors/exact/NOTES.md: Sync, deleted and bulk)"""
    old, recent = (exact.post("crm/Accounts", {"Name": name}).json()["d"]["ID"] for name in ("Oud", "Recent"))
    assert exact.delete(f"crm/Accounts(guid'{old}')").status_code == 204
    control.advance_clock(30 * 86400)
    connect(exact.http, exact.tenant)  # the tokens expired meanwhile
    assert exact.delete(f"crm/Accounts(guid'{recent}')").status_code == 204
    params = {"$filter": "Timestamp gt 1L", "$select": "EntityKey,DeletedDate"}
    assert [d["EntityKey"] for d in exact.results("sync/Deleted", params)] == [old, recent]
    control.advance_clock(31 * 86400)
    connect(exact.http, exact.tenant)
    assert [d["EntityKey"] for d in exact.results("sync/Deleted", params)] == [recent]
    assert exact.get("sync/Deleted/$count").text == "1"


def test_bulk_requires_select_even_with_top_1(exact: ExactClient) -> None:
    """$select is mandatory on bulk endpoints, whatever $top is (connectors/exact/NOTES.md: Sync, deleted and bulk)."""
    for path in ("bulk/CRM/Accounts", "bulk/SalesInvoice/SalesInvoices", "bulk/SalesInvoice/SalesInvoiceLines"):
        for top in ("1", "5"):
            response = exact.get(path, {"$top": top})
            assert response.status_code == 400, (path, top)
            assert "$select" in response.json()["error"]["message"]["value"]
    assert exact.get("bulk/CRM/Accounts", {"$top": "1", "$select": "ID", "$filter": "ID ne null"}).status_code == 200
    # On CRUD sets $top=1 alone is still fine.
    assert exact.get("financial/GLAccounts", {"$top": "1"}).status_code == 200


def test_deleting_compacts_the_sync_feed(exact: ExactClient, server: SandboxServer) -> None:
    """Deletes leave stale feed pairs; like updates, they trigger compaction so the feed stays bounded."""
    ids = [exact.post("crm/Accounts", {"Name": f"Weg {n}"}).json()["d"]["ID"] for n in range(20)]
    for key in ids:
        assert exact.delete(f"crm/Accounts(guid'{key}')").status_code == 204
    feed = server.world.divisions[exact.tenant.division].store.tables["Accounts"].feed
    assert feed is not None
    assert len(feed.keys) <= 2 * 3 + 1  # the 3 default accounts, plus at most as many stale pairs
    rows = exact.results("sync/CRM/Accounts", {"$filter": "Timestamp gt 1L", "$select": "ID"})
    assert len(rows) == 3


# ---------------------------------------------------------------------------------------------- every unified resource


SYNC_OF_RESOURCES = [
    # (sync path, $select, how a row names its record)
    ("sync/CRM/Accounts", "Timestamp,ID,Name", "ID"),
    ("sync/CRM/Contacts", "Timestamp,ID,FullName", "ID"),
    ("sync/Financial/GLAccounts", "Timestamp,ID,Code", "ID"),
    ("sync/Logistics/Items", "Timestamp,ID,Code", "ID"),
    ("sync/SalesInvoice/SalesInvoices", "Timestamp,ID,InvoiceID", "ID"),
    ("sync/Financial/TransactionLines", "Timestamp,ID,EntryID,AmountDC", "ID"),
    ("sync/Cashflow/PaymentTerms", "Timestamp,ID,InvoiceNumber,AmountDC,IsFullyPaid", "ID"),
]


@pytest.mark.parametrize(("path", "select", "key"), SYNC_OF_RESOURCES)
def test_sync_endpoint_of_every_unified_resource(
    exact: ExactClient, control: SandboxControl, path: str, select: str, key: str
) -> None:
    control.seed(exact.tenant.division, invoices=3, lines_per_invoice=2, seed=9, processed=2)
    account = exact.results("crm/Accounts", {"$select": "ID", "$filter": "trim(Code) eq '1'"})[0]["ID"]
    assert exact.post("crm/Contacts", {"Account": account, "FirstName": "Els", "LastName": "Bos"}).status_code == 201
    rows, _ = exact.all_pages(path, {"$filter": "Timestamp gt 1L", "$select": select})
    assert rows, path
    stamps = [row["Timestamp"] for row in rows]
    assert stamps == sorted(stamps) and len(set(row[key] for row in rows)) == len(rows)
    assert all(set(row) == {"__metadata", *select.split(",")} for row in rows)
    # Only Timestamp may be filtered on; 1000 rows a page; no $skip (see the tests above for invoices).
    assert exact.get(path, {"$filter": "ID ne null"}).status_code == 400
    high = max(stamps)
    assert exact.results(path, {"$filter": f"Timestamp gt {high}L", "$select": select}) == []


def test_transaction_lines_of_a_processed_invoice_balance(exact: ExactClient, control: SandboxControl) -> None:
    control.seed(exact.tenant.division, invoices=1, lines_per_invoice=3, seed=12, processed=1)
    (invoice,) = control.dump(exact.tenant.division)["SalesInvoices"]
    lines = exact.results(
        "bulk/Financial/TransactionLines",
        {"$select": "EntryNumber,AmountDC,GLAccountCode,VATCode,LineNumber,JournalCode,Type,AccountName"},
    )
    assert {line["EntryNumber"] for line in lines} == {invoice["InvoiceNumber"]}
    # Debit the debtor with the total; credit revenue and VAT: the entry balances to zero.
    assert round(sum(line["AmountDC"] for line in lines), 2) == 0
    debtor = [line for line in lines if line["GLAccountCode"] == "1300"]
    assert [line["AmountDC"] for line in debtor] == [invoice["AmountFC"]]
    assert {line["JournalCode"] for line in lines} == {"70"} and {line["Type"] for line in lines} == {20}
    crud = exact.results("financialtransaction/TransactionLines", {"$select": "ID"})
    assert len(crud) == len(lines)


BULK_OF_RESOURCES = [
    ("bulk/CRM/Accounts", "ID,Name", {"$filter": "Status eq 'C'"}),
    ("bulk/CRM/Contacts", "ID,FullName", {}),
    ("bulk/Financial/GLAccounts", "ID,Code", {}),
    ("bulk/Logistics/Items", "ID,Code", {"$filter": "Code ne ''"}),
    ("bulk/SalesInvoice/SalesInvoices", "InvoiceID,InvoiceNumber", {}),
    ("bulk/SalesInvoice/SalesInvoiceLines", "ID,InvoiceID", {}),
    ("bulk/Financial/TransactionLines", "ID,EntryID", {}),
    ("bulk/Cashflow/Receivables", "ID,InvoiceNumber,IsFullyPaid", {}),
    ("bulk/Cashflow/Payments", "ID", {}),
]


@pytest.mark.parametrize(("path", "select", "extra"), BULK_OF_RESOURCES)
def test_bulk_endpoint_of_every_unified_resource(
    exact: ExactClient, control: SandboxControl, path: str, select: str, extra: dict[str, str]
) -> None:
    control.seed(exact.tenant.division, invoices=2, lines_per_invoice=2, seed=4, processed=1)
    account = exact.results("crm/Accounts", {"$select": "ID", "$filter": "trim(Code) eq '1'"})[0]["ID"]
    exact.post("crm/Contacts", {"Account": account, "LastName": "Smit"})
    missing_select = exact.get(path, extra)
    assert missing_select.status_code == 400 and "$select" in missing_select.json()["error"]["message"]["value"]
    rows, pages = exact.all_pages(path, {**extra, "$select": select})
    assert pages == 1
    if path != "bulk/Cashflow/Payments":  # the sandbox books no purchases
        assert rows, path
    assert all(set(row) == {"__metadata", *select.split(",")} for row in rows)
    assert exact.post(path, {}).status_code == 405


def test_sync_timestamp_jump_starts_a_sync_from_a_date(exact: ExactClient, control: SandboxControl) -> None:
    control.seed(exact.tenant.division, invoices=40, lines_per_invoice=1, seed=21)
    invoices = control.dump(exact.tenant.division)["SalesInvoices"]
    modified = sorted(invoice["Modified"] for invoice in invoices)
    # The 11th oldest change: 30 invoices were modified at or after it (seeded dates are distinct).
    cut = datetime(1970, 1, 1) + timedelta(milliseconds=int(modified[10][6:-2]))
    params = {"modified": f"datetime'{cut.isoformat()}'", "endPoint": "'SalesInvoices'"}
    (answer,) = exact.results("read/sync/Sync/SyncTimestamp", params)
    assert answer["API"] == "SalesInvoices" and isinstance(answer["TimeStampAsBigInt"], int)
    rows, _ = exact.all_pages(
        "sync/SalesInvoice/SalesInvoices",
        {"$filter": f"Timestamp gt {answer['TimeStampAsBigInt']}L", "$select": "InvoiceID,Modified"},
    )
    expected = {invoice["InvoiceID"] for invoice in invoices if invoice["Modified"] >= modified[10]}
    assert len(expected) == 30 and expected <= {row["InvoiceID"] for row in rows}
    for bad in (
        {"endPoint": "'SalesInvoices'"},
        {"modified": params["modified"]},
        {**params, "endPoint": "'Accounts'"},
        {**params, "modified": "yesterday"},
    ):
        assert exact.get("read/sync/Sync/SyncTimestamp", bad).status_code == 400, bad
