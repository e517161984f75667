"""Exact JSON <-> unified records on recorded responses (tests/connectors/exact/fixtures); no HTTP."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from connectors.base.mapping import LedgerMapping, MappingMissing, TaxRateMapping
from connectors.base.records import (
    Address,
    AddressType,
    Contact,
    ContactInput,
    InvalidInput,
    InvoiceInput,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    ItemInput,
    JournalType,
    LedgerClassification,
    PaymentStatus,
    RecordStatus,
    TaxType,
    TaxUsage,
)
from connectors.exact.mappers import (
    W_ACCOUNT_ENDED,
    W_ADDRESS_TYPE,
    W_ISSUE_DATE,
    W_ITEM_PRICE,
    W_NUMBER,
    W_ONE_ADDRESS,
    W_PRICE_DEFAULTED,
    W_STATUS,
    W_TAX_DEFAULTED,
    StaticLookup,
    contact_from_exact,
    contact_to_exact,
    invoice_from_exact,
    invoice_payment_status,
    invoice_to_exact,
    item_from_exact,
    item_to_exact,
    journal_from_exact,
    ledger_account_from_exact,
    payment_from_exact,
    receivables_for_invoice,
    tax_rate_from_exact,
)
from connectors.exact.resources import without_odata_noise
from connectors.exact.values import UnexpectedExactValue, exact_json_dumps, round_money

FIXTURES = Path(__file__).parent / "fixtures"
TODAY = date(2024, 6, 1)
BAKKER = "0b4e8d2c-6f1a-4c3b-9e7d-1a2b3c4d5e01"
BRASSERIE = "0b4e8d2c-6f1a-4c3b-9e7d-1a2b3c4d5e02"
CONSULT = "a3f0c6d1-7e2b-4b59-8c4d-0000000c0051"
DIVERS = "a3f0c6d1-7e2b-4b59-8c4d-00000000d1e5"
GL_8000 = "5c9a1e77-2b3d-4f60-8a1c-000000008000"
GL_8010 = "5c9a1e77-2b3d-4f60-8a1c-000000008010"


@cache
def _load(name: str) -> list[dict[str, Any]]:
    body = json.loads((FIXTURES / name).read_text())
    return body["d"]["results"]


def recorded(name: str) -> list[dict[str, Any]]:
    """A fresh copy of the `d.results` rows of a recorded Exact response."""
    return copy.deepcopy(_load(name))


def by_key(name: str, key: str, value: Any) -> dict[str, Any]:
    return next(row for row in recorded(name) if row[key] == value)


MAPPING = LedgerMapping(
    tax_rates=(
        TaxRateMapping(code="standard", vendor_code="2"),
        TaxRateMapping(code="reduced", vendor_code="1"),
        TaxRateMapping(code="zero", vendor_code="0"),
        TaxRateMapping(rate=Decimal(21), vendor_code="2"),
        TaxRateMapping(rate=Decimal(9), vendor_code="1"),
    ),
    default_revenue_ledger_account="8000",
    default_sales_journal="70",
    default_item="DIVERS",
    items_by_code={"consulting-hour": "CONSULT"},
)


def lookup_from_fixtures() -> StaticLookup:
    """What a caller would prefetch: item and G/L codes to GUIDs."""
    return StaticLookup(
        items={row["Code"]: row["ID"] for row in recorded("items.json")},
        gl_accounts={row["Code"]: row["ID"] for row in recorded("gl_accounts.json")},
    )


LOOKUP = lookup_from_fixtures()


def codes(warnings: list[Any]) -> list[str]:
    return [warning.code for warning in warnings]


# ---------------------------------------------------------------------------------------------- contacts


class TestContactFromExact:
    def test_customer_with_address(self) -> None:
        contact = contact_from_exact(by_key("accounts.json", "ID", BAKKER), today=TODAY)
        assert contact.id == contact.remote_id == BAKKER
        assert contact.name == "Bakkerij De Gouden Korenschoof B.V."
        assert contact.code == "1001"  # 18-char left-padded in Exact
        assert contact.is_customer and not contact.is_supplier
        assert contact.email == "administratie@goudenkorenschoof.nl"
        assert contact.phone == "030-2345678"
        assert contact.website == "www.goudenkorenschoof.nl"
        assert contact.vat_number == "NL001234567B01"
        assert contact.chamber_of_commerce_number == "30123456"
        assert contact.currency == "EUR"
        assert contact.status is RecordStatus.ACTIVE
        assert contact.addresses == (
            Address(
                type=AddressType.MAIN,
                line1="Oudegracht 112",
                line2="Achteringang",
                postal_code="3511 AW",
                city="Utrecht",
                country="NL",
            ),
        )

    def test_timestamps_are_amsterdam_wall_clock_in_utc(self) -> None:
        winter_summer = contact_from_exact(by_key("accounts.json", "ID", BAKKER), today=TODAY)
        assert winter_summer.created_at == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)  # 10:30 CET
        assert winter_summer.updated_at == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)  # 14:00 CEST
        dst_days = contact_from_exact(by_key("accounts.json", "ID", BRASSERIE), today=TODAY)
        assert dst_days.created_at == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)  # 03:30 just after spring forward
        assert dst_days.updated_at == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)  # first 02:30 of fall back

    def test_customer_and_supplier_with_foreign_address(self) -> None:
        contact = contact_from_exact(by_key("accounts.json", "ID", BRASSERIE), today=TODAY)
        assert contact.is_customer and contact.is_supplier
        (address,) = contact.addresses
        assert address.country == "BE"  # "BE " trimmed
        assert address.region == "VOV"
        assert address.line2 is None
        # AddressLine3 has no unified field: it stays reachable in remote_data.
        assert contact.remote_data is not None and contact.remote_data["AddressLine3"] == "Bus 3"

    def test_blocked_supplier_is_archived(self) -> None:
        contact = contact_from_exact(by_key("accounts.json", "Name", "Drukkerij Van Dam"), today=TODAY)
        assert not contact.is_customer and contact.is_supplier
        assert contact.status is RecordStatus.ARCHIVED
        assert contact.addresses == ()

    def test_prospect_past_end_date_is_archived_and_not_a_customer(self) -> None:
        account = by_key("accounts.json", "Name", "Fietsenmakerij Hoogstraten")
        contact = contact_from_exact(account, today=TODAY)
        assert contact.is_customer is False  # Status "P" (prospect)
        assert contact.status is RecordStatus.ARCHIVED
        assert contact_from_exact(account, today=date(2023, 12, 31)).status is RecordStatus.ACTIVE

    def test_get_only_flags_are_a_fallback_when_status_is_not_selected(self) -> None:
        selected = {"ID": BAKKER, "Name": "Bakkerij", "IsSales": True, "IsPurchase": True}
        contact = contact_from_exact(selected, today=TODAY)
        assert contact.is_customer and contact.is_supplier
        # When Status is present it decides, whatever IsSales says.
        assert not contact_from_exact({**selected, "Status": "P", "IsSupplier": False}, today=TODAY).is_customer

    def test_remote_data_is_the_raw_object_and_a_copy(self) -> None:
        account = by_key("accounts.json", "ID", BAKKER)
        contact = contact_from_exact(account, today=TODAY)
        assert contact.remote_data == account
        account["Name"] = "changed"
        assert contact.remote_data is not None and contact.remote_data["Name"] != "changed"
        nested = {**account, "Extra": {"Tags": ["a"]}}
        copied = contact_from_exact(nested, today=TODAY)
        nested["Extra"]["Tags"].append("b")
        assert copied.remote_data is not None and copied.remote_data["Extra"] == {"Tags": ["a"]}  # deep, not shallow
        # A cleaned object (without_odata_noise: new all the way down, held by nothing else) is kept, not copied.
        cleaned = without_odata_noise({"__metadata": {"uri": "…"}, **account})
        assert contact_from_exact(cleaned, today=TODAY).remote_data is cleaned

    @pytest.mark.parametrize(("field", "value"), [("Status", "X"), ("Country", "NLD"), ("ID", None)])
    def test_unknown_values_are_errors(self, field: str, value: Any) -> None:
        account = {**by_key("accounts.json", "ID", BAKKER), field: value}
        with pytest.raises(UnexpectedExactValue):
            contact_from_exact(account, today=TODAY)


class TestContactToExact:
    def test_create(self) -> None:
        payload, warnings = contact_to_exact(
            ContactInput(
                name="Bakkerij De Gouden Korenschoof B.V.",
                code="1001",
                is_customer=True,
                is_supplier=False,
                email="administratie@goudenkorenschoof.nl",
                vat_number="NL001234567B01",
                chamber_of_commerce_number="30123456",
                addresses=(Address(line1="Oudegracht 112", postal_code="3511 AW", city="Utrecht", country="NL"),),
            )
        )
        assert warnings == []
        assert payload == {
            "Name": "Bakkerij De Gouden Korenschoof B.V.",
            "Code": "              1001",
            "Status": "C",
            "IsSupplier": False,
            "Email": "administratie@goudenkorenschoof.nl",
            "VATNumber": "NL001234567B01",
            "ChamberOfCommerce": "30123456",
            "AddressLine1": "Oudegracht 112",
            "AddressLine2": None,
            "Postcode": "3511 AW",
            "City": "Utrecht",
            "State": None,
            "Country": "NL",
        }
        assert len(payload["Code"]) == 18

    def test_get_only_flags_are_never_sent(self) -> None:
        payload, _ = contact_to_exact(ContactInput(name="X", is_customer=True, is_supplier=True))
        assert "IsSales" not in payload and "IsPurchase" not in payload
        assert payload["Status"] == "C" and payload["IsSupplier"] is True

    def test_round_trip(self) -> None:
        original = by_key("accounts.json", "ID", BAKKER)
        contact = contact_from_exact(original, today=TODAY)
        payload, warnings = contact_to_exact(
            ContactInput(
                name=contact.name,
                code=contact.code,
                is_customer=contact.is_customer,
                is_supplier=contact.is_supplier,
                email=contact.email,
                phone=contact.phone,
                website=contact.website,
                vat_number=contact.vat_number,
                chamber_of_commerce_number=contact.chamber_of_commerce_number,
                addresses=contact.addresses,
                currency=contact.currency,
                status=contact.status,
            ),
            existing=original,
            today=TODAY,
        )
        assert warnings == []
        stored = {**original, **payload}  # what Exact holds after the PUT
        assert contact_from_exact(stored, today=TODAY) == contact
        assert {name: original[name] for name in payload} == payload  # nothing changes on Exact's side

    def test_update_sends_only_given_fields(self) -> None:
        payload, warnings = contact_to_exact(
            ContactInput(email="nieuw@example.nl"), existing=by_key("accounts.json", "ID", BAKKER)
        )
        assert (payload, warnings) == ({"Email": "nieuw@example.nl"}, [])

    def test_no_longer_a_customer(self) -> None:
        existing = by_key("accounts.json", "ID", BAKKER)
        assert contact_to_exact(ContactInput(is_customer=False), existing=existing)[0] == {"Status": "A"}
        prospect = by_key("accounts.json", "Name", "Fietsenmakerij Hoogstraten")
        assert contact_to_exact(ContactInput(is_customer=False), existing=prospect)[0] == {}

    def test_archive_sends_blocked(self) -> None:
        existing = by_key("accounts.json", "ID", BAKKER)
        assert contact_to_exact(ContactInput(status=RecordStatus.ARCHIVED), existing=existing)[0] == {"Blocked": True}

    def test_reactivating_an_ended_account_warns(self) -> None:
        prospect = by_key("accounts.json", "Name", "Fietsenmakerij Hoogstraten")
        payload, warnings = contact_to_exact(ContactInput(status=RecordStatus.ACTIVE), existing=prospect, today=TODAY)
        assert payload == {"Blocked": False}
        assert codes(warnings) == [W_ACCOUNT_ENDED]

    def test_extra_addresses_warn_instead_of_vanishing(self) -> None:
        payload, warnings = contact_to_exact(
            ContactInput(
                name="Brasserie",
                addresses=(
                    Address(type=AddressType.MAIN, line1="Korenmarkt 7", city="Gent", country="BE"),
                    Address(type=AddressType.SHIPPING, line1="Veldstraat 1", city="Gent", country="BE"),
                    Address(type=AddressType.BILLING, line1="Postbus 12", city="Gent", country="BE"),
                ),
            )
        )
        assert payload["AddressLine1"] == "Korenmarkt 7"
        assert codes(warnings) == [W_ONE_ADDRESS, W_ONE_ADDRESS]
        assert [w.field for w in warnings] == ["addresses[1]", "addresses[2]"]

    def test_non_main_address_type_warns(self) -> None:
        payload, warnings = contact_to_exact(
            ContactInput(name="X", addresses=(Address(type=AddressType.BILLING, line1="Postbus 12", country="NL"),))
        )
        assert payload["AddressLine1"] == "Postbus 12"
        assert codes(warnings) == [W_ADDRESS_TYPE]
        assert warnings[0].field == "addresses[0].type"

    def test_empty_address_list_clears_the_address(self) -> None:
        payload, _ = contact_to_exact(ContactInput(addresses=()), existing=by_key("accounts.json", "ID", BAKKER))
        assert payload["AddressLine1"] is None and payload["Country"] is None and payload["AddressLine3"] is None

    def test_create_needs_a_name(self) -> None:
        with pytest.raises(InvalidInput) as error:
            contact_to_exact(ContactInput(email="x@example.nl"))
        assert error.value.field == "name"

    def test_code_longer_than_18_is_invalid(self) -> None:
        with pytest.raises(InvalidInput) as error:
            contact_to_exact(ContactInput(name="X", code="1" * 19))
        assert error.value.field == "code"


# ---------------------------------------------------------------------------------------------- invoices


INVOICE_PAID = "e1d2c3b4-a596-4788-99aa-bbccddee0012"
INVOICE_CREDIT = "e1d2c3b4-a596-4788-99aa-bbccddee0013"
INVOICE_DRAFT = "e1d2c3b4-a596-4788-99aa-bbccddee0099"


class TestInvoiceFromExact:
    def test_processed_invoice_with_expanded_lines(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID)
        invoice = invoice_from_exact(raw)
        assert invoice.id == invoice.remote_id == INVOICE_PAID
        assert invoice.number == "24000012"
        assert invoice.type is InvoiceType.INVOICE
        assert invoice.status is InvoiceStatus.OPEN  # processed, no receivable information given
        assert invoice.contact_id == BAKKER
        assert invoice.issue_date == date(2024, 3, 31)  # DST day, midnight wall-clock
        assert invoice.due_date == date(2024, 4, 30)
        assert invoice.currency == "EUR"
        assert invoice.reference == "PO-2024-0042"
        assert invoice.description == "Maart 2024"
        assert invoice.journal_code == "70"
        assert invoice.created_at == datetime(2024, 3, 30, 15, 45, tzinfo=UTC)
        assert invoice.updated_at == datetime(2024, 3, 31, 7, 5, tzinfo=UTC)  # 09:05 CEST
        assert invoice.remote_data == raw

    def test_amounts_are_exact_decimals(self) -> None:
        invoice = invoice_from_exact(by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID))
        consult, part_one, part_two = invoice.lines
        assert consult.quantity == Decimal(3) and consult.unit_price == Decimal("33.33")
        assert consult.net_amount == Decimal("99.99") == round_money(consult.quantity * consult.unit_price)
        assert consult.tax_amount == Decimal("21.00")  # 20.9979 rounded half-up by Exact
        assert consult.tax_rate_id == "2"  # "2  " from Exact
        assert consult.item_id == CONSULT and consult.ledger_account_id == GL_8000
        assert part_one.net_amount + part_two.net_amount == Decimal("0.30")  # not 0.30000000000000004
        assert sum(line.net_amount for line in invoice.lines) == invoice.net_total == Decimal("100.29")
        assert sum(line.tax_amount for line in invoice.lines) == invoice.tax_total == Decimal("21.03")
        assert invoice.total == invoice.net_total + invoice.tax_total == Decimal("121.32")
        assert all(isinstance(value, Decimal) for value in (invoice.net_total, invoice.tax_total, invoice.total))
        assert str(invoice.total) == "121.32"

    def test_credit_note_amounts_are_positive(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_CREDIT)
        credit = invoice_from_exact(raw)
        assert credit.type is InvoiceType.CREDIT_NOTE
        assert credit.status is InvoiceStatus.OPEN  # Exact status 20
        (line,) = credit.lines
        assert line.quantity == Decimal(2) and line.unit_price == Decimal("49.5")
        assert line.net_amount == Decimal("99.00") and line.tax_amount == Decimal("20.79")
        assert (credit.net_total, credit.tax_total, credit.total) == (
            Decimal("99.00"),
            Decimal("20.79"),
            Decimal("119.79"),
        )
        assert credit.remote_data is not None and credit.remote_data["AmountFC"] == -119.79

    def test_zero_amount_credit_line_has_no_negative_zero(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_CREDIT)
        line = {**raw["SalesInvoiceLines"]["results"][0], "AmountFC": 0.0, "VATAmountFC": 0.0}
        unified = invoice_from_exact(raw, [line]).lines[0]
        assert str(unified.net_amount) == "0.00" and str(unified.tax_amount) == "0.00"

    def test_draft_with_lines_fetched_separately(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_DRAFT)
        with pytest.raises(ValueError, match="expand"):
            invoice_from_exact(raw)  # deferred lines are never read as "no lines"
        line = {
            "ID": "f0000000-0000-4000-8000-000000009901",
            "InvoiceID": INVOICE_DRAFT,
            "LineNumber": 1,
            "Item": DIVERS,
            "Quantity": 1.0,
            "UnitPrice": 250.0,
            "AmountFC": 250.0,
            "VATCode": "0  ",
            "VATAmountFC": 0.0,
            "GLAccount": GL_8000,
            "Description": "Workshop",
        }
        draft = invoice_from_exact(raw, [line])
        assert draft.status is InvoiceStatus.DRAFT
        assert draft.number is None and draft.issue_date is None and draft.due_date is None
        assert draft.contact_id == BRASSERIE
        assert draft.lines[0].tax_rate_id == "0" and draft.total == Decimal("250.00")

    def test_lines_follow_line_number(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID)
        lines = list(reversed(raw["SalesInvoiceLines"]["results"]))
        assert [line.description for line in invoice_from_exact(raw, lines).lines] == [
            "Implementatie kassakoppeling",
            "Verzendkosten deel 1",
            "Verzendkosten deel 2",
        ]

    @pytest.mark.parametrize(("exact_type", "unified"), [(8023, InvoiceType.INVOICE), (8024, InvoiceType.CREDIT_NOTE)])
    def test_direct_types_map_to_the_same_unified_types(self, exact_type: int, unified: InvoiceType) -> None:
        raw = {**by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID), "Type": exact_type}
        invoice = invoice_from_exact(raw)
        assert invoice.type is unified
        assert invoice.remote_data is not None and invoice.remote_data["Type"] == exact_type

    @pytest.mark.parametrize(("field", "value"), [("Type", 8022), ("Status", 40), ("Status", None)])
    def test_unknown_type_or_status_is_an_error(self, field: str, value: Any) -> None:
        raw = {**by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID), field: value}
        with pytest.raises(UnexpectedExactValue):
            invoice_from_exact(raw)

    def test_totals_fall_back_to_line_sums(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID)
        for name in ("AmountFCExclVat", "VATAmountFC", "AmountFC"):
            del raw[name]
        invoice = invoice_from_exact(raw)
        assert (invoice.net_total, invoice.tax_total, invoice.total) == (
            Decimal("100.29"),
            Decimal("21.03"),
            Decimal("121.32"),
        )


class TestPaymentStatus:
    def test_fully_paid_receivable(self) -> None:
        raw = by_key("receivables.json", "InvoiceNumber", 24000012)
        payment = payment_from_exact(raw, invoice_id=INVOICE_PAID)
        assert payment.id == raw["ID"] and payment.invoice_id == INVOICE_PAID
        assert payment.invoice_number == "24000012" and payment.contact_id == BAKKER
        assert payment.amount == Decimal("121.32") and payment.open_amount == Decimal("0.00")
        assert payment.is_fully_paid and payment.status is PaymentStatus.PAID
        assert payment.last_payment_date == date(2024, 4, 12)
        assert payment.invoice_date == date(2024, 3, 31) and payment.due_date == date(2024, 4, 30)
        assert payment.currency == "EUR" and payment.reference == "PO-2024-0042"

    def test_split_receivable_remainder_is_partially_paid(self) -> None:
        paid_part, remainder = (r for r in recorded("receivables.json") if r["InvoiceNumber"] == 24000014)
        assert payment_from_exact(paid_part).status is PaymentStatus.PAID
        payment = payment_from_exact(remainder)
        assert payment.status is PaymentStatus.PARTIALLY_PAID
        assert (payment.amount, payment.open_amount) == (Decimal("121.32"), Decimal("71.32"))

    def test_open_receivable(self) -> None:
        payment = payment_from_exact(by_key("receivables.json", "InvoiceNumber", 24000015))
        assert payment.status is PaymentStatus.OPEN and payment.open_amount == payment.amount == Decimal("242.00")
        assert payment.last_payment_date is None and payment.due_date == date(2024, 5, 31)

    def test_payment_date_without_full_payment_is_partial(self) -> None:
        raw = {**by_key("receivables.json", "InvoiceNumber", 24000015), "LastPaymentDate": "/Date(1714521600000)/"}
        assert payment_from_exact(raw).status is PaymentStatus.PARTIALLY_PAID

    def test_invoice_status_from_receivables(self) -> None:
        receivables = recorded("receivables.json")
        by_number = {n: [r for r in receivables if r["InvoiceNumber"] == n] for n in (24000012, 24000014, 24000015)}
        assert invoice_payment_status(by_number[24000012]) is InvoiceStatus.PAID
        assert invoice_payment_status(by_number[24000014]) is InvoiceStatus.PARTIALLY_PAID
        assert invoice_payment_status(by_number[24000015]) is InvoiceStatus.OPEN
        assert invoice_payment_status([]) is None

    def test_processed_invoice_status_is_derived(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID)
        receivables = recorded("receivables.json")
        mine = receivables_for_invoice(raw, receivables)
        assert [r["InvoiceNumber"] for r in mine] == [24000012]
        assert invoice_from_exact(raw, receivables=mine).status is InvoiceStatus.PAID
        partial = [r for r in receivables if r["InvoiceNumber"] == 24000014]
        assert invoice_from_exact(raw, receivables=partial).status is InvoiceStatus.PARTIALLY_PAID
        assert invoice_from_exact(raw, receivables=[]).status is InvoiceStatus.OPEN

    def test_unprocessed_invoices_ignore_receivables(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_CREDIT)
        paid = [by_key("receivables.json", "InvoiceNumber", 24000012)]
        assert invoice_from_exact(raw, receivables=paid).status is InvoiceStatus.OPEN

    def test_receivables_match_number_within_journal(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID)
        other_journal = {**by_key("receivables.json", "InvoiceNumber", 24000012), "Journal": "71"}
        assert receivables_for_invoice(raw, [other_journal]) == []
        assert receivables_for_invoice({**raw, "InvoiceNumber": None}, recorded("receivables.json")) == []


class TestInvoiceToExact:
    def test_create_with_mapped_lines(self) -> None:
        payload, warnings = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER,
                reference="PO-2024-0042",
                description="Maart 2024",
                due_date=date(2024, 4, 30),
                currency="EUR",
                lines=(
                    InvoiceLineInput(
                        description="Implementatie",
                        quantity=Decimal(3),
                        unit_price=Decimal("33.33"),
                        item_code="consulting-hour",
                        tax_code="standard",
                    ),
                    InvoiceLineInput(description="Verzendkosten", unit_price=Decimal("0.1"), tax_rate=Decimal("9.00")),
                ),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert warnings == []
        assert payload == {
            "Type": 8020,
            "OrderedBy": BAKKER,
            "InvoiceTo": BAKKER,
            "Journal": "70",  # the code, never the journal's GUID
            "Currency": "EUR",
            "YourRef": "PO-2024-0042",
            "Description": "Maart 2024",
            "DueDate": "2024-04-30T00:00:00",
            "SalesInvoiceLines": [
                # A real item: Exact takes its revenue account, so no GLAccount is sent.
                {
                    "Item": CONSULT,
                    "Quantity": Decimal(3),
                    "Description": "Implementatie",
                    "UnitPrice": Decimal("33.33"),
                    "VATCode": "2",
                },
                # A free-text line: default item and default revenue ledger account.
                {
                    "Item": DIVERS,
                    "Quantity": Decimal(1),
                    "Description": "Verzendkosten",
                    "UnitPrice": Decimal("0.1"),
                    "GLAccount": GL_8000,
                    "VATCode": "1",
                },
            ],
        }
        assert isinstance(payload["SalesInvoiceLines"], list)  # an object here gives Exact's 400
        body = exact_json_dumps(payload)
        assert '"UnitPrice":33.33' in body and '"UnitPrice":0.1' in body

    def test_explicit_ids_win(self) -> None:
        payload, _ = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER,
                journal_code="71",
                lines=(
                    InvoiceLineInput(
                        item_id=CONSULT,
                        ledger_account_id=GL_8010,
                        tax_rate_id="7",
                        tax_code="standard",
                        unit_price=Decimal(95),
                    ),
                ),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert payload["Journal"] == "71"
        assert payload["SalesInvoiceLines"] == [
            {"Item": CONSULT, "Quantity": Decimal(1), "UnitPrice": Decimal(95), "GLAccount": GL_8010, "VATCode": "7"}
        ]

    def test_unmapped_item_code_is_taken_as_exact_code(self) -> None:
        payload, _ = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER, lines=(InvoiceLineInput(item_code="BOOK", unit_price=Decimal(1), tax_code="zero"),)
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert payload["SalesInvoiceLines"][0]["Item"] == "a3f0c6d1-7e2b-4b59-8c4d-00000000b00c"

    def test_credit_note_is_sent_negative(self) -> None:
        payload, warnings = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER,
                type=InvoiceType.CREDIT_NOTE,
                lines=(
                    InvoiceLineInput(
                        quantity=Decimal(2), unit_price=Decimal("49.5"), item_id=CONSULT, tax_rate=Decimal(21)
                    ),
                ),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert warnings == []
        assert payload["Type"] == 8021
        assert payload["SalesInvoiceLines"][0]["Quantity"] == Decimal(-2)
        assert payload["SalesInvoiceLines"][0]["UnitPrice"] == Decimal("49.5")

    def test_credit_note_round_trip(self) -> None:
        raw = by_key("sales_invoices.json", "InvoiceID", INVOICE_CREDIT)
        credit = invoice_from_exact(raw)
        payload, _ = invoice_to_exact(
            InvoiceInput(
                contact_id=credit.contact_id or "",
                type=credit.type,
                reference=credit.reference,
                description=credit.description,
                due_date=credit.due_date,
                currency=credit.currency,
                journal_code=credit.journal_code,
                lines=tuple(
                    InvoiceLineInput(
                        description=line.description,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        item_id=line.item_id,
                        ledger_account_id=line.ledger_account_id,
                        tax_rate_id=line.tax_rate_id,
                    )
                    for line in credit.lines
                ),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        (sent,) = payload["SalesInvoiceLines"]
        (stored,) = raw["SalesInvoiceLines"]["results"]
        assert sent["Quantity"] == Decimal(str(stored["Quantity"]))  # -2 again
        assert sent["Quantity"] * sent["UnitPrice"] == Decimal(str(stored["AmountFC"]))  # -99.0
        assert (sent["Item"], sent["GLAccount"], sent["VATCode"]) == (stored["Item"], stored["GLAccount"], "2")
        assert payload["Journal"] == raw["Journal"] and payload["DueDate"] == "2024-05-02T00:00:00"
        assert payload["YourRef"] == raw["YourRef"] and payload["Type"] == raw["Type"]

    def test_draft_status_is_sent(self) -> None:
        payload, _ = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER,
                status=InvoiceStatus.DRAFT,
                lines=(InvoiceLineInput(item_id=CONSULT, unit_price=Decimal(1), tax_code="standard"),),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert payload["Status"] == 10

    def test_fields_exact_cannot_take_produce_warnings(self) -> None:
        payload, warnings = invoice_to_exact(
            InvoiceInput(
                contact_id=BAKKER,
                number="2024-0042",
                issue_date=date(2024, 3, 31),
                status=InvoiceStatus.PAID,
                lines=(InvoiceLineInput(item_id=CONSULT),),
            ),
            mapping=MAPPING,
            resolve=LOOKUP,
        )
        assert sorted((w.code, w.field) for w in warnings) == sorted(
            [
                (W_NUMBER, "number"),
                (W_ISSUE_DATE, "issue_date"),
                (W_STATUS, "status"),
                (W_TAX_DEFAULTED, "lines[0].tax_rate_id"),
                (W_PRICE_DEFAULTED, "lines[0].unit_price"),
            ]
        )
        for absent in ("InvoiceNumber", "InvoiceDate", "OrderDate", "Status"):
            assert absent not in payload
        assert "VATCode" not in payload["SalesInvoiceLines"][0]
        assert "UnitPrice" not in payload["SalesInvoiceLines"][0]


class TestMappingMissing:
    """Each gap names the mapping field, and is raised before any payload exists."""

    @staticmethod
    def attempt(line: InvoiceLineInput, mapping: LedgerMapping = MAPPING, **invoice: Any) -> MappingMissing:
        with pytest.raises(MappingMissing) as error:
            invoice_to_exact(InvoiceInput(contact_id=BAKKER, lines=(line,), **invoice), mapping=mapping, resolve=LOOKUP)
        return error.value

    def test_unmapped_tax_code(self) -> None:
        error = self.attempt(InvoiceLineInput(item_id=CONSULT, unit_price=Decimal(1), tax_code="super-reduced"))
        assert error.field == "tax_rates" and "super-reduced" in error.message and "lines[0]" in error.message

    def test_unmapped_percentage(self) -> None:
        error = self.attempt(InvoiceLineInput(item_id=CONSULT, unit_price=Decimal(1), tax_rate=Decimal(6)))
        assert error.field == "tax_rates" and "6" in error.message

    def test_no_item_and_no_default_item(self) -> None:
        mapping = LedgerMapping(tax_rates=MAPPING.tax_rates, default_sales_journal="70")
        error = self.attempt(InvoiceLineInput(unit_price=Decimal(1), tax_code="standard"), mapping)
        assert error.field == "default_item"

    def test_default_item_unknown_to_exact(self) -> None:
        mapping = LedgerMapping(tax_rates=MAPPING.tax_rates, default_sales_journal="70", default_item="NOPE")
        error = self.attempt(InvoiceLineInput(unit_price=Decimal(1), tax_code="standard"), mapping)
        assert error.field == "default_item" and "NOPE" in error.message

    def test_item_code_unknown_to_exact(self) -> None:
        error = self.attempt(InvoiceLineInput(item_code="gift-card", unit_price=Decimal(1), tax_code="standard"))
        assert error.field == "items_by_code" and "gift-card" in error.message

    def test_default_revenue_ledger_account_unknown_to_exact(self) -> None:
        mapping = LedgerMapping(
            tax_rates=MAPPING.tax_rates,
            default_sales_journal="70",
            default_item="DIVERS",
            default_revenue_ledger_account="8999",
        )
        error = self.attempt(InvoiceLineInput(unit_price=Decimal(1), tax_code="standard"), mapping)
        assert error.field == "default_revenue_ledger_account" and "8999" in error.message

    def test_no_journal_and_no_default_journal(self) -> None:
        mapping = LedgerMapping(tax_rates=MAPPING.tax_rates, default_item="DIVERS")
        error = self.attempt(InvoiceLineInput(unit_price=Decimal(1), tax_code="standard"), mapping)
        assert error.field == "default_sales_journal"

    def test_default_revenue_account_is_optional(self) -> None:
        # Without it, a free-text line books on the default item's own revenue account in Exact.
        mapping = LedgerMapping(tax_rates=MAPPING.tax_rates, default_sales_journal="70", default_item="DIVERS")
        payload, _ = invoice_to_exact(
            InvoiceInput(contact_id=BAKKER, lines=(InvoiceLineInput(unit_price=Decimal(1), tax_code="standard"),)),
            mapping=mapping,
            resolve=LOOKUP,
        )
        assert payload["SalesInvoiceLines"][0] == {
            "Item": DIVERS,
            "Quantity": Decimal(1),
            "UnitPrice": Decimal(1),
            "VATCode": "2",
        }

    def test_second_line_gap_names_that_line(self) -> None:
        with pytest.raises(MappingMissing) as error:
            invoice_to_exact(
                InvoiceInput(
                    contact_id=BAKKER,
                    lines=(
                        InvoiceLineInput(item_id=CONSULT, unit_price=Decimal(1), tax_code="standard"),
                        InvoiceLineInput(item_id=CONSULT, unit_price=Decimal(1), tax_code="unknown"),
                    ),
                ),
                mapping=MAPPING,
                resolve=LOOKUP,
            )
        assert error.value.field == "tax_rates" and "lines[1]" in error.value.message

    def test_input_errors(self) -> None:
        with pytest.raises(InvalidInput) as error:
            invoice_to_exact(InvoiceInput(contact_id=BAKKER, lines=()), mapping=MAPPING, resolve=LOOKUP)
        assert error.value.field == "lines"
        with pytest.raises(InvalidInput) as error:
            invoice_to_exact(
                InvoiceInput(contact_id="", lines=(InvoiceLineInput(item_id=CONSULT),)), mapping=MAPPING, resolve=LOOKUP
            )
        assert error.value.field == "contact_id"


# ---------------------------------------------------------------------------------------------- the rest


class TestLedgerAccounts:
    @pytest.mark.parametrize(
        ("code", "classification"),
        [
            ("8000", LedgerClassification.REVENUE),
            ("1300", LedgerClassification.ASSET),
            ("1500", LedgerClassification.LIABILITY),  # VAT to pay: type 24, credit side
            ("1520", LedgerClassification.ASSET),  # VAT to claim: type 24, debit side
            ("0500", LedgerClassification.EQUITY),
            ("4000", LedgerClassification.EXPENSE),
            ("9999", LedgerClassification.REVENUE),  # type 90 on the P&L, credit side
        ],
    )
    def test_classification(self, code: str, classification: LedgerClassification) -> None:
        account = ledger_account_from_exact(by_key("gl_accounts.json", "Code", code))
        assert account.code == code and account.classification is classification
        assert account.id == account.remote_id == f"5c9a1e77-2b3d-4f60-8a1c-00000000{code}"

    def test_fields_and_status(self) -> None:
        revenue = ledger_account_from_exact(by_key("gl_accounts.json", "Code", "8000"))
        assert revenue.name == "Omzet hoog" and revenue.status is RecordStatus.ACTIVE
        assert revenue.created_at == datetime(2023, 12, 1, 8, 0, tzinfo=UTC)
        blocked = ledger_account_from_exact(by_key("gl_accounts.json", "Code", "9999"))
        assert blocked.status is RecordStatus.ARCHIVED

    def test_unclassifiable_is_an_error(self) -> None:
        raw = {**by_key("gl_accounts.json", "Code", "9999"), "BalanceType": "X"}
        with pytest.raises(UnexpectedExactValue):
            ledger_account_from_exact(raw)


class TestTaxRates:
    def test_dutch_codes(self) -> None:
        rates = {rate.code: rate for rate in map(tax_rate_from_exact, recorded("vat_codes.json"))}
        high = rates["2"]
        assert high.id == "2" and high.remote_id == "7d2e0f40-1a1b-4c1c-8d1d-000000000002"
        assert high.name == "21% VH verkoop excl"
        assert high.rate == Decimal(21) and str(high.rate) == "21"  # Exact stores 0.21
        assert (high.type, high.usage) == (TaxType.EXCLUSIVE, TaxUsage.SALES)
        assert str(rates["1"].rate) == "9"
        assert (rates["0"].rate, rates["0"].type, rates["0"].usage) == (Decimal(0), TaxType.NONE, TaxUsage.BOTH)
        assert rates["5"].usage is TaxUsage.PURCHASE
        assert rates["7"].type is TaxType.INCLUSIVE
        assert (rates["9"].type, rates["9"].rate) == (TaxType.EXCLUSIVE, Decimal(0))  # B: 0 %, base amount only

    def test_line_tax_rate_id_matches_tax_rate_id(self) -> None:
        invoice = invoice_from_exact(by_key("sales_invoices.json", "InvoiceID", INVOICE_PAID))
        ids = {rate.id for rate in map(tax_rate_from_exact, recorded("vat_codes.json"))}
        assert {line.tax_rate_id for line in invoice.lines} <= ids

    @pytest.mark.parametrize(("field", "value"), [("Type", "Z"), ("VATTransactionType", None), ("Code", "  ")])
    def test_unknown_values_are_errors(self, field: str, value: Any) -> None:
        raw = {**recorded("vat_codes.json")[0], field: value}
        with pytest.raises(UnexpectedExactValue):
            tax_rate_from_exact(raw)


class TestJournals:
    def test_types(self) -> None:
        journals = {journal.code: journal for journal in map(journal_from_exact, recorded("journals.json"))}
        assert journals["70"].type is JournalType.SALES and journals["70"].name == "Verkoopboek"
        assert journals["60"].type is JournalType.PURCHASE
        assert journals["20"].type is JournalType.BANK and journals["20"].currency == "EUR"
        assert journals["10"].type is JournalType.CASH
        assert journals["90"].type is JournalType.GENERAL
        assert journals["70"].id == "3e4f5a6b-7c8d-4e9f-a0b1-000000000070"

    def test_unknown_type_is_an_error(self) -> None:
        with pytest.raises(UnexpectedExactValue):
            journal_from_exact({**recorded("journals.json")[0], "Type": 99})


class TestItems:
    def test_item(self) -> None:
        item = item_from_exact(by_key("items.json", "Code", "CONSULT"), currency="EUR", today=TODAY)
        assert (item.id, item.code, item.name) == (CONSULT, "CONSULT", "Consultancy per uur")
        assert item.description == "Advies en implementatie, per gewerkt uur"
        assert item.unit_price == Decimal("95.0") and item.currency == "EUR"
        assert item.sales_tax_rate_id == "2" and item.revenue_ledger_account_id == GL_8000
        assert item.is_sales_item and item.status is RecordStatus.ACTIVE
        assert item_from_exact(by_key("items.json", "Code", "BOOK"), today=TODAY).unit_price == Decimal("39.95")

    def test_ended_item_is_archived(self) -> None:
        item = item_from_exact(by_key("items.json", "Code", "OLDHOST"), today=TODAY)
        assert item.status is RecordStatus.ARCHIVED and not item.is_sales_item


class TestItemToExact:
    def test_create(self) -> None:
        payload, warnings = item_to_exact(
            ItemInput(
                code=" TRAINING ",
                name="Training per dag",
                description="Incompany training, per dag",
                sales_tax_rate_id="2",
                revenue_ledger_account_id=GL_8000,
            )
        )
        assert warnings == []
        assert payload == {
            "Code": "TRAINING",
            "Description": "Training per dag",
            "ExtraDescription": "Incompany training, per dag",
            "SalesVatCode": "2",
            "GLRevenue": GL_8000,
            "IsSalesItem": True,
        }

    def test_only_what_is_given_is_sent(self) -> None:
        payload, warnings = item_to_exact(ItemInput(code="X1", name="X", is_sales_item=False))
        assert payload == {"Code": "X1", "Description": "X", "IsSalesItem": False}
        assert warnings == []

    def test_unit_price_is_not_sent_but_reported(self) -> None:
        # StandardSalesPrice is GET-only in the reference: sending it would be silently ignored.
        payload, warnings = item_to_exact(ItemInput(code="X1", name="X", unit_price=Decimal("95.00")))
        assert "StandardSalesPrice" not in payload
        assert [(warning.code, warning.field) for warning in warnings] == [(W_ITEM_PRICE, "unit_price")]

    @pytest.mark.parametrize(
        ("item", "field"),
        [
            (ItemInput(name="No code"), "code"),
            (ItemInput(code="   ", name="Blank code"), "code"),
            (ItemInput(code="X1"), "name"),
            (ItemInput(code="X1", name=" "), "name"),
            (ItemInput(code="X1", name="x" * 61), "name"),
            (ItemInput(code="X1", name="X", description="x" * 256), "description"),
        ],
    )
    def test_exacts_required_fields_and_widths_are_invalid_input(self, item: ItemInput, field: str) -> None:
        with pytest.raises(InvalidInput) as raised:
            item_to_exact(item)
        assert raised.value.field == field

    def test_round_trip(self) -> None:
        original = by_key("items.json", "Code", "CONSULT")
        item = item_from_exact(original, today=TODAY)
        payload, _ = item_to_exact(
            ItemInput(
                code=item.code,
                name=item.name,
                description=item.description,
                sales_tax_rate_id=item.sales_tax_rate_id,
                revenue_ledger_account_id=item.revenue_ledger_account_id,
                is_sales_item=item.is_sales_item,
            )
        )
        assert item_from_exact({**original, **payload}, today=TODAY) == item

    def test_unit_price_must_be_decimal(self) -> None:
        with pytest.raises(TypeError):
            ItemInput(code="X1", name="X", unit_price=95.0)  # type: ignore[arg-type]


def test_every_fixture_row_maps() -> None:
    """Each recorded response maps without errors (guards the fixtures and the readers together)."""
    contacts = [contact_from_exact(row, today=TODAY) for row in recorded("accounts.json")]
    assert all(isinstance(contact, Contact) for contact in contacts)
    assert len([ledger_account_from_exact(row) for row in recorded("gl_accounts.json")]) == 8
    assert len([item_from_exact(row, today=TODAY) for row in recorded("items.json")]) == 4
    assert len([payment_from_exact(row) for row in recorded("receivables.json")]) == 4
    invoices = recorded("sales_invoices.json")
    assert [invoice_from_exact(row).type for row in invoices[:2]] == [InvoiceType.INVOICE, InvoiceType.CREDIT_NOTE]
