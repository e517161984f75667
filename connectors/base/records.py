"""The common data model (DESIGN §3) as plain frozen dataclasses: records we return, inputs we accept, warnings.

Vendor-neutral and free of Django so connectors and their tests can use it directly. Conventions:

- Every record has `id` (our stable id: the vendor's id string for now), `remote_id` (the vendor's key),
  `created_at`/`updated_at` (aware datetimes) and `remote_data` (the vendor's raw object, only returned with
  `?include=remote_data`; it is left out of equality so two reads of the same data compare equal).
- Money is `Decimal` (never float) with the record's `currency` beside it; dates are `datetime.date`.
- Enums are lower-case `StrEnum`s so they serialise as the API's lower-case words.
- Collections are tuples so records stay immutable.
- Inputs use `None` for "not given": on create the vendor's default applies, on update the field is left alone.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Self

# ---------------------------------------------------------------------------------------------- enums


class RecordStatus(StrEnum):
    """Whether a master record (contact, ledger account, journal, item) may still be used."""

    ACTIVE = "active"
    ARCHIVED = "archived"


ContactStatus = RecordStatus


class AddressType(StrEnum):
    MAIN = "main"
    BILLING = "billing"
    SHIPPING = "shipping"


class InvoiceType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    VOID = "void"


class LedgerClassification(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    REVENUE = "revenue"
    EXPENSE = "expense"


class TaxType(StrEnum):
    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"
    NONE = "none"


class TaxUsage(StrEnum):
    SALES = "sales"
    PURCHASE = "purchase"
    BOTH = "both"


class JournalType(StrEnum):
    SALES = "sales"
    PURCHASE = "purchase"
    BANK = "bank"
    CASH = "cash"
    GENERAL = "general"


class PaymentStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


# ---------------------------------------------------------------------------------------------- shared


@dataclass(frozen=True)
class Warning:  # the API's name for it (shadows the builtin only where imported by name)
    """Something the vendor could not store or changed, reported in the write response (never silent loss)."""

    code: str  # stable machine code, e.g. "exact_stores_one_address"
    field: str  # the input field it concerns, e.g. "addresses[1]" or "lines[0].tax_rate_id"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "field": self.field, "message": self.message}


class InvalidInput(ValueError):
    """Input refused before anything is sent, naming its `field` and a stable `code` (the one such error class).

    Both kinds are answered 422 (the body was read; its content is refused). `problem` names the kind:
    `invalid_input` (the default): input that cannot become a vendor write whatever the mapping says;
    `validation_error`: a body the gateway's own decoding or services refuse (as the input serializers do).
    """

    def __init__(self, field: str, message: str, *, code: str = "invalid", problem: str = "invalid_input") -> None:
        self.field = field
        self.message = message
        self.code = code
        self.problem = problem
        super().__init__(f"{field}: {message}")


def _require_aware(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise ValueError(f"{type(owner).__name__}.{name} must be an aware datetime, got {value!r}")


def _require_decimal(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        # Money and quantities are Decimal only: float would bring binary rounding into the books.
        if value is not None and not isinstance(value, Decimal):
            raise TypeError(f"{type(owner).__name__}.{name} must be a Decimal, got {type(value).__name__}")


def _require_date(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise TypeError(f"{type(owner).__name__}.{name} must be a date, got {value!r}")


def _require_country(value: str | None) -> None:
    if value is not None and not (len(value) == 2 and value.isascii() and value.isalpha() and value.isupper()):
        raise ValueError(f"country must be an ISO 3166-1 alpha-2 code in capitals, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Record:
    """What every unified record carries."""

    id: str
    remote_id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    remote_data: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        _require_aware(self, "created_at", "updated_at")

    def without_remote_data(self) -> Self:
        """The record as returned without `?include=remote_data`: the same values, already checked when the record
        was made, in a shallow copy without remote_data (dataclasses.replace would build and check it again, for
        every record of a page)."""
        if self.remote_data is None:
            return self
        record = copy.copy(self)
        object.__setattr__(record, "remote_data", None)  # the frozen dataclass's own way to set a field
        return record


# ---------------------------------------------------------------------------------------------- contacts


@dataclass(frozen=True, kw_only=True)
class Address:
    type: AddressType = AddressType.MAIN
    line1: str | None = None
    line2: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2

    def __post_init__(self) -> None:
        _require_country(self.country)


@dataclass(frozen=True, kw_only=True)
class Contact(Record):
    name: str
    code: str | None = None
    is_customer: bool = False
    is_supplier: bool = False
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    vat_number: str | None = None
    chamber_of_commerce_number: str | None = None
    addresses: tuple[Address, ...] = ()
    currency: str | None = None
    status: RecordStatus = RecordStatus.ACTIVE


@dataclass(frozen=True, kw_only=True)
class ContactInput:
    """A contact to create or the fields of one to update; None means "not given"."""

    name: str | None = None
    code: str | None = None
    is_customer: bool | None = None
    is_supplier: bool | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    vat_number: str | None = None
    chamber_of_commerce_number: str | None = None
    addresses: tuple[Address, ...] | None = None  # () clears the stored address
    currency: str | None = None
    status: RecordStatus | None = None


# ---------------------------------------------------------------------------------------------- invoices


@dataclass(frozen=True, kw_only=True)
class TaxedLine:
    """What every booked line of an invoice, bill or order carries: text, the amount excluding tax, the tax."""

    id: str | None = None
    description: str | None = None
    tax_rate_id: str | None = None
    net_amount: Decimal = Decimal("0.00")
    tax_amount: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        _require_decimal(self, "net_amount", "tax_amount")


@dataclass(frozen=True, kw_only=True)
class ItemLine(TaxedLine):
    """A line selling a quantity of an item at a unit price (sales invoices and sales orders)."""

    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    item_id: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "quantity", "unit_price")


@dataclass(frozen=True, kw_only=True)
class InvoiceLine(ItemLine):
    ledger_account_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Invoice(Record):
    """A sales invoice or credit note. Credit notes carry positive amounts: `type` says which way money goes."""

    number: str | None = None
    type: InvoiceType = InvoiceType.INVOICE
    status: InvoiceStatus = InvoiceStatus.OPEN
    # Processed (booked) by the vendor (Exact: Status 50 after PrintedSalesInvoices); None when the vendor doesn't say.
    finalized: bool | None = None
    contact_id: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    reference: str | None = None
    description: str | None = None
    journal_code: str | None = None
    # A credit note's link to the invoice it corrects, where the vendor keeps one (Xero: its allocations).
    corrects_invoice_id: str | None = None
    lines: tuple[InvoiceLine, ...] = ()
    net_total: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "net_total", "tax_total", "total")
        _require_date(self, "issue_date", "due_date")


@dataclass(frozen=True, kw_only=True)
class InvoiceLineInput:
    """One line to write. Tax: `tax_rate_id` names a TaxRate of the connection directly; otherwise `tax_code`
    (a unified code such as "standard") or `tax_rate` (a percent such as 21) is translated by the mapping."""

    description: str | None = None
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    item_id: str | None = None  # an Item id of this connection
    item_code: str | None = None  # a unified item code, translated by the mapping's items_by_code
    ledger_account_id: str | None = None
    tax_rate_id: str | None = None
    tax_code: str | None = None
    tax_rate: Decimal | None = None  # percent

    def __post_init__(self) -> None:
        _require_decimal(self, "quantity", "unit_price", "tax_rate")


@dataclass(frozen=True, kw_only=True)
class InvoiceInput:
    """A sales invoice or credit note to create (amounts positive; `type` says which)."""

    contact_id: str
    lines: tuple[InvoiceLineInput, ...]
    type: InvoiceType = InvoiceType.INVOICE
    status: InvoiceStatus | None = None
    number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    reference: str | None = None
    description: str | None = None
    journal_code: str | None = None
    # For a credit note: the id of the invoice it corrects (a connector without such a link refuses it).
    corrects_invoice_id: str | None = None

    def __post_init__(self) -> None:
        _require_date(self, "issue_date", "due_date")
        _require_credit_note_link(self)


@dataclass(frozen=True, kw_only=True)
class InvoiceUpdate:
    """Fields of an existing invoice to change; None means "leave it". Vendors restrict what can change after
    creation (Exact: the customer, journal, type and lines are fixed once created); a connector refuses a
    given field it cannot change instead of ignoring it."""

    reference: str | None = None
    description: str | None = None
    due_date: date | None = None
    contact_id: str | None = None
    journal_code: str | None = None
    type: InvoiceType | None = None
    currency: str | None = None
    number: str | None = None
    issue_date: date | None = None
    status: InvoiceStatus | None = None
    lines: tuple[InvoiceLineInput, ...] | None = None

    def __post_init__(self) -> None:
        _require_date(self, "issue_date", "due_date")


# ---------------------------------------------------------------------------------------------- purchase invoices


@dataclass(frozen=True, kw_only=True)
class PurchaseInvoiceLine(TaxedLine):
    """One booked line of a supplier's invoice: an amount on a G/L account with its VAT."""

    quantity: Decimal | None = None
    ledger_account_id: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "quantity")


