"""Exact purchase entries <-> unified purchase invoices (connectors/exact/purchases.py): pure mapping, no HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from connectors.base.mapping import LedgerMapping, MappingMissing
from connectors.base.records import InvoiceStatus, InvoiceType, PurchaseInvoiceInput, PurchaseInvoiceLineInput
from connectors.exact import purchases
from connectors.exact.mappers import UnexpectedExactValue

ENTRY = {
    "EntryID": "c3d4e5f6-0000-4000-8000-000000000001",
    "Created": "/Date(1741000000000)/",
    "Modified": "/Date(1741000000000)/",
    "Type": 31,
    "Status": 50,
    "EntryNumber": 25600007,
    "YourRef": "CN-12 ",
    "Supplier": "9e8f0000-0000-4000-8000-000000000002",
    "EntryDate": "/Date(1740960000000)/",
    "DueDate": "/Date(1743552000000)/",
    "Currency": "EUR",
    "Description": "Retour",
    "Journal": "60 ",
    "AmountFC": -121.0,
    "VATAmountFC": -21.0,
    "PurchaseEntryLines": [
        {"ID": "l2", "LineNumber": 2, "GLAccount": "g", "VATCode": "5  ", "AmountFC": -40.0, "VATAmountFC": -8.4},
        {"ID": "l1", "LineNumber": 1, "GLAccount": "g", "VATCode": "5", "AmountFC": -60.0, "VATAmountFC": -12.6},
    ],
}


def test_a_credit_note_reads_with_positive_amounts_in_line_order() -> None:
    bill = purchases.purchase_invoice_from_exact(ENTRY)

    assert (bill.type, bill.finalized, bill.number, bill.booking_number) == (
        InvoiceType.CREDIT_NOTE,
        True,
        "CN-12",
        "25600007",
    )
    assert (bill.journal_code, bill.contact_id, bill.issue_date) == ("60", ENTRY["Supplier"], date(2025, 3, 3))
    assert [(line.id, line.net_amount, line.tax_amount, line.tax_rate_id) for line in bill.lines] == [
        ("l1", Decimal("60.00"), Decimal("12.60"), "5"),
        ("l2", Decimal("40.00"), Decimal("8.40"), "5"),
    ]
    assert (bill.net_total, bill.tax_total, bill.total) == (Decimal("100.00"), Decimal("21.00"), Decimal("121.00"))
    assert bill.remote_data == ENTRY


@pytest.mark.parametrize(
    ("payables", "status"),
    [
        ([], InvoiceStatus.OPEN),
        ([{"Status": 20, "AmountFC": 121.0, "TransactionAmountFC": 121.0}], InvoiceStatus.OPEN),
        ([{"Status": 20, "AmountFC": 21.0, "TransactionAmountFC": 121.0}], InvoiceStatus.PARTIALLY_PAID),
        ([{"Status": 50, "AmountFC": 0.0, "TransactionAmountFC": 121.0}], InvoiceStatus.PAID),
        (
            [{"Status": 50, "AmountFC": 0.0, "TransactionAmountFC": 60.0}, {"Status": 20, "AmountFC": 61.0}],
            InvoiceStatus.PARTIALLY_PAID,
        ),
    ],
)
def test_the_payment_state_comes_from_the_payables(payables: list[dict[str, object]], status: InvoiceStatus) -> None:
    assert purchases.purchase_invoice_from_exact(ENTRY, payables=payables).status is status


def test_unknown_types_and_statuses_are_errors() -> None:
    with pytest.raises(UnexpectedExactValue):
        purchases.purchase_invoice_from_exact({**ENTRY, "Type": 20})
    with pytest.raises(UnexpectedExactValue):
        purchases.purchase_invoice_from_exact({**ENTRY, "Status": 10})


def test_the_payload_names_supplier_journal_and_lines() -> None:
    bill = PurchaseInvoiceInput(
        contact_id="s",
        number=" INV-1 ",
        issue_date=date(2025, 3, 3),
        lines=(
            PurchaseInvoiceLineInput(ledger_account_id="g", net_amount=Decimal("10.00")),
            PurchaseInvoiceLineInput(
                ledger_account_id="h", net_amount=Decimal("5.5"), tax_rate_id="6", tax_amount=Decimal("0.50")
            ),
        ),
    )

    payload, warnings = purchases.purchase_invoice_to_exact(bill, mapping=LedgerMapping(default_purchase_journal="60"))

    assert warnings == []
    assert payload == {
        "Supplier": "s",
        "Journal": "60",
        "YourRef": "INV-1",
        "EntryDate": "2025-03-03T00:00:00",
        "PurchaseEntryLines": [
            {"GLAccount": "g", "AmountFC": Decimal("10.00")},
            {"GLAccount": "h", "AmountFC": Decimal("5.5"), "VATCode": "6", "VATAmountFC": Decimal("0.50")},
        ],
    }
    with pytest.raises(MappingMissing) as missing:
        purchases.purchase_invoice_to_exact(bill, mapping=LedgerMapping())
    assert missing.value.field == "default_purchase_journal"
