"""OAuth 2.0 as Exact Online does it: consent page, single-use codes, 600 s tokens, the 570 s rule, rotation."""

from __future__ import annotations

import base64
import html
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode, urlsplit, urlunsplit
from uuid import UUID

from werkzeug.wrappers import Request, Response

from connectors.exact.sandbox.counters import Counters
from connectors.exact.sandbox.errors import exact_error
from connectors.exact.sandbox.state import App, User, World

# (NOTES.md: OAuth and tokens) "the authorization code is valid for 3 minutes" and is single use.
CODE_LIFETIME = timedelta(minutes=3)
# (NOTES.md: OAuth and tokens) access tokens are valid for 10 minutes; expires_in is sent as the string "600".
ACCESS_LIFETIME = timedelta(seconds=600)
# "You can only request for a new access token after 570 seconds" (KB API limits; NOTES.md: OAuth and tokens).
MIN_REFRESH_INTERVAL = timedelta(seconds=570)
# (NOTES.md: OAuth and tokens) refresh tokens are valid for 30 days since July 2021.
REFRESH_LIFETIME = timedelta(days=30)

TOO_EARLY_DESCRIPTION = "Rate limit exceeded: access_token not expired"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    user_id: UUID
    region: str
    divisions: frozenset[int]
    redirect_uri: str
    issued_at: datetime
    used: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    user_id: UUID
    region: str
    divisions: frozenset[int]
    issued_at: datetime
    expires_at: datetime
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "region": self.region,
            "divisions": sorted(self.divisions),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked": self.revoked,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessToken:
        return cls(
            token=data["token"],
            client_id=data["client_id"],
            user_id=UUID(data["user_id"]),
            region=data["region"],
            divisions=frozenset(data["divisions"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            revoked=data["revoked"],
        )


@dataclass
class TokenChain:
    """Exact keeps "only one refresh token at a time" per app and user (Skyvia, NOTES.md: OAuth and tokens)."""

    client_id: str
    user_id: UUID
    region: str
    divisions: frozenset[int]
    refresh_token: str
    refresh_expires_at: datetime
    # The 570 s rule counts from the moment the previous access token was received.
    access_issued_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "region": self.region,
            "divisions": sorted(self.divisions),
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at.isoformat(),
            "access_issued_at": self.access_issued_at.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenChain:
        return cls(
            client_id=data["client_id"],
            user_id=UUID(data["user_id"]),
            region=data["region"],
            divisions=frozenset(data["divisions"]),
            refresh_token=data["refresh_token"],
            refresh_expires_at=datetime.fromisoformat(data["refresh_expires_at"]),
            access_issued_at=datetime.fromisoformat(data["access_issued_at"]),
        )


@dataclass(frozen=True)
class TokenOutcome:
    """The token endpoint's answer plus who asked (for the error limit and faults)."""

    response: Response
    client_id: str | None
    user_id: UUID | None


def exact_datetime_text(moment: datetime) -> str:
    """Exact's .NET-style text in the refresh-expiry error: `10/11/2022 9:18:20 PM` (websmurf#23)."""
    hour12 = moment.hour % 12 or 12
    meridiem = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour12}:{moment:%M:%S} {meridiem}"


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _token_error(status: int, error: str, description: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(client_id, client_secret) from `Authorization: Basic …` (RFC 6749 §2.3.1, form-urlencoded parts)."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return ("", "")
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        return ("", "")
    return unquote_plus(client_id), unquote_plus(client_secret)


def client_credentials(request: Request) -> tuple[str, str] | None:
    """The client's id and secret from HTTP Basic or the form; None when both are sent and disagree.

    RFC 6749 §2.3.1: an authorization server must support Basic for clients with a password and may accept the
    form fields; published Exact clients use either (NOTES.md: OAuth and tokens).
    """
    form = (request.form.get("client_id"), request.form.get("client_secret"))
    basic = basic_credentials(request)
    if basic is None:
        return form[0] or "", form[1] or ""
    for sent, given in zip(form, basic, strict=True):
        if sent is not None and sent != given:
            return None
    return basic


class OAuthServer:
    """Codes, access tokens and refresh-token chains; all times come from the world's sandbox clock."""

    def __init__(self, world: World, counters: Counters) -> None:
        self.world = world
        self.counters = counters
        self._lock = threading.RLock()
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.chains: dict[tuple[str, UUID], TokenChain] = {}
        # Refresh tokens that were rotated away: using one is Exact's "Old refresh token used." (picqer#644).
        self.retired_refresh: dict[str, tuple[str, UUID]] = {}
        # Refresh tokens killed through the control API (revoke_tokens with scope "all").
        self.revoked_refresh: set[str] = set()
        # When each retired or revoked refresh token stopped working. Such a token had at most REFRESH_LIFETIME
        # left to live, so after that it is forgotten (it then reads as unknown), keeping memory and snapshots
        # bounded.
        self.dead_refresh_since: dict[str, datetime] = {}

    # ----------------------------------------------------------------- authorisation endpoint

    def authorize(self, request: Request, region: str, form_action: str) -> Response:
        """GET shows the consent page (or redirects at once in auto-consent mode); POST handles the form."""
        params = request.form if request.method == "POST" else request.args
        with self._lock:
            # Codes nobody exchanges must not pile up until the next token is issued.
            self._prune(self.world.clock.now())
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        state = params.get("state")
        with self.world.lock:
            app = self.world.apps.get(client_id)
            auto = self.world.auto_consent.get(client_id)
        if app is None:
            return self._page(400, "Unknown client_id", f"<p>No app is registered as {html.escape(client_id)}.</p>")
        # Never redirect to an unregistered URI: that would turn the sandbox into an open redirector.
        if redirect_uri not in app.redirect_uris:
            return self._page(400, "Invalid redirect_uri", "<p>The redirect_uri is not registered for this app.</p>")
        if params.get("response_type", "code") != "code":
            # Only the authorization-code flow is simulated; `token` (implicit flow) is refused per RFC 6749.
            return _redirect(self._callback(redirect_uri, state, error="unsupported_response_type"))

        if request.method == "POST":
            return self._consent_submitted(request, app, region, redirect_uri, state, form_action)
        if auto is not None:
            with self.world.lock:
                user = self.world.users.get(auto.user_id)
            if user is None:
                return self._page(400, "Auto-consent user missing", "<p>The auto-consent user is unknown.</p>")
            allowed = self._region_divisions(user, region)
            divisions = allowed if auto.divisions is None else allowed & auto.divisions
            code = self._issue_code(app, user, region, divisions, redirect_uri)
            return _redirect(self._callback(redirect_uri, state, code=code))
        return self._consent_page(app, region, redirect_uri, state, form_action, error=None)

    def _consent_submitted(
        self, request: Request, app: App, region: str, redirect_uri: str, state: str | None, form_action: str
    ) -> Response:
        if request.form.get("decision") != "approve":
            # Declining sends the user back with the standard OAuth error (RFC 6749 §4.1.2.1).
            return _redirect(self._callback(redirect_uri, state, error="access_denied"))
        try:
            user_id = UUID(request.form.get("user_id", ""))
        except ValueError:
            return self._consent_page(app, region, redirect_uri, state, form_action, error="Choose a user.")
        with self.world.lock:
            user = self.world.users.get(user_id)
        if user is None or user.region != region:
            return self._consent_page(app, region, redirect_uri, state, form_action, error="Choose a user.")
        ticked = {int(code) for code in request.form.getlist("division") if code.isdigit()}
        # Division scoping: only companies the user can open and ticked on this screen are granted.
        divisions = self._region_divisions(user, region) & frozenset(ticked)
        if not divisions:
            return self._consent_page(
                app,
                region,
                redirect_uri,
                state,
                form_action,
                error="Tick at least one division that this user may access.",
            )
        code = self._issue_code(app, user, region, divisions, redirect_uri)
        return _redirect(self._callback(redirect_uri, state, code=code))

    def _region_divisions(self, user: User, region: str) -> frozenset[int]:
        with self.world.lock:
            return frozenset(
                code
                for code in user.division_codes
                if code in self.world.divisions and self.world.divisions[code].region == region
            )

    @staticmethod
    def _callback(redirect_uri: str, state: str | None, **params: str) -> str:
        if state is not None:
            params["state"] = state
        return _with_query(redirect_uri, params)

    def _issue_code(self, app: App, user: User, region: str, divisions: frozenset[int], redirect_uri: str) -> str:
        # Real codes contain "!" and must be URL-decoded before the exchange (NOTES.md: OAuth and tokens); so do ours.
        code = "stampNL001!" + secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = AuthorizationCode(
                code=code,
                client_id=app.client_id,
                user_id=user.user_id,
                region=region,
                divisions=divisions,
                redirect_uri=redirect_uri,
                issued_at=self.world.clock.now(),
            )
        return code

    def _consent_page(
        self, app: App, region: str, redirect_uri: str, state: str | None, form_action: str, error: str | None
    ) -> Response:
        users = self.world.users_in_region(region)
        with self.world.lock:
            divisions = sorted((d for d in self.world.divisions.values() if d.region == region), key=lambda d: d.code)
            access = {d.code: [u.username for u in users if d.code in u.division_codes] for d in divisions}
        hidden = {"client_id": app.client_id, "redirect_uri": redirect_uri, "response_type": "code"}
        if state is not None:
            hidden["state"] = state
        hidden_inputs = "\n".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in hidden.items()
        )
        user_options = "\n".join(
            f'<option value="{u.user_id}">{html.escape(u.full_name)} ({html.escape(u.username)})</option>'
            for u in users
        )
        division_boxes = "\n".join(
            f'<label><input type="checkbox" name="division" value="{d.code}"> {d.code} {html.escape(d.name)}'
            f" <small>(users: {html.escape(', '.join(access[d.code]) or 'none')})</small></label><br>"
            for d in divisions
        )
        error_html = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = f"""
<p><strong>{html.escape(app.name)}</strong> wants to access your Exact Online administrations.</p>
{error_html}
<form method="post" action="{html.escape(form_action)}">
{hidden_inputs}
<p><label>User <select name="user_id">
{user_options}
</select></label></p>
<fieldset><legend>Divisions this app may access</legend>
{division_boxes}
</fieldset>
<p><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="decline">Decline</button></p>
</form>"""
        return self._page(400 if error else 200, "Exact Online sandbox: grant access", body)

    @staticmethod
    def _page(status: int, title: str, body: str) -> Response:
        text = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
        return Response(text, status=status, content_type="text/html; charset=utf-8")

    # ----------------------------------------------------------------- token endpoint

    def token(self, request: Request, region: str) -> TokenOutcome:
        """POST /api/oauth2/token, form-encoded, for the authorization_code and refresh_token grants."""
        if request.method != "POST":
            return TokenOutcome(_token_error(405, "invalid_request", "Use POST."), None, None)
        form = request.form
        credentials = client_credentials(request)
        if credentials is None:
            # Basic and form fields naming different clients (or secrets): which one authenticates is ambiguous.
            return self._fail(401, "invalid_client", "Client authentication failed.", None)
        client_id, client_secret = credentials
        with self.world.lock:
            app = self.world.apps.get(client_id)
        if app is None or not secrets.compare_digest(app.client_secret, client_secret):
            # UNCONFIRMED body; RFC 6749 §5.2 prescribes 401 invalid_client for failed client authentication.
            return self._fail(401, "invalid_client", "Client authentication failed.", client_id if app else None)
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(app, region, form.get("code", ""), form.get("redirect_uri", ""))
        if grant_type == "refresh_token":
            return self._refresh(app, region, form.get("refresh_token", ""))
        return self._fail(400, "unsupported_grant_type", f"Grant type '{grant_type}' is not supported.", client_id)

    def _fail(
        self,
        status: int,
        error: str,
        description: str,
        client_id: str | None,
        user_id: UUID | None = None,
        headers: dict[str, str] | None = None,
    ) -> TokenOutcome:
        self.counters.token_error(error)
        return TokenOutcome(_token_error(status, error, description, headers), client_id, user_id)

    def _exchange_code(self, app: App, region: str, code: str, redirect_uri: str) -> TokenOutcome:
        now = self.world.clock.now()
        with self._lock:
            grant = self.codes.get(code)
            if grant is None or grant.client_id != app.client_id or grant.region != region:
                return self._fail(400, "invalid_grant", "The authorization code is invalid.", app.client_id)
            if grant.used:
                # picqer#96: a reused code gives 400 Bad Request.
                return self._fail(
                    400, "invalid_grant", "The authorization code has already been used.", app.client_id, grant.user_id
                )
            if now - grant.issued_at > CODE_LIFETIME:
                return self._fail(
                    400, "invalid_grant", "The authorization code has expired.", app.client_id, grant.user_id
                )
            if grant.redirect_uri != redirect_uri:
                return self._fail(
                    400,
                    "invalid_grant",
                    "The redirect_uri does not match the authorization request.",
                    app.client_id,
                    grant.user_id,
                )
            grant.used = True
            key = (app.client_id, grant.user_id)
            previous = self.chains.get(key)
            if previous is not None:
                # A new login replaces the chain: "only one refresh token at a time" (NOTES.md: OAuth and tokens).
                self._retire(previous.refresh_token, key, now)
            chain = TokenChain(
                client_id=app.client_id,
                user_id=grant.user_id,
                region=region,
                divisions=grant.divisions,
                refresh_token="",
                refresh_expires_at=now,
                access_issued_at=now,
            )
            self.chains[key] = chain
            body = self._issue_pair(chain, now)
        self.counters.incr("tokens_issued")
        return TokenOutcome(self._token_response(body), app.client_id, grant.user_id)

    def _refresh(self, app: App, region: str, refresh_token: str) -> TokenOutcome:
        now = self.world.clock.now()
        with self._lock:
            if refresh_token in self.revoked_refresh:
                return self._fail(400, "invalid_grant", "The refresh token has been revoked.", app.client_id)
            if refresh_token in self.retired_refresh:
                _, user_id = self.retired_refresh[refresh_token]
                # picqer#644: a rotated-away refresh token gives 401 unauthorized_client.
                return self._fail(401, "unauthorized_client", "Old refresh token used.", app.client_id, user_id)
            chain = next((c for c in self.chains.values() if c.refresh_token == refresh_token and refresh_token), None)
            if chain is None or chain.client_id != app.client_id or chain.region != region:
                # websmurf#25 shows this wording for a token Exact cannot place.
                return self._fail(
                    400, "invalid_grant", "Token is not allowed, because of invalid or empty chainId", app.client_id
                )
            if now > chain.refresh_expires_at:
                # websmurf#23: note the code is invalid_request, not invalid_grant.
                return self._fail(
                    400,
                    "invalid_request",
                    f"The refresh token expired at {exact_datetime_text(chain.refresh_expires_at)}"
                    f" and it is now {exact_datetime_text(now)}.",
                    app.client_id,
                    chain.user_id,
                )
            if now - chain.access_issued_at < MIN_REFRESH_INTERVAL:
                # websmurf#31 / PR#18: 400 access_denied plus a Reason header.
                return self._fail(
                    400,
                    "access_denied",
                    TOO_EARLY_DESCRIPTION,
                    app.client_id,
                    chain.user_id,
                    headers={"Reason": f"TooEarlyToRefreshTokens: {TOO_EARLY_DESCRIPTION}"},
                )
            self._retire(chain.refresh_token, (chain.client_id, chain.user_id), now)
            body = self._issue_pair(chain, now)
        self.counters.incr("token_refreshes")
        return TokenOutcome(self._token_response(body), app.client_id, chain.user_id)

    def _issue_pair(self, chain: TokenChain, now: datetime) -> dict[str, str]:
        """Rotate: every issue hands out a new refresh token and kills the old one (Exact, 31 Dec 2018)."""
        self._prune(now)
        access = AccessToken(
            token="AAEAA" + secrets.token_urlsafe(48),
            client_id=chain.client_id,
            user_id=chain.user_id,
            region=chain.region,
            divisions=chain.divisions,
            issued_at=now,
            expires_at=now + ACCESS_LIFETIME,
        )
        self.access_tokens[access.token] = access
        chain.refresh_token = "Gcp7!IAAA" + secrets.token_urlsafe(48)
        chain.refresh_expires_at = now + REFRESH_LIFETIME
        chain.access_issued_at = now
        return {
            "access_token": access.token,
            "token_type": "bearer",
            # A string, not a number: picqer requires ctype_digit(), ossobv does int() (NOTES.md: OAuth and tokens).
            "expires_in": str(int(ACCESS_LIFETIME.total_seconds())),
            "refresh_token": chain.refresh_token,
        }

    def _retire(self, refresh_token: str, key: tuple[str, UUID], now: datetime) -> None:
        self.retired_refresh[refresh_token] = key
        self.dead_refresh_since[refresh_token] = now

    def _prune(self, now: datetime) -> None:
        """Forget what can no longer matter; called under self._lock on every token issue and auth request."""
        stale = [t for t, a in self.access_tokens.items() if a.expires_at < now - timedelta(hours=1)]
        for token in stale:
            del self.access_tokens[token]
        old_codes = [c for c, g in self.codes.items() if g.issued_at < now - timedelta(hours=1)]
        for code in old_codes:
            del self.codes[code]
        # A retired/revoked refresh token would have expired within REFRESH_LIFETIME of dying anyway.
        dead = [t for t, since in self.dead_refresh_since.items() if now - since > REFRESH_LIFETIME]
        for token in dead:
            del self.dead_refresh_since[token]
            self.retired_refresh.pop(token, None)
            self.revoked_refresh.discard(token)

    @staticmethod
    def _token_response(body: dict[str, str]) -> Response:
        return Response(
            json.dumps(body),
            status=200,
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            content_type="application/json; charset=utf-8",
        )

    # ----------------------------------------------------------------- bearer check and revocation

    def authenticate(self, request: Request, region: str) -> AccessToken | Response:
        """Every /api/v1 call needs a live bearer token issued on this region's host."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized("Access token missing.")
        now = self.world.clock.now()
        with self._lock:
            access = self.access_tokens.get(token.strip())
        if access is None or access.region != region:
            return self._unauthorized("Access token is invalid.")
        if access.revoked:
            return self._unauthorized("Access token has been revoked.")
        if now >= access.expires_at:
            return self._unauthorized("Access token has expired.")
        return access

    @staticmethod
    def _unauthorized(message: str) -> Response:
        return exact_error(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})

    def revoke(
        self, *, client_id: str, user_id: UUID | None = None, scope: str = "access", keep_refresh_rule: bool = False
    ) -> int:
        """Invalidate access tokens (scope "access") or whole chains (scope "all") of an app, or one user of it.

        `keep_refresh_rule` (scope "access" only): the chain keeps its 570 s rule, so a refresh right after the
        revocation is refused as too early, as when Exact invalidates a token on its side.
        """
        if scope not in ("access", "all"):
            raise ValueError("scope must be 'access' or 'all'")
        if keep_refresh_rule and scope != "access":
            raise ValueError("keep_refresh_rule applies to scope 'access' only")
        revoked = 0
        with self._lock:
            for access in self.access_tokens.values():
                if access.client_id == client_id and (user_id is None or access.user_id == user_id):
                    if not access.revoked:
                        revoked += 1
                    access.revoked = True
            for key, chain in list(self.chains.items()):
                if chain.client_id != client_id or (user_id is not None and chain.user_id != user_id):
                    continue
                if scope == "all":
                    self.revoked_refresh.add(chain.refresh_token)
                    self.dead_refresh_since[chain.refresh_token] = self.world.clock.now()
                    del self.chains[key]
                elif not keep_refresh_rule:
                    # Sandbox choice: with the access token gone, "access_token not expired" no longer applies.
                    chain.access_issued_at = datetime(1970, 1, 1, tzinfo=UTC)
        return revoked

    def clear(self) -> None:
        with self._lock:
            self.codes.clear()
            self.access_tokens.clear()
            self.chains.clear()
            self.retired_refresh.clear()
            self.revoked_refresh.clear()
            self.dead_refresh_since.clear()

    # ----------------------------------------------------------------- snapshot

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "access_tokens": [a.to_json() for a in self.access_tokens.values()],
                "chains": [c.to_json() for c in self.chains.values()],
                "retired_refresh": [
                    {"token": t, "client_id": k[0], "user_id": str(k[1])} for t, k in self.retired_refresh.items()
                ],
                "revoked_refresh": sorted(self.revoked_refresh),
                "dead_refresh_since": {t: since.isoformat() for t, since in self.dead_refresh_since.items()},
            }

    def load_json(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.clear()
            for item in data.get("access_tokens", []):
                access = AccessToken.from_json(item)
                self.access_tokens[access.token] = access
            for item in data.get("chains", []):
                chain = TokenChain.from_json(item)
                self.chains[(chain.client_id, chain.user_id)] = chain
            for item in data.get("retired_refresh", []):
                self.retired_refresh[item["token"]] = (item["client_id"], UUID(item["user_id"]))
            self.revoked_refresh.update(data.get("revoked_refresh", []))
            since = {t: datetime.fromisoformat(v) for t, v in data.get("dead_refresh_since", {}).items()}
            # Older snapshots did not record when: count from the load, so they are pruned 30 days later.
            now = self.world.clock.now()
            for token in [*self.retired_refresh, *self.revoked_refresh]:
                self.dead_refresh_since[token] = since.get(token, now)
