"""Purchase invoices (bills) as Exact purchase entries: purchaseentry/PurchaseEntries with PurchaseEntryLines.

Facts followed (NOTES.md: Entities, purchaseentry/PurchaseEntries; reference PurchaseEntries and its lines):
- POST takes the header with its lines (`PurchaseEntryLines`); Supplier (an account GUID), Journal (a purchase
  journal's code, Journal.Type 22) and at least one line are required; a line needs AmountFC (excluding VAT) and
  GLAccount (a G/L account GUID). VATCode is optional ("If this property is not filled, it will use the default VAT
  code of the G/L account"); VATAmountFC optional (else Exact computes it from the code's percentage).
- Type is GET-only: 30 purchase entry, 31 purchase credit note (negative amounts). Status is GET-only: 20 open,
  50 processed (5 rejected). YourRef is the supplier's invoice number; EntryNumber the booking's own number.
- There is no bulk/ or sync/ endpoint for purchase entries (NOTES.md: Sync, deleted and bulk, §5.3/5.4), so the
  local copy reads the whole set every run (sync.py: a snapshot).
- Payment state lives in cashflow/Payments (the payables, mirror of Receivables), linked by EntryID: Status 50
  (matched) is paid; an open AmountFC below the TransactionAmountFC is partially paid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from connectors.base.mapping import LedgerMapping, MappingMissing
from connectors.base.records import (
    InvalidInput,
    InvoiceStatus,
    InvoiceType,
    PurchaseInvoice,
    PurchaseInvoiceInput,
    PurchaseInvoiceLine,
    Warning,
)
from connectors.exact.mappers import UnexpectedExactValue, _base, _expanded_lines, _flip, _int
from connectors.exact.values import (
    clean_text,
    format_exact_date,
    parse_exact_date,
    strip_code,
    to_decimal,
    to_money,
)

ExactObject = Mapping[str, Any]

PATH = "purchaseentry/PurchaseEntries"
LINES = "PurchaseEntryLines"
FIELDS = (
    "EntryID",
    "Created",
    "Modified",
    "Type",
    "Status",
    "EntryNumber",
    "YourRef",
    "Supplier",
    "EntryDate",
    "DueDate",
    "Currency",
    "Description",
    "Journal",
    "AmountFC",
    "VATAmountFC",
)
LINE_FIELDS = ("ID", "LineNumber", "Description", "Quantity", "GLAccount", "VATCode", "AmountFC", "VATAmountFC")
PAYABLE_FIELDS = ("ID", "EntryID", "AmountFC", "TransactionAmountFC", "Status")

ENTRY_TYPES = {30: InvoiceType.INVOICE, 31: InvoiceType.CREDIT_NOTE}
OPEN, PROCESSED, REJECTED = 20, 50, 5
PAYABLE_MATCHED = 50


def payment_status(payables: Sequence[ExactObject]) -> InvoiceStatus:
    """open / partially_paid / paid from the entry's cashflow/Payments rows (none: open)."""
    if not payables:
        return InvoiceStatus.OPEN
    if all(_int(row, "Status") == PAYABLE_MATCHED for row in payables):
        return InvoiceStatus.PAID
    for row in payables:
        open_amount = to_money(row.get("AmountFC"), "AmountFC")
        whole = to_money(row.get("TransactionAmountFC"), "TransactionAmountFC")
        if _int(row, "Status") == PAYABLE_MATCHED or (
            open_amount is not None and whole is not None and abs(open_amount) < abs(whole)
        ):
            return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def purchase_invoice_from_exact(entry: ExactObject, *, payables: Sequence[ExactObject] = ()) -> PurchaseInvoice:
    """purchaseentry/PurchaseEntries with its expanded PurchaseEntryLines -> PurchaseInvoice."""
    type_code = _int(entry, "Type")
    if type_code not in ENTRY_TYPES:
        raise UnexpectedExactValue("Type", entry.get("Type"), "30 or 31")
    entry_type = ENTRY_TYPES[type_code]
    sign = -1 if entry_type is InvoiceType.CREDIT_NOTE else 1
    status_code = _int(entry, "Status")
    if status_code not in (OPEN, PROCESSED, REJECTED):
        raise UnexpectedExactValue("Status", status_code, "5, 20 or 50")
    raw_lines = _expanded_lines(entry.get(LINES))
    ordered = sorted(enumerate(raw_lines), key=lambda pair: (_int(pair[1], "LineNumber") or 0, pair[0]))
    lines = tuple(_line_from_exact(line, sign) for _, line in ordered)
    net_total = sum((line.net_amount for line in lines), Decimal("0.00"))
    tax = to_money(entry.get("VATAmountFC"), "VATAmountFC")
    tax_total = _flip(tax, sign) if tax is not None else sum((line.tax_amount for line in lines), Decimal("0.00"))
    total = to_money(entry.get("AmountFC"), "AmountFC")
    number = _int(entry, "EntryNumber")
    return PurchaseInvoice(
        **_base(entry, "EntryID"),
        number=clean_text(entry.get("YourRef")),
        booking_number=str(number) if number else None,
        type=entry_type,
        status=payment_status(payables),
        finalized=status_code == PROCESSED,
        contact_id=clean_text(entry.get("Supplier")),
        issue_date=parse_exact_date(entry.get("EntryDate"), "EntryDate"),
        due_date=parse_exact_date(entry.get("DueDate"), "DueDate"),
        currency=clean_text(entry.get("Currency")),
        description=clean_text(entry.get("Description")),
        journal_code=strip_code(entry.get("Journal")),
        lines=lines,
        net_total=net_total,
        tax_total=tax_total,
        total=_flip(total, sign) if total is not None else net_total + tax_total,
    )


