"""The Xero sandbox over real HTTP: identity (OAuth), connections, the Accounting API, limits, faults, snapshots.

One port stands in for Xero's three hosts, whose paths do not overlap (NOTES.md "Hosts"):
login.xero.com (`/identity/connect/authorize`), identity.xero.com (`/connect/token`, `/connect/revocation`,
`/.well-known/openid-configuration`) and api.xero.com (`/connections`, `/api.xro/2.0/…`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from werkzeug.wrappers import Request, Response

from connectors.base.sandbox_http import SandboxHTTPServer
from connectors.xero.sandbox.context import RequestContext
from connectors.xero.sandbox.counters import UNKNOWN_ENDPOINT, Counters, endpoint_name
from connectors.xero.sandbox.errors import (
    NOT_FOUND_TEXT,
    forbidden,
    internal_error,
    json_response,
    not_found,
    problem,
    unauthorized,
    unavailable,
)
from connectors.xero.sandbox.faults import Fault, FaultInjector
from connectors.xero.sandbox.oauth import AccessToken, OAuthServer
from connectors.xero.sandbox.ratelimit import RateLimiter
from connectors.xero.sandbox.state import App, AutoConsent, Connection, Organisation, User, World
from connectors.xero.sandbox.values import guid, iso_utc
from connectors.xero.sandbox.webhooks import DEFAULT_BATCH_DELAY, RESPONSE_TIMEOUT, WebhookDispatcher

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from connectors.xero.sandbox.control_client import SandboxControl

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1
API_PREFIX = "/api.xro/2.0/"
AUTHORIZE_PATH = "/identity/connect/authorize"
# NOTES.md "Idempotency": keys are remembered for 6 minutes.
DEFAULT_IDEMPOTENCY_TTL = 360.0

Dispatch = Callable[[RequestContext, Request, str], Response]


class DropConnection(Exception):
    """Raised inside the app to close the socket without sending any response (drop_* faults)."""


def _default_dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    from connectors.xero.sandbox import resources

    return resources.dispatch(ctx, request, path)


class Sandbox:
    """All platform parts around one World; a WSGI application."""

    def __init__(
        self,
        *,
        snapshot_path: str | os.PathLike[str] | None = None,
        webhook_batch_delay: float = DEFAULT_BATCH_DELAY,
        dispatch: Dispatch | None = None,
    ) -> None:
        self.snapshot_path = Path(snapshot_path) if snapshot_path else None
        self.world = World()
        self.counters = Counters()
        self.oauth = OAuthServer(self.world, self.counters)
        self.limits = RateLimiter()
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self.world, self.counters, webhook_batch_delay)
        self.dispatch: Dispatch = dispatch or _default_dispatch
        self.idempotency_ttl_seconds = DEFAULT_IDEMPOTENCY_TTL
        self._snapshot_lock = threading.Lock()

        from connectors.xero.sandbox.control import ControlAPI

        self.control_api = ControlAPI(self)

    # ----------------------------------------------------------------- registration (used by the control API)

    def register_app(
        self, *, client_id: str, client_secret: str, name: str, redirect_uris: list[str], webhook_key: str
    ) -> App:
        app = App(client_id, client_secret, name, list(redirect_uris), webhook_key)
        with self.world.lock:
            if client_id in self.world.apps:
                raise ValueError(f"app {client_id} already exists")
            self.world.apps[client_id] = app
        return app

    def register_user(
        self, *, user_id: UUID, email: str, given_name: str, family_name: str, tenant_ids: Iterable[UUID] = ()
    ) -> User:
        tenants = set(tenant_ids)
        with self.world.lock:
            unknown = [str(t) for t in tenants if t not in self.world.organisations]
            if unknown:
                raise ValueError(f"unknown organisations {unknown}")
            user = User(
                user_id=user_id, email=email, given_name=given_name, family_name=family_name, tenant_ids=tenants
            )
            self.world.users[user_id] = user
        return user

    def register_organisation(
        self,
        *,
        tenant_id: UUID,
        name: str,
        country_code: str = "GB",
        base_currency: str = "GBP",
        tenant_type: str = "ORGANISATION",
        user_ids: Iterable[UUID] = (),
        seed_defaults: bool = True,
        period_lock_date: date | None = None,
    ) -> Organisation:
        from connectors.xero.sandbox.seed import create_organisation_store

        if tenant_type not in ("ORGANISATION", "PRACTICE", "PRACTICEMANAGER"):
            raise ValueError("tenant_type must be ORGANISATION, PRACTICE or PRACTICEMANAGER")
        users = list(user_ids)
        now = self.world.clock.now()
        with self.world.lock:
            missing = [str(u) for u in users if u not in self.world.users]
            if missing:
                raise ValueError(f"unknown users {missing}")
            if tenant_id in self.world.organisations:
                raise ValueError(f"organisation {tenant_id} already exists")
            store = create_organisation_store(
                tenant_id=str(tenant_id),
                name=name,
                country_code=country_code,
                base_currency=base_currency,
                created=now,
                seed_defaults=seed_defaults,
                period_lock_date=period_lock_date,
            )
            organisation = Organisation(
                tenant_id=tenant_id,
                name=name,
                tenant_type=tenant_type,
                country_code=country_code,
                base_currency=base_currency,
                store=store,
                created=now,
            )
            self.world.organisations[tenant_id] = organisation
            for user_id in users:
                self.world.users[user_id].tenant_ids.add(tenant_id)
        return organisation

    def reset(self) -> None:
        """Forget everything: apps, users, organisations, tokens, faults, counters, limits, clock offset."""
        with self.world.lock:
            self.world.clear()
            self.world.clock.reset()
        self.oauth.clear()
        self.limits.reset_usage()
        self.limits.defaults()
        self.faults.clear()
        self.webhooks.clear()
        self.webhooks.timeout_seconds = RESPONSE_TIMEOUT
        self.webhooks.seed = 0
        self.counters.reset()
        self.idempotency_ttl_seconds = DEFAULT_IDEMPOTENCY_TTL

    # ----------------------------------------------------------------- snapshot (JSON only, never pickle)

    def to_json(self) -> dict[str, Any]:
        with self.world.lock:
            return {
                "version": SNAPSHOT_VERSION,
                "saved_at": datetime.now(UTC).isoformat(),
                "clock_offset_seconds": self.world.clock.offset_seconds,
                "apps": [app.to_json() for app in self.world.apps.values()],
                "users": [user.to_json() for user in self.world.users.values()],
                "organisations": [
                    {**org.summary(), "store": org.store.to_json()} for org in self.world.organisations.values()
                ],
                "connections": [c.to_json() for c in self.world.connections.values()],
                "auto_consent": {cid: consent.to_json() for cid, consent in self.world.auto_consent.items()},
                "oauth": self.oauth.to_json(),
                "limits": {name: getattr(self.limits.config, name) for name in vars(self.limits.config)},
                "webhooks": self.webhooks.to_json(),
            }

    def load_json(self, data: dict[str, Any]) -> None:
        from connectors.xero.sandbox.store import OrganisationStore

        if data.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported snapshot version {data.get('version')!r}")
        with self.world.lock:
            self.world.clear()
            self.world.clock.reset()
            self.world.clock.advance(max(float(data.get("clock_offset_seconds", 0.0)), 0.0))
            for item in data.get("apps", []):
                app = App.from_json(item)
                self.world.apps[app.client_id] = app
            for item in data.get("users", []):
                user = User.from_json(item)
                self.world.users[user.user_id] = user
            for item in data.get("organisations", []):
                org = Organisation(
                    tenant_id=UUID(item["tenant_id"]),
                    name=item["name"],
                    tenant_type=item["tenant_type"],
                    country_code=item["country_code"],
                    base_currency=item["base_currency"],
                    store=OrganisationStore.from_json(item["store"]),
                    created=datetime.fromisoformat(item["created"]),
                )
                self.world.organisations[org.tenant_id] = org
            for item in data.get("connections", []):
                connection = Connection.from_json(item)
                self.world.connections[connection.id] = connection
            for client_id, item in data.get("auto_consent", {}).items():
                self.world.auto_consent[client_id] = AutoConsent.from_json(item)
        self.oauth.load_json(data.get("oauth", {}))
        self.limits.configure(**data.get("limits", {}))
        self.webhooks.load_json(data.get("webhooks", {}))

    def save_snapshot(self, path: str | os.PathLike[str] | None = None) -> Path:
        target = Path(path) if path else self.snapshot_path
        if target is None:
            raise ValueError("no snapshot path configured (start with --snapshot PATH)")
        with self._snapshot_lock:
            text = json.dumps(self.to_json())
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash mid-save never leaves a half snapshot behind.
            fd, tmp_name = tempfile.mkstemp(prefix=target.name, suffix=".tmp", dir=target.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(tmp_name, target)
        return target

    def load_snapshot(self, path: str | os.PathLike[str] | None = None) -> bool:
        source = Path(path) if path else self.snapshot_path
        if source is None or not source.exists():
            return False
        self.load_json(json.loads(source.read_text(encoding="utf-8")))
        return True

    # ----------------------------------------------------------------- WSGI

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.handle(request)
        except DropConnection:
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            # werkzeug treats ConnectionError from the app as a dropped connection and sends nothing.
            raise ConnectionAbortedError("sandbox fault: connection dropped") from None
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        path = request.path
        if path == "/_control" or path.startswith("/_control/"):
            return self.control_api.handle(request)
        # NOTES.md "Hosts": paths are case-insensitive (xero-python calls /Connections, pyxero /connections).
        lowered = path.lower().rstrip("/") or "/"
        issuer = request.host_url.rstrip("/")
        if lowered == AUTHORIZE_PATH:
            response = self._with_faults(
                request,
                request.values.get("client_id"),
                None,
                lambda: self.oauth.authorize(request, form_action=AUTHORIZE_PATH),
            )
            self.counters.call("identity/connect/authorize", response.status_code)
            return response
        if lowered in ("/connect/token", "/connect/revocation"):
            return self._token_endpoint(request, lowered, issuer)
        if lowered == "/.well-known/openid-configuration":
            self.counters.call("openid-configuration", 200)
            return json_response(self.oauth.discovery(issuer, issuer + AUTHORIZE_PATH))
        if lowered == "/.well-known/openid-configuration/jwks":
            self.counters.call("openid-configuration/jwks", 200)
            return json_response(self.oauth.signer.jwks())
        if lowered == "/connections" or lowered.startswith("/connections/"):
            return self._connections(request, lowered)
        if lowered.startswith(API_PREFIX.rstrip("/")):
            return self._api(request, issuer)
        self.counters.call(UNKNOWN_ENDPOINT, 404)
        return not_found()

    # ----------------------------------------------------------------- identity

    def _token_endpoint(self, request: Request, lowered: str, issuer: str) -> Response:
        name = lowered.strip("/")
        client_box: dict[str, str | None] = {}

        def run() -> Response:
            outcome = self.oauth.token(request, issuer) if name == "connect/token" else self.oauth.revocation(request)
            client_box["client_id"] = outcome.client_id
            return outcome.response

        client_id = request.form.get("client_id") or _basic_client_id(request)
        response = self._with_faults(request, client_id, None, run)
        self.counters.call(name, response.status_code)
        return response

    def _bearer(self, request: Request) -> AccessToken | Response:
        authenticated = self.oauth.authenticate(request)
        if isinstance(authenticated, str):
            return unauthorized(authenticated)
        return authenticated

    def _connections(self, request: Request, lowered: str) -> Response:
        access = self._bearer(request)
        if isinstance(access, Response):
            self.counters.call("connections", access.status_code)
            return access
        parts = lowered.strip("/").split("/")
        response = self._with_faults(
            request, access.client_id, None, lambda: self._connections_inner(request, access, parts)
        )
        self.counters.call("connections", response.status_code)
        return response

    def _connections_inner(self, request: Request, access: AccessToken, parts: list[str]) -> Response:
        with self.world.lock:
            mine = [
                c
                for c in self.world.connections.values()
                if c.client_id == access.client_id and c.user_id == access.user_id
            ]
            if len(parts) == 1 and request.method == "GET":
                event = request.args.get("authEventId")
                if event is not None:
                    mine = [c for c in mine if str(c.auth_event_id) == (guid(event) or "")]
                body = []
                for c in sorted(mine, key=lambda c: c.created):
                    org = self.world.organisations.get(c.tenant_id)
                    if org is None:
                        continue
                    # NOTES.md "Connections": a bare array; dates with 7 fractional digits and no zone.
                    body.append(
                        {
                            "id": str(c.id),
                            "authEventId": str(c.auth_event_id),
                            "tenantId": str(c.tenant_id),
                            "tenantType": org.tenant_type,
                            "tenantName": org.name,
                            "createdDateUtc": iso_utc(c.created),
                            "updatedDateUtc": iso_utc(c.updated),
                        }
                    )
                return json_response(body)
            if len(parts) == 2 and request.method == "DELETE":
                wanted = guid(parts[1])
                target = next((c for c in mine if str(c.id) == wanted), None)
                if target is None:
                    return not_found()
                del self.world.connections[target.id]
                return Response(b"", status=204)
        return Response(
            "The requested resource does not support this HTTP method",
            status=405,
            content_type="text/plain; charset=utf-8",
        )

    # ----------------------------------------------------------------- Accounting API

    def _api(self, request: Request, issuer: str) -> Response:
        path = request.path[len(API_PREFIX) :] if len(request.path) >= len(API_PREFIX) else ""
        endpoint = endpoint_name(path.split("?")[0]) or "api.xro"
        access = self._bearer(request)
        if isinstance(access, Response):
            self.counters.call(endpoint, access.status_code)
            return access
        with self.world.lock:
            app = self.world.apps.get(access.client_id)
            user = self.world.users.get(access.user_id)
        if app is None or user is None:
            self.counters.call(endpoint, 401)
            return unauthorized("AuthenticationUnsuccessful")
        # NOTES.md "Connections": a missing, malformed, unknown or unconnected tenant id is a 403.
        tenant_text = request.headers.get("Xero-Tenant-Id", "")
        tenant_id = guid(tenant_text) if tenant_text else None
        organisation: Organisation | None = None
        if tenant_id is not None:
            with self.world.lock:
                organisation = self.world.organisations.get(UUID(tenant_id))
                connected = self.world.connection_for(app.client_id, user.user_id, UUID(tenant_id)) is not None
            if not connected:
                organisation = None
        if organisation is None or tenant_id is None:
            self.counters.call(endpoint, 403)
            return forbidden()
        decision = self.limits.acquire(app.client_id, tenant_id, self.world.clock.now())
        correlation_id = str(uuid.uuid4())
        if not decision.allowed:
            assert decision.problem is not None
            self.counters.rate_limited(decision.problem)
            self.counters.call(endpoint, 429)
            self.counters.usage(app.client_id, tenant_id, 429)
            headers = {
                **decision.headers,
                "Retry-After": str(decision.retry_after),
                "X-Rate-Limit-Problem": decision.problem,
                "Xero-Correlation-Id": correlation_id,
            }
            return problem(429, "Too Many Requests", f"Rate limit exceeded: {decision.problem}", headers)
        try:
            ctx = RequestContext(
                api_base_url=issuer,
                app=app,
                user=user,
                organisation=organisation,
                scopes=access.scopes,
                now=self.world.clock.now,
                events=self.webhooks,
                counters=self.counters,
                correlation_id=correlation_id,
                idempotency_ttl_seconds=self.idempotency_ttl_seconds,
            )
            response = self._with_faults(
                request, app.client_id, tenant_id, lambda: self.dispatch(ctx, request, path), revoke_user=user.user_id
            )
        finally:
            self.limits.release(app.client_id, tenant_id)
        for name, value in decision.headers.items():
            response.headers[name] = value
        response.headers["Xero-Correlation-Id"] = correlation_id
        counted = endpoint
        if response.status_code == 404 and response.get_data(as_text=True) == NOT_FOUND_TEXT:
            first = path.strip("/").split("/")[0].lower()
            from connectors.xero.sandbox.resources import SPECS

            if first not in {name.lower() for name in SPECS} | {"organisation", "organisations"}:
                counted = UNKNOWN_ENDPOINT
        self.counters.call(counted, response.status_code)
        self.counters.usage(app.client_id, tenant_id, response.status_code)
        return response

    # ----------------------------------------------------------------- faults

    def _with_faults(
        self,
        request: Request,
        client_id: str | None,
        tenant_id: str | None,
        handler: Callable[[], Response],
        revoke_user: UUID | None = None,
    ) -> Response:
        fired: list[Fault] = self.faults.firing(request.method, request.path, client_id, tenant_id)
        for fault in fired:
            self.counters.fault(fault.kind)
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000.0)
        action = next((f for f in fired if f.kind != "latency"), None)
        if action is None:
            return handler()
        if action.kind == "500":
            return internal_error()
        if action.kind == "503":
            return unavailable()
        if action.kind == "drop_before_apply":
            raise DropConnection
        if action.kind == "drop_after_apply":
            # The change is applied (e.g. the refresh token rotates) but the client never hears of it.
            handler()
            raise DropConnection
        if action.kind == "revoke_tokens":
            if client_id is not None:
                self.oauth.revoke(client_id=client_id, user_id=revoke_user, scope=action.revoke_scope)
            if request.path.lower().startswith(API_PREFIX) or request.path.lower().startswith("/connections"):
                return unauthorized("AuthenticationUnsuccessful")
            return handler()
        raise AssertionError(f"unhandled fault kind {action.kind}")


def _basic_client_id(request: Request) -> str | None:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username
    return None


def generate_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1/localhost; clients trust it via its file (REQUESTS_CA_BUNDLE)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Xero sandbox")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path = directory / "sandbox-cert.pem"
    key_path = directory / "sandbox-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class SandboxServer:
    """The sandbox in a daemon thread on its own port; a context manager for tests and the management command."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        snapshot_path: str | os.PathLike[str] | None = None,
        tls: bool = False,
        webhook_batch_delay: float = DEFAULT_BATCH_DELAY,
        dispatch: Dispatch | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.sandbox = Sandbox(snapshot_path=snapshot_path, webhook_batch_delay=webhook_batch_delay, dispatch=dispatch)
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls_dir: tempfile.TemporaryDirectory[str] | None = None
        # With tls=True: the PEM file a client must trust (the certificate is its own CA).
        self.ca_file: Path | None = None
        self._control: SandboxControl | None = None

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.server_port)

    @property
    def root_url(self) -> str:
        """Stands in for https://login.xero.com, https://identity.xero.com and https://api.xero.com alike."""
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def authorize_url(self) -> str:
        return self.root_url + AUTHORIZE_PATH

    @property
    def token_url(self) -> str:
        return self.root_url + "/connect/token"

    @property
    def revocation_url(self) -> str:
        return self.root_url + "/connect/revocation"

    @property
    def accounting_url(self) -> str:
        """Stand-in for https://api.xero.com/api.xro/2.0 (no trailing slash)."""
        return self.root_url + API_PREFIX.rstrip("/")

    @property
    def control(self) -> SandboxControl:
        """One control client per running server (closed by stop())."""
        from connectors.xero.sandbox.control_client import SandboxControl

        if self._control is None:
            verify: bool | ssl.SSLContext = True
            if self.ca_file is not None:
                verify = ssl.create_default_context(cafile=str(self.ca_file))
            self._control = SandboxControl(self.root_url, verify=verify)
        return self._control

    def start(self) -> SandboxServer:
        if self._server is not None:
            return self
        if self.sandbox.snapshot_path is not None:
            self.sandbox.load_snapshot()
        ssl_context: tuple[str, str] | None = None
        if self.tls:
            self._tls_dir = tempfile.TemporaryDirectory(prefix="xero-sandbox-tls-")
            cert_path, key_path = generate_self_signed_cert(Path(self._tls_dir.name))
            self.ca_file = cert_path
            ssl_context = (str(cert_path), str(key_path))
        # Keep-alive as the vendor serves it (connectors/base/sandbox_http.py).
        self._server = SandboxHTTPServer(self.host, self.requested_port, self.sandbox, ssl_context=ssl_context)
        self.sandbox.webhooks.start()
        # A short poll interval: stop() (and so every test module's teardown) waits for one poll.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"xero-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop_serving()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sandbox.webhooks.stop()
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.sandbox.snapshot_path is not None:
            self.sandbox.save_snapshot()
        self._server = None
        self._thread = None
        if self._tls_dir is not None:
            self._tls_dir.cleanup()
            self._tls_dir = None

    def serve_forever(self) -> None:
        """Foreground mode for the management command; Ctrl-C stops and saves the snapshot."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
