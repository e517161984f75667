"""OAuth 2.0 as Xero does it: consent, single-use codes, 30-minute tokens, rotating refresh tokens with a grace."""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit
from uuid import UUID

from werkzeug.wrappers import Request, Response

from connectors.xero.sandbox.counters import Counters
from connectors.xero.sandbox.errors import json_response
from connectors.xero.sandbox.jwt import Signer, at_hash
from connectors.xero.sandbox.state import App, Connection, User, World

# NOTES.md "OAuth": codes are single use and live 5 minutes (30 s in one weak source; 5 min chosen).
CODE_LIFETIME = timedelta(minutes=5)
# NOTES.md "OAuth": access tokens live 30 minutes; expires_in is the integer 1800.
ACCESS_LIFETIME = timedelta(minutes=30)
# NOTES.md "OAuth": id tokens live 5 minutes.
ID_TOKEN_LIFETIME = timedelta(minutes=5)
# NOTES.md "OAuth": an unused refresh token expires after 60 days.
REFRESH_LIFETIME = timedelta(days=60)
# NOTES.md "OAuth": the previous refresh token may be retried for 30 minutes if the answer was lost.
REFRESH_GRACE = timedelta(minutes=30)

# NOTES.md "Scopes": user, broad accounting and granular (2026) scopes, plus the other APIs' scopes.
KNOWN_SCOPES = frozenset(
    {
        "openid",
        "profile",
        "email",
        "offline_access",
        "accounting.transactions",
        "accounting.transactions.read",
        "accounting.settings",
        "accounting.settings.read",
        "accounting.contacts",
        "accounting.contacts.read",
        "accounting.attachments",
        "accounting.attachments.read",
        "accounting.reports.read",
        "accounting.journals.read",
        "accounting.budgets.read",
        "accounting.reports.tenninetynine.read",
        "accounting.invoices",
        "accounting.invoices.read",
        "accounting.payments",
        "accounting.payments.read",
        "accounting.banktransactions",
        "accounting.banktransactions.read",
        "accounting.manualjournals",
        "accounting.manualjournals.read",
        "paymentservices",
        "bankfeeds",
        "files",
        "files.read",
        "assets",
        "assets.read",
        "projects",
        "projects.read",
        "payroll.employees",
        "payroll.employees.read",
        "payroll.payruns",
        "payroll.payruns.read",
        "payroll.payslip",
        "payroll.payslip.read",
        "payroll.timesheets",
        "payroll.timesheets.read",
        "payroll.settings",
        "payroll.settings.read",
    }
)


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    user_id: UUID
    scopes: frozenset[str]
    redirect_uri: str
    auth_event_id: UUID
    issued_at: datetime
    code_challenge: str | None = None
    nonce: str | None = None
    used: bool = False