@dataclass(frozen=True, kw_only=True)
class PurchaseInvoice(Record):
    """A supplier's invoice (bill) or credit note as booked. Credit notes carry positive amounts, like sales ones.

    `number` is the supplier's invoice number; `booking_number` the number the vendor gave the booking.
    `status` is the payment state (`open`, `partially_paid`, `paid`), `finalized` whether the vendor processed it.
    """

    number: str | None = None
    booking_number: str | None = None
    type: InvoiceType = InvoiceType.INVOICE
    status: InvoiceStatus = InvoiceStatus.OPEN
    finalized: bool | None = None
    contact_id: str | None = None  # the supplier
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    description: str | None = None
    journal_code: str | None = None
    corrects_invoice_id: str | None = None  # as on Invoice
    lines: tuple[PurchaseInvoiceLine, ...] = ()
    net_total: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "net_total", "tax_total", "total")
        _require_date(self, "issue_date", "due_date")


@dataclass(frozen=True, kw_only=True)
class PurchaseInvoiceLineInput:
    """One line to book: `net_amount` (excluding tax) on the G/L account `ledger_account_id`; `tax_rate_id` names a
    TaxRate of the connection (else the vendor's default for the account), `tax_amount` overrides the computed tax."""

    ledger_account_id: str
    net_amount: Decimal
    description: str | None = None
    quantity: Decimal | None = None
    tax_rate_id: str | None = None
    tax_amount: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimal(self, "net_amount", "quantity", "tax_amount")


