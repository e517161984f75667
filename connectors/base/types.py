"""Value types exchanged between the core and connectors; nothing vendor-specific."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class AppCredentials:
    """A vendor app registration (OAuth client) the gateway acts as."""

    client_id: str
    client_secret: str
    webhook_secret: str = ""

    def __repr__(self) -> str:  # never print secrets, even in tracebacks
        return f"AppCredentials(client_id={self.client_id!r})"


@dataclass(frozen=True)
class TokenSet:
    """What an OAuth token endpoint returned, with the moments that govern refreshing it."""

    access_token: str
    refresh_token: str
    obtained_at: datetime
    expires_in: int  # seconds the access token lives
    refresh_token_lifetime: timedelta

    @property
    def access_token_expires_at(self) -> datetime:
        return self.obtained_at + timedelta(seconds=self.expires_in)

    @property
    def refresh_token_expires_at(self) -> datetime:
        return self.obtained_at + self.refresh_token_lifetime

    def __repr__(self) -> str:
        return f"TokenSet(obtained_at={self.obtained_at.isoformat()}, expires_in={self.expires_in})"


@dataclass(frozen=True)
class VendorUser:
    """The vendor account that granted access (Exact: the user from current/Me)."""

    user_id: str
    name: str
    email: str
    default_company_id: str | None  # only a hint for pickers (Exact's CurrentDivision follows UI clicks)


@dataclass(frozen=True)
class Company:
    """One administration the grant covers (Exact: a division)."""

    company_id: str
    name: str
    country: str = ""
    currency: str = ""
