"""Inbound vendor webhooks, vendor-neutral: what a connector's parser tells the core about a POST it received.

The core owns the route (`/inbound/<connector id>`), the lookup of the connections a delivery concerns, the
deduplication and the queueing of targeted fetches; the connector owns the wire format: how a delivery is parsed
(`Connector.inbound_parse`), how its signature is checked against an app's webhook secret
(`Connector.inbound_verify`) and how its subscriptions are kept at the vendor (`inbound_subscribe`,
`inbound_unsubscribe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from connectors.base.data import Resource


class InboundAction(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"


@dataclass(frozen=True)
class InboundEvent:
    """One record the vendor says changed; `dedupe_key` is the same for a redelivery of the same event."""

    company_id: str  # the vendor's company (Exact: the division code), as Connection.company_id holds it
    resource: Resource
    remote_id: str
    action: InboundAction
    dedupe_key: str


@dataclass(frozen=True)
class InboundDelivery:
    """A parsed, not yet verified POST.

    `handshake`: a validation request that carries nothing to process (Exact's empty POST); the core answers it
    without looking for a signature when `signed` is False. `app_client_id`: the vendor app the delivery names,
    when the format names one (Exact's ClientId); it narrows the secrets tried. `events` may be empty (a topic the
    gateway does not keep a copy of).
    """

    handshake: bool = False
    signed: bool = True
    app_client_id: str | None = None
    company_ids: frozenset[str] = frozenset()
    events: list[InboundEvent] = field(default_factory=list)


@dataclass(frozen=True)
class InboundSubscription:
    """A subscription at the vendor: the topic and the vendor's id for it."""

    topic: str
    remote_id: str


class InboundRejected(Exception):
    """The POST cannot be a delivery of this vendor: `status` 400 (malformed) or 401 (no signature)."""

    def __init__(self, message: str, *, status: int = 400, code: str = "malformed_request") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