@dataclass(frozen=True, kw_only=True)
class PurchaseInvoiceInput:
    """A supplier's invoice or credit note to book (positive amounts; `type` says which)."""

    contact_id: str
    lines: tuple[PurchaseInvoiceLineInput, ...]
    type: InvoiceType = InvoiceType.INVOICE
    number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    description: str | None = None
    journal_code: str | None = None
    corrects_invoice_id: str | None = None  # as on InvoiceInput

    def __post_init__(self) -> None:
        _require_date(self, "issue_date", "due_date")
        _require_credit_note_link(self)


def _require_credit_note_link(owner: InvoiceInput | PurchaseInvoiceInput) -> None:
    if owner.corrects_invoice_id is not None and owner.type is not InvoiceType.CREDIT_NOTE:
        raise InvalidInput("corrects_invoice_id", "Only a credit note (type credit_note) corrects an invoice.")


# ---------------------------------------------------------------------------------------------- sales orders


class OrderStatus(StrEnum):
    """How far an order (or its delivery, or its invoicing) has come."""

    OPEN = "open"
    PARTIAL = "partial"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


@dataclass(frozen=True, kw_only=True)
class SalesOrderLine(ItemLine):
    """One ordered item: the same shape as an invoice line, without a ledger account (booked when invoiced)."""


@dataclass(frozen=True, kw_only=True)
class SalesOrder(Record):
    """A customer's order: items to deliver and invoice later."""

    number: str | None = None
    status: OrderStatus = OrderStatus.OPEN
    delivery_status: OrderStatus = OrderStatus.OPEN
    invoice_status: OrderStatus = OrderStatus.OPEN
    contact_id: str | None = None  # the customer who ordered
    order_date: date | None = None
    delivery_date: date | None = None
    currency: str | None = None
    reference: str | None = None
    description: str | None = None
    lines: tuple[SalesOrderLine, ...] = ()
    net_total: Decimal = Decimal("0.00")
    tax_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "net_total", "tax_total", "total")
        _require_date(self, "order_date", "delivery_date")


@dataclass(frozen=True, kw_only=True)
class SalesOrderLineInput:
    """One item to order: `item_id` (an Item id of the connection) is required; price, VAT code and text default to
    the item's at the vendor when not given."""

    item_id: str
    quantity: Decimal = Decimal(1)
    unit_price: Decimal | None = None
    description: str | None = None
    tax_rate_id: str | None = None

    def __post_init__(self) -> None:
        _require_decimal(self, "quantity", "unit_price")


