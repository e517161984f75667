"""What the credential code raises to its callers (vendor calls, the connect flow, tasks)."""

from __future__ import annotations

from datetime import datetime

from connectors.base.errors import ConnectionNotUsable, VendorUnavailable
from tenants.models import CredentialStatus


class NoVendorApp(Exception):
    """Neither the workspace nor the operator registered an app with this vendor."""


class TokenRefreshInTransaction(RuntimeError):
    """The token manager was called inside transaction.atomic: a rollback would lose the only valid refresh token."""


class TokenRefreshDeferred(VendorUnavailable):
    """No usable access token right now and no refresh may be sent yet; retry after `retry_at`."""

    def __init__(self, message: str, *, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class CredentialNeedsReauth(ConnectionNotUsable):
    """The credential's refresh token (or API key) is dead or unusable: only the user can reconnect; no call made."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"The connection needs re-authorisation: {reason}", status_code=CredentialStatus.NEEDS_REAUTH, reason=reason
        )
