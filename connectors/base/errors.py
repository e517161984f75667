"""Typed vendor errors: every connector turns transport and vendor failures into these."""

from __future__ import annotations

from datetime import datetime


class VendorError(Exception):
    """Base of everything a vendor call can raise. `retryable` tells callers whether a retry may help."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, vendor_messages: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.vendor_messages = vendor_messages or []


class VendorAuthError(VendorError):
    """The vendor refused our credentials for this call."""


class RefreshTokenRejected(VendorAuthError):
    """The refresh token is dead (rotated, expired, revoked): only the user can reconnect."""

    def __init__(self, message: str, *, reason: str, status: int | None = None) -> None:
        super().__init__(message, status=status)
        self.reason = reason


class TooEarlyToRefresh(VendorAuthError):
    """The vendor refuses a refresh this soon after the last one (Exact: within 570 s)."""


class TokenResponseLost(VendorError):
    """A refresh request may have reached the vendor but its answer never came back."""


class CompanyAccessDenied(VendorAuthError):
    """The grant does not (or no longer) cover this company (Exact: 403 NoDivisionAccess)."""

    def __init__(self, message: str, *, reason: str, status: int | None = 403) -> None:
        super().__init__(message, status=status)
        self.reason = reason


class VendorUnavailable(VendorError):
    """The vendor is down, timing out or answering 5xx."""

    retryable = True


class VendorResponseLost(VendorUnavailable):
    """A write (POST/PUT/DELETE) may have reached the vendor but its answer never came back (read timeout,
    dropped connection). Never resend blindly: look the record up first (Connector.find_existing).

    A VendorUnavailable with `status` None, so callers that only know VendorUnavailable still treat it as a
    possibly-applied write; `retryable` is False because repeating it could apply the write twice.
    """

    retryable = False


class VendorRateLimited(VendorError):
    """The vendor's (or our shared) rate-limit budget is spent until `reset_at`."""

    def __init__(
        self, message: str, *, reset_at: datetime, status: int | None = 429, budget_window: str | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.reset_at = reset_at
        # Set when our own shared budget refused the call before sending: the window that was spent.
        self.budget_window = budget_window


class VendorValidationError(VendorError):
    """The vendor refused the input; `vendor_messages` are its words, one per message."""


class VendorNotFound(VendorError):
    """The record does not exist at the vendor."""


class ConnectionNotUsable(VendorError):
    """The connection is disabled or needs re-authorisation; no call is made."""

    def __init__(self, message: str, *, status_code: str, reason: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
