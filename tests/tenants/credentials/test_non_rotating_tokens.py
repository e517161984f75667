"""The token manager with a vendor whose refresh tokens do not rotate (AuthKind.OAUTH2), declared by its connector.

A lost answer costs nothing there (the refresh token still works), so it is a failed attempt with a cooldown, never
the "lost, probe once, maybe needs_reauth" path of rotating vendors such as Exact. The vendor is in memory here:
"Plain Books", plugged in through settings.LEDGERBRIDGE_CONNECTORS like any connector.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import pytest
from django.utils import timezone

from connectors.base.connector import AuthKind, CompanyNoun, ConnectorInfo, OAuth2Connector, TokenTiming
from connectors.base.errors import RefreshTokenRejected, TokenResponseLost
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser
from connectors.registry import reset_registry
from tenants.credentials import crypto, refresh
from tenants.credentials.errors import CredentialNeedsReauth, TokenRefreshDeferred
from tenants.credentials.store import credential_tokens
from tenants.models import Credential, CredentialStatus, RefreshState
from tests.tenants.factories import CredentialFactory

pytestmark = pytest.mark.django_db

APP = AppCredentials(client_id="plain-app", client_secret="plain-secret")


class PlainVendor:
    """The vendor's token endpoint: refresh tokens stay valid; `lose` answers are lost after being applied."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.valid_refresh_tokens = {"plain-refresh-1"}
        self.lose = 0
        self.refreshes: list[str] = []
        self.issued = 0

    def refresh(self, refresh_token: str) -> TokenSet:
        self.refreshes.append(refresh_token)
        if refresh_token not in self.valid_refresh_tokens:
            raise RefreshTokenRejected("Unknown refresh token.", reason="invalid_grant", status=400)
        self.issued += 1
        if self.lose:
            self.lose -= 1
            raise TokenResponseLost("The token response was lost: ReadTimeout.")
        # The refresh token is not rotated: the answer carries the same one.
        return TokenSet(
            access_token=f"plain-access-{self.issued}",
            refresh_token=refresh_token,
            obtained_at=datetime.now(tz=UTC),
            expires_in=3600,
            refresh_token_lifetime=None,
        )


VENDOR = PlainVendor()


class PlainConnector(OAuth2Connector):
    info = ConnectorInfo(
        id="plain",
        display_name="Plain Books",
        company_noun=CompanyNoun(singular="company", plural="companies"),
        auth=AuthKind.OAUTH2,
    )
    capabilities = MappingProxyType({})

    def token_timing(self) -> TokenTiming:
        return TokenTiming(min_refresh_interval=0, refresh_token_lifetime=None, token_call_timeout=10.0)

    def default_app(self) -> AppCredentials | None:
        return APP

    def authorization_url(self, *, region: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
        return f"https://plain.example/authorize?state={state}"

    def exchange_code(self, *, region: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
        raise NotImplementedError("consent is not part of these tests")

    def refresh_tokens(self, *, region: str, app: AppCredentials, refresh_token: str) -> TokenSet:
        return VENDOR.refresh(refresh_token)

    def current_user(self, *, region: str, access_token: str) -> VendorUser:
        return VendorUser(user_id="plain-user", name="Plain User", email="", default_company_id=None)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        return [Company(company_id="1", name="Plain company")]


@pytest.fixture(autouse=True)
def plain_registered(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_CONNECTORS = [
        *settings.LEDGERBRIDGE_CONNECTORS,
        "tests.tenants.credentials.test_non_rotating_tokens.PlainConnector",
    ]
    reset_registry()
    VENDOR.reset()
    yield
    reset_registry()


@pytest.fixture
def expired() -> Credential:
    """A credential whose access token expired an hour ago (its refresh token lives on)."""
    issued = timezone.now() - timedelta(hours=2)
    credential: Credential = CredentialFactory(
        connector="plain",
        region="",
        client_id=APP.client_id,
        obtained_at=issued,
        access_token_expires_at=issued + timedelta(hours=1),
        refresh_token_encrypted=crypto.encrypt("plain-refresh-1"),
    )
    return credential


def test_a_lost_answer_is_a_failed_attempt_not_a_lost_chain(expired: Credential) -> None:
    VENDOR.lose = 1

    with pytest.raises(TokenResponseLost):
        refresh.access_token_for(expired.pk)

    expired.refresh_from_db()
    # No "lost" state and no probe to come: the refresh token is as good as before, after the cooldown.
    assert expired.refresh_state == RefreshState.IDLE and expired.status == CredentialStatus.ACTIVE
    assert expired.refresh_not_before is not None and "TokenResponseLost" in expired.last_refresh_error
    with pytest.raises(TokenRefreshDeferred):
        refresh.access_token_for(expired.pk)  # the cooldown holds
    assert VENDOR.refreshes == ["plain-refresh-1"]

    Credential.objects.filter(pk=expired.pk).update(refresh_not_before=timezone.now() - timedelta(seconds=1))
    token = refresh.access_token_for(expired.pk)

    expired.refresh_from_db()
    assert token == "plain-access-2" and credential_tokens(expired).access_token == token
    assert credential_tokens(expired).refresh_token == "plain-refresh-1"  # kept, as the vendor answered it
    assert VENDOR.refreshes == ["plain-refresh-1", "plain-refresh-1"] and expired.refresh_count == 1
    # Its refresh token never expires, so the keep-alive never picks it.
    assert expired.refresh_token_expires_at.year == 9999


def test_a_rejected_refresh_token_still_needs_reauth(expired: Credential) -> None:
    VENDOR.valid_refresh_tokens.clear()  # the user revoked the grant

    with pytest.raises(CredentialNeedsReauth):
        refresh.access_token_for(expired.pk)

    expired.refresh_from_db()
    assert expired.status == CredentialStatus.NEEDS_REAUTH and "invalid_grant" in expired.status_reason
