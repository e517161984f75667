"""Xero OAuth 2.0: the consent URL, the code and refresh grants, their error semantics, and who consented.

Rules (NOTES.md: OAuth):
- client authentication by HTTP Basic at `identity.xero.com/connect/token`;
- access tokens live 30 minutes (`expires_in` 1800); refresh tokens rotate on every refresh and an unused one dies
  after 60 days (XERO_REFRESH_TOKEN_LIFETIME_DAYS);
- a refresh whose answer is lost may have rotated the chain, but the previous refresh token still works for a
  30-minute grace: so a lost answer is TokenResponseLost and the core probes the stored (previous) token once,
  which Xero answers with a new pair inside the grace (tenants/credentials/refresh.py);
- `invalid_grant` means the refresh token is dead (stale, expired or revoked): only the user can reconnect.

Xero has no "current user" call on the API host: who consented is in the tokens (JWTs). The access token names
the user (`xero_userid`); the id token issued with it adds the name and e-mail, so the exchange keeps the id
token's claims for the `current_user` call that follows it in the connect flow.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
from collections import OrderedDict
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from django.conf import settings

from connectors.base.connector import TokenTiming
from connectors.base.errors import (
    RefreshTokenRejected,
    TokenResponseLost,
    VendorAuthError,
    VendorResponseLost,
    VendorUnavailable,
)
from connectors.base.http import never_raise
from connectors.base.oauth2 import raise_for_token_server_error, token_error_from_answer, token_set_from_answer
from connectors.base.types import AppCredentials, TokenSet, VendorUser
from connectors.xero.client import XeroClient, XeroHosts

logger = logging.getLogger(__name__)

# Id-token claims of recent exchanges by access-token digest, for current_user (bounded; never the tokens).
_ID_CLAIMS: OrderedDict[str, dict[str, Any]] = OrderedDict()
_ID_CLAIMS_LOCK = threading.Lock()
_ID_CLAIMS_SIZE = 256


def token_timing() -> TokenTiming:
    """No minimum interval between refreshes; unused refresh tokens live 60 days (NOTES.md: OAuth)."""
    return TokenTiming(
        min_refresh_interval=0,
        refresh_token_lifetime=refresh_token_lifetime(),
        token_call_timeout=float(settings.XERO_TOKEN_TIMEOUT),
    )


def refresh_token_lifetime() -> timedelta:
    return timedelta(days=settings.XERO_REFRESH_TOKEN_LIFETIME_DAYS)


def scopes() -> str:
    return " ".join(settings.XERO_SCOPES.split())


def authorization_url(*, hosts: XeroHosts, app: AppCredentials, redirect_uri: str, state: str) -> str:
    params = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "scope": scopes(),
        "state": state,
    }
    return f"{hosts.login}/identity/connect/authorize?{urlencode(params)}"


def exchange_code(*, hosts: XeroHosts, app: AppCredentials, code: str, redirect_uri: str) -> TokenSet:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return _token_request(hosts, app, form, refreshing=False)


def refresh_tokens(*, hosts: XeroHosts, app: AppCredentials, refresh_token: str) -> TokenSet:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return _token_request(hosts, app, form, refreshing=True)


def _basic(app: AppCredentials) -> str:
    pair = f"{app.client_id}:{app.client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


def _token_request(hosts: XeroHosts, app: AppCredentials, form: dict[str, str], *, refreshing: bool) -> TokenSet:
    # The token call gets a longer timeout than API calls: a lost token answer costs a probe.
    client = XeroClient(hosts=hosts, timeout=settings.XERO_TOKEN_TIMEOUT)
    try:
        response = client.send(
            "POST",
            f"{hosts.identity}/connect/token",
            log_path="connect/token",
            headers={"Accept": "application/json", "Authorization": _basic(app)},
            form=form,
            raise_for=never_raise,
        )
    except VendorResponseLost as exc:
        if not refreshing:
            raise VendorUnavailable(f"Xero's token answer was lost: {exc.message}") from None
        # Sent, no answer: Xero may have rotated the chain; the previous token still works for 30 minutes.
        raise TokenResponseLost(f"The token response was lost: {exc.message}") from None
    if response.status_code == 200:
        return _parse_token_response(response)
    _raise_token_error(response, refreshing=refreshing)
    raise AssertionError("unreachable")


def _parse_token_response(response: httpx.Response) -> TokenSet:
    # No refresh token means no offline_access in the scopes: the connection could not outlive 30 minutes.
    # The shared reader counts the 30 minutes from the answer's arrival (NOTES.md: OAuth).
    token_set, body = token_set_from_answer(
        response,
        vendor="Xero",
        refresh_token_lifetime=refresh_token_lifetime(),
        not_a_token_document="Xero's token response was not a token document with a refresh token.",
    )
    id_token = body.get("id_token")
    if isinstance(id_token, str):
        claims = jwt_claims(id_token)
        if claims:
            _remember_id_claims(token_set.access_token, claims)
    return token_set


def _raise_token_error(response: httpx.Response, *, refreshing: bool) -> None:
    answer = token_error_from_answer(response, vendor="Xero")
    # A 5xx on a refresh: Xero may have rotated the chain before failing the answer; the grace lets the core probe.
    raise_for_token_server_error(answer, vendor="Xero", refreshing=refreshing)
    if refreshing and answer.error == "invalid_grant":
        raise RefreshTokenRejected(answer.description or "invalid_grant", reason=answer.error, status=answer.status)
    refused = answer.description or answer.error or f"HTTP {answer.status}"
    raise VendorAuthError(f"Xero's token endpoint refused the request ({refused}).", status=answer.status)


# ---------------------------------------------------------------------------------------------- who consented


def jwt_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT as Xero issued it over TLS to us (not verified: it never came from a third party)."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def _digest(access_token: str) -> str:
    return hashlib.sha256(access_token.encode()).hexdigest()


def _remember_id_claims(access_token: str, claims: dict[str, Any]) -> None:
    kept = {name: claims.get(name) for name in ("email", "given_name", "family_name", "preferred_username")}
    with _ID_CLAIMS_LOCK:
        _ID_CLAIMS[_digest(access_token)] = kept
        while len(_ID_CLAIMS) > _ID_CLAIMS_SIZE:
            _ID_CLAIMS.popitem(last=False)


def current_user(access_token: str) -> VendorUser:
    """The user who consented, from the access token (and the id token issued with it, when this process has it)."""
    claims = jwt_claims(access_token)
    user_id = claims.get("xero_userid") or claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        raise VendorAuthError("Xero's access token does not name a user (no xero_userid claim).")
    with _ID_CLAIMS_LOCK:
        identity = _ID_CLAIMS.get(_digest(access_token), {})
    name = " ".join(str(part) for part in (identity.get("given_name"), identity.get("family_name")) if part)
    email = str(identity.get("email") or identity.get("preferred_username") or "")
    return VendorUser(user_id=user_id, name=name or email, email=email, default_company_id=None)
