"""The Xero connector's data half against the Xero sandbox over real HTTP: reads, paging, changes, writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base.data import ListQuery, Resource
from connectors.base.errors import VendorNotFound
from connectors.base.mapping import LedgerMapping, MappingMissing
from connectors.base.records import (
    ContactInput,
    InvalidInput,
    InvoiceInput,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceUpdate,
    ItemInput,
    RecordStatus,
)
from tests.connectors.xero.provider_fixtures import UK_MAPPING, Organisation, organisation_fixture  # noqa: F401

pytestmark = pytest.mark.django_db


def _all(
    organisation: Organisation, resource: Resource, page_size: int = 2, cursor: str | None = None, **query: object
) -> list:
    records: list = []
    while True:
        page = organisation.connector.list_records(
            organisation.ctx(),
            resource,
            ListQuery(page_size=page_size, cursor=cursor, **query),  # type: ignore[arg-type]
        )
        records.extend(page.records)
        cursor = page.next_cursor
        if cursor is None:
            return records


def test_contacts_page_through_every_contact_once(organisation: Organisation) -> None:
    contacts = _all(organisation, Resource.CONTACTS, page_size=2)

    expected = {row["ContactID"] for row in organisation.dump("Contacts")}
    assert [c.id for c in contacts] and len(contacts) == len(expected) == len({c.id for c in contacts})
    assert {c.id for c in contacts} == expected
    assert all(c.remote_data is None and c.name for c in contacts)


def test_a_cursor_resumes_when_the_page_size_changes(organisation: Organisation) -> None:
    first = organisation.connector.list_records(organisation.ctx(), Resource.CONTACTS, ListQuery(page_size=3))
    rest = _all(organisation, Resource.CONTACTS, page_size=2, cursor=first.next_cursor)

    ids = [c.id for c in first.records] + [c.id for c in rest]
    assert sorted(ids) == sorted(row["ContactID"] for row in organisation.dump("Contacts"))


def test_a_cursor_it_did_not_issue_is_invalid_input(organisation: Organisation) -> None:
    with pytest.raises(InvalidInput) as refused:
        organisation.connector.list_records(
            organisation.ctx(), Resource.CONTACTS, ListQuery(page_size=2, cursor="bm90LWEtY3Vyc29y")
        )
    assert refused.value.field == "cursor"


def test_invoices_are_sales_invoices_with_lines_and_items(organisation: Organisation) -> None:
    invoices = _all(organisation, Resource.INVOICES, page_size=5, include_remote_data=True)

    sales = {row["InvoiceID"]: row for row in organisation.dump("Invoices") if row["Type"] == "ACCREC"}
    assert {invoice.id for invoice in invoices} == set(sales)
    for invoice in invoices:
        row = sales[invoice.id]
        assert invoice.total == Decimal(str(row["Total"])).quantize(Decimal("0.01"))
        assert len(invoice.lines) == len(row["LineItems"]) and invoice.contact_id == row["Contact"]["ContactID"]
        assert invoice.remote_data is not None and invoice.remote_data["InvoiceID"] == invoice.id
        for line, raw in zip(invoice.lines, row["LineItems"], strict=True):
            assert line.tax_rate_id == raw["TaxType"] and line.ledger_account_id == raw.get("AccountID")


def test_a_bill_is_not_a_unified_invoice(organisation: Organisation) -> None:
    bill = next(row for row in organisation.dump("Invoices") if row["Type"] == "ACCPAY")

    with pytest.raises(VendorNotFound):
        organisation.connector.retrieve_record(organisation.ctx(), Resource.INVOICES, bill["InvoiceID"])


def test_invoices_filter_by_contact(organisation: Organisation) -> None:
    sales = [row for row in organisation.dump("Invoices") if row["Type"] == "ACCREC"]
    contact_id = sales[0]["Contact"]["ContactID"]

    page = organisation.connector.list_records(
        organisation.ctx(), Resource.INVOICES, ListQuery(page_size=50, filters={"contact_id": contact_id})
    )

    assert page.records and {invoice.contact_id for invoice in page.records} == {contact_id}
    assert {i.id for i in page.records} == {r["InvoiceID"] for r in sales if r["Contact"]["ContactID"] == contact_id}


def test_updated_after_uses_if_modified_since_and_is_strict(organisation: Organisation) -> None:
    organisation.world.control.advance_clock(3600)
    since = datetime.fromisoformat(organisation.world.control.now()).astimezone(UTC)
    organisation.world.control.advance_clock(5)
    target = organisation.dump("Contacts")[0]
    organisation.connector.update_record(
        organisation.ctx(), Resource.CONTACTS, target["ContactID"], ContactInput(email="new@example.com"), mapping=None
    )
    organisation.world.control.reset_counters()

    changed = _all(organisation, Resource.CONTACTS, page_size=10, updated_after=since)

    assert [contact.id for contact in changed] == [target["ContactID"]]
    assert changed[0].email == "new@example.com"
    assert organisation.calls() == {"Contacts": {"200": 1}}


def test_payments_are_the_payment_state_of_approved_sales_invoices(organisation: Organisation) -> None:
    payments = _all(organisation, Resource.PAYMENTS, page_size=10)

    approved = {
        row["InvoiceID"]: row
        for row in organisation.dump("Invoices")
        if row["Type"] == "ACCREC" and row["Status"] in ("AUTHORISED", "PAID")
    }
    assert {payment.id for payment in payments} == set(approved)
    for payment in payments:
        row = approved[payment.id]
        assert payment.open_amount == Decimal(str(row["AmountDue"])).quantize(Decimal("0.01"))
        assert payment.is_fully_paid == (row["Status"] == "PAID")


def test_settings_resources_read_and_retrieve(organisation: Organisation) -> None:
    ctx = organisation.ctx()
    rates = organisation.connector.list_records(ctx, Resource.TAX_RATES, ListQuery(page_size=100)).records
    output2 = next(rate for rate in rates if rate.id == "OUTPUT2")
    assert output2.rate == Decimal(20) and output2.code == "OUTPUT2"
    assert organisation.connector.retrieve_record(ctx, Resource.TAX_RATES, "OUTPUT2") == output2

    accounts = organisation.connector.list_records(ctx, Resource.LEDGER_ACCOUNTS, ListQuery(page_size=100)).records
    sales = next(account for account in accounts if account.code == "200")
    assert sales.classification == "revenue"
    assert organisation.connector.retrieve_record(ctx, Resource.LEDGER_ACCOUNTS, sales.id) == sales

    items = organisation.connector.list_records(ctx, Resource.ITEMS, ListQuery(page_size=100)).records
    assert {item.code for item in items} >= {"CONSULT"}
    with pytest.raises(VendorNotFound):
        organisation.connector.retrieve_record(ctx, Resource.ITEMS, "not-a-guid")


def test_create_contact_then_update_and_archive(organisation: Organisation) -> None:
    created = organisation.connector.create_record(
        organisation.ctx(),
        Resource.CONTACTS,
        ContactInput(
            name="Van Dam Consultancy", email="billing@vandam.example", phone="020 123 4567", is_customer=True
        ),
        mapping=None,
    )
    contact = created.record
    assert contact.name == "Van Dam Consultancy" and contact.phone == "020 123 4567"
    assert [warning.code for warning in created.warnings] == ["xero_sets_customer_supplier_flags"]
    stored = next(row for row in organisation.dump("Contacts") if row["ContactID"] == contact.id)
    assert stored["EmailAddress"] == "billing@vandam.example"

    archived = organisation.connector.update_record(
        organisation.ctx(), Resource.CONTACTS, contact.id, ContactInput(status=RecordStatus.ARCHIVED), mapping=None
    ).record
    assert archived.status == RecordStatus.ARCHIVED
    listed = {c.id: c for c in _all(organisation, Resource.CONTACTS, page_size=50)}
    assert listed[contact.id].status == RecordStatus.ARCHIVED


def _invoice(contact_id: str, **overrides: object) -> InvoiceInput:
    values: dict = {
        "contact_id": contact_id,
        "reference": "ORDER-4711",
        "lines": (
            InvoiceLineInput(
                description="Consultancy", quantity=Decimal(2), unit_price=Decimal("100.00"), tax_rate=Decimal(20)
            ),
            InvoiceLineInput(
                description="Books", quantity=Decimal(3), unit_price=Decimal("39.95"), tax_rate=Decimal(5)
            ),
            InvoiceLineInput(description="Export", quantity=Decimal(1), unit_price=Decimal("50.00"), tax_code="zero"),
        ),
    }
    values.update(overrides)
    return InvoiceInput(**values)


def test_create_invoice_with_three_tax_rates(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]

    result = organisation.connector.create_record(
        organisation.ctx(), Resource.INVOICES, _invoice(contact_id), mapping=UK_MAPPING
    )

    invoice = result.record
    assert invoice.status == InvoiceStatus.OPEN and invoice.finalized is True
    assert [line.tax_rate_id for line in invoice.lines] == ["OUTPUT2", "RROUTPUT", "ZERORATEDOUTPUT"]
    assert invoice.net_total == Decimal("369.85") and invoice.tax_total == Decimal("45.99")
    assert invoice.total == Decimal("415.84") and invoice.reference == "ORDER-4711"
    again = organisation.connector.retrieve_record(organisation.ctx(), Resource.INVOICES, invoice.id)
    assert again == invoice


def test_a_mapping_gap_is_refused_before_any_call(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    organisation.world.control.reset_counters()

    with pytest.raises(MappingMissing) as missing:
        organisation.connector.create_record(
            organisation.ctx(), Resource.INVOICES, _invoice(contact_id), mapping=LedgerMapping()
        )

    assert missing.value.field == "default_revenue_ledger_account"
    assert organisation.calls() == {}


def test_a_draft_is_finalized_by_approving_it(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    draft = organisation.connector.create_record(
        organisation.ctx(), Resource.INVOICES, _invoice(contact_id, status=InvoiceStatus.DRAFT), mapping=UK_MAPPING
    ).record
    assert draft.status == InvoiceStatus.DRAFT and draft.finalized is False

    booked = organisation.connector.finalize_invoice(organisation.ctx(), draft.id).record

    assert booked.status == InvoiceStatus.OPEN and booked.finalized is True and booked.number


def test_invoice_update_changes_the_reference_and_refuses_fixed_fields(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    invoice = organisation.connector.create_record(
        organisation.ctx(), Resource.INVOICES, _invoice(contact_id), mapping=UK_MAPPING
    ).record

    updated = organisation.connector.update_record(
        organisation.ctx(), Resource.INVOICES, invoice.id, InvoiceUpdate(reference="ORDER-4712"), mapping=None
    ).record
    assert updated.reference == "ORDER-4712" and updated.lines == invoice.lines

    with pytest.raises(InvalidInput) as refused:
        organisation.connector.update_record(
            organisation.ctx(), Resource.INVOICES, invoice.id, InvoiceUpdate(contact_id=contact_id), mapping=None
        )
    assert refused.value.field == "contact_id"


def test_a_lost_write_answer_is_resent_with_the_same_idempotency_key(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    before = len(organisation.dump("Invoices"))
    organisation.world.control.add_fault(
        kind="drop_after_apply", pattern="/api.xro/2.0/Invoices", method="PUT", times=1
    )

    invoice = organisation.connector.create_record(
        organisation.ctx(), Resource.INVOICES, _invoice(contact_id), mapping=UK_MAPPING
    ).record

    assert len(organisation.dump("Invoices")) == before + 1
    assert organisation.world.control.counters()["idempotent_replays"] == 1
    assert invoice.id in {row["InvoiceID"] for row in organisation.dump("Invoices")}


def test_find_existing_finds_a_created_invoice_by_reference(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    data = _invoice(contact_id, reference="LOST-1")
    assert organisation.connector.find_existing(organisation.ctx(), Resource.INVOICES, data) is None
    created = organisation.connector.create_record(organisation.ctx(), Resource.INVOICES, data, mapping=UK_MAPPING)

    found = organisation.connector.find_existing(organisation.ctx(), Resource.INVOICES, data)

    assert found is not None and found.id == created.record.id


def test_create_item(organisation: Organisation) -> None:
    created = organisation.connector.create_record(
        organisation.ctx(),
        Resource.ITEMS,
        ItemInput(
            code="WEBDESIGN", name="Web design per day", unit_price=Decimal("25.00"), sales_tax_rate_id="OUTPUT2"
        ),
        mapping=None,
    ).record
    assert (
        created.code == "WEBDESIGN"
        and created.unit_price == Decimal("25.00")
        and created.sales_tax_rate_id == "OUTPUT2"
    )
    found = organisation.connector.find_existing(organisation.ctx(), Resource.ITEMS, ItemInput(code="WEBDESIGN"))
    assert found is not None and found.id == created.id


def test_the_mapping_check_names_codes_the_organisation_lacks(organisation: Organisation) -> None:
    assert organisation.connector.check_mapping(organisation.ctx(), UK_MAPPING) == []
    problems = organisation.connector.check_mapping(
        organisation.ctx(),
        LedgerMapping.from_dict({"tax_rates": [{"rate": "21", "vendor_code": "BTW21"}], "default_item": "NOPE"}),
    )
    assert [field for field, _ in problems] == ["tax_rates", "default_item"]


def test_updated_after_needs_a_time_zone(organisation: Organisation) -> None:
    with pytest.raises(InvalidInput):
        organisation.connector.list_records(
            organisation.ctx(),
            Resource.CONTACTS,
            ListQuery(page_size=2, updated_after=datetime(2025, 1, 1) - timedelta(0)),
        )
