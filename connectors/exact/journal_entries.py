"""General journal entries as Exact's generaljournalentry/GeneralJournalEntries with GeneralJournalEntryLines.

Facts followed (NOTES.md: Entities, generaljournalentry/GeneralJournalEntries; reference 2022 meta-data):
- GET, POST and DELETE (no PUT); POST takes the header (JournalCode, Currency) with its lines. A line books AmountFC
  on GLAccount (a GUID), debit positive and credit negative (the sign convention of Exact's transaction lines);
  Date is per line (the entry date), Account an optional account GUID.
- Type is GET-only (10 opening balance, 90 other), Status GET-only (5 rejected, 20 open, 50 processed).
- GeneralJournalEntries refuses a query without $select or $top (NOTES.md: OData); reads always $select.
- VAT: "VATCode can only be used if the general journal has VAT enabled" (Journals.AllowVAT); AmountVATFC is
  POST-able "if you … specify VATCode as well". A line with a tax rate is sent with its VATCode and the VAT the
  gateway computed (or was given) as AmountVATFC with the line's sign, so the balance checked before the POST is
  the one Exact books; a journal without VAT is Exact's refusal (a vendor 422).
- No bulk/ or sync/ endpoint exists for general journal entries (NOTES.md: Entities): the local copy reads the
  regular endpoint with its lines expanded every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base.records import JournalEntry, JournalEntryInput, JournalEntryLine
from connectors.exact.mappers import UnexpectedExactValue, _base, _expanded_lines, _int
from connectors.exact.values import clean_text, format_exact_date, parse_exact_date, strip_code, to_money

ExactObject = Mapping[str, Any]

PATH = "generaljournalentry/GeneralJournalEntries"
LINES = "GeneralJournalEntryLines"
FIELDS = ("EntryID", "Created", "Modified", "EntryNumber", "JournalCode", "Currency", "Status", "Type")
LINE_FIELDS = ("ID", "LineNumber", "GLAccount", "Account", "Description", "Date", "AmountFC", "VATCode", "AmountVATFC")
STATUSES = {5: None, 20: False, 50: True}  # rejected, open, processed -> finalized


def journal_entry_from_exact(entry: ExactObject) -> JournalEntry:
    status = _int(entry, "Status")
    if status not in STATUSES:
        raise UnexpectedExactValue("Status", status, "5, 20 or 50")
    raw_lines = _expanded_lines(entry.get(LINES))
    ordered = [line for _, line in sorted(enumerate(raw_lines), key=lambda p: (_int(p[1], "LineNumber") or 0, p[0]))]
    lines = tuple(_line_from_exact(line) for line in ordered)
    number = _int(entry, "EntryNumber")
    return JournalEntry(
        **_base(entry, "EntryID"),
        number=str(number) if number else None,
        journal_code=strip_code(entry.get("JournalCode")),
        date=parse_exact_date(ordered[0].get("Date"), "Date") if ordered else None,
        currency=clean_text(entry.get("Currency")),
        finalized=STATUSES[status],
        lines=lines,
        # The tax is booked on its line's side, so it counts toward that side's total.
        total_debit=sum((line.debit + (line.tax_amount if line.debit else 0) for line in lines), Decimal("0.00")),
        total_credit=sum((line.credit + (line.tax_amount if line.credit else 0) for line in lines), Decimal("0.00")),
    )


def _line_from_exact(line: ExactObject) -> JournalEntryLine:
    amount = to_money(line.get("AmountFC"), "AmountFC") or Decimal("0.00")
    vat_code = strip_code(line.get("VATCode"))
    return JournalEntryLine(
        id=clean_text(line.get("ID")),
        ledger_account_id=clean_text(line.get("GLAccount")),
        contact_id=clean_text(line.get("Account")),
        description=clean_text(line.get("Description")),
        debit=amount if amount > 0 else Decimal("0.00"),
        credit=-amount if amount < 0 else Decimal("0.00"),
        tax_rate_id=vat_code,
        tax_amount=abs(to_money(line.get("AmountVATFC"), "AmountVATFC") or Decimal("0.00"))
        if vat_code
        else Decimal("0.00"),
    )


def journal_entry_to_exact(entry: JournalEntryInput, tax_percentages: Mapping[str, Decimal]) -> dict[str, Any]:
    """JournalEntryInput -> the POST body; InvalidInput (naming the field) for an unbalanced entry (tax included,
    the percent of a VAT code from `tax_percentages`), before anything is sent. Amounts stay Decimal (send with
    `values.exact_json_dumps`)."""
    taxes = entry.require_balanced(tax_percentages)
    payload: dict[str, Any] = {"JournalCode": entry.journal_code.strip()}
    if entry.currency is not None:
        payload["Currency"] = entry.currency
    lines = []
    for line, tax in zip(entry.lines, taxes, strict=True):
        values: dict[str, Any] = {"GLAccount": line.ledger_account_id, "AmountFC": line.signed_amount}
        if line.tax_rate_id is not None:
            values["VATCode"] = line.tax_rate_id.strip()
            values["AmountVATFC"] = tax
        if entry.date is not None:
            values["Date"] = format_exact_date(entry.date)
        description = line.description if line.description is not None else entry.description
        if description is not None:
            values["Description"] = description
        if line.contact_id is not None:
            values["Account"] = line.contact_id
        lines.append(values)
    payload[LINES] = lines
    return payload
