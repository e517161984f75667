"""The connector contract: a vendor is described by a Connector subclass; tenants' installations hold state."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

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
        """Seconds after obtaining tokens before the vendor accepts a refresh."""

    @abstractmethod
    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        """Who granted access."""

    @abstractmethod
    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        """The companies (Exact: divisions) the grant covers."""
