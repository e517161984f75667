"""ExactConnector reads against the sandbox over HTTP: every resource listed and retrieved, 500 invoices paged with
page sizes that do not align with Exact's 60-row pages, updated_after, filters, remote_data, unknown ids, the call
log and NoDivisionAccess through the data path."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.connector import Operation
from connectors.base.data import ListQuery, Resource
from connectors.base.errors import CompanyAccessDenied, ConnectionNotUsable, VendorNotFound, VendorValidationError
from connectors.base.records import InvalidInput, InvoiceStatus
from connectors.exact import lookups
from connectors.exact.odata import ODataQuery
from connectors.exact.resources import CONTACT_FIELDS, INVOICE_FIELDS, RESOURCES
from connectors.exact.values import parse_exact_datetime
from gateway.request_context import request_id_var
from tenants.models import CallLog, ConnectionStatus
from tenants.vendor_calls import connection_context
from tests.connectors.exact.provider_fixtures import Division, division_fixture  # noqa: F401
from tests.tenants.factories import connect_via_sandbox

pytestmark = pytest.mark.django_db(transaction=True)


def _all(
    division: Division, resource: Resource, page_size: int, cursor: str | None = None, **query: object
) -> list[list[Any]]:
    """Every page of a list from `cursor` on, following the connector's cursors."""
    pages: list[list[Any]] = []
    while True:
        page = division.connector.list_records(
            division.ctx(), resource, ListQuery(page_size=page_size, cursor=cursor, **query)
        )
        pages.append(page.records)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_capabilities_are_declared_per_resource(division: Division) -> None:
    connector = division.connector
    for resource in ("contacts", "invoices"):
        assert {Operation.LIST, Operation.RETRIEVE, Operation.CREATE, Operation.UPDATE} <= connector.capabilities[
            resource
        ]
    for resource in ("ledger-accounts", "tax-rates", "journals", "items", "payments"):
        assert connector.supports(resource, Operation.LIST) and connector.supports(resource, Operation.RETRIEVE)
        assert connector.supports(resource, Operation.CREATE) is (resource == "items")
    assert not connector.supports("items", Operation.UPDATE)
    assert connector.list_filters["invoices"] == {"contact_id"}


