"""The sandbox's in-memory world: apps, users, organisations (each owns a data store) and connections."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from connectors.xero.sandbox.clock import SandboxClock

if TYPE_CHECKING:
    from connectors.xero.sandbox.store import OrganisationStore


@dataclass
class App:
    """An app in Xero's developer portal: OAuth client, and one webhook (URL + key) for all its organisations."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    webhook_key: str
    webhook_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "webhook_key": self.webhook_key,
            "webhook_url": self.webhook_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> App:
        return cls(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            name=data["name"],
            redirect_uris=list(data["redirect_uris"]),
            webhook_key=data["webhook_key"],
            webhook_url=data.get("webhook_url"),
        )


@dataclass
class User:
    """A Xero user (xero_userid); `tenant_ids` are the organisations the user may open."""

    user_id: UUID
    email: str
    given_name: str
    family_name: str
    tenant_ids: set[UUID] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "email": self.email,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "tenant_ids": sorted(str(t) for t in self.tenant_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(
            user_id=UUID(data["user_id"]),
            email=data["email"],
            given_name=data["given_name"],
            family_name=data["family_name"],
            tenant_ids={UUID(t) for t in data["tenant_ids"]},
        )


@dataclass
class Organisation:
    """A Xero organisation (a tenant); its records live in `store`, owned by the data layer."""

    tenant_id: UUID
    name: str
    tenant_type: str
    country_code: str
    base_currency: str
    store: OrganisationStore
    created: datetime

    def summary(self) -> dict[str, Any]:
        return {
            "tenant_id": str(self.tenant_id),
            "name": self.name,
            "tenant_type": self.tenant_type,
            "country_code": self.country_code,
            "base_currency": self.base_currency,
            "created": self.created.isoformat(),
        }


@dataclass
class Connection:
    """One organisation connected to one app by one user (an entry of GET /connections)."""

    id: UUID
    client_id: str
    user_id: UUID
    tenant_id: UUID
    auth_event_id: UUID
    created: datetime
    updated: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "tenant_id": str(self.tenant_id),
            "auth_event_id": str(self.auth_event_id),
            "created": self.created.isoformat(),
            "updated": self.updated.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Connection:
        return cls(
            id=UUID(data["id"]),
            client_id=data["client_id"],
            user_id=UUID(data["user_id"]),
            tenant_id=UUID(data["tenant_id"]),
            auth_event_id=UUID(data["auth_event_id"]),
            created=datetime.fromisoformat(data["created"]),
            updated=datetime.fromisoformat(data["updated"]),
        )


@dataclass
class AutoConsent:
    """Test mode: GET /identity/connect/authorize skips the consent page and connects these organisations."""

    user_id: UUID
    # None means every organisation the user may open.
    tenant_ids: frozenset[UUID] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "tenant_ids": None if self.tenant_ids is None else sorted(str(t) for t in self.tenant_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AutoConsent:
        tenants = data.get("tenant_ids")
        return cls(
            user_id=UUID(data["user_id"]),
            tenant_ids=None if tenants is None else frozenset(UUID(t) for t in tenants),
        )


class World:
    """Everything the sandbox knows; `lock` guards every mutation (the server is threaded)."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.apps: dict[str, App] = {}
        self.users: dict[UUID, User] = {}
        self.organisations: dict[UUID, Organisation] = {}
        self.connections: dict[UUID, Connection] = {}
        self.auto_consent: dict[str, AutoConsent] = {}
        self.clock: SandboxClock = clock or SandboxClock()
        self.lock = threading.RLock()

    def connection_for(self, client_id: str, user_id: UUID, tenant_id: UUID) -> Connection | None:
        with self.lock:
            return next(
                (
                    c
                    for c in self.connections.values()
                    if c.client_id == client_id and c.user_id == user_id and c.tenant_id == tenant_id
                ),
                None,
            )

    def connected_tenants(self, client_id: str) -> set[UUID]:
        """Every organisation connected to the app by any user (webhooks go to all of them)."""
        with self.lock:
            return {c.tenant_id for c in self.connections.values() if c.client_id == client_id}

    def clear(self) -> None:
        with self.lock:
            self.apps.clear()
            self.users.clear()
            self.organisations.clear()
            self.connections.clear()
            self.auto_consent.clear()