@dataclass(frozen=True, kw_only=True)
class SalesOrderInput:
    """A sales order to create for the customer `contact_id`."""

    contact_id: str
    lines: tuple[SalesOrderLineInput, ...]
    order_date: date | None = None
    delivery_date: date | None = None
    currency: str | None = None
    reference: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        _require_date(self, "order_date", "delivery_date")


# ---------------------------------------------------------------------------------------------- projects


class ProjectType(StrEnum):
    """How a project is billed (Exact's project types)."""

    CAMPAIGN = "campaign"
    FIXED_PRICE = "fixed_price"
    TIME_AND_MATERIAL = "time_and_material"
    NON_BILLABLE = "non_billable"
    PREPAID = "prepaid"


class TimeEntryStatus(StrEnum):
    """Where an hour entry stands in its approval."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    PROCESSING = "processing"
    FAILED = "failed"  # failed on approval, or while undoing one
    FINAL = "final"  # approved: it may be invoiced


@dataclass(frozen=True, kw_only=True)
class Project(Record):
    """A piece of work that hours and costs are booked on, usually for one customer."""

    code: str | None = None
    name: str | None = None
    type: ProjectType | None = None
    contact_id: str | None = None  # the customer
    manager_id: str | None = None  # the responsible employee (the vendor's employee id)
    start_date: date | None = None
    end_date: date | None = None
    budgeted_hours: Decimal | None = None
    notes: str | None = None
    entries_blocked: bool = False  # no new time or cost entries may be booked on it

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "budgeted_hours")
        _require_date(self, "start_date", "end_date")


@dataclass(frozen=True, kw_only=True)
class ProjectInput:
    """A project to create: `code`, `name` and `type` are required; `contact_id` is the customer."""

    code: str
    name: str
    type: ProjectType
    contact_id: str | None = None
    manager_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    budgeted_hours: Decimal | None = None
    notes: str | None = None

    def __post_init__(self) -> None:
        _require_decimal(self, "budgeted_hours")
        _require_date(self, "start_date", "end_date")


@dataclass(frozen=True, kw_only=True)
class TimeEntry(Record):
    """Hours an employee worked on a project, priced by the item (the hour type) they are booked with."""

    project_id: str | None = None
    contact_id: str | None = None  # the project's customer
    employee_id: str | None = None
    item_id: str | None = None  # the hour type (an item id)
    date: date | None = None
    hours: Decimal = Decimal(0)
    description: str | None = None
    status: TimeEntryStatus = TimeEntryStatus.DRAFT
    currency: str | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None  # hours x unit_price

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "hours", "unit_price", "amount")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class TimeEntryInput:
    """Hours to book on the project `project_id` with the hour type `item_id`; `employee_id` defaults to the
    vendor user's employee, `date` to today at the vendor."""

    project_id: str
    item_id: str
    hours: Decimal
    employee_id: str | None = None
    date: date | None = None
    description: str | None = None
    status: TimeEntryStatus | None = None  # draft or submitted; the vendor's default otherwise

    def __post_init__(self) -> None:
        _require_decimal(self, "hours")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class CostEntry(Record):
    """A cost booked on a project (travel, materials, …): a quantity of a cost item at a unit price."""

    project_id: str | None = None
    contact_id: str | None = None  # the project's customer
    employee_id: str | None = None
    item_id: str | None = None  # the cost type (an item id)
    date: date | None = None
    quantity: Decimal = Decimal(0)
    description: str | None = None
    status: TimeEntryStatus = TimeEntryStatus.DRAFT
    currency: str | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None  # quantity x unit_price

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "quantity", "unit_price", "amount")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class CostEntryInput:
    """A cost to book on the project `project_id` with the cost item `item_id`; `unit_price` defaults to the vendor's
    price for the item, `employee_id` to the vendor user's employee, `date` to today at the vendor."""

    project_id: str
    item_id: str
    quantity: Decimal
    unit_price: Decimal | None = None
    employee_id: str | None = None
    date: date | None = None
    description: str | None = None
    status: TimeEntryStatus | None = None  # draft or submitted; the vendor's default otherwise

    def __post_init__(self) -> None:
        _require_decimal(self, "quantity", "unit_price")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class TimeEntryUpdate:
    """Fields of booked hours to change; None means "leave it". The project, hour type and employee stay: book
    anew (and delete this entry) to move hours elsewhere."""

    hours: Decimal | None = None
    date: date | None = None
    description: str | None = None
    status: TimeEntryStatus | None = None  # draft or submitted

    def __post_init__(self) -> None:
        _require_decimal(self, "hours")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class CostEntryUpdate:
    """Fields of a booked cost to change; None means "leave it" (the project, cost item and employee stay)."""

    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    date: date | None = None
    description: str | None = None
    status: TimeEntryStatus | None = None  # draft or submitted

    def __post_init__(self) -> None:
        _require_decimal(self, "quantity", "unit_price")
        _require_date(self, "date")


