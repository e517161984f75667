"""General journal entries as Xero manual journals (ManualJournals with JournalLines).

Facts followed (NOTES.md: Manual journals):
- A manual journal needs a `Narration` and at least two `JournalLines` whose `LineAmount`s (debit positive, credit
  negative) sum to zero; each line names an account by `AccountCode` and may carry a `TaxType`; `LineAmountTypes`
  defaults to `NoTax`. Xero refuses an unbalanced one with "The total debits (x) must equal total credits (y)".
- Status: DRAFT, POSTED (booked), DELETED (a draft removed), VOIDED (a posted one reversed), ARCHIVED.
- A manual journal has no number, no journal and no currency of its own (it books in the base currency), and its
  lines have no contact.
- Tax: with `LineAmountTypes` `Exclusive` each line's `TaxType` (else the account's default) adds a `TaxAmount`
  Xero calculates from the TaxType and LineAmount, on the line's side; the lines balance with it included.
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
NO_TAX = "NoTax"
NO_TAX_TYPE = "NONE"  # the tax type of a line without tax in a taxed journal (0 %, every country's set)


def journal_entry_from_xero(journal: XeroObject) -> JournalEntry:
    """A ManualJournals row (with its JournalLines when Xero sent them) -> JournalEntry."""
    status = str(journal.get("Status") or "")
    if status not in STATUSES and status != DELETED:
        raise UnexpectedXeroValue("Status", journal.get("Status"), ", ".join([*STATUSES, DELETED]))
    raw_lines = journal.get("JournalLines")
    amount_types = str(journal.get("LineAmountTypes") or NO_TAX)
    lines = tuple(
        _line_from_xero(line, amount_types=amount_types)
        for line in (raw_lines if isinstance(raw_lines, list) else [])
        if isinstance(line, dict)
    )
    return JournalEntry(
        **_base(journal, "ManualJournalID"),
        number=None,
        journal_code=None,
        date=parse_xero_date(journal.get("Date"), "Date"),
        currency=None,
        finalized=STATUSES.get(status, False),
        lines=lines,
        total_debit=sum((line.debit + (line.tax_amount if line.debit else ZERO) for line in lines), ZERO),
        total_credit=sum((line.credit + (line.tax_amount if line.credit else ZERO) for line in lines), ZERO),
    )


def _line_from_xero(line: XeroObject, *, amount_types: str) -> JournalEntryLine:
    amount = to_money(line.get("LineAmount"), "LineAmount") or ZERO
    tax = ZERO if amount_types == NO_TAX else (to_money(line.get("TaxAmount"), "TaxAmount") or ZERO)
    net = amount - tax if amount_types == "Inclusive" else amount  # the unified line excludes tax
    tax_type = clean_text(line.get("TaxType"))
    return JournalEntryLine(
        id=clean_text(line.get("JournalLineID")),
        ledger_account_id=clean_text(line.get("AccountID")),
        contact_id=None,
        description=clean_text(line.get("Description")),
        debit=net if amount > 0 else ZERO,
        credit=-net if amount < 0 else ZERO,
        tax_rate_id=None if amount_types == NO_TAX or tax_type in (None, NO_TAX_TYPE) else tax_type,
        tax_amount=abs(tax),
    )


def journal_entry_to_xero(
    entry: JournalEntryInput,
    *,
    account_codes: Mapping[int, str],
    tax_percentages: Mapping[str, Decimal] | None = None,
) -> tuple[dict[str, Any], list[Warning]]:
    """JournalEntryInput -> a posted ManualJournals element; InvalidInput naming the field (unbalanced, no
    narration, a given tax amount) before anything is sent. Amounts stay Decimal (send with
    `values.xero_json_dumps`).

    Without tax the journal is `NoTax`. With a `tax_rate_id` on any line it is `Exclusive`: each line sends its
    TaxType (a line without one: `NONE`, so the account's default tax is not added), and the balance is checked
    with each line's tax at `tax_percentages` (the organisation's rates; None: the first pass before any call,
    which leaves the balance of a taxed entry to the second).
    """
    taxed = any(line.tax_rate_id is not None for line in entry.lines)
    for index, line in enumerate(entry.lines):
        if line.tax_amount is not None:
            raise InvalidInput(
                f"lines[{index}].tax_amount",
                "Xero calculates a manual journal line's tax from its TaxType; give tax_rate_id only.",
            )
    if not taxed:
        entry.require_balanced()
    elif tax_percentages is not None:
        entry.require_balanced(tax_percentages)
    else:
        # Before the rates are read: every other rule of the lines (one positive side each, two lines at least).
        unknown = {line.tax_rate_id.strip(): Decimal(0) for line in entry.lines if line.tax_rate_id}
        try:
            entry.require_balanced(unknown)
        except InvalidInput as refused:
            if refused.code != "unbalanced":
                raise
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
        if taxed:
            values["TaxType"] = line.tax_rate_id.strip() if line.tax_rate_id else NO_TAX_TYPE
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
        "LineAmountTypes": "Exclusive" if taxed else NO_TAX,
        "JournalLines": lines,
    }
    if entry.date is not None:
        payload["Date"] = format_xero_date(entry.date)
    return payload, warnings
