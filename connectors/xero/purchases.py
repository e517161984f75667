"""Purchase invoices (bills) as Xero ACCPAY invoices, purchase credit notes as ACCPAYCREDIT credit notes.

Facts followed (NOTES.md: Purchase invoices, Line items, Writes):
- A bill is an invoice of Type ACCPAY: Contact and LineItems are required, every line of an approved bill names an
  account (AccountCode) that is no bank account, and a TaxType that exists and may be used on that account's
  class (CanApplyToExpenses for expense accounts, …); without a TaxType the account's default applies.
- InvoiceNumber is the supplier's own number on a bill: optional and not unique (Xero shows it as "Reference" in
  its app); `Reference` is for sales invoices only, so the connector never sends it on a bill.
- Given Quantity and LineAmount Xero works out the UnitAmount; TaxAmount is computed per line and may be
  overridden by the one sent.
- Xero has no purchase journals and no description on a bill: both are reported as warnings, never sent.
- Status: DRAFT/SUBMITTED (not booked), AUTHORISED (booked, payable), PAID (set by payments or credit),
  VOIDED, DELETED. A purchase credit note lives apart, in CreditNotes (Type ACCPAYCREDIT), with its own id
  (CreditNoteID) and number (CreditNoteNumber); its RemainingCredit is what is not yet allocated or refunded.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from connectors.base.records import (
    InvalidInput,
    InvoiceStatus,
    InvoiceType,
    PurchaseInvoice,
    PurchaseInvoiceInput,
    PurchaseInvoiceLine,
    Warning,
)
from connectors.xero.mappers import (
    BOOKED_STATUSES,
    W_DESCRIPTION,
    W_JOURNAL,
    _base,
    corrected_invoice_id,
    invoice_payment_status,
)
from connectors.xero.values import (
    UnexpectedXeroValue,
    clean_text,
    format_xero_date,
    parse_xero_date,
    to_decimal,
    to_money,
)

XeroObject = Mapping[str, Any]
ZERO = Decimal("0.00")

BILLS = 'Type=="ACCPAY"'
PURCHASE_CREDIT_NOTES = 'Type=="ACCPAYCREDIT"'
# Xero's key and number field of each kind of purchase document.
KEYS = {"ACCPAY": ("InvoiceID", "InvoiceNumber"), "ACCPAYCREDIT": ("CreditNoteID", "CreditNoteNumber")}


def purchase_status(document: XeroObject) -> InvoiceStatus:
    """draft / open / partially_paid / paid / void from a bill's or a purchase credit note's Status and amounts."""
    if document.get("Type") != "ACCPAYCREDIT":
        return invoice_payment_status(document)
    status = invoice_payment_status({**document, "AmountCredited": None})
    if status is InvoiceStatus.OPEN:
        total = to_money(document.get("Total"), "Total") or ZERO
        remaining = to_money(document.get("RemainingCredit"), "RemainingCredit")
        if remaining is not None and remaining < total:
            return InvoiceStatus.PARTIALLY_PAID
    return status


def purchase_invoice_from_xero(document: XeroObject) -> PurchaseInvoice:
    """An ACCPAY invoice or ACCPAYCREDIT credit note (with its LineItems when Xero sent them) -> PurchaseInvoice."""
    doc_type = str(document.get("Type") or "")
    if doc_type not in KEYS:
        raise UnexpectedXeroValue("Type", document.get("Type"), "ACCPAY or ACCPAYCREDIT (a purchase document)")
    key, number_field = KEYS[doc_type]
    inclusive = document.get("LineAmountTypes") == "Inclusive"
    raw_lines = document.get("LineItems")
    lines = tuple(
        _line_from_xero(line, inclusive=inclusive)
        for line in (raw_lines if isinstance(raw_lines, list) else [])
        if isinstance(line, dict)
    )
    net_total = to_money(document.get("SubTotal"), "SubTotal")
    tax_total = to_money(document.get("TotalTax"), "TotalTax")
    if net_total is None:
        net_total = sum((line.net_amount for line in lines), ZERO)
    if tax_total is None:
        tax_total = sum((line.tax_amount for line in lines), ZERO)
    contact = document.get("Contact") if isinstance(document.get("Contact"), dict) else {}
    return PurchaseInvoice(
        **_base(document, key),
        number=clean_text(document.get(number_field)),
        booking_number=None,  # Xero numbers no bookings of its own
        type=InvoiceType.CREDIT_NOTE if doc_type == "ACCPAYCREDIT" else InvoiceType.INVOICE,
        status=purchase_status(document),
        finalized=str(document.get("Status")) in BOOKED_STATUSES,
        contact_id=clean_text(contact.get("ContactID")),
        issue_date=parse_xero_date(document.get("Date"), "Date"),
        due_date=parse_xero_date(document.get("DueDate"), "DueDate"),
        currency=clean_text(document.get("CurrencyCode")),
        description=None,
        journal_code=None,
        corrects_invoice_id=corrected_invoice_id(document) if doc_type == "ACCPAYCREDIT" else None,
        lines=lines,
        net_total=net_total,
        tax_total=tax_total,
        total=to_money(document.get("Total"), "Total") or net_total + tax_total,
    )


def _line_from_xero(line: XeroObject, *, inclusive: bool) -> PurchaseInvoiceLine:
    amount = to_money(line.get("LineAmount"), "LineAmount") or ZERO
    tax = to_money(line.get("TaxAmount"), "TaxAmount") or ZERO
    return PurchaseInvoiceLine(
        id=clean_text(line.get("LineItemID")),
        description=clean_text(line.get("Description")),
        quantity=to_decimal(line.get("Quantity"), "Quantity"),
        ledger_account_id=clean_text(line.get("AccountID")),
        tax_rate_id=clean_text(line.get("TaxType")),
        net_amount=amount - tax if inclusive else amount,
        tax_amount=tax,
    )


def purchase_invoice_to_xero(
    bill: PurchaseInvoiceInput, *, account_codes: Mapping[int, str], credit_note: bool = False
) -> tuple[dict[str, Any], list[Warning]]:
    """PurchaseInvoiceInput -> an approved ACCPAY Invoices (or ACCPAYCREDIT CreditNotes) element.

    `account_codes` gives each line's AccountCode by line index (the caller read them); InvalidInput naming the
    field before anything is sent. Amounts stay Decimal (send with `values.xero_json_dumps`).
    """
    if not bill.contact_id:
        raise InvalidInput("contact_id", "Xero requires the supplier (Contact) of a bill.")
    if not bill.lines:
        raise InvalidInput("lines", "Xero requires at least one line item on a bill.")
    warnings: list[Warning] = []
    lines = []
    for index, line in enumerate(bill.lines):
        if not (line.description and line.description.strip()):
            raise InvalidInput(f"lines[{index}].description", "Xero requires a description on each line of a bill.")
        body: dict[str, Any] = {
            "Description": line.description,
            "Quantity": line.quantity if line.quantity is not None else Decimal(1),
            "LineAmount": line.net_amount,
            "AccountCode": account_codes[index],
        }
        if line.quantity is not None and line.quantity == 0:
            raise InvalidInput(f"lines[{index}].quantity", "Xero needs a quantity other than zero.")
        if line.tax_rate_id is not None:
            body["TaxType"] = line.tax_rate_id.strip()
        if line.tax_amount is not None:
            body["TaxAmount"] = line.tax_amount
        lines.append(body)
    issue = bill.issue_date or date.today()
    if bill.due_date is not None and bill.due_date < issue:
        raise InvalidInput("due_date", "The due date is before the issue date.")
    doc_type = "ACCPAYCREDIT" if credit_note else "ACCPAY"
    payload: dict[str, Any] = {
        "Type": doc_type,
        "Contact": {"ContactID": bill.contact_id},
        "LineAmountTypes": "Exclusive",
        "Status": "AUTHORISED",
        "Date": format_xero_date(issue),
        "LineItems": lines,
    }
    if not credit_note:
        # Xero approves a bill only with a due date; without one the issue date is used (due at once).
        payload["DueDate"] = format_xero_date(bill.due_date or issue)
    if bill.number is not None:
        payload[KEYS[doc_type][1]] = bill.number.strip()
    if bill.currency is not None:
        payload["CurrencyCode"] = bill.currency
    if bill.description is not None:
        warnings.append(
            Warning(W_DESCRIPTION, "description", "Xero bills have no description of their own; it was not stored.")
        )
    if bill.journal_code is not None:
        warnings.append(Warning(W_JOURNAL, "journal_code", "Xero has no purchase journals; the journal was not used."))
    return payload, warnings