def _line_from_exact(line: ExactObject, sign: int) -> PurchaseInvoiceLine:
    return PurchaseInvoiceLine(
        id=clean_text(line.get("ID")),
        description=clean_text(line.get("Description")),
        quantity=to_decimal(line.get("Quantity"), "Quantity"),
        ledger_account_id=clean_text(line.get("GLAccount")),
        tax_rate_id=strip_code(line.get("VATCode")),
        net_amount=_flip(to_money(line.get("AmountFC"), "AmountFC") or Decimal("0.00"), sign),
        tax_amount=_flip(to_money(line.get("VATAmountFC"), "VATAmountFC") or Decimal("0.00"), sign),
    )


def purchase_invoice_to_exact(
    bill: PurchaseInvoiceInput, *, mapping: LedgerMapping
) -> tuple[dict[str, Any], list[Warning]]:
    """PurchaseInvoiceInput -> purchaseentry/PurchaseEntries POST body (lines included); a credit note's amounts
    are sent negated (Exact books it as Type 31).

    InvalidInput or MappingMissing (naming the field) before anything is sent; ids are checked to be GUIDs by the
    caller. Amounts stay Decimal (send with `values.exact_json_dumps`).
    """
    if not bill.contact_id:
        raise InvalidInput("contact_id", "Exact requires the supplier (Supplier) on a purchase entry.")
    if not bill.lines:
        raise InvalidInput("lines", "Exact requires at least one line on a purchase entry.")
    journal = bill.journal_code or mapping.default_purchase_journal
    if not journal:
        raise MappingMissing(
            "default_purchase_journal",
            "The purchase invoice names no journal_code and the mapping has no default purchase journal.",
        )
    warnings: list[Warning] = []
    payload: dict[str, Any] = {"Supplier": bill.contact_id, "Journal": journal.strip()}
    if bill.number is not None:
        payload["YourRef"] = bill.number.strip()
    if bill.issue_date is not None:
        payload["EntryDate"] = format_exact_date(bill.issue_date)
    if bill.due_date is not None:
        payload["DueDate"] = format_exact_date(bill.due_date)
    if bill.currency is not None:
        payload["Currency"] = bill.currency
    if bill.description is not None:
        payload["Description"] = bill.description
    # A credit note is a purchase entry with negative amounts: Type is GET-only and Exact makes it 31 (NOTES.md:
    # Credit notes; REF PurchaseEntries GAccountAmountFC "should have negative value when ... posted").
    sign = -1 if bill.type is InvoiceType.CREDIT_NOTE else 1
    lines: list[dict[str, Any]] = []
    for line in bill.lines:
        values: dict[str, Any] = {"GLAccount": line.ledger_account_id, "AmountFC": line.net_amount * sign}
        if line.description is not None:
            values["Description"] = line.description
        if line.quantity is not None:
            values["Quantity"] = line.quantity
        if line.tax_rate_id is not None:
            values["VATCode"] = line.tax_rate_id.strip()
        if line.tax_amount is not None:
            values["VATAmountFC"] = line.tax_amount * sign
        lines.append(values)
    payload[LINES] = lines
    return payload, warnings


def same_purchase_entry(entry: ExactObject, bill: PurchaseInvoiceInput) -> bool:
    """Whether a purchase entry is the one `bill` would have booked: its type and, line by line, the G/L account and
    amount as sent (a credit note's negated); for finding a create whose answer was lost."""
    wanted_type = 31 if bill.type is InvoiceType.CREDIT_NOTE else 30
    if _int(entry, "Type") != wanted_type:
        return False
    sign = -1 if wanted_type == 31 else 1
    raw_lines = _expanded_lines(entry.get(LINES))
    if len(raw_lines) != len(bill.lines):
        return False
    ordered = sorted(raw_lines, key=lambda line: _int(line, "LineNumber") or 0)
    for line, wanted in zip(ordered, bill.lines, strict=True):
        if str(line.get("GLAccount") or "").lower() != wanted.ledger_account_id.strip().lower():
            return False
        if to_money(line.get("AmountFC"), "AmountFC") != wanted.net_amount * sign:
            return False
    return True
