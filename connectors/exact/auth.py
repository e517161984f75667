"""Exact Online OAuth 2.0: the consent URL, the code and refresh grants, their error semantics and timing.

Token calls go through the shared vendor client (connectors.base.http) like every API call: the same pool, the
same call reporting and the same list of "not sent" transport errors.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import quote, urlencode

import httpx
from django.conf import settings

from connectors.base.connector import TokenTiming
from connectors.base.errors import (
    RefreshTokenRejected,
    TokenResponseLost,
    TooEarlyToRefresh,
    VendorAuthError,
    VendorResponseLost,
)
from connectors.base.http import never_raise
from connectors.base.oauth2 import raise_for_token_server_error, token_error_from_answer, token_set_from_answer
from connectors.base.types import AppCredentials, TokenSet
from connectors.exact.client import ExactClient
from connectors.exact.errors import exact_messages_split

logger = logging.getLogger(__name__)


def token_timing() -> TokenTiming:
    """Exact's token timing from settings (NOTES.md: OAuth and tokens): a refresh "only ... after 570 seconds"
    from the last issue (EXACT_MIN_REFRESH_INTERVAL); refresh tokens live 30 days since July 2021
    (EXACT_REFRESH_TOKEN_LIFETIME_DAYS); a token call may take EXACT_TOKEN_TIMEOUT seconds."""
    return TokenTiming(
        min_refresh_interval=int(settings.EXACT_MIN_REFRESH_INTERVAL),
        refresh_token_lifetime=refresh_token_lifetime(),
        token_call_timeout=float(settings.EXACT_TOKEN_TIMEOUT),
    )


def refresh_token_lifetime() -> timedelta:
    """EXACT_REFRESH_TOKEN_LIFETIME_DAYS: refresh tokens live 30 days since July 2021 (NOTES.md: OAuth and tokens)."""
    return timedelta(days=settings.EXACT_REFRESH_TOKEN_LIFETIME_DAYS)


def authorization_url(*, base_url: str, app: AppCredentials, redirect_uri: str, state: str) -> str:
    params = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "state": state,
        "force_login": "0",
    }
    # Exact mishandles %-encoded slashes in redirect_uri (ossobv/exactonline http.py), so keep ':' and '/'.
    return f"{base_url}/api/oauth2/auth?{urlencode(params, quote_via=quote, safe=':/')}"


def exchange_code(*, base_url: str, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
    return _token_request(
        base_url,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        refreshing=False,
    )


def refresh_tokens(*, base_url: str, app: AppCredentials, refresh_token: str) -> TokenSet:
    return _token_request(
        base_url,
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
        refreshing=True,
    )


def _token_request(base_url: str, form: dict[str, str], *, refreshing: bool) -> TokenSet:
    # The token call gets a longer timeout than API calls: a lost token response can cost the connection.
    client = ExactClient(base_url=base_url, timeout=settings.EXACT_TOKEN_TIMEOUT)
    try:
        # A VendorUnavailable (never reached Exact: the refresh token is untouched) passes through as it is.
        response = client.send(
            "POST",
            f"{client.base_url}/api/oauth2/token",
            log_path="oauth2/token",
            headers={"Accept": "application/json"},
            form=form,
            raise_for=never_raise,
        )
    except VendorResponseLost as exc:
        # Sent, but no answer: Exact may have rotated the refresh token already (dotnet#152).
        raise TokenResponseLost(f"The token response was lost: {exc.message}") from None
    if response.status_code == 200:
        return _parse_token_response(response)
    _raise_token_error(response, refreshing=refreshing)
    raise AssertionError("unreachable")


def _parse_token_response(response: httpx.Response) -> TokenSet:
    # Exact sends expires_in as a string ("600"); the shared reader takes both forms. It stamps the answer's
    # arrival as "obtained": Exact counts its 570 s from when the token was received (NOTES.md: OAuth and tokens).
    token_set, _ = token_set_from_answer(
        response,
        vendor="Exact",
        refresh_token_lifetime=refresh_token_lifetime(),
        not_a_token_document="Exact's token response was not a valid token document.",
    )
    return token_set


def _raise_token_error(response: httpx.Response, *, refreshing: bool) -> None:
    answer = token_error_from_answer(response, vendor="Exact")
    status, error, description = answer.status, answer.error, answer.description
    reason_header = answer.headers.get("Reason", "")
    if "TooEarlyToRefreshTokens" in reason_header:
        # Exact's own words ("Rate limit exceeded: access_token not expired") say why; keep them for the record.
        raise TooEarlyToRefresh(
            f"Exact refused the refresh as too early ({description or reason_header}).", status=status
        )
    # A 5xx on a refresh: Exact sometimes issues the token and then fails the response (dotnet#152).
    raise_for_token_server_error(answer, vendor="Exact", refreshing=refreshing)
    if refreshing:
        if status == 401 and error == "unauthorized_client":
            raise RefreshTokenRejected(
                description or "Old refresh token used.", reason="refresh_token_reused", status=status
            )
        if error == "invalid_request" and "expired" in description.lower():
            raise RefreshTokenRejected(description, reason="refresh_token_expired", status=status)
        if error in {"invalid_grant", "invalid_request", "unauthorized_client", "access_denied"}:
            raise RefreshTokenRejected(description or error, reason=error, status=status)
    raise VendorAuthError(
        description or error or f"Exact's token endpoint answered HTTP {status}.",
        status=status,
        vendor_messages=exact_messages_split(description),
    )
