"""The connector contract: a vendor is described by a Connector subclass; tenants' installations hold state."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from connectors.base.data import (
    CallContext,
    ListQuery,
    OperationNotSupported,
    Page,
    PassthroughResult,
    Resource,
    WriteResult,
)
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser


class Operation(StrEnum):
    LIST = "list"
    RETRIEVE = "retrieve"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    base_url: str


class Connector(ABC):
    """What a vendor package declares (id, regions, capabilities) and implements (auth, data calls)."""

    id: ClassVar[str]
    name: ClassVar[str]
    # Unified resource name -> operations the vendor supports for it.
    capabilities: ClassVar[Mapping[str, frozenset[Operation]]] = {}
    # Unified resource name -> the ListQuery.filters keys the connector understands (e.g. {"contact_id"}).
    list_filters: ClassVar[Mapping[str, frozenset[str]]] = {}

    @abstractmethod
    def regions(self) -> Mapping[str, Region]:
        """Regions by code, with base URLs after settings overrides."""

    def region(self, code: str) -> Region:
        try:
            return self.regions()[code]
        except KeyError:
            raise ValueError(f"Unknown region '{code}' for {self.name}.") from None

    def supports(self, resource: str, operation: Operation) -> bool:
        return operation in self.capabilities.get(resource, frozenset())

    # --- authorisation -------------------------------------------------------------------------------------
    @abstractmethod
    def default_app(self) -> AppCredentials | None:
        """The operator's app registration from settings, used when a workspace has none of its own."""

    @abstractmethod
    def authorization_url(self, *, region: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
        """Where to send the user's browser for consent."""

    @abstractmethod
    def exchange_code(self, *, region: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorisation code for tokens."""

    @abstractmethod
    def refresh_tokens(self, *, region: str, app: AppCredentials, refresh_token: str) -> TokenSet:
        """Trade a refresh token for a new pair; raises RefreshTokenRejected, TooEarlyToRefresh, TokenResponseLost."""

    @abstractmethod
    def min_refresh_interval(self) -> int:
        """Seconds after obtaining tokens before the vendor accepts a refresh (the token manager also allows one in
        the last refresh margin of a token that lives shorter than this)."""

    @abstractmethod
    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        """Who granted access."""

    @abstractmethod
    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        """The companies (Exact: divisions) the grant covers."""

    # --- data ----------------------------------------------------------------------------------------------
    # Connectors override what `capabilities` declares; the defaults refuse with OperationNotSupported.

    def list_records(self, ctx: CallContext, resource: Resource, query: ListQuery) -> Page[Any]:
        raise OperationNotSupported(resource, Operation.LIST, self.name)

    def retrieve_record(
        self, ctx: CallContext, resource: Resource, record_id: str, *, include_remote_data: bool = False
    ) -> Any:
        raise OperationNotSupported(resource, Operation.RETRIEVE, self.name)

    def create_record(self, ctx: CallContext, resource: Resource, data: Any, *, mapping: Any) -> WriteResult[Any]:
        """`data` is a unified input record; `mapping` the connection's unified_models.mapping.LedgerMapping."""
        raise OperationNotSupported(resource, Operation.CREATE, self.name)

    def update_record(
        self, ctx: CallContext, resource: Resource, record_id: str, data: Any, *, mapping: Any
    ) -> WriteResult[Any]:
        raise OperationNotSupported(resource, Operation.UPDATE, self.name)

    def finalize_invoice(self, ctx: CallContext, invoice_id: str) -> Any:
        raise OperationNotSupported(Resource.INVOICES, "finalize", self.name)

    def find_existing(self, ctx: CallContext, resource: Resource, data: Any) -> Any | None:
        """After a write whose answer was lost: the record it may have created (e.g. by its reference), or None."""
        return None

    def check_mapping(self, ctx: CallContext, mapping: Any) -> list[tuple[str, str]]:
        """Problems with a ledger mapping in this company: (field, reason) for each reference that does not exist."""
        return []

    def passthrough(
        self, ctx: CallContext, *, method: str, path: str, query: dict[str, str], body: Any
    ) -> PassthroughResult:
        """A raw call relative to the company; refused paths raise PassthroughDenied before any call."""
        raise OperationNotSupported("passthrough", method, self.name)

    def company_get_json(self, ctx: CallContext, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """The gateway's own GET relative to the company (health checks, keep-alive), through `ctx.call`.

        Unlike passthrough no path policy applies: only gateway code calls it, never with a client's path.
        """
        raise OperationNotSupported("company", "get", self.name)
