"""The data half of the connector contract: resources, queries, pages, write results, the call context.

The core (unified_models) hands a connector a CallContext for one connection; the connector turns unified
operations into vendor calls made through `ctx.call(send)`, which supplies a fresh access token, retries once
after a 401, and records the connection's health. Records are the vendor-neutral types of
connectors.base.records; connectors map to and from them.

TODO(issue 12, second half): the record, input and mapping types now live in connectors.base.records and
connectors.base.mapping; the connector contract still names them through the protocols below until it is typed with
them directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, Self, TypeAlias, TypeVar

from connectors.base.ratelimit import DAILY, MINUTELY, Observation

T = TypeVar("T")
R = TypeVar("R")

# A parsed JSON document, as vendors send and passthrough clients give them.
JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"


class UnifiedRecord(Protocol):
    """A unified record (connectors.base.records: Contact, Invoice, …) as the contract sees it."""

    @property
    def id(self) -> str: ...

    def without_remote_data(self) -> Self: ...


class UnifiedInput(Protocol):
    """A unified input record (connectors.base.records: ContactInput, InvoiceInput, InvoiceUpdate, ItemInput)."""


class LedgerMappingValues(Protocol):
    """A connection's ledger mapping (connectors.base.mapping.LedgerMapping) as the contract sees it."""

    def to_dict(self) -> dict[str, object]: ...


class VendorWarning(Protocol):
    """Something the vendor could not store or changed (connectors.base.records.Warning)."""

    @property
    def code(self) -> str: ...

    @property
    def field(self) -> str: ...

    @property
    def message(self) -> str: ...


class Resource(StrEnum):
    """The unified resources of API v1 (DESIGN.md §3); the value is the URL segment."""

    CONTACTS = "contacts"
    INVOICES = "invoices"
    LEDGER_ACCOUNTS = "ledger-accounts"
    TAX_RATES = "tax-rates"
    JOURNALS = "journals"
    ITEMS = "items"
    PAYMENTS = "payments"
    PURCHASE_INVOICES = "purchase-invoices"
    JOURNAL_ENTRIES = "journal-entries"
    SALES_ORDERS = "sales-orders"
    PROJECTS = "projects"
    TIME_ENTRIES = "time-entries"
    COST_ENTRIES = "cost-entries"
    # The connection's company (connectors.base.records.CompanyInfo): one record, read by Connector.company_info and
    # kept in the store like the others; no list or retrieve routes of its own (GET /connections/{id}/company).
    COMPANY = "company"


@dataclass(frozen=True)
class CallRecord:
    """One vendor HTTP call, for the connection's call log (no bodies: they may hold personal data, no tokens)."""

    method: str
    path: str  # relative to the company (or to the API root without one), without the query string
    status: int | None  # None: no answer (timeout, dropped connection)
    duration_ms: int
    company_id: str | None = None  # whose rate-limit budget the call spent
    rate_limits: tuple[Observation, ...] = ()  # the windows the response reported
    error: str = ""

    def window(self, name: str) -> Observation | None:
        return next((observation for observation in self.rate_limits if observation.window == name), None)

    @property
    def minutely_remaining(self) -> int | None:
        minutely = self.window(MINUTELY)
        return minutely.remaining if minutely is not None else None

    @property
    def daily_remaining(self) -> int | None:
        daily = self.window(DAILY)
        return daily.remaining if daily is not None else None


class CallContext(Protocol):
    """What the core gives a connector for calls on behalf of one connection."""

    region: str
    company_id: str  # Exact: the division, stored per connection, never CurrentDivision

    @property
    def app_client_id(self) -> str:
        """The vendor app the calls are made as (rate-limit budgets are per app and company)."""

    @property
    def write_key(self) -> str:
        """A key of the write being made, the same on its every attempt and in its dry run with the same
        Idempotency-Key ("" outside a write): ids a connector assigns itself are derived from it, so a dry run
        shows the bytes the write then sends."""

    def call(self, send: Callable[[str], T]) -> T:
        """Run `send(access_token)` with a fresh token; one refresh and retry after a 401; records the outcome."""

    def record_call(self, record: CallRecord) -> None:
        """Add a vendor call to the connection's call log."""

    def record_created(self, remote_id: str) -> None:
        """The vendor answered a create with this id. Call it at once, before any further call: the core stores
        the id with the write, so a failure after this point is reconciled by that id and never sent again."""


@dataclass(frozen=True)
class ListQuery:
    page_size: int
    cursor: str | None = None  # opaque, produced by the connector's previous Page
    updated_after: datetime | None = None
    include_remote_data: bool = False
    # Resource-specific exact-match filters the connector declared it supports (e.g. {"contact_id": "..."}).
    filters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Page(Generic[R]):
    records: list[R]
    next_cursor: str | None


@dataclass(frozen=True)
class SyncBatch(Generic[R]):
    """One step of a sync run (connectors/base/connector.py: Connector.sync_next).

    The core stores `records` and applies `deleted` in one transaction together with `checkpoint`, so a run that
    dies resumes at the last committed batch and never skips rows (a batch may be read again: storing is an
    upsert). `checkpoint` is opaque to the core; only the connector that produced it reads it.
    """

    records: list[R]  # new or changed records, with remote_data
    deleted: list[str]  # remote ids the vendor reports as deleted
    checkpoint: str  # where the next batch starts once this one is committed
    done: bool  # nothing more to read now: `checkpoint` is where the next incremental run starts
    # `records` is the complete set of the resource (a vendor set without a change feed): the core treats every
    # stored record missing from it as deleted.
    replaces_all: bool = False
    # A run-time fact the core shows in the sync status (e.g. "backfill", "changes").
    phase: str = ""
    # The vendor's version of each record by id (Exact: the sync Timestamp), where the vendor gives one.
    versions: dict[str, int] = field(default_factory=dict)
    # How many records the whole copy will hold, when the vendor says so (progress and time left of a backfill).
    total: int | None = None


@dataclass(frozen=True)
class WriteResult(Generic[R]):
    record: R
    warnings: list[VendorWarning] = field(default_factory=list)


@dataclass(frozen=True)
class PassthroughResult:
    status: int
    body: JsonValue  # the parsed JSON, or the text of a body that is not JSON
    headers: dict[str, str] = field(default_factory=dict)


class OperationNotSupported(Exception):
    """The vendor (or this connector) cannot do this operation on this resource."""

    def __init__(self, resource: str, operation: str, vendor: str) -> None:
        super().__init__(f"{vendor} does not support {operation} on {resource}.")
        self.resource = resource
        self.operation = operation
        self.vendor = vendor


class PassthroughDenied(Exception):
    """A passthrough path the gateway refuses (it would escape the connection's company or its safety rules)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
