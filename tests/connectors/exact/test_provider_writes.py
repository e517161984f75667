"""ExactConnector writes against the sandbox over HTTP: contacts and invoices created and updated (what the division
stores, read from the sandbox's dump), MappingMissing before any call, Exact's refusals typed, finalize, lost
answers (VendorResponseLost) and find_existing, check_mapping."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from connectors.base.data import Resource
from connectors.base.errors import VendorNotFound, VendorResponseLost, VendorUnavailable, VendorValidationError
from connectors.base.mapping import LedgerMapping, MappingMissing, TaxRateMapping
from connectors.base.records import (
    Address,
    ContactInput,
    InvalidInput,
    InvoiceInput,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    InvoiceUpdate,
    ItemInput,
)
from connectors.exact.provider import ExactConnector
from connectors.exact.resources import CONTACT_FIELDS
from tests.connectors.exact.provider_fixtures import DUTCH_MAPPING, Division, division_fixture  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

SALES_INVOICES = "/api/v1/*/salesinvoice/SalesInvoices"


def three_rates(contact_id: str, **overrides: object) -> InvoiceInput:
    """Three lines at 21 % (default item), 9 % (item by unified code) and 0 % (by unified tax code)."""
    values: dict[str, object] = {
        "contact_id": contact_id,
        "reference": "ORDER-4711",
        "description": "March services",
        "lines": (
            InvoiceLineInput(
                description="Consultancy", quantity=Decimal(2), unit_price=Decimal("100.00"), tax_rate=Decimal(21)
            ),
            InvoiceLineInput(
                description="Handbook",
                quantity=Decimal(3),
                unit_price=Decimal("39.95"),
                tax_rate=Decimal(9),
                item_code="handbook",
            ),
            InvoiceLineInput(
                description="Export service", quantity=Decimal(1), unit_price=Decimal(50), tax_code="zero"
            ),
        ),
    }
    values.update(overrides)
    return InvoiceInput(**values)  # type: ignore[arg-type]


def _code(value: object) -> str:
    return str(value).strip()


def test_a_contact_and_an_invoice_with_three_vat_rates_land_in_the_division(division: Division) -> None:
    connector = division.connector
    contact = connector.create_record(
        division.ctx(),
        Resource.CONTACTS,
        ContactInput(
            name="Fietsenmakerij Van Dam",
            code="4711",
            is_customer=True,
            email="info@vandam.example",
            addresses=(
                Address(line1="Damstraat 1", postal_code="1012 JL", city="Amsterdam", country="NL"),
                Address(line1="Magazijnweg 5", city="Zaandam", country="NL"),
            ),
        ),
        mapping=None,
    )
    assert contact.record.code == "4711" and contact.record.is_customer
    assert [warning.field for warning in contact.warnings] == ["addresses[1]"]
    assert set(contact.record.remote_data) == set(CONTACT_FIELDS)
    division.world.control.reset_counters()

    written = connector.create_record(
        division.ctx(), Resource.INVOICES, three_rates(contact.record.id), mapping=DUTCH_MAPPING
    )

    invoice = written.record
    assert (invoice.net_total, invoice.tax_total, invoice.total) == (
        Decimal("369.85"),
        Decimal("52.79"),
        Decimal("422.64"),
    )
    assert [line.tax_rate_id for line in invoice.lines] == ["2", "1", "0"]
    assert invoice.status == InvoiceStatus.OPEN and invoice.finalized is False
    assert invoice.contact_id == contact.record.id and invoice.journal_code == "70"
    # Two lookups (items, G/L accounts: one query each), the POST, the read of its lines (the header is the POST's).
    assert division.calls() == {
        "logistics/Items": {"200": 1},
        "financial/GLAccounts": {"200": 1},
        "salesinvoice/SalesInvoices": {"201": 1},
        "salesinvoice/SalesInvoiceLines": {"200": 1},
    }
    # The record the create answers is the one every read shows, remote_data included.
    assert invoice == connector.retrieve_record(division.ctx(), Resource.INVOICES, invoice.id, include_remote_data=True)

    (stored,) = [row for row in division.dump("SalesInvoices") if row["InvoiceID"] == invoice.id]
    assert _code(stored["Journal"]) == "70" and stored["YourRef"] == "ORDER-4711"
    assert stored["InvoiceTo"] == stored["OrderedBy"] == contact.record.id
    assert Decimal(str(stored["AmountFC"])) == Decimal("422.64")
    lines = sorted(
        (row for row in division.dump("SalesInvoiceLines") if row["InvoiceID"] == invoice.id),
        key=lambda row: row["LineNumber"],
    )
    items = {row["ID"]: _code(row["Code"]) for row in division.dump("Items")}
    gl_accounts = {row["ID"]: _code(row["Code"]) for row in division.dump("GLAccounts")}
    assert [_code(line["VATCode"]) for line in lines] == ["2", "1", "0"]
    assert [items[line["Item"]] for line in lines] == ["CONSULT", "BOOK", "CONSULT"]
    # Free-text lines on the default item book to the mapping's revenue account; the book to its item's own.
    assert [gl_accounts[line["GLAccount"]] for line in lines] == ["8000", "8010", "8000"]
    assert [Decimal(str(line["AmountFC"])) for line in lines] == [Decimal(200), Decimal("119.85"), Decimal(50)]
    assert [Decimal(str(line["VATAmountFC"])) for line in lines] == [Decimal(42), Decimal("10.79"), Decimal(0)]


def test_mapping_missing_is_raised_before_any_call(division: Division) -> None:
    only_21 = dataclasses.replace(DUTCH_MAPPING, tax_rates=(TaxRateMapping(rate=Decimal(21), vendor_code="2"),))
    customer = division.first_customer_id()
    division.world.control.reset_counters()

    with pytest.raises(MappingMissing) as missing:
        division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=only_21)
    assert missing.value.field == "tax_rates" and "9" in missing.value.message
    with pytest.raises(MappingMissing) as no_journal:
        division.connector.create_record(
            division.ctx(),
            Resource.INVOICES,
            three_rates(customer),
            mapping=dataclasses.replace(DUTCH_MAPPING, default_sales_journal=None),
        )
    assert no_journal.value.field == "default_sales_journal"
    assert division.calls() == {}, "no call may reach Exact"

    # A code the division lacks is found by the lookup, still before anything is posted.
    with pytest.raises(MappingMissing) as unknown_item:
        division.connector.create_record(
            division.ctx(),
            Resource.INVOICES,
            three_rates(customer),
            mapping=dataclasses.replace(DUTCH_MAPPING, default_item="NOPE"),
        )
    assert unknown_item.value.field == "default_item"
    assert "salesinvoice/SalesInvoices" not in division.calls()


def test_malformed_ids_in_an_invoice_are_invalid_input_without_a_call(division: Division) -> None:
    division.world.control.reset_counters()
    with pytest.raises(InvalidInput) as bad_contact:
        division.connector.create_record(
            division.ctx(), Resource.INVOICES, three_rates("not-a-guid"), mapping=DUTCH_MAPPING
        )
    assert bad_contact.value.field == "contact_id"
    bad_item = three_rates(
        division.first_customer_id(),
        lines=(InvoiceLineInput(item_id="x'", unit_price=Decimal(1), tax_rate=Decimal(21)),),
    )
    with pytest.raises(InvalidInput) as bad_line:
        division.connector.create_record(division.ctx(), Resource.INVOICES, bad_item, mapping=DUTCH_MAPPING)
    assert bad_line.value.field == "lines[0].item_id"
    assert division.calls() == {}


def test_exacts_refusals_come_back_typed_with_their_messages(division: Division) -> None:
    # An account GUID that does not exist: Exact answers 500 "Ongeldige referentie" (picqer#249).
    with pytest.raises(VendorValidationError) as invalid_reference:
        division.connector.create_record(
            division.ctx(),
            Resource.INVOICES,
            three_rates("0f0f0f0f-0000-4000-8000-000000000000"),
            mapping=DUTCH_MAPPING,
        )
    assert invalid_reference.value.status == 500
    assert len(invalid_reference.value.vendor_messages) >= 2
    assert all("\r\n" not in message for message in invalid_reference.value.vendor_messages)

    division.connector.create_record(
        division.ctx(), Resource.CONTACTS, ContactInput(name="Een", code="900"), mapping=None
    )
    with pytest.raises(VendorValidationError) as duplicate:
        division.connector.create_record(
            division.ctx(), Resource.CONTACTS, ContactInput(name="Twee", code="900"), mapping=None
        )
    assert duplicate.value.status == 400 and duplicate.value.vendor_messages


def test_contact_update_sends_only_what_changed(division: Division) -> None:
    created = division.connector.create_record(
        division.ctx(), Resource.CONTACTS, ContactInput(name="Brasserie Zuid", email="a@zuid.example"), mapping=None
    ).record
    division.world.control.reset_counters()

    updated = division.connector.update_record(
        division.ctx(),
        Resource.CONTACTS,
        created.id,
        ContactInput(email="a@zuid.example", phone="+31 10 000 0000"),
        mapping=None,
    ).record

    assert updated.phone == "+31 10 000 0000" and updated.name == "Brasserie Zuid"
    (stored,) = [row for row in division.dump("Accounts") if row["ID"] == created.id]
    assert stored["Phone"] == "+31 10 000 0000"
    assert division.calls() == {"crm/Accounts": {"200": 2, "204": 1}}  # read, PUT, read back

    division.world.control.reset_counters()
    division.connector.update_record(
        division.ctx(), Resource.CONTACTS, created.id, ContactInput(phone="+31 10 000 0000"), mapping=None
    )
    assert division.calls() == {"crm/Accounts": {"200": 2}}, "nothing changed: no PUT"
    with pytest.raises(VendorNotFound):
        division.connector.update_record(
            division.ctx(),
            Resource.CONTACTS,
            "0f0f0f0f-0000-4000-8000-000000000000",
            ContactInput(name="X"),
            mapping=None,
        )


def test_invoice_update_changes_what_exact_allows_and_refuses_the_rest(division: Division) -> None:
    created = division.connector.create_record(
        division.ctx(), Resource.INVOICES, three_rates(division.first_customer_id()), mapping=DUTCH_MAPPING
    ).record

    updated = division.connector.update_record(
        division.ctx(),
        Resource.INVOICES,
        created.id,
        InvoiceUpdate(reference="ORDER-4712", description="April services", due_date=date(2031, 5, 31)),
        mapping=DUTCH_MAPPING,
    ).record

    assert (updated.reference, updated.description, updated.due_date) == (
        "ORDER-4712",
        "April services",
        date(2031, 5, 31),
    )
    assert updated.total == created.total and len(updated.lines) == 3
    division.world.control.reset_counters()
    for fixed in (
        InvoiceUpdate(contact_id=division.first_customer_id()),
        InvoiceUpdate(journal_code="71"),
        InvoiceUpdate(lines=()),
    ):
        with pytest.raises(InvalidInput):
            division.connector.update_record(division.ctx(), Resource.INVOICES, created.id, fixed, mapping=None)
    assert division.calls() == {}


def test_finalize_processes_the_invoice_once(division: Division) -> None:
    created = division.connector.create_record(
        division.ctx(), Resource.INVOICES, three_rates(division.first_customer_id()), mapping=DUTCH_MAPPING
    ).record
    division.world.control.reset_counters()

    finalized = division.connector.finalize_invoice(division.ctx(), created.id).record

    assert finalized.id == created.id and finalized.finalized is True and finalized.number
    assert finalized.status == InvoiceStatus.OPEN  # processed, nothing paid yet
    (stored,) = [row for row in division.dump("SalesInvoices") if row["InvoiceID"] == created.id]
    assert stored["Status"] == 50
    calls = division.calls()
    assert calls["salesinvoice/PrintedSalesInvoices"] == {"201": 1}
    assert division.connector.retrieve_record(division.ctx(), Resource.INVOICES, created.id).finalized is True
    with pytest.raises(VendorValidationError):
        division.connector.finalize_invoice(division.ctx(), created.id)
    with pytest.raises(VendorValidationError):  # processed: "can't be changed or reopened"
        division.connector.update_record(
            division.ctx(), Resource.INVOICES, created.id, InvoiceUpdate(reference="late"), mapping=None
        )


def test_a_lost_answer_is_vendor_response_lost_and_find_existing_finds_the_invoice(division: Division) -> None:
    customer = division.first_customer_id()
    data = three_rates(customer, reference="LOST-1")
    division.world.control.add_fault(kind="drop_after_apply", pattern=SALES_INVOICES, method="POST", times=1)

    with pytest.raises(VendorResponseLost) as lost:
        division.connector.create_record(division.ctx(), Resource.INVOICES, data, mapping=DUTCH_MAPPING)
    assert isinstance(lost.value, VendorUnavailable) and lost.value.status is None and not lost.value.retryable
    assert [row["YourRef"] for row in division.dump("SalesInvoices")].count("LOST-1") == 1

    found = division.connector.find_existing(division.ctx(), Resource.INVOICES, data)

    assert found is not None and found.reference == "LOST-1" and len(found.lines) == 3
    assert (
        division.connector.find_existing(division.ctx(), Resource.INVOICES, three_rates(customer, reference="NEVER"))
        is None
    )


def test_find_existing_without_a_reference_matches_the_lines(division: Division) -> None:
    customer = division.first_customer_id()
    data = three_rates(customer, reference=None)
    division.world.control.add_fault(kind="drop_after_apply", pattern=SALES_INVOICES, method="POST", times=1)
    with pytest.raises(VendorResponseLost):
        division.connector.create_record(division.ctx(), Resource.INVOICES, data, mapping=DUTCH_MAPPING)

    found = division.connector.find_existing(division.ctx(), Resource.INVOICES, data)
    assert found is not None and found.total == Decimal("422.64")
    other_lines = three_rates(customer, reference=None, lines=data.lines[:2])
    assert division.connector.find_existing(division.ctx(), Resource.INVOICES, other_lines) is None


def test_find_existing_contacts_by_code_or_name_and_email(division: Division) -> None:
    division.world.control.add_fault(kind="drop_after_apply", pattern="/api/v1/*/crm/Accounts", method="POST", times=2)
    by_code = ContactInput(name="Kaasboer", code="777")
    by_name = ContactInput(name="Visboer", email="vis@boer.example")
    for data in (by_code, by_name):
        with pytest.raises(VendorResponseLost):
            division.connector.create_record(division.ctx(), Resource.CONTACTS, data, mapping=None)

    assert division.connector.find_existing(division.ctx(), Resource.CONTACTS, by_code).code == "777"
    assert division.connector.find_existing(division.ctx(), Resource.CONTACTS, by_name).email == "vis@boer.example"
    assert division.connector.find_existing(division.ctx(), Resource.CONTACTS, ContactInput(name="Nobody B.V.")) is None


def test_an_item_is_created_and_a_lost_answer_is_found_by_its_code(division: Division) -> None:
    created = division.connector.create_record(
        division.ctx(),
        Resource.ITEMS,
        ItemInput(code="TRAINING", name="Training per dag", sales_tax_rate_id="2", unit_price=Decimal("750.00")),
        mapping=None,
    )
    assert created.record.code == "TRAINING" and created.record.sales_tax_rate_id == "2"
    assert created.record.remote_data["ID"] == created.record.remote_id
    assert [warning.field for warning in created.warnings] == ["unit_price"]
    (stored,) = [row for row in division.dump("Items") if row["ID"] == created.record.remote_id]
    assert stored["Description"] == "Training per dag" and stored["IsSalesItem"] is True

    division.world.control.add_fault(kind="drop_after_apply", pattern="/api/v1/*/logistics/Items", method="POST")
    lost = ItemInput(code="WORKSHOP", name="Workshop")
    with pytest.raises(VendorResponseLost):
        division.connector.create_record(division.ctx(), Resource.ITEMS, lost, mapping=None)
    assert division.connector.find_existing(division.ctx(), Resource.ITEMS, lost).name == "Workshop"
    assert division.connector.find_existing(division.ctx(), Resource.ITEMS, ItemInput(code="NOPE", name="X")) is None


def test_a_connect_error_on_a_write_is_unavailable_not_lost(division: Division, settings) -> None:  # type: ignore[no-untyped-def]
    import socket

    from connectors.registry import reset_registry

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    settings.EXACT_SANDBOX_URL = f"http://127.0.0.1:{port}"
    reset_registry()
    connector = ExactConnector()
    ctx = division.ctx()

    with pytest.raises(VendorUnavailable) as refused:
        connector.create_record(ctx, Resource.CONTACTS, ContactInput(name="Nooit"), mapping=None)
    assert not isinstance(refused.value, VendorResponseLost), "a refused connection surely sent nothing"


def test_check_mapping_names_each_code_the_division_lacks(division: Division) -> None:
    division.world.control.reset_counters()
    assert division.connector.check_mapping(division.ctx(), DUTCH_MAPPING) == []
    # One query per kind of code.
    assert division.calls() == {
        "vat/VATCodes": {"200": 1},
        "financial/GLAccounts": {"200": 1},
        "financial/Journals": {"200": 1},
        "logistics/Items": {"200": 1},
    }

    wrong = LedgerMapping(
        tax_rates=(
            TaxRateMapping(rate=Decimal(21), vendor_code="2"),
            TaxRateMapping(rate=Decimal(9), vendor_code="99"),
        ),
        default_revenue_ledger_account="9999",
        default_sales_journal="20",  # exists, but a bank journal
        default_item="NOPE",
        items_by_code={"handbook": "BOOK", "ghost": "GHOST"},
    )
    problems = dict(division.connector.check_mapping(division.ctx(), wrong))
    assert set(problems) == {
        "tax_rates.1.vendor_code",
        "default_revenue_ledger_account",
        "default_sales_journal",
        "default_item",
        "items_by_code.ghost",
    }
    assert "sales journal" in problems["default_sales_journal"]
    division.world.control.reset_counters()
    assert division.connector.check_mapping(division.ctx(), LedgerMapping()) == []
    assert division.calls() == {}


def _fully_named(contact_id: str, reference: str, **overrides: object) -> InvoiceInput:
    """Lines on the default item (with the default revenue account), each with a description, price and rate."""
    values: dict[str, object] = {
        "contact_id": contact_id,
        "reference": reference,
        "lines": (
            InvoiceLineInput(
                description="Consultancy", quantity=Decimal(2), unit_price=Decimal("100.00"), tax_rate=Decimal(21)
            ),
            InvoiceLineInput(
                description="Travel", quantity=Decimal("1.5"), unit_price=Decimal("39.90"), tax_rate=Decimal(9)
            ),
            InvoiceLineInput(description="Export", quantity=Decimal(1), unit_price=Decimal(50), tax_rate=Decimal(0)),
        ),
    }
    values.update(overrides)
    return InvoiceInput(**values)  # type: ignore[arg-type]


LINES_READ = {"salesinvoice/SalesInvoices": {"201": 1}, "salesinvoice/SalesInvoiceLines": {"200": 1}}


def test_an_invoice_whose_lines_leave_exact_nothing_to_fill_in_costs_the_post_alone(division: Division) -> None:
    customer = division.first_customer_id()
    connector = division.connector
    connector.create_record(division.ctx(), Resource.INVOICES, _fully_named(customer, "WARM-UP"), mapping=DUTCH_MAPPING)
    for kind in ("invoice", "credit_note"):
        division.world.control.reset_counters()
        written = connector.create_record(
            division.ctx(),
            Resource.INVOICES,
            _fully_named(customer, f"ONE-CALL-{kind}", type=InvoiceType(kind)),
            mapping=DUTCH_MAPPING,
        )
        assert division.calls() == {"salesinvoice/SalesInvoices": {"201": 1}}, kind
        # The answer is what every read shows (Exact's own line ids, amounts and G/L accounts), remote_data included.
        assert written.record == connector.retrieve_record(
            division.ctx(), Resource.INVOICES, written.record.id, include_remote_data=True
        )
        # Unified amounts are positive on a credit note too (its type says which).
        assert [line.net_amount for line in written.record.lines] == [
            Decimal("200.00"),
            Decimal("59.85"),
            Decimal("50.00"),
        ]
    # Steady state over ten more: one call each.
    division.world.control.reset_counters()
    for number in range(10):
        invoice = _fully_named(customer, f"STEADY-ONE-{number}")
        connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=DUTCH_MAPPING)
    assert division.calls() == {"salesinvoice/SalesInvoices": {"201": 10}}


@pytest.mark.parametrize(
    ("case", "line"),
    [
        # The item's revenue account is Exact's to fill in.
        ("item without G/L account", {"item_code": "handbook"}),
        # No price: the item's standard sales price.
        ("no unit price", {"unit_price": None}),
        # No description: Exact's to fill in from the item.
        ("no description", {"description": None}),
        # 0.50 x 21 % = 0.105: a tie, and no source states Exact's rule for one.
        ("half a cent", {"unit_price": Decimal("0.50")}),
        # A unified tax code maps to a VAT code, but no rate rule says what percentage that code is.
        ("code without a rate", {"tax_rate": None, "tax_code": "zero"}),
    ],
)
def test_lines_that_leave_exact_something_to_decide_are_read(division: Division, case: str, line: dict) -> None:  # type: ignore[type-arg]
    customer = division.first_customer_id()
    mapping = dataclasses.replace(
        DUTCH_MAPPING, tax_rates=tuple(rule for rule in DUTCH_MAPPING.tax_rates if rule.rate != 0)
    )
    division.connector.create_record(
        division.ctx(), Resource.INVOICES, three_rates(customer, reference="WARM"), mapping=DUTCH_MAPPING
    )  # caches the GUIDs of both items and the G/L account
    base = {
        "description": "Consultancy",
        "quantity": Decimal(1),
        "unit_price": Decimal("100.00"),
        "tax_rate": Decimal(21),
    }
    invoice = _fully_named(customer, f"READ-{case}", lines=(InvoiceLineInput(**{**base, **line}),))
    division.world.control.reset_counters()

    written = division.connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=mapping)

    assert division.calls() == LINES_READ, case
    assert written.record == division.connector.retrieve_record(
        division.ctx(), Resource.INVOICES, written.record.id, include_remote_data=True
    )


def test_a_mapping_rate_that_is_not_the_vat_codes_is_caught_by_the_answers_totals(division: Division) -> None:
    customer = division.first_customer_id()
    # VAT code "1" is 9 % in the division; this mapping claims 21 %.
    wrong = dataclasses.replace(DUTCH_MAPPING, tax_rates=(TaxRateMapping(rate=Decimal(21), vendor_code="1"),))
    invoice = _fully_named(
        customer,
        "WRONG-RATE",
        lines=(
            InvoiceLineInput(
                description="Consultancy", quantity=Decimal(1), unit_price=Decimal(100), tax_rate=Decimal(21)
            ),
        ),
    )
    division.connector.create_record(
        division.ctx(), Resource.INVOICES, _fully_named(customer, "W"), mapping=DUTCH_MAPPING
    )
    division.world.control.reset_counters()

    written = division.connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=wrong)

    assert division.calls() == LINES_READ
    assert [line.tax_amount for line in written.record.lines] == [Decimal("9.00")]  # Exact's, not the mapping's
    assert written.record == division.connector.retrieve_record(
        division.ctx(), Resource.INVOICES, written.record.id, include_remote_data=True
    )