# ---------------------------------------------------------------------------------------------- company


@dataclass(frozen=True, kw_only=True)
class CompanyInfo(Record):
    """The vendor company (Exact: administration) a connection books in."""

    name: str
    country: str | None = None  # ISO 3166-1 alpha-2
    currency: str | None = None  # the base currency
    vat_number: str | None = None
    chamber_of_commerce_number: str | None = None
    fiscal_year_start: date | None = None  # None: the vendor does not say

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_country(self.country)
        _require_date(self, "fiscal_year_start")


# ---------------------------------------------------------------------------------------------- journal entries


@dataclass(frozen=True, kw_only=True)
class JournalEntryLine:
    """One line of a general (memorial) journal entry: a debit or a credit (excluding tax) on a G/L account, and the
    tax the vendor booked for it on the same side (`tax_rate_id` None: no tax)."""

    id: str | None = None
    ledger_account_id: str | None = None
    contact_id: str | None = None
    description: str | None = None
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")
    tax_rate_id: str | None = None
    tax_amount: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        _require_decimal(self, "debit", "credit", "tax_amount")


@dataclass(frozen=True, kw_only=True)
class JournalEntry(Record):
    """A general journal entry: lines whose debits equal their credits, tax included (the totals include it)."""

    number: str | None = None
    journal_code: str | None = None
    date: date | None = None
    currency: str | None = None
    finalized: bool | None = None
    lines: tuple[JournalEntryLine, ...] = ()
    total_debit: Decimal = Decimal("0.00")
    total_credit: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "total_debit", "total_credit")
        _require_date(self, "date")


@dataclass(frozen=True, kw_only=True)
class JournalEntryLineInput:
    """One line to book: exactly one of `debit` and `credit`, positive, excluding tax. `tax_rate_id` (a TaxRate id of
    the connection) books tax on the same side: `tax_amount` when given, else the amount at the rate's percent."""

    ledger_account_id: str
    debit: Decimal | None = None
    credit: Decimal | None = None
    description: str | None = None
    contact_id: str | None = None
    tax_rate_id: str | None = None
    tax_amount: Decimal | None = None

    def __post_init__(self) -> None:
        _require_decimal(self, "debit", "credit", "tax_amount")

    @property
    def signed_amount(self) -> Decimal:
        """Debit positive, credit negative."""
        return (self.debit or Decimal(0)) - (self.credit or Decimal(0))


@dataclass(frozen=True, kw_only=True)
class JournalEntryInput:
    """A general journal entry to book in the journal `journal_code` on `date`."""

    journal_code: str
    lines: tuple[JournalEntryLineInput, ...]
    date: date | None = None
    currency: str | None = None
    description: str | None = None

    def __post_init__(self) -> None:
        _require_date(self, "date")

    def require_balanced(self, tax_percentages: Mapping[str, Decimal] | None = None) -> list[Decimal]:
        """InvalidInput naming the field unless every line has one positive side and debits equal credits with
        the tax included; returns each line's signed tax (debit positive).

        A line's tax is its `tax_amount`, else its amount at the percent `tax_percentages` gives for its
        `tax_rate_id`, half up to the cent; a rate without a known percent needs `tax_amount`.
        """
        if len(self.lines) < 2:
            raise InvalidInput("lines", "A journal entry needs at least two lines.")
        taxes: list[Decimal] = []
        for index, line in enumerate(self.lines):
            sides = [name for name in ("debit", "credit") if getattr(line, name) is not None]
            if len(sides) != 1:
                raise InvalidInput(f"lines[{index}]", "Give exactly one of debit and credit.")
            if getattr(line, sides[0]) <= 0:
                raise InvalidInput(f"lines[{index}].{sides[0]}", "A positive amount.")
            taxes.append(_line_tax(line, index, tax_percentages or {}))
        difference = sum((line.signed_amount for line in self.lines), Decimal(0)) + sum(taxes, Decimal(0))
        if difference != 0:
            raise InvalidInput(
                "lines",
                f"Debits and credits differ by {difference:f}: a journal entry must balance.",
                code="unbalanced",
            )
        return taxes


