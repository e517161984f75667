"""The connector contract: a vendor is described by a Connector subclass; tenants' installations hold state.

A connector declares what it is (`info`: id, display name, its word for a company, how users authorise it),
where it lives (`regions`, possibly none), what it can do (`capabilities`, `list_filters`) and how its tokens
age (`token_timing`), and implements the auth half for its kind of auth (OAuth2Connector or ApiKeyConnector)
and the data half (reads and writes through a CallContext).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import ClassVar

from connectors.base.data import (
    CallContext,
    JsonValue,
    LedgerMappingValues,
    ListQuery,
    OperationNotSupported,
    Page,
    PassthroughResult,
    Resource,
    SyncBatch,
    UnifiedInput,
    UnifiedRecord,
    WriteResult,
)
from connectors.base.inbound import InboundDelivery, InboundSubscription
from connectors.base.records import Attachment, AttachmentContent, AttachmentInput
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser


class Operation(StrEnum):
    LIST = "list"
    RETRIEVE = "retrieve"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class AuthKind(StrEnum):
    """How a tenant's user lets the gateway in: a capability the connector declares, never an assumption."""

    # OAuth 2 code grant whose refresh tokens are single use: each refresh returns a new pair, the old refresh
    # token dies, and a lost answer may have rotated the chain (Exact, Xero).
    OAUTH2_ROTATING = "oauth2_rotating"
    # OAuth 2 code grant whose refresh token stays valid across refreshes: a lost answer costs nothing.
    OAUTH2 = "oauth2"
    # The user pastes a key the vendor issued: no redirect, nothing to refresh; a refused key needs a new one.
    API_KEY = "api_key"

    @property
    def is_oauth(self) -> bool:
        return self in (AuthKind.OAUTH2_ROTATING, AuthKind.OAUTH2)


@dataclass(frozen=True)
class CompanyNoun:
    """The vendor's word for one set of books, as its users know it ("administration", "organisation")."""

    singular: str
    plural: str


@dataclass(frozen=True)
class ConnectorInfo:
    """What a vendor is, for the registry and for the pages a tenant's user sees."""

    id: str  # stored on connections and credentials; never changes
    display_name: str  # "Exact Online"
    company_noun: CompanyNoun
    auth: AuthKind


@dataclass(frozen=True)
class TokenTiming:
    """How a vendor's tokens age; the gateway's own refresh margin and cooldown come from its settings."""

    # Seconds after an issue before the vendor accepts a refresh (Exact: 570; refusing earlier ones).
    min_refresh_interval: int = 0
    # How long an unused refresh token lives (the keep-alive refreshes before it dies); None: until revoked.
    refresh_token_lifetime: timedelta | None = None
    # Seconds one token-endpoint call may take; the refresh lock must outlast two of them.
    token_call_timeout: float = 30.0


@dataclass(frozen=True)
class AttachmentRules:
    """What a vendor accepts as an attachment: the largest file (bytes, per region where it differs) and the media
    types; the API refuses anything else naming the field, before any vendor call."""

    max_bytes: int
    content_types: frozenset[str]
    max_bytes_by_region: Mapping[str, int] | None = None

    def max_bytes_for(self, region: str) -> int:
        return (self.max_bytes_by_region or {}).get(region, self.max_bytes)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    base_url: str


