"""General journal entries as Xero manual journals (ManualJournals with JournalLines).

Facts followed (NOTES.md: Manual journals):
- A manual journal needs a `Narration` and at least two `JournalLines` whose `LineAmount`s (debit positive, credit
  negative) sum to zero; each line names an account by `AccountCode` and may carry a `TaxType`; `LineAmountTypes`
  defaults to `NoTax`. Xero refuses an unbalanced one with "The total debits (x) must equal total credits (y)".
- Status: DRAFT, POSTED (booked), DELETED (a draft removed), VOIDED (a posted one reversed), ARCHIVED.
- A manual journal has no number, no journal and no currency of its own (it books in the base currency), and its
  lines have no contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base.records import InvalidInput, JournalEntry, JournalEntryInput, JournalEntryLine, Warning
from connectors.xero.mappers import W_JOURNAL, _base
from connectors.xero.values import UnexpectedXeroValue, clean_text, format_xero_date, parse_xero_date, to_money

XeroObject = Mapping[str, Any]
ZERO = Decimal("0.00")

PATH = "ManualJournals"
# Status -> finalized (booked in the ledger); DELETED journals are no records (sync reports them deleted).
STATUSES = {"DRAFT": False, "POSTED": True, "VOIDED": True, "ARCHIVED": True}
DELETED = "DELETED"
W_LINE_CONTACT = "xero_journal_lines_have_no_contact"


def journal_entry_from_xero(journal: XeroObject) -> JournalEntry:
    """A ManualJournals row (with its JournalLines when Xero sent them) -> JournalEntry."""
    status = str(journal.get("Status") or "")
    if status not in STATUSES and status != DELETED:
        raise UnexpectedXeroValue("Status", journal.get("Status"), ", ".join([*STATUSES, DELETED]))
    raw_lines = journal.get("JournalLines")
    lines = tuple(
        _line_from_xero(line) for line in (raw_lines if isinstance(raw_lines, list) else []) if isinstance(line, dict)
    )
    return JournalEntry(
        **_base(journal, "ManualJournalID"),
        number=None,
        journal_code=None,
        date=parse_xero_date(journal.get("Date"), "Date"),
        currency=None,
        finalized=STATUSES.get(status, False),
        lines=lines,
        total_debit=sum((line.debit for line in lines), ZERO),
        total_credit=sum((line.credit for line in lines), ZERO),
    )


def _line_from_xero(line: XeroObject) -> JournalEntryLine:
    amount = to_money(line.get("LineAmount"), "LineAmount") or ZERO
    return JournalEntryLine(
        id=clean_text(line.get("JournalLineID")),
        ledger_account_id=clean_text(line.get("AccountID")),
        contact_id=None,
        description=clean_text(line.get("Description")),
        debit=amount if amount > 0 else ZERO,
        credit=-amount if amount < 0 else ZERO,
    )


def journal_entry_to_xero(
    entry: JournalEntryInput, *, account_codes: Mapping[int, str]
) -> tuple[dict[str, Any], list[Warning]]:
    """JournalEntryInput -> a posted ManualJournals element; InvalidInput naming the field (unbalanced, no
    narration, tax on a line) before anything is sent. Amounts stay Decimal (send with `values.xero_json_dumps`)."""
    for index, line in enumerate(entry.lines):
        # Booked NoTax (NOTES.md: Manual journals): tax on journal lines is not mapped to Xero's TaxType yet.
        for name in ("tax_rate_id", "tax_amount"):
            if getattr(line, name) is not None:
                raise InvalidInput(
                    f"lines[{index}].{name}", "This connector books Xero manual journals without tax (NoTax) so far."
                )
    entry.require_balanced()
    if not (entry.description and entry.description.strip()):
        raise InvalidInput("description", "Xero requires a narration on a manual journal: give a description.")
    warnings: list[Warning] = []
    if entry.journal_code:
        warnings.append(
            Warning(W_JOURNAL, "journal_code", "Xero has no journals; the manual journal was booked without one.")
        )
    lines = []
    for index, line in enumerate(entry.lines):
        values: dict[str, Any] = {"LineAmount": line.signed_amount, "AccountCode": account_codes[index]}
        if line.description is not None:
            values["Description"] = line.description
        if line.contact_id is not None:
            warnings.append(
                Warning(
                    W_LINE_CONTACT, f"lines[{index}].contact_id", "Xero's journal lines have no contact; not stored."
                )
            )
        lines.append(values)
    payload: dict[str, Any] = {
        "Narration": entry.description.strip(),
        "Status": "POSTED",
        "LineAmountTypes": "NoTax",
        "JournalLines": lines,
    }
    if entry.date is not None:
        payload["Date"] = format_xero_date(entry.date)
    return payload, warnings
