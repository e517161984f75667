"""Exact Online JSON <-> unified records: pure functions, no HTTP, no Django.

Readers take one Exact object as the API returns it (an element of `d.results`, `/Date(ms)/` dates and all) and
return a record whose `remote_data` is that raw object. Writers take an input record and return
`(payload, warnings)`; a write the mapping cannot translate raises `MappingMissing` before anything is sent.

Values (see `values.py`): `/Date(ms)/` is Amsterdam wall-clock time (KB FAQ), timestamps become aware UTC,
date-only fields become `date`, writes send ISO-8601; Accounts.Code is 18 characters left-padded with spaces
and unified codes are stripped; money goes float -> `str` -> Decimal and is rounded ROUND_HALF_UP to cents per
line (Exact computes line amounts per line; header totals are Exact's own sums, also quantized to cents).

Contacts (crm/Accounts)
- is_customer: Status "C" (reference: "If the status field is filled this means the account is a customer",
  values A=None, S=Suspect, P=Prospect, C=Customer). is_supplier: IsSupplier. IsSales/IsPurchase are GET-only
  in the 2022 reference: read only as a fallback when Status/IsSupplier are absent, never sent.
- Writing is_customer=false on an account that is "C" sends Status "A" (None); prospects/suspects are kept.
- One visiting address lives on the account (AddressLine1-3, Postcode, City, State, Country = ISO code): it is
  `addresses[0]` with type "main". On writes the first address is stored; further addresses, and a type other
  than "main", produce warnings. AddressLine3 has no unified field and stays in remote_data.
- status: archived when Blocked, or when EndDate has passed ("If the current date is > end date the account is
  inactive"); writing status sends Blocked.

Invoices (salesinvoice/SalesInvoices + SalesInvoiceLines)
- Type 8020 (and 8023 direct) = invoice, 8021 (and 8024 direct) = credit_note; remote_data keeps the exact type.
- Sign: unified credit notes carry positive amounts (the type says the direction). Exact keeps credit notes
  negative (reference, GAccountAmountFC: "In case of a credit invoice the amount should have negative value
  when retrieved or posted to Exact"), so quantities and amounts are negated both ways; unit prices keep their
  sign (amount = quantity x price).
- Status: 10 draft, 20 open, 50 processed (`finalized` is true exactly for 50). A processed invoice is paid when all
  its receivables are fully paid, partially_paid when some payment was registered but not all, open otherwise or
  when no receivable information is given (see `invoice_payment_status`). `void` never comes from Exact: it cancels
  with a credit note.
- Amounts: AmountFCExclVat -> net_total, VATAmountFC -> tax_total, AmountFC -> total; per line AmountFC (net,
  "excluding VAT") -> net_amount, VATAmountFC -> tax_amount; all rounded half-up to cents. Quantity and
  UnitPrice are exact Decimals, not rounded.
- contact_id = InvoiceTo (OrderedBy and InvoiceTo are account GUIDs; we send both as the contact, and they are
  GP-only so they cannot change later). Journal is a code ("70"), never a GUID (picqer #31, #287).
- Lines on write: Item (Exact requires one per line) = line.item_id, else the item for line.item_code
  (mapping.items_by_code, an unmapped code is taken as the Exact item code), else mapping.default_item, else
  MappingMissing("default_item"). VATCode = line.tax_rate_id (a TaxRate id is the VAT code), else the mapping
  rule for line.tax_code, else for line.tax_rate (percent), else MappingMissing("tax_rates"); a line with no tax
  at all lets Exact default the VAT code from the item, with a warning. GLAccount = line.ledger_account_id; for
  lines on the default item (free-text lines) mapping.default_revenue_ledger_account; otherwise left out so
  Exact takes the item's revenue account ("generated based on the revenue account of the item"), which is the
  right account for a real item. Journal = input.journal_code, else mapping.default_sales_journal, else
  MappingMissing("default_sales_journal") (we do not rely on Exact's undocumented default journal).
- Fields Exact cannot take produce warnings: `number` (InvoiceNumber is assigned by Exact), `issue_date`
  (InvoiceDate is GET-only and set when the invoice is processed; it is not sent as OrderDate, which means
  something else, and the caller can pass it to PrintedSalesInvoices), a status other than draft/open, and a
  line without unit_price (Exact uses the item's price).

Other resources
- TaxRate: id is the VAT *code* (remote_id keeps the GUID) because lines, items and accounts reference VAT codes
  by code; rate = Percentage x 100 (Exact stores fractions, 0.21); Type E exclusive, I inclusive, N none,
  B ("VAT 0%, only base amount") exclusive at 0; VATTransactionType S/P/B -> sales/purchase/both.
- LedgerAccount: classification from the G/L Type, else from BalanceType (B balance sheet, W P&L) + BalanceSide.
- Journal: Type 10 cash, 12/16 bank, 20/21 sales, 22/23 purchase, 90 general.
- Item (logistics/Items) on create: Code (required, sent stripped) and Description (required, max 60) from
  code and name; ExtraDescription (max 255) = description, SalesVatCode = sales_tax_rate_id (a VAT code),
  GLRevenue = revenue_ledger_account_id, IsSalesItem = is_sales_item. StandardSalesPrice is GET-only in the
  reference (not postable; prices live in sales price lists), so a unit_price is not sent and gives a warning.
- Payment (cashflow/Receivables): amount = TransactionAmountFC (the invoice amount), open_amount = AmountFC unless
  IsFullyPaid; paid when IsFullyPaid, partially_paid when a payment date is known or part is split off.
- Unknown enum values raise `UnexpectedExactValue` (unknown is an error, never silence).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol, cast

from connectors.base.mapping import LedgerMapping, MappingMissing
from connectors.base.records import (
    Address,
    AddressType,
    CompanyInfo,
    Contact,
    ContactInput,
    InvalidInput,
    Invoice,
    InvoiceInput,
    InvoiceLine,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    Item,
    ItemInput,
    Journal,
    JournalType,
    LedgerAccount,
    LedgerClassification,
    Payment,
    PaymentStatus,
    RecordStatus,
    TaxRate,
    TaxType,
    TaxUsage,
    Warning,
)
from connectors.exact.values import (
    AMSTERDAM,
    CENT,
    UnexpectedExactValue,
    clean_text,
    format_exact_date,
    pad_code,
    parse_exact_date,
    parse_exact_datetime,
    percent_from_fraction,
    strip_code,
    to_decimal,
    to_money,
)

ExactObject = Mapping[str, Any]

# Warning codes (stable; the API reports them in `warnings`).
W_ONE_ADDRESS = "exact_stores_one_address"
W_ADDRESS_TYPE = "exact_address_type_not_stored"
W_ACCOUNT_ENDED = "exact_account_end_date_passed"
W_NUMBER = "exact_assigns_invoice_number"
W_ISSUE_DATE = "exact_sets_invoice_date_at_processing"
W_STATUS = "exact_invoice_status_not_writable"
W_TAX_DEFAULTED = "exact_defaults_vat_code_from_item"
W_PRICE_DEFAULTED = "exact_defaults_unit_price_from_item"
W_ITEM_PRICE = "exact_item_price_not_writable"

INVOICE_TYPES = {
    8020: InvoiceType.INVOICE,
    8021: InvoiceType.CREDIT_NOTE,
    8023: InvoiceType.INVOICE,
    8024: InvoiceType.CREDIT_NOTE,
}
EXACT_INVOICE_TYPE = {InvoiceType.INVOICE: 8020, InvoiceType.CREDIT_NOTE: 8021}
EXACT_DRAFT, EXACT_OPEN, EXACT_PROCESSED = 10, 20, 50
ACCOUNT_STATUSES = frozenset({"A", "S", "P", "C"})  # None, Suspect, Prospect, Customer
TAX_TYPES = {"E": TaxType.EXCLUSIVE, "I": TaxType.INCLUSIVE, "N": TaxType.NONE, "B": TaxType.EXCLUSIVE}
TAX_USAGES = {"S": TaxUsage.SALES, "P": TaxUsage.PURCHASE, "B": TaxUsage.BOTH}
JOURNAL_TYPES = {
    10: JournalType.CASH,
    12: JournalType.BANK,
    16: JournalType.BANK,  # payment service (Adyen, PayPal, Stripe) behaves as a bank journal
    20: JournalType.SALES,
    21: JournalType.SALES,  # return invoice
    22: JournalType.PURCHASE,
    23: JournalType.PURCHASE,  # received return invoice
    90: JournalType.GENERAL,
}
# G/L account Type -> classification, where the type decides it (reference list of GLAccount.Type).
_GL_TYPES: dict[int, LedgerClassification] = {
    **dict.fromkeys((10, 12, 14, 16, 20, 21, 26, 30, 32, 35, 40), LedgerClassification.ASSET),
    **dict.fromkeys((22, 25, 27, 29, 55, 60, 100), LedgerClassification.LIABILITY),
    **dict.fromkeys((50, 52), LedgerClassification.EQUITY),
    **dict.fromkeys((110, 140, 160), LedgerClassification.REVENUE),
    **dict.fromkeys((111, 120, 121, 122, 123, 125, 126, 130, 150), LedgerClassification.EXPENSE),
}


class ExactLookup(Protocol):
    """Finds Exact GUIDs for the codes a mapping holds (the caller prefetches or queries; mappers stay pure)."""

    def item_id(self, code: str) -> str | None:
        """logistics/Items.ID for an item Code, or None."""
        ...

    def gl_account_id(self, code: str) -> str | None:
        """financial/GLAccounts.ID for a G/L account Code, or None."""
        ...


@dataclass(frozen=True)
class StaticLookup:
    """An ExactLookup over prefetched code -> GUID tables."""

    items: Mapping[str, str] = field(default_factory=dict)
    gl_accounts: Mapping[str, str] = field(default_factory=dict)

    def item_id(self, code: str) -> str | None:
        return self.items.get(code.strip())

    def gl_account_id(self, code: str) -> str | None:
        return self.gl_accounts.get(code.strip())


# ---------------------------------------------------------------------------------------------- shared


def _today(today: date | None) -> date:
    # "Today" is Exact's today: its dates are Amsterdam dates.
    return today if today is not None else datetime.now(AMSTERDAM).date()


def _base(obj: ExactObject, key: str = "ID", *, id_value: str | None = None) -> dict[str, Any]:
    remote_id = obj.get(key)
    if not remote_id:
        raise UnexpectedExactValue(key, remote_id, "the record's key")
    return {
        "id": id_value if id_value is not None else str(remote_id),
        "remote_id": str(remote_id),
        "created_at": parse_exact_datetime(obj.get("Created"), "Created"),
        "updated_at": parse_exact_datetime(obj.get("Modified"), "Modified"),
        # Records are immutable: the caller's dict is copied, unless it is a cleaned object made for this record, or
        # one whose record is to be made without remote_data.
        "remote_data": _remote_data(obj),
    }


def _remote_data(obj: ExactObject) -> dict[str, Any] | None:
    kind = type(obj)
    if kind is OwnedExactObject:
        return cast(OwnedExactObject, obj)  # a dict made for this record
    if kind is UnkeptExactObject:
        return None
    copied: dict[str, Any] = _json_copy(dict(obj))
    return copied


class OwnedExactObject(dict[str, Any]):
    """An Exact object decoded and cleaned for the record built from it (resources.without_odata_noise makes them):
    its dicts and lists are new and held by nothing else, so the record keeps it as its remote_data as it is instead
    of copying it again (a list page of 60 invoices: about 1.5 ms less)."""


class UnkeptExactObject(dict[str, Any]):
    """An Exact object as the API returned it (OData envelope and all), read for a record nobody asked the
    remote_data of (a live list without `?include=remote_data`): the record is made without remote_data, so the
    object is neither cleaned (resources.without_odata_noise) nor copied for it. The readers take either form: they
    read named properties, and expanded lines through `_expanded_lines`."""


def _json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON: every dict and list new, the leaves (str, numbers, bool, None; immutable) shared.
    What copy.deepcopy gives for such data at a quarter of its cost (no memo, no dispatch per leaf): a page of 60
    invoices with their lines is copied in about 1.5 ms instead of 6."""
    if isinstance(value, dict):
        return {name: _json_copy(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_json_copy(item) for item in value)
    return value


def _ended(obj: ExactObject, today: date) -> bool:
    end = parse_exact_date(obj.get("EndDate"), "EndDate")
    return end is not None and today > end


def _flip(amount: Decimal, sign: int) -> Decimal:
    """amount x sign without producing a negative zero."""
    flipped = amount * sign
    return flipped.copy_abs() if flipped == 0 else flipped


def _int(obj: ExactObject, name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise UnexpectedExactValue(name, value, "an integer")
    try:
        return int(value)
    except ValueError:
        raise UnexpectedExactValue(name, value, "an integer") from None


def _optional(source: object, exact_names: Mapping[str, str]) -> dict[str, Any]:
    """The attributes of an input that are set, under their Exact names (unified name -> Exact property), in that
    order: one left unset is not sent, so Exact applies its own default."""
    payload: dict[str, Any] = {}
    for name, exact_name in exact_names.items():
        value = getattr(source, name)
        if value is not None:
            payload[exact_name] = value
    return payload


def _country(value: Any) -> str | None:
    country = clean_text(value)
    if country is None:
        return None
    country = country.upper()
    # Exact's Country is the ISO code; anything else is not something we can pass on as alpha-2.
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        raise UnexpectedExactValue("Country", value, "an ISO 3166-1 alpha-2 code")
    return country


# ---------------------------------------------------------------------------------------------- contacts


def contact_from_exact(account: ExactObject, *, today: date | None = None) -> Contact:
    """crm/Accounts -> Contact."""
    status = clean_text(account.get("Status"))
    if status is not None and status not in ACCOUNT_STATUSES:
        raise UnexpectedExactValue("Status", status, "A, S, P or C")
    # IsSales/IsPurchase are derived, GET-only flags: only used when the primary field was not selected.
    is_customer = status == "C" if "Status" in account else bool(account.get("IsSales"))
    is_supplier = bool(account.get("IsSupplier")) if "IsSupplier" in account else bool(account.get("IsPurchase"))
    address_fields = ("AddressLine1", "AddressLine2", "AddressLine3", "Postcode", "City", "State", "Country")
    addresses: tuple[Address, ...] = ()
    if any(clean_text(account.get(name)) for name in address_fields):
        addresses = (
            Address(
                type=AddressType.MAIN,
                line1=clean_text(account.get("AddressLine1")),
                line2=clean_text(account.get("AddressLine2")),
                postal_code=clean_text(account.get("Postcode")),
                city=clean_text(account.get("City")),
                region=clean_text(account.get("State")),
                country=_country(account.get("Country")),
            ),
        )
    archived = bool(account.get("Blocked")) or _ended(account, _today(today))
    return Contact(
        **_base(account),
        name=clean_text(account.get("Name")) or "",
        code=strip_code(account.get("Code")),
        is_customer=is_customer,
        is_supplier=is_supplier,
        email=clean_text(account.get("Email")),
        phone=clean_text(account.get("Phone")),
        website=clean_text(account.get("Website")),
        vat_number=clean_text(account.get("VATNumber")),
        chamber_of_commerce_number=clean_text(account.get("ChamberOfCommerce")),
        addresses=addresses,
        currency=clean_text(account.get("SalesCurrency")),
        status=RecordStatus.ARCHIVED if archived else RecordStatus.ACTIVE,
    )


def contact_to_exact(
    contact: ContactInput, *, existing: ExactObject | None = None, today: date | None = None
) -> tuple[dict[str, Any], list[Warning]]:
    """ContactInput -> crm/Accounts body for POST (existing=None) or PUT (existing = the current account).

    Only given fields are sent, so a PUT leaves the rest alone.
    """
    warnings: list[Warning] = []
    payload: dict[str, Any] = {}
    if existing is None and not (contact.name and contact.name.strip()):
        raise InvalidInput("name", "Exact requires a name on an account")
    if contact.name is not None:
        payload["Name"] = contact.name.strip()
    if contact.code is not None:
        try:
            payload["Code"] = pad_code(contact.code)  # Code is fixed-length, left-padded to 18
        except ValueError as error:
            raise InvalidInput("code", str(error)) from None
    if contact.is_customer is True:
        payload["Status"] = "C"
    elif contact.is_customer is False and existing is not None and clean_text(existing.get("Status")) == "C":
        payload["Status"] = "A"  # "A = None": no longer a customer; S/P (suspect/prospect) are left as they are
    if contact.is_supplier is not None:
        payload["IsSupplier"] = contact.is_supplier
    simple = {
        "Email": contact.email,
        "Phone": contact.phone,
        "Website": contact.website,
        "VATNumber": contact.vat_number,
        "ChamberOfCommerce": contact.chamber_of_commerce_number,
        "SalesCurrency": contact.currency,
    }
    payload.update({name: value for name, value in simple.items() if value is not None})
    if contact.status is not None:
        payload["Blocked"] = contact.status is RecordStatus.ARCHIVED
        if contact.status is RecordStatus.ACTIVE and existing is not None and _ended(existing, _today(today)):
            warnings.append(
                Warning(
                    W_ACCOUNT_ENDED,
                    "status",
                    "The Exact account has an end date in the past, so it still reads as archived.",
                )
            )
    if contact.addresses is not None:
        payload.update(_address_to_exact(contact.addresses, warnings))
    return payload, warnings


def _address_to_exact(addresses: Sequence[Address], warnings: list[Warning]) -> dict[str, Any]:
    if not addresses:
        # An empty list clears the one address Exact keeps on the account.
        return dict.fromkeys(("AddressLine1", "AddressLine2", "AddressLine3", "Postcode", "City", "State", "Country"))
    stored = addresses[0]
    if stored.type is not AddressType.MAIN:
        warnings.append(
            Warning(
                W_ADDRESS_TYPE,
                "addresses[0].type",
                f"Exact keeps one visiting address per account; the {stored.type} address is stored as it "
                "and reads back with type main.",
            )
        )
    for index in range(1, len(addresses)):
        warnings.append(
            Warning(
                W_ONE_ADDRESS,
                f"addresses[{index}]",
                "Exact stores one address on an account; only addresses[0] was stored.",
            )
        )
    return {
        "AddressLine1": stored.line1,
        "AddressLine2": stored.line2,
        "Postcode": stored.postal_code,
        "City": stored.city,
        "State": stored.region,
        "Country": stored.country,
    }


# ---------------------------------------------------------------------------------------------- payments


def payment_from_exact(receivable: ExactObject, *, invoice_id: str | None = None) -> Payment:
    """cashflow/Receivables -> Payment. Receivables carry the invoice number, not the SalesInvoice ID: pass
    `invoice_id` when the caller has matched it."""
    currency = clean_text(receivable.get("Currency"))
    outstanding = to_money(receivable.get("AmountFC"), "AmountFC")
    amount = to_money(receivable.get("TransactionAmountFC"), "TransactionAmountFC")
    if amount is None:
        amount = outstanding
    if amount is None:
        raise UnexpectedExactValue("AmountFC", None, "an amount")
    fully_paid = bool(receivable.get("IsFullyPaid"))
    open_amount = Decimal("0.00") if fully_paid else (outstanding if outstanding is not None else amount)
    last_payment = parse_exact_date(receivable.get("LastPaymentDate"), "LastPaymentDate")
    if fully_paid:
        status = PaymentStatus.PAID
    elif last_payment is not None or open_amount != amount:
        # A payment was registered, or Exact split the receivable and this is the unpaid remainder.
        status = PaymentStatus.PARTIALLY_PAID
    else:
        status = PaymentStatus.OPEN
    number = _int(receivable, "InvoiceNumber")
    return Payment(
        **_base(receivable),
        invoice_id=invoice_id,
        invoice_number=str(number) if number else None,
        contact_id=clean_text(receivable.get("Account")),
        amount=amount,
        open_amount=open_amount,
        currency=currency,
        invoice_date=parse_exact_date(receivable.get("InvoiceDate"), "InvoiceDate"),
        due_date=parse_exact_date(receivable.get("DueDate"), "DueDate"),
        is_fully_paid=fully_paid,
        last_payment_date=last_payment,
        reference=clean_text(receivable.get("YourRef")),
        status=status,
    )


def receivables_for_invoice(invoice: ExactObject, receivables: Iterable[ExactObject]) -> list[ExactObject]:
    """The receivables of one processed invoice: same InvoiceNumber in the same Journal (numbers are per journal)."""
    number = _int(invoice, "InvoiceNumber")
    journal = strip_code(invoice.get("Journal"))
    if not number:
        return []
    return [
        receivable
        for receivable in receivables
        if _int(receivable, "InvoiceNumber") == number
        and (journal is None or strip_code(receivable.get("Journal")) in (None, journal))
    ]


def invoice_payment_status(receivables: Sequence[ExactObject]) -> InvoiceStatus | None:
    """The payment status of a processed invoice from its receivables; None when there are none to go by.

    paid: every receivable is fully paid. partially_paid: some money came in (a receivable paid, or a payment
    date or split registered) but not all. open: nothing received yet.
    """
    if not receivables:
        return None
    statuses = [payment_from_exact(receivable).status for receivable in receivables]
    if all(status is PaymentStatus.PAID for status in statuses):
        return InvoiceStatus.PAID
    if any(status is not PaymentStatus.OPEN for status in statuses):
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


# ---------------------------------------------------------------------------------------------- invoices


def _invoice_status(code: int | None, receivables: Sequence[ExactObject] | None) -> InvoiceStatus:
    if code == EXACT_DRAFT:
        return InvoiceStatus.DRAFT
    if code == EXACT_OPEN:
        return InvoiceStatus.OPEN
    if code == EXACT_PROCESSED:
        # Processed (printed) invoices have a receivable; its payment state decides. No information: open.
        return invoice_payment_status(receivables or []) or InvoiceStatus.OPEN
    raise UnexpectedExactValue("Status", code, "10, 20 or 50")


def _expanded_lines(value: Any) -> list[ExactObject]:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("results"), list):
        results: list[ExactObject] = value["results"]
        return results
    # {"__deferred": {...}}: the lines were not expanded, and guessing "no lines" would lose them.
    raise ValueError("SalesInvoiceLines were not expanded; pass the lines or GET with $expand=SalesInvoiceLines")


def _line_from_exact(line: ExactObject, sign: int) -> InvoiceLine:
    quantity = to_decimal(line.get("Quantity"), "Quantity")
    return InvoiceLine(
        id=clean_text(line.get("ID")),
        description=clean_text(line.get("Description")),
        quantity=_flip(quantity if quantity is not None else Decimal(1), sign),
        unit_price=to_decimal(line.get("UnitPrice"), "UnitPrice"),
        item_id=clean_text(line.get("Item")),
        ledger_account_id=clean_text(line.get("GLAccount")),
        tax_rate_id=strip_code(line.get("VATCode")),
        net_amount=_flip(to_money(line.get("AmountFC"), "AmountFC") or Decimal("0.00"), sign),
        tax_amount=_flip(to_money(line.get("VATAmountFC"), "VATAmountFC") or Decimal("0.00"), sign),
    )


def invoice_from_exact(
    invoice: ExactObject,
    lines: Sequence[ExactObject] | None = None,
    *,
    receivables: Sequence[ExactObject] | None = None,
) -> Invoice:
    """salesinvoice/SalesInvoices (+ its SalesInvoiceLines; default: the expanded ones) -> Invoice.

    `receivables`: this invoice's cashflow/Receivables (see `receivables_for_invoice`), to tell paid from open.
    """
    type_code = _int(invoice, "Type")
    if type_code not in INVOICE_TYPES:
        raise UnexpectedExactValue("Type", invoice.get("Type"), "8020, 8021, 8023 or 8024")
    invoice_type = INVOICE_TYPES[type_code]
    sign = -1 if invoice_type is InvoiceType.CREDIT_NOTE else 1
    raw_lines = list(lines) if lines is not None else _expanded_lines(invoice.get("SalesInvoiceLines"))
    # LineNumber is Exact's order of lines; keep the given order where it is missing.
    ordered = sorted(enumerate(raw_lines), key=lambda pair: (_int(pair[1], "LineNumber") or 0, pair[0]))
    unified_lines = tuple(_line_from_exact(line, sign) for _, line in ordered)

    def total(name: str, fallback: Decimal) -> Decimal:
        amount = to_money(invoice.get(name), name)
        return _flip(amount, sign) if amount is not None else fallback

    net_total = total("AmountFCExclVat", sum((line.net_amount for line in unified_lines), Decimal("0.00")))
    tax_total = total("VATAmountFC", sum((line.tax_amount for line in unified_lines), Decimal("0.00")))
    number = _int(invoice, "InvoiceNumber")
    status_code = _int(invoice, "Status")
    return Invoice(
        **_base(invoice, "InvoiceID"),
        number=str(number) if number else None,
        type=invoice_type,
        status=_invoice_status(status_code, receivables),
        # Status 50 = processed (PrintedSalesInvoices): booked, "can't be changed or reopened" (reference).
        finalized=status_code == EXACT_PROCESSED,
        contact_id=clean_text(invoice.get("InvoiceTo")) or clean_text(invoice.get("OrderedBy")),
        issue_date=parse_exact_date(invoice.get("InvoiceDate"), "InvoiceDate"),
        due_date=parse_exact_date(invoice.get("DueDate"), "DueDate"),
        currency=clean_text(invoice.get("Currency")),
        reference=clean_text(invoice.get("YourRef")),
        description=clean_text(invoice.get("Description")),
        journal_code=strip_code(invoice.get("Journal")),
        lines=unified_lines,
        net_total=net_total,
        tax_total=tax_total,
        total=total("AmountFC", net_total + tax_total),
    )


def invoice_to_exact(
    invoice: InvoiceInput, *, mapping: LedgerMapping, resolve: ExactLookup
) -> tuple[dict[str, Any], list[Warning]]:
    """InvoiceInput -> salesinvoice/SalesInvoices POST body (lines included, as Exact requires on POST).

    Raises MappingMissing (naming the mapping field) or InvalidInput before returning anything, so a write the
    mapping cannot translate never reaches Exact. Amounts stay Decimal: send with `values.exact_json_dumps`.
    """
    if not invoice.contact_id:
        raise InvalidInput("contact_id", "Exact requires the customer (OrderedBy/InvoiceTo) on a sales invoice")
    if not invoice.lines:
        raise InvalidInput("lines", "Exact requires at least one line when a sales invoice is created")
    journal = invoice.journal_code or mapping.default_sales_journal
    if not journal:
        raise MappingMissing(
            "default_sales_journal",
            "The invoice names no journal_code and the mapping has no default sales journal.",
        )
    sign = -1 if invoice.type is InvoiceType.CREDIT_NOTE else 1
    warnings: list[Warning] = []
    lines = [_line_to_exact(index, line, mapping, resolve, sign, warnings) for index, line in enumerate(invoice.lines)]
    payload: dict[str, Any] = {
        "Type": EXACT_INVOICE_TYPE[invoice.type],
        "OrderedBy": invoice.contact_id,
        "InvoiceTo": invoice.contact_id,
        "Journal": journal.strip(),  # a journal code such as "70", never the journal's GUID
    }
    if invoice.status is InvoiceStatus.DRAFT:
        payload["Status"] = EXACT_DRAFT
    elif invoice.status not in (None, InvoiceStatus.OPEN):
        warnings.append(
            Warning(
                W_STATUS,
                "status",
                f"Exact creates sales invoices as draft or open; '{invoice.status}' follows from processing "
                "and payments, so the invoice was created open.",
            )
        )
    optional = {
        "Currency": invoice.currency,
        "YourRef": invoice.reference,
        "Description": invoice.description,
        "DueDate": format_exact_date(invoice.due_date) if invoice.due_date else None,
    }
    payload.update({name: value for name, value in optional.items() if value is not None})
    if invoice.number is not None:
        warnings.append(
            Warning(
                W_NUMBER,
                "number",
                "Exact assigns the invoice number from the journal's number range; the given number was not "
                "stored (use reference for your own number).",
            )
        )
    if invoice.issue_date is not None:
        warnings.append(
            Warning(
                W_ISSUE_DATE,
                "issue_date",
                "Exact sets the invoice date when the invoice is processed (PrintedSalesInvoices); it cannot be "
                "stored on an unprocessed invoice.",
            )
        )
    payload["SalesInvoiceLines"] = lines  # an array of objects, never an object (picqer #117, #277)
    return payload, warnings


def _line_to_exact(
    index: int,
    line: InvoiceLineInput,
    mapping: LedgerMapping,
    resolve: ExactLookup,
    sign: int,
    warnings: list[Warning],
) -> dict[str, Any]:
    where = f"lines[{index}]"
    on_default_item = False
    if line.item_id:
        item = line.item_id
    elif line.item_code:
        vendor_code = mapping.vendor_item_code(line.item_code)
        found = resolve.item_id(vendor_code)
        if found is None:
            raise MappingMissing(
                "items_by_code",
                f"{where}: item code '{line.item_code}' matches no Exact item (looked for code '{vendor_code}').",
            )
        item = found
    else:
        if not mapping.default_item:
            raise MappingMissing(
                "default_item",
                f"{where} has no item and the mapping has no default item; Exact requires an item on every "
                "sales invoice line.",
            )
        found = resolve.item_id(mapping.default_item)
        if found is None:
            raise MappingMissing("default_item", f"The default item '{mapping.default_item}' is not an Exact item.")
        item, on_default_item = found, True

    ledger_account = line.ledger_account_id
    if not ledger_account and on_default_item and mapping.default_revenue_ledger_account:
        ledger_account = resolve.gl_account_id(mapping.default_revenue_ledger_account)
        if ledger_account is None:
            raise MappingMissing(
                "default_revenue_ledger_account",
                f"The default revenue ledger account '{mapping.default_revenue_ledger_account}' is not an Exact "
                "G/L account.",
            )

    vat_code: str | None
    if line.tax_rate_id:
        vat_code = line.tax_rate_id  # a TaxRate id of this connection is the Exact VAT code itself
    elif line.tax_code is not None:
        vat_code = mapping.vendor_tax_code(code=line.tax_code)
        if vat_code is None:
            raise MappingMissing("tax_rates", f"{where}: no tax rate mapping for tax code '{line.tax_code}'.")
    elif line.tax_rate is not None:
        vat_code = mapping.vendor_tax_code(rate=line.tax_rate)
        if vat_code is None:
            raise MappingMissing("tax_rates", f"{where}: no tax rate mapping for {line.tax_rate} %.")
    else:
        vat_code = None
        warnings.append(
            Warning(
                W_TAX_DEFAULTED,
                f"{where}.tax_rate_id",
                "The line names no tax rate; Exact applies the item's (or customer's) default VAT code.",
            )
        )

    body: dict[str, Any] = {"Item": item, "Quantity": _flip(line.quantity, sign)}
    if line.description is not None:
        body["Description"] = line.description
    if line.unit_price is not None:
        body["UnitPrice"] = line.unit_price
    else:
        warnings.append(
            Warning(
                W_PRICE_DEFAULTED,
                f"{where}.unit_price",
                "The line names no unit price; Exact uses the item's standard sales price.",
            )
        )
    if ledger_account:
        body["GLAccount"] = ledger_account
    if vat_code is not None:
        body["VATCode"] = vat_code.strip()
    return body


# The line properties a POST may name and Exact then stores as sent. A line naming anything else (Discount,
# NetPrice, AmountFC, ...) or leaving one of them out lets Exact fill something in, which only a read shows.
_PREDICTABLE_LINE = frozenset({"ID", "Item", "Description", "Quantity", "UnitPrice", "GLAccount", "VATCode"})
_HALF_CENT = Decimal("0.005")


def _unambiguous_cents(amount: Decimal) -> Decimal | None:
    """`amount` in cents, or None where rounding rules differ (exactly half a cent past a cent)."""
    if (abs(amount) % CENT) == _HALF_CENT:
        return None  # Exact's rule for a tie is not documented (NOTES.md: Writes)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_percentages(mapping: LedgerMapping) -> dict[str, Decimal]:
    """Exact VAT code -> percent, from the mapping's rate rules (a code mapped from two rates has none)."""
    found: dict[str, set[Decimal]] = {}
    for rule in mapping.tax_rates:
        if rule.rate is not None:
            found.setdefault(rule.vendor_code.strip(), set()).add(rule.rate)
    return {code: rates.pop() for code, rates in found.items() if len(rates) == 1}


def predicted_invoice_lines(
    created: ExactObject, sent_lines: Sequence[ExactObject], percentages: Mapping[str, Decimal]
) -> list[dict[str, Any]] | None:
    """The SalesInvoiceLines Exact stored for a POST, from the request and the POST answer; None if unsure.

    Only for lines that leave Exact nothing to fill in: the gateway's own line ID (POST-able, NOTES.md: Writes),
    the item, description, quantity, unit price, G/L account and a VAT code whose percentage the mapping states.
    Exact computes AmountFC = quantity x unit price and VATAmountFC = AmountFC x percentage per line, in cents;
    a value exactly half a cent past a cent is left to a read. The sums must equal the header totals of
    Exact's own answer (AmountFCExclVat, VATAmountFC), which catches a mapping whose rate is not the code's.
    """
    lines: list[dict[str, Any]] = []
    amounts: list[tuple[Decimal, Decimal]] = []
    for number, sent in enumerate(sent_lines, start=1):
        if set(sent) != _PREDICTABLE_LINE or any(sent[name] is None for name in _PREDICTABLE_LINE):
            return None
        percentage = percentages.get(str(sent["VATCode"]).strip())
        if percentage is None:
            return None
        quantity, unit_price = Decimal(str(sent["Quantity"])), Decimal(str(sent["UnitPrice"]))
        amount = _unambiguous_cents(quantity * unit_price)
        vat = _unambiguous_cents(amount * percentage / 100) if amount is not None else None
        if amount is None or vat is None:
            return None
        amounts.append((amount, vat))
        # Numbers as a read answers them: Exact stores doubles (NOTES.md: Entities).
        lines.append(
            {
                **sent,
                "LineNumber": number,
                "Quantity": float(quantity),
                "UnitPrice": float(unit_price),
                "AmountFC": float(amount),
                "VATAmountFC": float(vat),
            }
        )
    net_total, vat_total = to_money(created.get("AmountFCExclVat")), to_money(created.get("VATAmountFC"))
    if net_total != sum((net for net, _ in amounts), Decimal(0)):
        return None
    if vat_total != sum((vat for _, vat in amounts), Decimal(0)):
        return None
    return lines


# ---------------------------------------------------------------------------------------------- ledger


def ledger_account_from_exact(gl_account: ExactObject) -> LedgerAccount:
    """financial/GLAccounts -> LedgerAccount."""
    gl_type = _int(gl_account, "Type")
    classification = _GL_TYPES.get(gl_type) if gl_type is not None else None
    if classification is None:
        # Types such as 24 (VAT), 90 (general) or year-end accounts sit on either side: use the balance.
        balance_type = clean_text(gl_account.get("BalanceType"))
        side = clean_text(gl_account.get("BalanceSide"))
        by_balance = {
            ("B", "D"): LedgerClassification.ASSET,
            ("B", "C"): LedgerClassification.LIABILITY,
            ("W", "D"): LedgerClassification.EXPENSE,
            ("W", "C"): LedgerClassification.REVENUE,
        }
        classification = by_balance.get((balance_type or "", side or ""))
        if classification is None:
            raise UnexpectedExactValue("BalanceType/BalanceSide", (balance_type, side), "B or W with D or C")
    return LedgerAccount(
        **_base(gl_account),
        code=strip_code(gl_account.get("Code")) or "",
        name=clean_text(gl_account.get("Description")) or "",
        classification=classification,
        status=RecordStatus.ARCHIVED if gl_account.get("IsBlocked") else RecordStatus.ACTIVE,
    )


def tax_rate_from_exact(vat_code: ExactObject) -> TaxRate:
    """vat/VATCodes -> TaxRate (id = the VAT code, remote_id = its GUID)."""
    code = strip_code(vat_code.get("Code"))
    if code is None:
        raise UnexpectedExactValue("Code", vat_code.get("Code"), "a VAT code")
    type_code = clean_text(vat_code.get("Type"))
    if type_code not in TAX_TYPES:
        raise UnexpectedExactValue("Type", vat_code.get("Type"), "B, E, I or N")
    usage = clean_text(vat_code.get("VATTransactionType"))
    if usage not in TAX_USAGES:
        raise UnexpectedExactValue("VATTransactionType", vat_code.get("VATTransactionType"), "B, P or S")
    return TaxRate(
        **_base(vat_code, id_value=code),
        code=code,
        name=clean_text(vat_code.get("Description")) or code,
        rate=percent_from_fraction(vat_code.get("Percentage")) or Decimal(0),
        type=TAX_TYPES[type_code],
        usage=TAX_USAGES[usage],
    )


def journal_from_exact(journal: ExactObject) -> Journal:
    """financial/Journals -> Journal."""
    journal_type = _int(journal, "Type")
    if journal_type not in JOURNAL_TYPES:
        raise UnexpectedExactValue("Type", journal.get("Type"), "10, 12, 16, 20, 21, 22, 23 or 90")
    code = strip_code(journal.get("Code"))
    if code is None:
        raise UnexpectedExactValue("Code", journal.get("Code"), "a journal code")
    return Journal(
        **_base(journal),
        code=code,
        name=clean_text(journal.get("Description")) or code,
        type=JOURNAL_TYPES[journal_type],
        currency=clean_text(journal.get("Currency")),
        status=RecordStatus.ARCHIVED if journal.get("IsBlocked") else RecordStatus.ACTIVE,
    )


def item_from_exact(item: ExactObject, *, currency: str | None = None, today: date | None = None) -> Item:
    """logistics/Items -> Item. StandardSalesPrice is in the division's currency: pass it as `currency`."""
    code = strip_code(item.get("Code"))
    if code is None:
        raise UnexpectedExactValue("Code", item.get("Code"), "an item code")
    return Item(
        **_base(item),
        code=code,
        name=clean_text(item.get("Description")) or code,
        description=clean_text(item.get("ExtraDescription")),
        unit_price=to_decimal(item.get("StandardSalesPrice"), "StandardSalesPrice"),
        currency=currency,
        sales_tax_rate_id=strip_code(item.get("SalesVatCode")),
        revenue_ledger_account_id=clean_text(item.get("GLRevenue")),
        is_sales_item=bool(item.get("IsSalesItem")),
        # "Together with StartDate this determines if the item is active" (EndDate, reference).
        status=RecordStatus.ARCHIVED if _ended(item, _today(today)) else RecordStatus.ACTIVE,
    )


# Exact's column widths (reference: ExtraDescription is "255 instead of 60" characters of Description).
ITEM_DESCRIPTION_LENGTH = 60
ITEM_EXTRA_DESCRIPTION_LENGTH = 255


def item_to_exact(item: ItemInput) -> tuple[dict[str, Any], list[Warning]]:
    """ItemInput -> logistics/Items body for POST. Code and Description are required by Exact."""
    warnings: list[Warning] = []
    code = clean_text(item.code)
    if code is None:
        raise InvalidInput("code", "Exact requires a code on an item")
    name = clean_text(item.name)
    if name is None:
        raise InvalidInput("name", "Exact requires a description (the unified name) on an item")
    if len(name) > ITEM_DESCRIPTION_LENGTH:
        raise InvalidInput("name", f"Exact item descriptions are at most {ITEM_DESCRIPTION_LENGTH} characters")
    payload: dict[str, Any] = {"Code": code, "Description": name, "IsSalesItem": item.is_sales_item}
    description = clean_text(item.description)
    if description is not None:
        if len(description) > ITEM_EXTRA_DESCRIPTION_LENGTH:
            raise InvalidInput(
                "description", f"Exact extra descriptions are at most {ITEM_EXTRA_DESCRIPTION_LENGTH} characters"
            )
        payload["ExtraDescription"] = description
    vat_code = clean_text(item.sales_tax_rate_id)
    if vat_code is not None:
        payload["SalesVatCode"] = vat_code
    if item.revenue_ledger_account_id is not None:
        payload["GLRevenue"] = item.revenue_ledger_account_id
    if item.unit_price is not None:
        warnings.append(
            Warning(
                W_ITEM_PRICE,
                "unit_price",
                "Exact's standard sales price cannot be set through its API (StandardSalesPrice is read-only); "
                "the item was created without it. Set the price in Exact (sales price lists).",
            )
        )
    return payload, warnings


# ---------------------------------------------------------------------------------------------- company

# system/Divisions properties of the unified CompanyInfo (REF SystemDivisions). A division has no fiscal year
# property: its periods are in financial/FinancialPeriods (the caller gives the first period's StartDate).
COMPANY_FIELDS = (
    "Code",
    "Created",
    "Modified",
    "Description",
    "Country",
    "Currency",
    "VATNumber",
    "ChamberOfCommerceNumber",
)


def company_from_exact(division: ExactObject, *, fiscal_year_start: date | None = None) -> CompanyInfo:
    code = _int(division, "Code")
    return CompanyInfo(
        **_base(division, "Code", id_value=str(code)),
        name=clean_text(division.get("Description")) or f"Division {code}",
        country=_country(division.get("Country")),
        currency=clean_text(division.get("Currency")),
        vat_number=clean_text(division.get("VATNumber")),
        chamber_of_commerce_number=clean_text(division.get("ChamberOfCommerceNumber")),
        fiscal_year_start=fiscal_year_start,
    )
