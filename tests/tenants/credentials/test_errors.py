"""tenants/credentials/errors.py: what the credential code raises, as its callers read it: a deferred refresh is
a retryable outage with its moment, a dead credential a connection that is not usable, with its reason."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.base.errors import ConnectionNotUsable, VendorUnavailable
from tenants.credentials.errors import CredentialNeedsReauth, TokenRefreshDeferred
from tenants.models import CredentialStatus


def test_a_deferred_refresh_is_a_retryable_outage_with_its_moment() -> None:
    at = datetime(2025, 3, 1, 10, 0, 30, tzinfo=UTC)
    deferred = TokenRefreshDeferred("Exact refuses refreshes within 570 s.", retry_at=at)
    assert isinstance(deferred, VendorUnavailable) and deferred.retryable and deferred.retry_at == at
    assert TokenRefreshDeferred("cooling down").retry_at is None


def test_a_dead_credential_makes_its_connections_unusable_with_the_reason() -> None:
    dead = CredentialNeedsReauth("refresh token rejected (invalid_grant)")
    assert isinstance(dead, ConnectionNotUsable) and dead.status_code == CredentialStatus.NEEDS_REAUTH
    assert dead.reason == "refresh token rejected (invalid_grant)"
    assert str(dead) == "The connection needs re-authorisation: refresh token rejected (invalid_grant)"