class Connector(ABC):
    """What a vendor package declares (info, regions, capabilities) and implements (companies, data calls)."""

    info: ClassVar[ConnectorInfo]
    # Unified resource name -> operations the vendor supports for it.
    capabilities: ClassVar[Mapping[str, frozenset[Operation]]] = {}
    # Unified resource name -> the ListQuery.filters keys the connector understands (e.g. {"contact_id"}).
    list_filters: ClassVar[Mapping[str, frozenset[str]]] = {}
    # Unified resource names whose records take attachments (upload, list, download), and the vendor's limits.
    attachment_resources: ClassVar[frozenset[str]] = frozenset()
    attachment_rules: ClassVar[AttachmentRules | None] = None

    @property
    def id(self) -> str:
        return self.info.id

    @property
    def name(self) -> str:
        """The display name ("Exact Online")."""
        return self.info.display_name

    def regions(self) -> Mapping[str, Region]:
        """Regions by code, with base URLs after settings overrides; empty for a vendor with one home (then the
        connect flow has no region step and connections store the region "")."""
        return {}

    def region(self, code: str) -> Region:
        try:
            return self.regions()[code]
        except KeyError:
            raise ValueError(f"Unknown region '{code}' for {self.name}.") from None

    def supports(self, resource: str, operation: Operation) -> bool:
        return operation in self.capabilities.get(resource, frozenset())

    def supports_attachments(self, resource: str) -> bool:
        return resource in self.attachment_resources and self.attachment_rules is not None

    def token_timing(self) -> TokenTiming:
        """How this vendor's tokens age (read when needed: settings may change them)."""
        return TokenTiming()

    # --- companies -----------------------------------------------------------------------------------------
    @abstractmethod
    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        """The companies (Exact: divisions) the grant covers; CompanyAccessDenied when the hint is not one."""

    # --- data ----------------------------------------------------------------------------------------------
    # Connectors override what `capabilities` declares; the defaults refuse with OperationNotSupported.

    def list_records(self, ctx: CallContext, resource: Resource, query: ListQuery) -> Page[UnifiedRecord]:
        raise OperationNotSupported(resource, Operation.LIST, self.name)

    def retrieve_record(
        self, ctx: CallContext, resource: Resource, record_id: str, *, include_remote_data: bool = False
    ) -> UnifiedRecord:
        raise OperationNotSupported(resource, Operation.RETRIEVE, self.name)

    def create_record(
        self, ctx: CallContext, resource: Resource, data: UnifiedInput, *, mapping: LedgerMappingValues | None
    ) -> WriteResult[UnifiedRecord]:
        """`data` is a unified input record; `mapping` the connection's ledger mapping."""
        raise OperationNotSupported(resource, Operation.CREATE, self.name)

    def update_record(
        self,
        ctx: CallContext,
        resource: Resource,
        record_id: str,
        data: UnifiedInput,
        *,
        mapping: LedgerMappingValues | None,
    ) -> WriteResult[UnifiedRecord]:
        raise OperationNotSupported(resource, Operation.UPDATE, self.name)

    def delete_record(self, ctx: CallContext, resource: Resource, record_id: str) -> str:
        """Delete one record at the vendor (declared by `Operation.DELETE` in `capabilities`) and return its `id` as
        reads give it (`record_id` may be written another way, e.g. a GUID in capitals); VendorNotFound if the
        vendor has no such record (a repeated delete included: the caller tells the two apart)."""
        raise OperationNotSupported(resource, Operation.DELETE, self.name)

    # --- attachments (declared by `attachment_resources`) -------------------------------------------------
    def attachment_create(
        self, ctx: CallContext, resource: Resource, record_id: str, data: AttachmentInput
    ) -> Attachment:
        """Attach a file (already checked against `attachment_rules`) to one record; VendorNotFound if no record."""
        raise OperationNotSupported(resource, "attachments", self.name)

    def attachment_list(self, ctx: CallContext, resource: Resource, record_id: str) -> list[Attachment]:
        raise OperationNotSupported(resource, "attachments", self.name)

    def attachment_content(
        self, ctx: CallContext, resource: Resource, record_id: str, attachment_id: str
    ) -> AttachmentContent:
        """The file; VendorNotFound when the record has no such attachment."""
        raise OperationNotSupported(resource, "attachments", self.name)

    def finalize_invoice(self, ctx: CallContext, invoice_id: str) -> WriteResult[UnifiedRecord]:
        raise OperationNotSupported(Resource.INVOICES, "finalize", self.name)

    def invoice_sales_order(
        self, ctx: CallContext, order_id: str, *, journal_code: str | None
    ) -> WriteResult[UnifiedRecord]:
        """Turn a sales order into a sales invoice for what it still has to invoice; the result is the invoice (a
        connectors.base.records.Invoice). A vendor without sales orders keeps the default (405)."""
        raise OperationNotSupported(Resource.SALES_ORDERS, "invoice", self.name)

    def sales_order_invoice(self, ctx: CallContext, order_id: str) -> UnifiedRecord | None:
        """The newest invoice made from the order (after a conversion whose answer was lost), or None."""
        return None

    def company_info(self, ctx: CallContext) -> UnifiedRecord:
        """The connection's company as a connectors.base.records.CompanyInfo (with remote_data)."""
        raise OperationNotSupported("company", "retrieve", self.name)

    def find_existing(self, ctx: CallContext, resource: Resource, data: UnifiedInput) -> UnifiedRecord | None:
        """After a write whose answer was lost: the record it may have created (e.g. by its reference), or None."""
        return None

    def check_mapping(self, ctx: CallContext, mapping: LedgerMappingValues) -> list[tuple[str, str]]:
        """Problems with a ledger mapping in this company: (field, reason) for each reference that does not exist."""
        return []

    def passthrough(
        self, ctx: CallContext, *, method: str, path: str, query: dict[str, str], body: JsonValue
    ) -> PassthroughResult:
        """A raw call relative to the company; refused paths raise PassthroughDenied before any call."""
        raise OperationNotSupported("passthrough", method, self.name)

    # --- sync (a local copy kept by the core) -------------------------------------------------------------
    # A connector that lists a resource in `sync_resources` implements the three methods below. A run is a chain
    # of batches: `sync_begin` gives the checkpoint of a full copy (backfill), `sync_next` reads one batch after a
    # checkpoint; the core commits each batch with its checkpoint before asking for the next one, until `done`.
    # The checkpoint of a finished run is where the next (incremental) run starts.
    sync_resources: ClassVar[frozenset[str]] = frozenset()

    def sync_begin(self, ctx: CallContext, resource: Resource) -> str:
        """The checkpoint a full copy starts from (it may cost a call, e.g. to note where changes start)."""
        raise OperationNotSupported(resource, "sync", self.name)

    def sync_next(self, ctx: CallContext, resource: Resource, checkpoint: str) -> SyncBatch[UnifiedRecord]:
        """The next batch after `checkpoint`; records carry remote_data. Memory is bounded by one batch."""
        raise OperationNotSupported(resource, "sync", self.name)

    def sync_fetch(self, ctx: CallContext, resource: Resource, remote_ids: list[str]) -> list[UnifiedRecord]:
        """The current records for these remote ids (a webhook named them); ids the vendor no longer has are
        absent from the answer."""
        raise OperationNotSupported(resource, "sync", self.name)

    def sync_epoch(self, ctx: CallContext) -> str:
        """A value that changes when the vendor invalidates every checkpoint of the company (Exact: a division
        move regenerates all Timestamps); the core starts a full copy when it changes. "" when never."""
        return ""

    # --- inbound webhooks (connectors/base/inbound.py) -------------------------------------------------------
    # A connector whose vendor pushes changes lists the topics it subscribes to; the core calls `inbound_subscribe`
    # at connect time and on its check schedule (it must be idempotent: existing subscriptions are kept, missing
    # ones created), `inbound_unsubscribe` at disconnect, and `inbound_parse` + `inbound_verify` for every POST to
    # `/inbound/<id>`. A connector whose subscriptions live outside the API (an app portal) keeps `inbound_topics`
    # empty and implements only the last two.
    inbound_topics: ClassVar[frozenset[str]] = frozenset()

    def inbound_subscribe(self, ctx: CallContext, callback_url: str) -> list[InboundSubscription]:
        """Make sure the company has a subscription per topic to `callback_url`; returns them all."""
        return []

    def inbound_unsubscribe(self, ctx: CallContext, remote_ids: list[str]) -> None:
        """Remove these subscriptions (ones the vendor no longer has are not an error)."""
        return None

    def inbound_parse(self, body: bytes, headers: Mapping[str, str]) -> InboundDelivery:
        """The delivery a POST carries, before any trust: raises InboundRejected when it cannot be one."""
        raise OperationNotSupported("inbound", "webhooks", self.name)

    def inbound_verify(self, body: bytes, headers: Mapping[str, str], secret: str) -> bool:
        """Whether the POST is signed with this webhook secret (a constant-time comparison)."""
        return False

    def company_get_json(self, ctx: CallContext, path: str, *, params: Mapping[str, str] | None = None) -> JsonValue:
        """The gateway's own GET relative to the company (health checks, keep-alive), through `ctx.call`.

        Unlike passthrough no path policy applies: only gateway code calls it, never with a client's path.
        """
        raise OperationNotSupported("company", "get", self.name)


class OAuth2Connector(Connector):
    """A vendor users authorise through the OAuth 2 code grant (info.auth is OAUTH2_ROTATING or OAUTH2)."""

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
        """Trade a refresh token for a new pair; raises RefreshTokenRejected, TooEarlyToRefresh, TokenResponseLost.

        A vendor with non-rotating refresh tokens returns the same refresh token when its answer omits one.
        """

    @abstractmethod
    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        """Who granted access."""


class ApiKeyConnector(Connector):
    """A vendor whose users paste an API key (info.auth is API_KEY); the key is the access token and never ages."""

    @abstractmethod
    def check_api_key(self, *, region: str, api_key: str) -> VendorUser:
        """The account the key belongs to; VendorAuthError when the vendor refuses the key."""
