"""The contract between the sandbox's HTTP platform (server, OAuth, limits) and its data layer (OData, entities)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

if TYPE_CHECKING:
    from connectors.exact.sandbox.state import App, Division, User, World


class EventSink(Protocol):
    """What the data layer tells the platform about writes, so webhooks can be delivered."""

    def emit(self, *, division: int, topic: str, action: str, key: UUID, endpoint_url: str) -> None:
        """A record of `topic` was created ("Create"), changed ("Update") or deleted ("Delete")."""

    def subscription_created(self, *, division: int, subscription: dict[str, Any]) -> None:
        """A WebhookSubscription was stored; the platform sends Exact's empty validation POST."""


@dataclass(frozen=True)
class RequestContext:
    """Everything a data endpoint needs to answer one authenticated request."""

    region: str
    # Region base without trailing slash, e.g. "http://127.0.0.1:8700/nl"; __metadata and __next URIs start here.
    base_url: str
    world: World
    app: App
    user: User
    # None for URLs without a division (current/Me).
    division: Division | None
    # Divisions this token's grant covers (system/Divisions lists exactly these).
    grant_divisions: frozenset[int]
    # The sandbox clock (movable through the control API): aware UTC datetimes.
    now: Callable[[], datetime]
    events: EventSink