@pytest.mark.parametrize("page_size", [37, 200, 60])
def test_500_invoices_page_exactly_once_in_a_stable_order(division: Division, page_size: int) -> None:
    division.world.control.seed(division.code, invoices=500, lines_per_invoice=2, seed=11)
    stored = {row["InvoiceID"] for row in division.dump("SalesInvoices")}
    assert len(stored) == 500
    division.world.control.reset_counters()

    pages = _all(division, Resource.INVOICES, page_size)

    ids = [invoice.id for page in pages for invoice in page]
    assert len(ids) == len(set(ids)) == 500 and set(ids) == stored
    assert [len(page) for page in pages[:-1]] == [page_size] * (len(pages) - 1)
    assert all(len(invoice.lines) == 2 for page in pages for invoice in page)
    assert ids == sorted(ids), "Exact's key order"
    calls = division.calls()
    # Lines come expanded with their invoices: never a call per invoice or per line.
    assert set(calls) == {"salesinvoice/SalesInvoices"}
    exact_pages = -(-500 // 60)
    assert calls["salesinvoice/SalesInvoices"]["200"] <= exact_pages + len(pages)
    if page_size == 200:
        again = [invoice.id for page in _all(division, Resource.INVOICES, 200) for invoice in page]
        assert again == ids


def test_a_cursor_resumes_after_its_last_row_even_when_rows_were_added(division: Division) -> None:
    division.world.control.seed(division.code, invoices=100, lines_per_invoice=1, seed=3)
    first = division.connector.list_records(division.ctx(), Resource.INVOICES, ListQuery(page_size=37))
    seen = [invoice.id for invoice in first.records]
    division.world.control.seed(division.code, invoices=20, lines_per_invoice=1, seed=4)  # new keys anywhere

    rest = _all(division, Resource.INVOICES, 37, cursor=first.next_cursor) if first.next_cursor else []
    later = [invoice.id for page in rest for invoice in page]

    assert not set(seen) & set(later), "no invoice is returned twice"
    assert later == sorted(later) and (not later or later[0] > seen[-1])


def test_updated_after_is_strict_and_in_amsterdam_time(division: Division) -> None:
    division.world.control.seed(division.code, invoices=80, lines_per_invoice=1, seed=5)
    moments = sorted(parse_exact_datetime(row["Modified"], "Modified") for row in division.dump("SalesInvoices"))
    cut = moments[len(moments) // 2]
    assert cut is not None
    expected = sum(1 for moment in moments if moment is not None and moment > cut)

    results = [invoice for page in _all(division, Resource.INVOICES, 25, updated_after=cut) for invoice in page]

    assert len(results) == expected
    assert all(invoice.updated_at > cut for invoice in results)
    with pytest.raises(InvalidInput) as naive:
        division.connector.list_records(
            division.ctx(), Resource.INVOICES, ListQuery(page_size=5, updated_after=cut.replace(tzinfo=None))
        )
    assert naive.value.field == "updated_after"


def test_contacts_list_and_retrieve_with_and_without_remote_data(division: Division) -> None:
    (page,) = _all(division, Resource.CONTACTS, 200)
    assert {contact.name for contact in page} >= {row["Name"] for row in division.dump("Accounts")}
    assert all(contact.remote_data is None for contact in page)
    customer_id = division.first_customer_id()

    contact = division.connector.retrieve_record(
        division.ctx(), Resource.CONTACTS, customer_id, include_remote_data=True
    )

    assert contact.id == customer_id and contact.is_customer
    # Exactly the $select the mapper needs, without the OData envelope.
    assert set(contact.remote_data) == set(CONTACT_FIELDS)
    assert "__metadata" not in contact.remote_data
    assert contact.code == str(contact.remote_data["Code"]).strip()
    listed = next(record for record in page if record.id == customer_id)
    assert listed == contact.without_remote_data()


def test_invoice_remote_data_has_its_lines_as_a_list(division: Division) -> None:
    division.world.control.seed(division.code, invoices=3, lines_per_invoice=2, seed=9)
    (page,) = _all(division, Resource.INVOICES, 10, include_remote_data=True)
    invoice = page[0]
    raw = invoice.remote_data
    assert set(raw) == {*INVOICE_FIELDS, "SalesInvoiceLines"}
    assert isinstance(raw["SalesInvoiceLines"], list) and len(raw["SalesInvoiceLines"]) == 2
    assert all("__metadata" not in line for line in raw["SalesInvoiceLines"])
    assert invoice.finalized is False


def test_invoices_filtered_by_contact(division: Division) -> None:
    division.world.control.seed(division.code, invoices=40, lines_per_invoice=1, seed=2)
    contact_id = division.dump("SalesInvoices")[0]["InvoiceTo"]
    expected = {row["InvoiceID"] for row in division.dump("SalesInvoices") if row["InvoiceTo"] == contact_id}

    pages = _all(division, Resource.INVOICES, 200, filters={"contact_id": contact_id})

    assert {invoice.id for page in pages for invoice in page} == expected
    with pytest.raises(InvalidInput):
        division.connector.list_records(
            division.ctx(), Resource.INVOICES, ListQuery(page_size=5, filters={"number": "1"})
        )
    with pytest.raises(InvalidInput):
        division.connector.list_records(
            division.ctx(), Resource.INVOICES, ListQuery(page_size=5, filters={"contact_id": "x' or 1 eq 1"})
        )


def test_master_data_resources(division: Division) -> None:
    ctx = division.ctx()
    connector = division.connector
    accounts = {account.code: account for account in _all(division, Resource.LEDGER_ACCOUNTS, 200)[0]}
    assert accounts["8000"].classification == "revenue" and accounts["1100"].classification == "asset"
    assert connector.retrieve_record(ctx, Resource.LEDGER_ACCOUNTS, accounts["8000"].id) == accounts["8000"]

    rates = {rate.code: rate for rate in _all(division, Resource.TAX_RATES, 200)[0]}
    assert str(rates["2"].rate) == "21" and rates["2"].id == "2"
    by_code = connector.retrieve_record(ctx, Resource.TAX_RATES, "2", include_remote_data=True)
    assert by_code == rates["2"] and by_code.remote_id == by_code.remote_data["ID"]
    with pytest.raises(VendorNotFound):
        connector.retrieve_record(ctx, Resource.TAX_RATES, "99")

    journals = {journal.code: journal for journal in _all(division, Resource.JOURNALS, 200)[0]}
    assert journals["70"].type == "sales"
    assert connector.retrieve_record(ctx, Resource.JOURNALS, journals["70"].id).name == journals["70"].name

    items = {item.code: item for item in _all(division, Resource.ITEMS, 200)[0]}
    assert {"CONSULT", "HOSTING", "LICENSE", "BOOK"} <= set(items)
    assert items["BOOK"].sales_tax_rate_id == "1"
    assert connector.retrieve_record(ctx, Resource.ITEMS, items["BOOK"].id) == items["BOOK"]


@pytest.mark.parametrize("record_id", ["0f0f0f0f-0000-4000-8000-000000000000", "not-a-guid", "1') or (1 eq 1"])
def test_unknown_and_malformed_ids_are_not_found(division: Division, record_id: str) -> None:
    division.world.control.reset_counters()
    for resource in (Resource.CONTACTS, Resource.INVOICES, Resource.ITEMS, Resource.PAYMENTS):
        with pytest.raises(VendorNotFound):
            division.connector.retrieve_record(division.ctx(), resource, record_id)
    if record_id != "0f0f0f0f-0000-4000-8000-000000000000":
        assert division.calls() == {}, "a malformed id never reaches Exact"


def test_bad_page_sizes_and_cursors_are_invalid_input(division: Division) -> None:
    division.world.control.reset_counters()
    for query in (ListQuery(page_size=0), ListQuery(page_size=201), ListQuery(page_size=5, cursor="garbage")):
        with pytest.raises(InvalidInput):
            division.connector.list_records(division.ctx(), Resource.CONTACTS, query)
    assert division.calls() == {}


def test_every_call_is_in_the_call_log_with_the_request_id(division: Division) -> None:
    CallLog.objects.all().delete()
    token = request_id_var.set("req-provider-1")
    try:
        division.connector.list_records(division.ctx(), Resource.ITEMS, ListQuery(page_size=5))
    finally:
        request_id_var.reset(token)

    (log,) = CallLog.objects.filter(connection=division.connection)
    assert (log.method, log.path, log.status) == ("GET", "logistics/Items", 200)
    assert log.request_id == "req-provider-1" and log.duration_ms >= 0
    assert log.minutely_remaining is not None and log.rate_limit_remaining is not None


def test_no_division_access_through_the_data_path_marks_needs_reauth(division: Division, workspace) -> None:  # type: ignore[no-untyped-def]
    # A second grant covering only 101 replaces the first (one refresh chain per app and user); 102 is refused.
    _, (not_granted,) = connect_via_sandbox(division.world, workspace=workspace, divisions=[101], connect=(102,))

    with pytest.raises(CompanyAccessDenied):
        division.connector.list_records(connection_context(not_granted), Resource.INVOICES, ListQuery(page_size=10))

    not_granted.refresh_from_db()
    assert not_granted.status == ConnectionStatus.NEEDS_REAUTH and "NoDivisionAccess" in not_granted.status_reason
    with pytest.raises(ConnectionNotUsable):
        connection_context(not_granted)


def test_payments_of_a_processed_invoice_and_its_payment_status(division: Division) -> None:
    from connectors.base.records import InvoiceInput, InvoiceLineInput
    from connectors.exact.sandbox.writes import mark_receivable_paid
    from tests.connectors.exact.provider_fixtures import DUTCH_MAPPING

    ctx = division.ctx()
    created = division.connector.create_record(
        ctx,
        Resource.INVOICES,
        InvoiceInput(
            contact_id=division.first_customer_id(),
            reference="PAY-1",
            lines=(
                InvoiceLineInput(
                    description="Advies", quantity=Decimal(1), unit_price=Decimal(100), tax_rate=Decimal(21)
                ),
            ),
        ),
        mapping=DUTCH_MAPPING,
    ).record
    finalized = division.connector.finalize_invoice(division.ctx(), created.id).record
    assert finalized.finalized is True and finalized.status == InvoiceStatus.OPEN

    (payment,) = [payment for payment in _all(division, Resource.PAYMENTS, 200)[0] if payment.reference == "PAY-1"]
    assert payment.invoice_id == created.id and payment.invoice_number == finalized.number
    assert str(payment.amount) == "121.00" and payment.status == "open"
    assert division.connector.retrieve_record(division.ctx(), Resource.PAYMENTS, payment.id) == payment

    sandbox = division.world.server.world
    with sandbox.lock:
        mark_receivable_paid(
            sandbox.divisions[division.code].store, payment.remote_id, when=datetime.now(UTC).replace(tzinfo=None)
        )
    division.world.control.reset_counters()
    paid = division.connector.retrieve_record(division.ctx(), Resource.INVOICES, created.id)
    assert paid.status == InvoiceStatus.PAID and paid.finalized is True
    # The invoice plus one receivables query: the payment status costs one call, not one per invoice.
    assert division.calls() == {"salesinvoice/SalesInvoices": {"200": 1}, "cashflow/Receivables": {"200": 1}}
    listed = [invoice for page in _all(division, Resource.INVOICES, 200) for invoice in page]
    assert next(invoice for invoice in listed if invoice.id == created.id).status == InvoiceStatus.PAID


# ---------------------------------------------------------------------------------------------- mandatory filtering


@pytest.mark.parametrize(
    ("resource", "path"), [(Resource.CONTACTS, "crm/Accounts"), (Resource.ITEMS, "logistics/Items")]
)
def test_lists_without_a_caller_filter_send_exacts_mandatory_filter(
    division: Division, resource: Resource, path: str
) -> None:
    """Exact refuses these two lists without a $filter on a listed field; the connector always sends one."""
    division.world.control.seed(division.code, accounts=70, seed=2)
    control = division.world.control
    control.clear_requests()
    records = [record for page in _all(division, resource, 50) for record in page]
    stored = division.dump("Accounts" if resource is Resource.CONTACTS else "Items")
    assert {record.id for record in records} == {row["ID"] for row in stored}
    sent = [entry for entry in control.requests(path=path) if entry["method"] == "GET"]
    assert sent and all(entry["status"] == 200 for entry in sent)
    # What went over the wire: a filter that keeps every record, on Created (in both of Exact's lists).
    assert {entry["query"]["$filter"] for entry in sent} == {"Created ge datetime'1900-01-01T00:00:00'"}
    # With updated_after the contacts filter is on Modified alone (listed for accounts); items keep Created too,
    # since Exact's quoted list for items is cut before Modified would appear.
    control.clear_requests()
    since = datetime(2024, 6, 1, tzinfo=UTC)
    _all(division, resource, 50, updated_after=since)
    (entry,) = [entry for entry in control.requests(path=path) if entry["method"] == "GET"]
    expected = "Modified ge datetime'2024-06-01T02:00:00'"
    if resource is Resource.ITEMS:
        expected = f"({expected}) and (Created ge datetime'1900-01-01T00:00:00')"
    assert entry["query"]["$filter"] == expected and entry["status"] == 200


def test_the_strict_sandbox_refuses_the_unfiltered_list_the_connector_used_to_send(division: Division) -> None:
    """The failure the mandatory filter prevents, injected: the same query without the filter is a 400."""
    spec = RESOURCES[Resource.CONTACTS]
    api = division.connector._api(division.ctx())
    with pytest.raises(VendorValidationError, match="mandatory filtering"):
        api.page(spec.path, ODataQuery(select=spec.select_list()), skiptoken=None)


def test_code_lookups_stay_under_exacts_url_limit(division: Division) -> None:
    """Codes that percent-encode long are split over more queries so each URL fits in Exact's 6,000 characters."""
    codes = [f"{n:02d}{'Ä&' * 14}" for n in range(45)]  # characters that percent-encode to the longest form
    control = division.world.control
    control.clear_requests()
    found = lookups.rows_by_code(division.connector._api(division.ctx()), lookups.ITEMS, codes, ("ID",))
    assert found == {}
    sent = control.requests(path="logistics/Items")
    assert len(sent) == 2 and all(entry["status"] == 200 for entry in sent)  # 40 of these would not fit
    assert sorted(code for entry in sent for code in codes if f"'{code}'" in entry["query"]["$filter"]) == codes
