"""The sandbox's in-memory world: registered apps, users and divisions (each division owns a data store)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from connectors.exact.sandbox.clock import SandboxClock

if TYPE_CHECKING:
    from connectors.exact.sandbox.store import DivisionStore

# Exact runs one host per country; the sandbox serves each under a path prefix (NOTES.md: OAuth and tokens).
REGIONS: tuple[str, ...] = ("nl", "be", "de", "uk", "us", "es", "fr")


@dataclass
class App:
    """An app registration in the Exact App Center: OAuth client plus webhook secret."""

    client_id: str
    client_secret: str
    name: str
    redirect_uris: list[str]
    webhook_secret: str

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "name": self.name,
            "redirect_uris": list(self.redirect_uris),
            "webhook_secret": self.webhook_secret,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> App:
        return cls(
            client_id=data["client_id"],
            client_secret=data["client_secret"],
            name=data["name"],
            redirect_uris=list(data["redirect_uris"]),
            webhook_secret=data["webhook_secret"],
        )


@dataclass
class User:
    """An Exact user; `current_division` follows UI switching and may point outside any grant (picqer#470)."""

    user_id: UUID
    username: str
    full_name: str
    email: str
    language: str
    region: str
    current_division: int
    division_codes: set[int] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "username": self.username,
            "full_name": self.full_name,
            "email": self.email,
            "language": self.language,
            "region": self.region,
            "current_division": self.current_division,
            "division_codes": sorted(self.division_codes),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> User:
        return cls(
            user_id=UUID(data["user_id"]),
            username=data["username"],
            full_name=data["full_name"],
            email=data["email"],
            language=data["language"],
            region=data["region"],
            current_division=int(data["current_division"]),
            division_codes={int(code) for code in data["division_codes"]},
        )


@dataclass
class Division:
    """An Exact administration ("company"); its records live in `store`, owned by the data layer."""

    code: int
    name: str
    region: str
    currency: str
    country: str
    store: DivisionStore
    created: datetime

    def summary(self) -> dict[str, Any]:
        """The registration fields without the records (the control API's answer)."""
        return {
            "code": self.code,
            "name": self.name,
            "region": self.region,
            "currency": self.currency,
            "country": self.country,
            "created": self.created.isoformat(),
        }


@dataclass
class AutoConsent:
    """Test mode: GET /api/oauth2/auth skips the consent page and grants these divisions as this user."""

    user_id: UUID
    # None means every division the user may access.
    divisions: frozenset[int] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "divisions": None if self.divisions is None else sorted(self.divisions),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AutoConsent:
        divisions = data.get("divisions")
        return cls(
            user_id=UUID(data["user_id"]),
            divisions=None if divisions is None else frozenset(int(code) for code in divisions),
        )


class World:
    """Everything the sandbox knows; `lock` guards every mutation (the server is threaded)."""

    def __init__(self, clock: SandboxClock | None = None) -> None:
        self.apps: dict[str, App] = {}
        self.users: dict[UUID, User] = {}
        self.divisions: dict[int, Division] = {}
        self.auto_consent: dict[str, AutoConsent] = {}
        self.clock: SandboxClock = clock or SandboxClock()
        self.lock = threading.RLock()

    def users_in_region(self, region: str) -> list[User]:
        with self.lock:
            return sorted((user for user in self.users.values() if user.region == region), key=lambda u: u.username)

    def clear(self) -> None:
        with self.lock:
            self.apps.clear()
            self.users.clear()
            self.divisions.clear()
            self.auto_consent.clear()
