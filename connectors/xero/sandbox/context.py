"""The contract between the sandbox's HTTP platform (server, OAuth, limits) and its Accounting API data layer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from connectors.xero.sandbox.counters import Counters
    from connectors.xero.sandbox.state import App, Organisation, User


class EventSink(Protocol):
    """What the data layer tells the platform about writes, so webhooks can be delivered."""

    def emit(
        self,
        *,
        tenant_id: str,
        tenant_type: str,
        category: str,
        event_type: str,
        resource_id: str,
        resource_url: str,
        when: datetime,
    ) -> None:
        """A CONTACT, INVOICE or CREDITNOTE was created or updated in the organisation."""


@dataclass(frozen=True)
class RequestContext:
    """Everything an Accounting API endpoint needs to answer one authenticated, tenant-checked request."""

    # Stand-in for https://api.xero.com (no trailing slash); resourceUrl in webhook events starts here.
    api_base_url: str
    app: App
    user: User
    organisation: Organisation
    scopes: frozenset[str]
    now: Callable[[], datetime]
    events: EventSink
    counters: Counters
    # Xero-Correlation-Id of this response, also the envelope's `Id`.
    correlation_id: str
    # How long an Idempotency-Key's first answer is replayed.
    idempotency_ttl_seconds: float
