"""Sync (Timestamp paging), sync/Deleted and bulk endpoints over real HTTP, at small scale (2,000 invoices)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

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
    """API-FACTS §5.2: the deleted log is kept for 2 months (60 days on the sandbox clock)."""
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
    """API-FACTS §5.4: $select is mandatory on bulk endpoints, whatever $top is."""
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
