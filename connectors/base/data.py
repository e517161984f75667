"""The data half of the connector contract: resources, queries, pages, write results, the call context.

The core (unified_models) hands a connector a CallContext for one connection; the connector turns unified
operations into vendor calls made through `ctx.call(send)`, which supplies a fresh access token, retries once
after a 401, and records the connection's health. Records are the vendor-neutral types of
unified_models.records; connectors map to and from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Resource(StrEnum):
    """The unified resources of API v1 (DESIGN.md §3); the value is the URL segment."""

    CONTACTS = "contacts"
    INVOICES = "invoices"
    LEDGER_ACCOUNTS = "ledger-accounts"
    TAX_RATES = "tax-rates"
    JOURNALS = "journals"
    ITEMS = "items"
    PAYMENTS = "payments"


@dataclass(frozen=True)
class CallRecord:
    """One vendor HTTP call, for the connection's call log (no bodies: they may hold personal data)."""

    method: str
    path: str
    status: int | None  # None: no answer (timeout, dropped connection)
    duration_ms: int
    rate_limit_remaining: int | None = None
    minutely_remaining: int | None = None
    error: str = ""


class CallContext(Protocol):
    """What the core gives a connector for calls on behalf of one connection."""

    region: str
    company_id: str  # Exact: the division, stored per connection, never CurrentDivision

    @property
    def app_client_id(self) -> str:
        """The vendor app the calls are made as (rate-limit budgets are per app and company)."""

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
class WriteResult(Generic[R]):
    record: R
    warnings: list[Any] = field(default_factory=list)  # unified_models.records.Warning


@dataclass(frozen=True)
class PassthroughResult:
    status: int
    body: Any
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
