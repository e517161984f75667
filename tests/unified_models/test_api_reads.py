"""Reads through the API against the sandboxes: hundreds of invoices page correctly over the vendor's pages, signed
cursors, updated_after, every read-only resource, remote_data on request, unusable connections refused without a
call. Tests on `any_connected`/`any_mapped` run for every connector; those on `connected`/`mapped` check Exact's
seeded chart, VAT codes, journals and items (Exact-specific)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tenants.models import ConnectionStatus
from tests.unified_models.conftest import Connected

pytestmark = pytest.mark.django_db(transaction=True)


def _pages(connected: Connected, resource: str, **params: object) -> list[dict]:  # type: ignore[type-arg]
    pages = []
    response = connected.client.get(connected.url(resource), params)
    while True:
        assert response.status_code == 200, response.json()
        pages.append(response.json())
        if not response.json()["next"]:
            return pages
        response = connected.client.get(response.json()["next"])


def _chunks(total: int, size: int) -> list[int]:
    return [min(size, total - start) for start in range(0, total, size)]


def test_a_list_of_500_invoices_pages_correctly(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_invoices(500, lines_per_invoice=2, seed=7)
    stored = connected.sales_invoices()
    expected = {row["InvoiceID"] for row in stored}
    if connected.connector_id == "exact":  # Exact-specific: its seed makes only sales invoices
        assert len(expected) == 500
    assert len(expected) > 300  # several of the vendor's own pages (Exact: 60, Xero: 100)

    pages = _pages(connected, "invoices", page_size=200)

    assert [len(page["results"]) for page in pages] == _chunks(len(expected), 200)
    ids = [invoice["id"] for page in pages for invoice in page["results"]]
    assert len(ids) == len(set(ids)) == len(expected)
    assert {invoice["remote_id"] for page in pages for invoice in page["results"]} == expected
    line_counts = connected.invoice_line_counts()
    listed = [invoice for page in pages for invoice in page["results"]]
    assert all(len(invoice["lines"]) == line_counts[invoice["remote_id"]] == 2 for invoice in listed)
    assert "page_size=200" in pages[0]["next"]

    # The default page size, and the order is stable: paging again gives the same sequence.
    again = [invoice["id"] for page in _pages(connected, "invoices", page_size=200) for invoice in page["results"]]
    assert again == ids
    default_pages = _pages(connected, "invoices")
    assert [len(page["results"]) for page in default_pages] == _chunks(len(expected), 100)


def test_updated_after_narrows_the_list(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_invoices(30, seed=3)
    connected.world.control.advance_clock(120)  # a second batch that is certainly later than the first
    connected.seed_invoices(30, seed=4)
    profile = connected.profile
    moments = sorted(
        profile.parse_modified(row[profile.invoice_modified_key], profile.invoice_modified_key)
        for row in connected.sales_invoices()
    )
    cut = moments[len(moments) // 2]
    expected = sum(1 for moment in moments if moment > cut)
    assert 0 < expected < len(moments)

    pages = _pages(connected, "invoices", page_size=25, updated_after=cut.astimezone(UTC).isoformat())

    results = [invoice for page in pages for invoice in page["results"]]
    assert len(results) == expected
    assert all(datetime.fromisoformat(invoice["updated_at"].replace("Z", "+00:00")) > cut for invoice in results)
    if len(pages) > 1:
        assert "updated_after=" in pages[0]["next"]


def test_cursors_are_signed_and_bound_to_their_list(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_invoices(30, seed=5)
    first = connected.client.get(connected.url("invoices"), {"page_size": 10}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]

    tampered = connected.client.get(connected.url("invoices"), {"page_size": 10, "cursor": cursor[:-3] + "abc"})
    assert tampered.status_code == 400 and tampered.json()["code"] == "invalid_cursor"
    assert tampered.json()["errors"][0]["field"] == "cursor"
    other_list = connected.client.get(connected.url("contacts"), {"cursor": cursor})
    assert other_list.status_code == 400 and other_list.json()["code"] == "invalid_cursor"
    other_filter = connected.client.get(
        connected.url("invoices"), {"cursor": cursor, "updated_after": "2024-01-01T00:00:00Z"}
    )
    assert other_filter.status_code == 400
    garbage = connected.client.get(connected.url("invoices"), {"cursor": "not-a-cursor"})
    assert garbage.status_code == 400


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "201"}, "page_size"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"include": "everything"}, "include"),
    ],
)
def test_bad_list_parameters_name_the_field(any_connected: Connected, params: dict, field: str) -> None:  # type: ignore[type-arg]
    connected = any_connected
    connected.world.control.reset_counters()
    response = connected.client.get(connected.url("invoices"), params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert connected.calls() == {}


def test_ledger_accounts(connected: Connected) -> None:
    accounts = {
        account["code"]: account for account in connected.client.get(connected.url("ledger-accounts")).json()["results"]
    }
    assert accounts["8000"]["classification"] == "revenue" and accounts["8000"]["name"] == "Omzet hoog"
    assert accounts["1100"]["classification"] == "asset"
    one = connected.client.get(connected.url(f"ledger-accounts/{accounts['8000']['id']}"), {"include": "remote_data"})
    assert one.status_code == 200 and one.json()["code"] == "8000"
    assert one.json()["remote_data"]["Code"].strip() == "8000"


def test_tax_rates(connected: Connected) -> None:
    rates = {rate["code"]: rate for rate in connected.client.get(connected.url("tax-rates")).json()["results"]}
    assert (rates["2"]["rate"], rates["2"]["type"], rates["2"]["usage"]) == ("21", "exclusive", "sales")
    assert rates["1"]["rate"] == "9" and rates["0"]["type"] == "none"
    one = connected.client.get(connected.url(f"tax-rates/{rates['2']['id']}"))
    assert one.status_code == 200 and one.json()["name"] == "21% VH verkoop excl"


def test_journals(connected: Connected) -> None:
    journals = {
        journal["code"]: journal for journal in connected.client.get(connected.url("journals")).json()["results"]
    }
    assert journals["70"]["type"] == "sales" and journals["20"]["type"] == "bank"
    one = connected.client.get(connected.url(f"journals/{journals['70']['id']}"))
    assert one.status_code == 200 and one.json()["name"] == "Verkoopboek"


def test_items(connected: Connected) -> None:
    items = {item["code"]: item for item in connected.client.get(connected.url("items")).json()["results"]}
    assert set(items) >= {"CONSULT", "HOSTING", "LICENSE", "BOOK"}
    assert items["CONSULT"]["unit_price"] == "95.00" or items["CONSULT"]["unit_price"].startswith("95")
    assert items["BOOK"]["sales_tax_rate_id"] == "1"
    one = connected.client.get(connected.url(f"items/{items['HOSTING']['id']}"))
    assert one.status_code == 200 and one.json()["name"] == "Hosting per maand"


def test_payments_follow_finalized_invoices(any_mapped: Connected, any_customer_id: str) -> None:
    mapped = any_mapped
    body = mapped.invoice_body(any_customer_id)
    created = mapped.client.post(mapped.url("invoices"), body, format="json").json()
    finalized = mapped.client.post(mapped.url(f"invoices/{created['id']}/finalize"), format="json")
    assert finalized.status_code == 200, finalized.json()

    total = str(mapped.invoice_total())  # Exact: 422.64 (21 %, 9 %), Xero: 415.84 (20 %, 5 %)
    payments = mapped.client.get(mapped.url("payments"), {"page_size": 200}).json()["results"]
    (payment,) = [payment for payment in payments if payment["invoice_number"] == finalized.json()["number"]]
    assert payment["amount"] == total and payment["status"] == "open"
    assert payment["contact_id"] == any_customer_id
    one = mapped.client.get(mapped.url(f"payments/{payment['id']}"))
    assert one.status_code == 200 and one.json()["open_amount"] == total


@pytest.mark.parametrize(
    ("status", "code"),
    [(ConnectionStatus.NEEDS_REAUTH, "connection_needs_reauth"), (ConnectionStatus.DISABLED, "connection_disabled")],
)
def test_unusable_connections_are_refused_without_a_call(any_connected: Connected, status: str, code: str) -> None:
    connected = any_connected
    type(connected.connection).objects.filter(pk=connected.connection.pk).update(
        status=status, status_reason="NoDivisionAccess: Exact no longer grants access"
    )
    connected.world.control.reset_counters()

    for response in (
        connected.client.get(connected.url("invoices")),
        connected.client.post(connected.url("contacts"), {"name": "X"}, format="json"),
    ):
        assert response.status_code == 409, response.json()
        assert response.json()["code"] == code
        assert "NoDivisionAccess" in response.json()["reason"]
    assert connected.calls() == {}


def test_an_unknown_connection_is_not_found(auth_client) -> None:  # type: ignore[no-untyped-def]
    response = auth_client.get("/api/v1/connections/00000000-0000-4000-8000-000000000000/invoices")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
