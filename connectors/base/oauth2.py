"""OAuth 2.0 token-endpoint answers (RFC 6749 §5.1, §5.2) read the same way for every vendor.

A vendor's auth module sends its token request its own way (client authentication, grant form) and hands the
answer here as soon as it is in: `token_set_from_answer` turns a 200 into a TokenSet obtained at the answer's
arrival, `token_error_from_answer` reads an error answer, and `raise_for_token_server_error` applies the rule
every rotating-token vendor shares: a 5xx on a refresh may have rotated the refresh token already
(TokenResponseLost), on a code exchange nothing is lost (VendorUnavailable). What a 4xx means is the vendor's
own rule and stays in its auth module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base.errors import TokenResponseLost, VendorAuthError, VendorUnavailable
from connectors.base.types import TokenSet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenError:
    """An error answer of a token endpoint: its status, `error` code and `error_description` ("" when absent)."""

    status: int
    error: str
    description: str
    headers: httpx.Headers


def token_set_from_answer(
    response: httpx.Response,
    *,
    vendor: str,
    refresh_token_lifetime: timedelta,
    not_a_token_document: str,
    obtained_at: datetime | None = None,
) -> tuple[TokenSet, dict[str, Any]]:
    """The TokenSet of a 200 answer and the whole document (vendors read extra members such as `id_token`).

    `obtained_at` is when the answer arrived, i.e. now (a test may fix it), never when the request started: a
    vendor counts its token rules from issue, which can be as late as the answer's arrival, so counting from
    the start made a slow answer's next refresh due that much too early (Exact refuses a refresh within 570 s
    of the last token and counts it: connectors/exact/NOTES.md, OAuth and tokens). The expiry is then late by
    at most the answer's way back, which the core's refresh margin (LEDGERBRIDGE_TOKEN_REFRESH_MARGIN, 30 s)
    absorbs.

    A document without an access token, a refresh token or a whole-number `expires_in` (a string such as "600"
    or a number) is TokenResponseLost with `not_a_token_document`: the vendor may have rotated the chain anyway.
    """
    if obtained_at is None:
        obtained_at = datetime.now(tz=UTC)
    try:
        body = response.json()
        access_token, refresh_token = str(body["access_token"]), str(body["refresh_token"])
        expires_in = int(str(body["expires_in"]))
    except (ValueError, KeyError, TypeError):
        raise TokenResponseLost(not_a_token_document) from None
    if str(body.get("token_type", "bearer")).lower() != "bearer":
        raise VendorAuthError(f"{vendor} issued a token that is not a bearer token.")
    token_set = TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        obtained_at=obtained_at,
        expires_in=expires_in,
        refresh_token_lifetime=refresh_token_lifetime,
    )
    return token_set, body


def token_error_from_answer(response: httpx.Response, *, vendor: str) -> TokenError:
    """The error answer's code and description (a body that is not a JSON object has neither), logged once."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error", "")) if isinstance(body, dict) else ""
    description = str(body.get("error_description", "")) if isinstance(body, dict) else ""
    logger.warning("%s token endpoint answered %s %s", vendor, response.status_code, error or "(no error code)")
    return TokenError(status=response.status_code, error=error, description=description, headers=response.headers)


def raise_for_token_server_error(answer: TokenError, *, vendor: str, refreshing: bool) -> None:
    """A 5xx: on a refresh the vendor may have issued the new pair before failing the answer (Exact: dotnet#152;
    Xero: the chain rotates on every refresh), so the core must treat it as possibly applied; on a code exchange
    nothing was rotated and the call simply failed. Anything below 500 returns, for the vendor's own rules."""
    if answer.status < 500:
        return
    if refreshing:
        raise TokenResponseLost(f"{vendor}'s token endpoint failed with HTTP {answer.status}.")
    raise VendorUnavailable(f"{vendor}'s token endpoint failed with HTTP {answer.status}.", status=answer.status)