def _line_tax(line: JournalEntryLineInput, index: int, percentages: Mapping[str, Decimal]) -> Decimal:
    """The signed tax of one journal entry line (see JournalEntryInput.require_balanced)."""
    if line.tax_rate_id is None:
        if line.tax_amount is not None:
            raise InvalidInput(f"lines[{index}].tax_amount", "Give tax_rate_id with a tax amount.")
        return Decimal(0)
    sign = 1 if line.signed_amount > 0 else -1
    if line.tax_amount is not None:
        if line.tax_amount < 0:
            raise InvalidInput(f"lines[{index}].tax_amount", "A positive amount or zero, on the line's side.")
        return line.tax_amount * sign
    percent = percentages.get(line.tax_rate_id.strip())
    if percent is None:
        raise InvalidInput(
            f"lines[{index}].tax_rate_id",
            "No percent is known for this tax rate (the ledger mapping names none): give tax_amount.",
        )
    tax = (abs(line.signed_amount) * percent / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return tax * sign


# ---------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True, kw_only=True)
class LedgerAccount(Record):
    code: str
    name: str
    classification: LedgerClassification
    status: RecordStatus = RecordStatus.ACTIVE


@dataclass(frozen=True, kw_only=True)
class TaxRate(Record):
    code: str
    name: str
    rate: Decimal  # percent: 21 means 21 %
    type: TaxType
    usage: TaxUsage

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "rate")


@dataclass(frozen=True, kw_only=True)
class Journal(Record):
    code: str
    name: str
    type: JournalType
    currency: str | None = None
    status: RecordStatus = RecordStatus.ACTIVE


@dataclass(frozen=True, kw_only=True)
class Item(Record):
    code: str
    name: str
    description: str | None = None
    unit_price: Decimal | None = None
    currency: str | None = None
    sales_tax_rate_id: str | None = None
    revenue_ledger_account_id: str | None = None
    is_sales_item: bool = True
    status: RecordStatus = RecordStatus.ACTIVE

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "unit_price")


@dataclass(frozen=True, kw_only=True)
class ItemInput:
    """An item to create; None means "not given" (the vendor's default applies)."""

    code: str | None = None
    name: str | None = None
    description: str | None = None
    unit_price: Decimal | None = None
    sales_tax_rate_id: str | None = None  # a TaxRate id (Exact: the VAT code)
    revenue_ledger_account_id: str | None = None
    is_sales_item: bool = True

    def __post_init__(self) -> None:
        _require_decimal(self, "unit_price")


@dataclass(frozen=True, kw_only=True)
class Payment(Record):
    """The payment state of one invoice's receivable (amounts signed: negative = owed to the customer)."""

    invoice_id: str | None = None
    invoice_number: str | None = None
    contact_id: str | None = None
    amount: Decimal  # the invoice amount this receivable is for
    open_amount: Decimal  # what is still to be received
    currency: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    is_fully_paid: bool = False
    last_payment_date: date | None = None
    reference: str | None = None
    status: PaymentStatus = PaymentStatus.OPEN

    def __post_init__(self) -> None:
        super().__post_init__()
        _require_decimal(self, "amount", "open_amount")
        _require_date(self, "invoice_date", "due_date", "last_payment_date")


# ---------------------------------------------------------------------------------------------- attachments


@dataclass(frozen=True, kw_only=True)
class Attachment(Record):
    """A file attached to a record (a purchase or sales invoice); its bytes are fetched separately."""

    record_id: str  # the record it belongs to (the invoice's `id`)
    file_name: str
    content_type: str
    size: int | None = None  # bytes; None when the vendor does not say


@dataclass(frozen=True, kw_only=True)
class AttachmentInput:
    """A file to attach: checked against the connector's AttachmentRules before any vendor call."""

    file_name: str
    content_type: str
    content: bytes = field(repr=False)
    # Sent before without a known outcome (a retry): a vendor that uploads in steps may hold a first step of it.
    resend: bool = False


@dataclass(frozen=True, kw_only=True)
class AttachmentContent:
    """The bytes of one attachment, for a download."""

    file_name: str
    content_type: str
    content: bytes = field(repr=False)