@dataclass
class AccessToken:
    token: str
    client_id: str
    user_id: UUID
    scopes: frozenset[str]
    auth_event_id: UUID
    issued_at: datetime
    expires_at: datetime
    # The refresh token issued in the same answer (None without offline_access).
    refresh_token: str | None = None
    revoked: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "scopes": sorted(self.scopes),
            "auth_event_id": str(self.auth_event_id),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "refresh_token": self.refresh_token,
            "revoked": self.revoked,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccessToken:
        return cls(
            token=data["token"],
            client_id=data["client_id"],
            user_id=UUID(data["user_id"]),
            scopes=frozenset(data["scopes"]),
            auth_event_id=UUID(data["auth_event_id"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            refresh_token=data.get("refresh_token"),
            revoked=data["revoked"],
        )


@dataclass
class RefreshToken:
    """One refresh token; `state` is live, rotated (superseded, usable within the grace) or revoked."""

    token: str
    client_id: str
    user_id: UUID
    scopes: frozenset[str]
    auth_event_id: UUID
    issued_at: datetime
    expires_at: datetime
    # PKCE grants refresh with client_id only, no secret.
    pkce: bool = False
    state: str = "live"
    rotated_at: datetime | None = None
    successor: str | None = None
    died_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "client_id": self.client_id,
            "user_id": str(self.user_id),
            "scopes": sorted(self.scopes),
            "auth_event_id": str(self.auth_event_id),
            "issued_at": self.issued_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "pkce": self.pkce,
            "state": self.state,
            "rotated_at": self.rotated_at.isoformat() if self.rotated_at else None,
            "successor": self.successor,
            "died_at": self.died_at.isoformat() if self.died_at else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefreshToken:
        return cls(
            token=data["token"],
            client_id=data["client_id"],
            user_id=UUID(data["user_id"]),
            scopes=frozenset(data["scopes"]),
            auth_event_id=UUID(data["auth_event_id"]),
            issued_at=datetime.fromisoformat(data["issued_at"]),
            expires_at=datetime.fromisoformat(data["expires_at"]),
            pkce=bool(data.get("pkce", False)),
            state=data["state"],
            rotated_at=datetime.fromisoformat(data["rotated_at"]) if data.get("rotated_at") else None,
            successor=data.get("successor"),
            died_at=datetime.fromisoformat(data["died_at"]) if data.get("died_at") else None,
        )


@dataclass(frozen=True)
class TokenOutcome:
    """The token endpoint's answer plus the app that asked (for counters and faults)."""

    response: Response
    client_id: str | None


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _token_error(error: str, status: int = 400) -> Response:
    # NOTES.md "OAuth": token errors are HTTP 400 with only {"error": …}; error_description is UNCONFIRMED.
    return json_response({"error": error}, status)


def _redirect(location: str) -> Response:
    return Response("", status=302, headers={"Location": location})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _valid_verifier(verifier: str) -> bool:
    # NOTES.md "PKCE": 43 to 128 characters from A-Z a-z 0-9 - . _ ~.
    allowed = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return 43 <= len(verifier) <= 128 and set(verifier) <= allowed


class OAuthServer:
    """Codes, access tokens and refresh tokens; all times come from the world's sandbox clock."""

    def __init__(self, world: World, counters: Counters) -> None:
        self.world = world
        self.counters = counters
        self.signer = Signer()
        self._lock = threading.RLock()
        self.codes: dict[str, AuthorizationCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # Scopes add up across consents per (app, user) until revoked (NOTES.md "Scopes").
        self.consented_scopes: dict[tuple[str, UUID], frozenset[str]] = {}

    # ----------------------------------------------------------------- authorisation endpoint

    def authorize(self, request: Request, form_action: str) -> Response:
        """GET shows the consent page (or redirects at once in auto-consent mode); POST handles the form."""
        params = request.form if request.method == "POST" else request.args
        with self._lock:
            self._prune(self.world.clock.now())
        client_id = params.get("client_id", "")
        redirect_uri = params.get("redirect_uri", "")
        state = params.get("state")
        with self.world.lock:
            app = self.world.apps.get(client_id)
            auto = self.world.auto_consent.get(client_id)
        # NOTES.md "OAuth": a bad client_id, redirect_uri or scope shows an error page, never a redirect.
        if app is None:
            return self._page(400, "Error: unauthorized_client", "<p>Unknown client or client not enabled.</p>")
        if redirect_uri not in app.redirect_uris:
            return self._page(400, "Error: invalid_request", "<p>Invalid redirect_uri.</p>")
        scopes = params.get("scope", "").split()
        if not scopes:
            return self._page(400, "Error: invalid_scope", "<p>No scope was requested.</p>")
        unknown = sorted(set(scopes) - KNOWN_SCOPES)
        if unknown:
            return self._page(400, "Error: invalid_scope", f"<p>Unknown scope {html.escape(' '.join(unknown))}.</p>")
        if params.get("response_type") != "code":
            return self._page(400, "Error: unsupported_response_type", "<p>Only response_type=code.</p>")
        challenge = params.get("code_challenge") or None
        if challenge is not None and params.get("code_challenge_method") != "S256":
            # NOTES.md "PKCE": S256 only.
            return self._page(400, "Error: invalid_request", "<p>code_challenge_method must be S256.</p>")
        nonce = params.get("nonce") or None
        request_scopes = frozenset(scopes)

        if request.method == "POST":
            if request.form.get("decision") != "approve":
                return _redirect(self._callback(redirect_uri, state, error="access_denied"))
            try:
                user_id = UUID(request.form.get("user_id", ""))
            except ValueError:
                return self._consent_page(app, params, form_action, error="Choose a user.")
            with self.world.lock:
                user = self.world.users.get(user_id)
            if user is None:
                return self._consent_page(app, params, form_action, error="Choose a user.")
            ticked = set()
            for value in request.form.getlist("tenant"):
                try:
                    ticked.add(UUID(value))
                except ValueError:
                    continue
            tenants = frozenset(user.tenant_ids) & frozenset(ticked)
            if not tenants and self._needs_tenant(request_scopes):
                return self._consent_page(
                    app, params, form_action, error="Tick at least one organisation that this user may open."
                )
            code = self._consent(app, user, tenants, request_scopes, redirect_uri, challenge, nonce)
            return _redirect(self._callback(redirect_uri, state, code=code))
        if auto is not None:
            with self.world.lock:
                user = self.world.users.get(auto.user_id)
            if user is None:
                return self._page(400, "Auto-consent user missing", "<p>The auto-consent user is unknown.</p>")
            allowed = frozenset(user.tenant_ids)
            tenants = allowed if auto.tenant_ids is None else allowed & auto.tenant_ids
            code = self._consent(app, user, tenants, request_scopes, redirect_uri, challenge, nonce)
            return _redirect(self._callback(redirect_uri, state, code=code))
        return self._consent_page(app, params, form_action, error=None)

    @staticmethod
    def _needs_tenant(scopes: frozenset[str]) -> bool:
        """Only sign-in scopes (openid profile email) need no organisation on the consent screen."""
        return bool(scopes - {"openid", "profile", "email", "offline_access"})

    @staticmethod
    def _callback(redirect_uri: str, state: str | None, **params: str) -> str:
        if state is not None:
            params["state"] = state
        return _with_query(redirect_uri, params)

    def _consent(
        self,
        app: App,
        user: User,
        tenants: frozenset[UUID],
        scopes: frozenset[str],
        redirect_uri: str,
        challenge: str | None,
        nonce: str | None,
    ) -> str:
        """Connect the ticked organisations (one auth event) and issue a code."""
        now = self.world.clock.now()
        auth_event_id = uuid.uuid4()
        with self.world.lock:
            for tenant_id in sorted(tenants, key=str):
                if tenant_id not in self.world.organisations:
                    continue
                existing = self.world.connection_for(app.client_id, user.user_id, tenant_id)
                if existing is not None:
                    existing.auth_event_id = auth_event_id
                    existing.updated = now
                    continue
                connection = Connection(
                    id=uuid.uuid4(),
                    client_id=app.client_id,
                    user_id=user.user_id,
                    tenant_id=tenant_id,
                    auth_event_id=auth_event_id,
                    created=now,
                    updated=now,
                )
                self.world.connections[connection.id] = connection
        with self._lock:
            key = (app.client_id, user.user_id)
            granted = self.consented_scopes.get(key, frozenset()) | scopes
            self.consented_scopes[key] = granted
            code = secrets.token_hex(32)
            self.codes[code] = AuthorizationCode(
                code=code,
                client_id=app.client_id,
                user_id=user.user_id,
                scopes=granted,
                redirect_uri=redirect_uri,
                auth_event_id=auth_event_id,
                issued_at=now,
                code_challenge=challenge,
                nonce=nonce,
            )
        return code

    def _consent_page(self, app: App, params: Any, form_action: str, error: str | None) -> Response:
        with self.world.lock:
            users = sorted(self.world.users.values(), key=lambda u: u.email)
            organisations = sorted(self.world.organisations.values(), key=lambda o: o.name)
            access = {o.tenant_id: [u.email for u in users if o.tenant_id in u.tenant_ids] for o in organisations}
        hidden_names = (
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "nonce",
        )
        hidden_inputs = "\n".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name))}">'
            for name in hidden_names
            if params.get(name) is not None
        )
        user_options = "\n".join(
            f'<option value="{u.user_id}">{html.escape(u.given_name)} {html.escape(u.family_name)}'
            f" ({html.escape(u.email)})</option>"
            for u in users
        )
        tenant_boxes = "\n".join(
            f'<label><input type="checkbox" name="tenant" value="{o.tenant_id}"> {html.escape(o.name)}'
            f" <small>(users: {html.escape(', '.join(access[o.tenant_id]) or 'none')})</small></label><br>"
            for o in organisations
        )
        scope_items = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split())
        error_html = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = f"""
<p><strong>{html.escape(app.name)}</strong> wants access to your Xero organisations.</p>
<ul>{scope_items}</ul>
{error_html}
<form method="post" action="{html.escape(form_action)}">
{hidden_inputs}
<p><label>User <select name="user_id">
{user_options}
</select></label></p>
<fieldset><legend>Organisations to connect</legend>
{tenant_boxes}
</fieldset>
<p><button type="submit" name="decision" value="approve">Allow access</button>
<button type="submit" name="decision" value="decline">Cancel</button></p>
</form>"""
        return self._page(400 if error else 200, "Xero sandbox: connect your organisations", body)

    @staticmethod
    def _page(status: int, title: str, body: str) -> Response:
        text = (
            f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
        )
        return Response(text, status=status, content_type="text/html; charset=utf-8")

    # ----------------------------------------------------------------- token endpoint

    def _client(self, request: Request) -> tuple[App | None, bool, str | None]:
        """(app, authenticated with a secret, client_id) from HTTP Basic or the form (client_secret_post)."""
        form = request.form
        basic_id = basic_secret = None
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() == "basic" and encoded.strip():
            try:
                decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, False, None
            raw_id, _, raw_secret = decoded.partition(":")
            # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
            basic_id, basic_secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
        form_id = form.get("client_id") or None
        form_secret = form.get("client_secret") or None
        if basic_id is not None and form_id is not None and form_id != basic_id:
            return None, False, None
        client_id = basic_id or form_id
        secret = basic_secret if basic_id is not None else form_secret
        if basic_id is not None and form_secret is not None:
            # RFC 6749 §2.3: a client must not use more than one authentication method.
            return None, False, client_id
        with self.world.lock:
            app = self.world.apps.get(client_id or "")
        if app is None:
            return None, False, client_id
        if secret is None:
            return app, False, client_id
        if not secrets.compare_digest(app.client_secret, secret):
            return None, False, client_id
        return app, True, client_id

    def token(self, request: Request, issuer: str) -> TokenOutcome:
        """POST /connect/token, form-encoded: authorization_code and refresh_token grants."""
        if request.method != "POST":
            return TokenOutcome(_token_error("invalid_request", 405), None)
        app, with_secret, client_id = self._client(request)
        if app is None:
            return self._fail("invalid_client", client_id)
        form = request.form
        grant_type = form.get("grant_type", "")
        if grant_type == "authorization_code":
            return self._exchange_code(app, with_secret, form, issuer)
        if grant_type == "refresh_token":
            return self._refresh(app, with_secret, form.get("refresh_token", ""), issuer)
        return self._fail("unsupported_grant_type", app.client_id)

    def _fail(self, error: str, client_id: str | None) -> TokenOutcome:
        self.counters.token_error(error)
        return TokenOutcome(_token_error(error), client_id)

    def _exchange_code(self, app: App, with_secret: bool, form: Any, issuer: str) -> TokenOutcome:
        now = self.world.clock.now()
        code = form.get("code", "")
        with self._lock:
            grant = self.codes.get(code)
            if grant is None or grant.client_id != app.client_id or grant.used:
                return self._fail("invalid_grant", app.client_id)
            if now - grant.issued_at > CODE_LIFETIME:
                return self._fail("invalid_grant", app.client_id)
            if grant.redirect_uri != form.get("redirect_uri", ""):
                return self._fail("invalid_grant", app.client_id)
            verifier = form.get("code_verifier")
            if grant.code_challenge is not None:
                if not verifier or not _valid_verifier(verifier) or _s256(verifier) != grant.code_challenge:
                    return self._fail("invalid_grant", app.client_id)
            elif not with_secret:
                # Without PKCE the client must prove itself with its secret.
                return self._fail("invalid_client", app.client_id)
            grant.used = True
            body = self._issue(
                app.client_id,
                grant.user_id,
                grant.scopes,
                grant.auth_event_id,
                now,
                issuer,
                pkce=grant.code_challenge is not None and not with_secret,
                nonce=grant.nonce,
            )
        self.counters.incr("tokens_issued")
        return TokenOutcome(self._token_response(body), app.client_id)

    def _refresh(self, app: App, with_secret: bool, refresh_token: str, issuer: str) -> TokenOutcome:
        now = self.world.clock.now()
        with self._lock:
            record = self.refresh_tokens.get(refresh_token) if refresh_token else None
            if record is None or record.client_id != app.client_id:
                return self._fail("invalid_grant", app.client_id)
            if not with_secret and not record.pkce:
                return self._fail("invalid_client", app.client_id)
            if record.state == "revoked" or now > record.expires_at:
                return self._fail("invalid_grant", app.client_id)
            if record.state == "rotated":
                assert record.rotated_at is not None
                if now - record.rotated_at > REFRESH_GRACE:
                    return self._fail("invalid_grant", app.client_id)
                # Grace retry (sandbox choice, UNCONFIRMED): a new pair, and the pair issued from this token
                # before (whose answer was presumably lost) dies, so one chain stays alive.
                if record.successor is not None:
                    self._revoke_chain(record.successor, now)
                self.counters.incr("token_grace_reuses")
            else:
                record.state = "rotated"
                record.rotated_at = now
            body = self._issue(
                app.client_id, record.user_id, record.scopes, record.auth_event_id, now, issuer, pkce=record.pkce
            )
            record.successor = body.get("refresh_token")
        self.counters.incr("token_refreshes")
        return TokenOutcome(self._token_response(body), app.client_id)

    def _revoke_chain(self, token: str | None, now: datetime) -> None:
        """Revoke a refresh token, every token rotated from it, and the access tokens issued with them."""
        while token is not None:
            record = self.refresh_tokens.get(token)
            if record is None:
                return
            record.state = "revoked"
            record.died_at = record.died_at or now
            for access in self.access_tokens.values():
                if access.refresh_token == token:
                    access.revoked = True
            token = record.successor

    def _issue(
        self,
        client_id: str,
        user_id: UUID,
        scopes: frozenset[str],
        auth_event_id: UUID,
        now: datetime,
        issuer: str,
        *,
        pkce: bool,
        nonce: str | None = None,
    ) -> dict[str, Any]:
        """A token answer with exactly Xero's keys (xero-python rejects any other key, NOTES.md "OAuth")."""
        self._prune(now)
        with self.world.lock:
            user = self.world.users.get(user_id)
        epoch = int(now.timestamp())
        session_id = secrets.token_hex(16)
        claims = {
            "nbf": epoch,
            "exp": epoch + int(ACCESS_LIFETIME.total_seconds()),
            "iss": issuer,
            "aud": f"{issuer}/resources",
            "client_id": client_id,
            "sub": user_id.hex,
            "auth_time": epoch,
            "xero_userid": str(user_id),
            "global_session_id": session_id,
            "sid": session_id,
            "authentication_event_id": str(auth_event_id),
            "jti": secrets.token_hex(16),
            "scope": sorted(scopes),
            "amr": ["pwd"],
        }
        access_token = self.signer.sign(claims)
        refresh_token: str | None = None
        if "offline_access" in scopes:
            # NOTES.md "OAuth": a refresh token is issued only with offline_access.
            refresh_token = secrets.token_hex(32)
            self.refresh_tokens[refresh_token] = RefreshToken(
                token=refresh_token,
                client_id=client_id,
                user_id=user_id,
                scopes=scopes,
                auth_event_id=auth_event_id,
                issued_at=now,
                expires_at=now + REFRESH_LIFETIME,
                pkce=pkce,
            )
        self.access_tokens[access_token] = AccessToken(
            token=access_token,
            client_id=client_id,
            user_id=user_id,
            scopes=scopes,
            auth_event_id=auth_event_id,
            issued_at=now,
            expires_at=now + ACCESS_LIFETIME,
            refresh_token=refresh_token,
        )
        body: dict[str, Any] = {}
        if "openid" in scopes and user is not None:
            id_claims: dict[str, Any] = {
                "nbf": epoch,
                "exp": epoch + int(ID_TOKEN_LIFETIME.total_seconds()),
                "iss": issuer,
                "aud": client_id,
                "iat": epoch,
                "at_hash": at_hash(access_token),
                "sid": session_id,
                "sub": user_id.hex,
                "auth_time": epoch,
                "idp": "Xero",
                "xero_userid": str(user_id),
                "global_session_id": session_id,
                "preferred_username": user.email,
                "email": user.email,
                "given_name": user.given_name,
                "family_name": user.family_name,
                "amr": ["pwd"],
            }
            if nonce is not None:
                id_claims["nonce"] = nonce
            body["id_token"] = self.signer.sign(id_claims)
        body["access_token"] = access_token
        body["expires_in"] = int(ACCESS_LIFETIME.total_seconds())
        body["token_type"] = "Bearer"
        if refresh_token is not None:
            body["refresh_token"] = refresh_token
        # NOTES.md "OAuth": the granted scopes, space-separated (oauthlib compares them with the request).
        body["scope"] = " ".join(sorted(scopes, key=_scope_order))
        return body

    def _prune(self, now: datetime) -> None:
        """Forget what can no longer matter; called under self._lock on every issue and authorisation."""
        for token in [t for t, a in self.access_tokens.items() if a.expires_at < now - timedelta(hours=1)]:
            del self.access_tokens[token]
        for code in [c for c, g in self.codes.items() if g.issued_at < now - timedelta(hours=1)]:
            del self.codes[code]
        dead = []
        for token, record in self.refresh_tokens.items():
            if record.state == "live" and now > record.expires_at + REFRESH_LIFETIME:
                dead.append(token)
            elif record.state != "live":
                died = record.died_at or record.rotated_at or record.issued_at
                # Past the grace a rotated or revoked token is only kept to answer invalid_grant; once it
                # would have expired anyway it can be forgotten (it then reads as unknown: invalid_grant too).
                if now - died > REFRESH_LIFETIME:
                    dead.append(token)
        for token in dead:
            del self.refresh_tokens[token]

    @staticmethod
    def _token_response(body: dict[str, Any]) -> Response:
        return json_response(body, 200, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ----------------------------------------------------------------- revocation and bearer check

    def revocation(self, request: Request) -> TokenOutcome:
        """POST /connect/revocation: revokes the grant and removes all the user's connections of the app."""
        if request.method != "POST":
            return TokenOutcome(_token_error("invalid_request", 405), None)
        app, with_secret, client_id = self._client(request)
        if app is None:
            return self._fail("invalid_client", client_id)
        token = request.form.get("token", "")
        with self._lock:
            record = self.refresh_tokens.get(token)
            access = self.access_tokens.get(token)
            owner = record or access
            if owner is not None and owner.client_id == app.client_id:
                if record is not None and not with_secret and not record.pkce:
                    return self._fail("invalid_client", app.client_id)
                self.revoke(client_id=app.client_id, user_id=owner.user_id, scope="all", disconnect=True)
                self.counters.incr("token_revocations")
        # RFC 7009 §2.2: an unknown token is answered 200 as well.
        return TokenOutcome(Response(b"", status=200), app.client_id)

    def authenticate(self, request: Request) -> AccessToken | str:
        """The bearer token of an API call, or the 401 Detail to answer with."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "AuthenticationUnsuccessful"
        now = self.world.clock.now()
        with self._lock:
            access = self.access_tokens.get(token.strip())
        if access is None or access.revoked:
            return "AuthenticationUnsuccessful"
        if now >= access.expires_at:
            stamp = access.expires_at.strftime("%m/%d/%Y %H:%M:%S")
            return f"TokenExpired: token expired at {stamp}"
        return access

    def revoke(
        self, *, client_id: str, user_id: UUID | None = None, scope: str = "access", disconnect: bool = False
    ) -> int:
        """Kill access tokens (scope "access") or also refresh tokens and consented scopes (scope "all")."""
        if scope not in ("access", "all"):
            raise ValueError("scope must be 'access' or 'all'")
        now = self.world.clock.now()
        revoked = 0
        with self._lock:
            for access in self.access_tokens.values():
                if access.client_id == client_id and (user_id is None or access.user_id == user_id):
                    if not access.revoked:
                        revoked += 1
                    access.revoked = True
            if scope == "all":
                for record in self.refresh_tokens.values():
                    mine = record.client_id == client_id and (user_id is None or record.user_id == user_id)
                    if mine and record.state != "revoked":
                        record.state = "revoked"
                        record.died_at = now
                for key in [k for k in self.consented_scopes if k[0] == client_id]:
                    if user_id is None or key[1] == user_id:
                        del self.consented_scopes[key]
        if disconnect:
            with self.world.lock:
                for connection_id in [
                    c.id
                    for c in self.world.connections.values()
                    if c.client_id == client_id and (user_id is None or c.user_id == user_id)
                ]:
                    del self.world.connections[connection_id]
        return revoked

    def clear(self) -> None:
        with self._lock:
            self.codes.clear()
            self.access_tokens.clear()
            self.refresh_tokens.clear()
            self.consented_scopes.clear()

    # ----------------------------------------------------------------- OIDC discovery

    def discovery(self, issuer: str, authorize_url: str) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "authorization_endpoint": authorize_url,
            "token_endpoint": f"{issuer}/connect/token",
            "revocation_endpoint": f"{issuer}/connect/revocation",
            "jwks_uri": f"{issuer}/.well-known/openid-configuration/jwks",
            "userinfo_endpoint": f"{issuer}/connect/userinfo",
            "scopes_supported": sorted(KNOWN_SCOPES),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    # ----------------------------------------------------------------- snapshot

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "access_tokens": [a.to_json() for a in self.access_tokens.values()],
                "refresh_tokens": [r.to_json() for r in self.refresh_tokens.values()],
                "consented_scopes": [
                    {"client_id": k[0], "user_id": str(k[1]), "scopes": sorted(v)}
                    for k, v in self.consented_scopes.items()
                ],
            }

    def load_json(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.clear()
            for item in data.get("access_tokens", []):
                access = AccessToken.from_json(item)
                self.access_tokens[access.token] = access
            for item in data.get("refresh_tokens", []):
                record = RefreshToken.from_json(item)
                self.refresh_tokens[record.token] = record
            for item in data.get("consented_scopes", []):
                self.consented_scopes[(item["client_id"], UUID(item["user_id"]))] = frozenset(item["scopes"])


def _scope_order(scope: str) -> tuple[int, str]:
    """User scopes first, like Xero's answers (`email profile openid accounting… offline_access`)."""
    order = {"email": 0, "profile": 1, "openid": 2, "offline_access": 9}
    return order.get(scope, 5), scope


def scopes_of(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v for value in values for v in value.split())
