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
    """What an OAuth token endpoint returned (or an API key), with the moments that govern refreshing it."""

    access_token: str
    refresh_token: str  # "" for an API key
    obtained_at: datetime
    expires_in: int | None  # seconds the access token lives; None: until revoked (an API key)
    refresh_token_lifetime: timedelta | None  # None: lives until revoked (or there is none)

    @classmethod
    def for_api_key(cls, api_key: str, *, obtained_at: datetime) -> TokenSet:
        """An API key as a token set: the key is the access token, nothing expires, nothing refreshes."""
        return cls(
            access_token=api_key,
            refresh_token="",
            obtained_at=obtained_at,
            expires_in=None,
            refresh_token_lifetime=None,
        )

    @property
    def access_token_expires_at(self) -> datetime | None:
        return None if self.expires_in is None else self.obtained_at + timedelta(seconds=self.expires_in)

    @property
    def refresh_token_expires_at(self) -> datetime | None:
        return None if self.refresh_token_lifetime is None else self.obtained_at + self.refresh_token_lifetime

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
    """One set of books the grant covers (Exact: a division, Xero: an organisation)."""

    company_id: str
    name: str
    country: str = ""
    currency: str = ""
