"""The Exact Online sandbox over real HTTP: region routing, auth, division access, limits, faults, snapshots."""

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
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

from werkzeug.wrappers import Request, Response

from connectors.base.sandbox_http import SandboxHTTPServer
from connectors.exact.sandbox.context import RequestContext
from connectors.exact.sandbox.counters import UNKNOWN_ENDPOINT, Counters, RequestLog, endpoint_name
from connectors.exact.sandbox.errors import exact_error
from connectors.exact.sandbox.faults import Fault, FaultInjector
from connectors.exact.sandbox.oauth import AccessToken, OAuthServer, client_credentials
from connectors.exact.sandbox.ratelimit import ErrorLimiter, RateLimiter
from connectors.exact.sandbox.state import REGIONS, App, AutoConsent, Division, User, World
from connectors.exact.sandbox.webhooks import DEFAULT_VALIDATION_DELAY, WebhookDispatcher

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from connectors.exact.sandbox.control_client import SandboxControl

logger = logging.getLogger(__name__)

Dispatch = Callable[[RequestContext, Request, str], Response]
StoreFactory = Callable[..., Any]

SNAPSHOT_VERSION = 1
# KB API limits: "URL length: 6,000 characters after encoding" (NOTES.md: Rate limits).
MAX_URL_LENGTH = 6000
# KB Restrictions: a single POST may be at most 10.0 MB (NOTES.md: Rate limits).
MAX_BODY_BYTES = 10 * 1024 * 1024
# For binaries the 10 MB is the file's size, not its base64 text (checked in writes.py); a message carrying one is
# bounded by the REST message length instead: 38 MB in NL and BE, 9.5 MB elsewhere (KB Restrictions).
BINARY_ENDPOINTS = ("/documents/DocumentAttachments",)
MAX_MESSAGE_BYTES = {"nl": 38 * 1024 * 1024, "be": 38 * 1024 * 1024}
MAX_MESSAGE_BYTES_ELSEWHERE = int(9.5 * 1024 * 1024)


def _body_limit(region: str, rest: str) -> int:
    if rest.rstrip("/").endswith(BINARY_ENDPOINTS):
        return MAX_MESSAGE_BYTES.get(region, MAX_MESSAGE_BYTES_ELSEWHERE)
    return MAX_BODY_BYTES


class DropConnection(Exception):
    """Raised inside the app to close the socket without sending any response (drop_* faults)."""


def _default_dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    # Imported late: the data layer is a separate half and must not be needed to import the platform.
    from connectors.exact.sandbox import resources

    return resources.dispatch(ctx, request, path)


def _default_known_endpoints() -> frozenset[str] | None:
    """The entity-set paths the default data layer serves (None when it is not there)."""
    try:
        from connectors.exact.sandbox.entities import ENTITY_SETS
    except ImportError:
        return None
    return frozenset(ENTITY_SETS)


def _default_store_factory(**kwargs: Any) -> Any:
    from connectors.exact.sandbox import store

    return store.create_division_store(**kwargs)


def _default_store_loader(data: dict[str, Any]) -> Any:
    from connectors.exact.sandbox import store

    return store.DivisionStore.from_json(data)


class Sandbox:
    """All platform parts around one World; a WSGI application."""

    def __init__(
        self,
        *,
        regions: Iterable[str] = REGIONS,
        snapshot_path: str | os.PathLike[str] | None = None,
        webhook_validation_delay: float = DEFAULT_VALIDATION_DELAY,
        dispatch: Dispatch | None = None,
        store_factory: StoreFactory | None = None,
        store_loader: Callable[[dict[str, Any]], Any] | None = None,
        root_region: str | None = None,
    ) -> None:
        self.regions: tuple[str, ...] = tuple(regions)
        unknown = set(self.regions) - set(REGIONS)
        if unknown:
            raise ValueError(f"unknown regions {sorted(unknown)}; expected some of {REGIONS}")
        if root_region is not None and root_region not in self.regions:
            raise ValueError(f"root region {root_region!r} is not among the served regions {self.regions}")
        # Served at "/" as well as under "/<region>/": a client that takes a host (https://start.exactonline.nl)
        # and builds /api/… itself can be pointed at the port as is (NOTES.md: OAuth and tokens).
        self.root_region = root_region
        self.snapshot_path = Path(snapshot_path) if snapshot_path else None
        self.world = World()
        self.counters = Counters()
        self.request_log = RequestLog()
        self.oauth = OAuthServer(self.world, self.counters)
        self.limits = RateLimiter()
        self.error_limits = ErrorLimiter(self.limits.config)
        self.faults = FaultInjector()
        self.webhooks = WebhookDispatcher(self.world, self.counters, webhook_validation_delay)
        self.dispatch: Dispatch = dispatch or _default_dispatch
        # Endpoint names the counters keep apart; a 404 elsewhere is counted as UNKNOWN_ENDPOINT. With a custom
        # dispatch the sandbox cannot know its endpoints: set this, or every name is kept.
        self.known_endpoints: frozenset[str] | None = _default_known_endpoints() if dispatch is None else None
        self.store_factory: StoreFactory = store_factory or _default_store_factory
        self.store_loader = store_loader or _default_store_loader
        self._snapshot_lock = threading.Lock()

        from connectors.exact.sandbox.control import ControlAPI

        self.control_api = ControlAPI(self)

    # ----------------------------------------------------------------- registration (used by the control API)

    def register_app(
        self,
        *,
        client_id: str,
        client_secret: str,
        name: str,
        redirect_uris: list[str],
        webhook_secret: str,
    ) -> App:
        app = App(client_id, client_secret, name, list(redirect_uris), webhook_secret)
        with self.world.lock:
            self.world.apps[client_id] = app
        return app

    def register_user(
        self,
        *,
        user_id: UUID,
        username: str,
        full_name: str,
        email: str,
        region: str,
        language: str = "nl-NL",
        division_codes: Iterable[int] = (),
    ) -> User:
        self._check_region(region)
        codes = set(division_codes)
        with self.world.lock:
            user = User(
                user_id=user_id,
                username=username,
                full_name=full_name,
                email=email,
                language=language,
                region=region,
                current_division=min(codes) if codes else 0,
                division_codes=codes,
            )
            self.world.users[user_id] = user
        return user

    def register_division(
        self,
        *,
        code: int,
        name: str,
        region: str,
        currency: str = "EUR",
        country: str = "NL",
        user_ids: Iterable[UUID] = (),
        seed_defaults: bool = True,
    ) -> Division:
        self._check_region(region)
        users = list(user_ids)
        with self.world.lock:
            missing = [str(u) for u in users if u not in self.world.users]
            if missing:
                raise ValueError(f"unknown users {missing}")
            if code in self.world.divisions:
                raise ValueError(f"division {code} already exists")
            store = self.store_factory(
                code=code, name=name, currency=currency, country=country, seed_defaults=seed_defaults
            )
            division = Division(
                code=code,
                name=name,
                region=region,
                currency=currency,
                country=country,
                store=store,
                created=self.world.clock.now(),
            )
            self.world.divisions[code] = division
            for user_id in users:
                user = self.world.users[user_id]
                user.division_codes.add(code)
                if not user.current_division:
                    user.current_division = code
        return division

    def _check_region(self, region: str) -> None:
        if region not in REGIONS:
            raise ValueError(f"unknown region {region!r}; expected one of {REGIONS}")

    def reset(self) -> None:
        """Forget everything: apps, users, divisions, tokens, faults, counters, limits, clock offset."""
        with self.world.lock:
            self.world.clear()
            self.world.clock.reset()
        self.oauth.clear()
        self.limits.reset_usage()
        self.limits.configure(
            minutely_limit=60,
            daily_limit=5000,
            minute_window_seconds=60.0,
            error_limit=10,
            error_window_seconds=3600.0,
            error_block_seconds=3600.0,
        )
        self.error_limits.reset()
        self.faults.clear()
        self.webhooks.clear()
        self.counters.reset()
        self.request_log.clear()

    # ----------------------------------------------------------------- snapshot (JSON only, never pickle)

    def to_json(self) -> dict[str, Any]:
        with self.world.lock:
            return {
                "version": SNAPSHOT_VERSION,
                "saved_at": datetime.now(UTC).isoformat(),
                "clock_offset_seconds": self.world.clock.offset_seconds,
                "apps": [app.to_json() for app in self.world.apps.values()],
                "users": [user.to_json() for user in self.world.users.values()],
                "divisions": [
                    {**division.summary(), "store": division.store.to_json()}
                    for division in self.world.divisions.values()
                ],
                "auto_consent": {cid: consent.to_json() for cid, consent in self.world.auto_consent.items()},
                "oauth": self.oauth.to_json(),
                "limits": {name: getattr(self.limits.config, name) for name in vars(self.limits.config)},
                "webhooks": self.webhooks.to_json(),
            }

    def load_json(self, data: dict[str, Any]) -> None:
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
            for item in data.get("divisions", []):
                division = Division(
                    code=int(item["code"]),
                    name=item["name"],
                    region=item["region"],
                    currency=item["currency"],
                    country=item["country"],
                    store=self.store_loader(item["store"]),
                    created=datetime.fromisoformat(item["created"]),
                )
                self.world.divisions[division.code] = division
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
        # Read the body even when the answer does not need it (faults, auth errors): left in a kept-alive socket,
        # werkzeug would parse it as the next request and answer that client's next request with a 400.
        request.get_data(cache=True)
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
        status = 0  # a dropped connection (drop_* faults) is logged without a status
        try:
            response = self._handle_exact(request)
            status = response.status_code
            return response
        finally:
            self.request_log.record(request, status)

    def _handle_exact(self, request: Request) -> Response:
        path = request.path
        if _url_length(request) > MAX_URL_LENGTH:
            # KB API limits: a URL may be at most 6,000 characters after encoding (NOTES.md: Rate limits).
            self.counters.call(UNKNOWN_ENDPOINT, 414)
            return exact_error(414, f"The request URL is longer than {MAX_URL_LENGTH} characters.")
        region, _, rest = path.lstrip("/").partition("/")
        mount = "/" + region
        if region not in self.regions:
            if self.root_region is None:
                return exact_error(404, f"Unknown region '{region}'. Served: {', '.join(self.regions)}.")
            region, rest, mount = self.root_region, path.lstrip("/"), ""
        rest = "/" + rest
        body_limit = _body_limit(region, rest)
        if request.method in ("POST", "PUT") and (request.content_length or 0) > body_limit:
            # The answer is not documented; 413 is what IIS gives for a body over its limit.
            self.counters.call(UNKNOWN_ENDPOINT, 413)
            return exact_error(413, f"The request body is larger than {body_limit / (1024 * 1024):g} MB.")
        if "100-continue" in request.headers.get("Expect", "").lower():
            # KB Known issues: POSTs with Expect: 100-Continue fail with HTTP 500 (NOTES.md: OData).
            self.counters.call(_endpoint_of(rest), 500)
            return exact_error(500, "An error occurred while processing the request (Expect: 100-continue).")
        if rest == "/api/oauth2/auth":
            return self._oauth_auth(request, region, rest, mount)
        if rest == "/api/oauth2/token":
            return self._oauth_token(request, region, rest)
        if rest.startswith("/api/v1/"):
            return self._api(request, region, rest, mount)
        return exact_error(404, "Resource not found.")

    def region_base_url(self, request: Request, mount: str) -> str:
        """The region's base as this request reached it: `http://host:port/nl`, or `http://host:port` at root."""
        return request.host_url.rstrip("/") + mount

    # ----------------------------------------------------------------- OAuth endpoints

    def _oauth_auth(self, request: Request, region: str, rest: str, mount: str) -> Response:
        client_id = request.values.get("client_id")
        response = self._with_faults(
            request,
            region,
            rest,
            client_id,
            None,
            lambda: self.oauth.authorize(request, region, form_action=f"{mount}/api/oauth2/auth"),
        )
        self.counters.call("oauth2/auth", response.status_code)
        return response

    def _oauth_token(self, request: Request, region: str, rest: str) -> Response:
        credentials = client_credentials(request)
        client_id = (credentials[0] if credentials else None) or None
        now = self.world.clock.now()
        # The token endpoint has no division; its errors are keyed per app (they count too: NOTES.md: Rate limits).
        error_key = (client_id or "", None, None, "oauth2/token")
        with self.world.lock:
            known_app = client_id in self.world.apps
        if known_app:
            blocked = self.error_limits.blocked_until(error_key, now)
            if blocked is not None:
                return self._error_limit_response(blocked, now, "oauth2/token")
        outcome_box: dict[str, Any] = {}

        def run() -> Response:
            outcome = self.oauth.token(request, region)
            outcome_box["user_id"] = outcome.user_id
            return outcome.response

        response = self._with_faults(request, region, rest, client_id, None, run)
        self.counters.call("oauth2/token", response.status_code)
        if known_app:
            self.error_limits.record(error_key, response.status_code, now)
        return response

    # ----------------------------------------------------------------- REST API

    def _api(self, request: Request, region: str, rest: str, mount: str) -> Response:
        first, has_division, path = _split_api_path(rest)
        endpoint = endpoint_name(path)
        now = self.world.clock.now()

        authenticated = self.oauth.authenticate(request, region)
        if isinstance(authenticated, Response):
            self.counters.call(endpoint, authenticated.status_code)
            self._record_error(authenticated, None, None, int(first) if has_division else None, endpoint, now)
            return authenticated
        access: AccessToken = authenticated
        with self.world.lock:
            app = self.world.apps.get(access.client_id)
            user = self.world.users.get(access.user_id)
        if app is None or user is None:
            response = exact_error(401, "Access token is invalid.")
            self.counters.call(endpoint, 401)
            return response

        division: Division | None = None
        division_code = int(first) if has_division else None
        error_key = (app.client_id, user.user_id, division_code, endpoint)
        blocked = self.error_limits.blocked_until(error_key, now)
        if blocked is not None:
            response = self._error_limit_response(blocked, now, endpoint)
            self.counters.call(endpoint, response.status_code)
            return response

        rate_headers: dict[str, str] = {}
        if division_code is not None:
            with self.world.lock:
                division = self.world.divisions.get(division_code)
            if division is None or division_code not in access.divisions or division.region != region:
                # picqer PR#451: a division outside the grant gives 403 with Reason: NoDivisionAccess.
                response = exact_error(
                    403, "Forbidden: no access to this division.", headers={"Reason": "NoDivisionAccess"}
                )
                self.counters.call(endpoint, 403)
                self.error_limits.record(error_key, 403, now)
                return response
            # Only URLs with a division count toward the limits; current/Me is free (NOTES.md: Divisions, Rate limits).
            decision = self.limits.check(app.client_id, division_code, now)
            if not decision.allowed:
                self.counters.rate_limited(decision.group or "unknown")
                self.counters.call(endpoint, 429)
                # The 429 body appears empty (picqer#528); Retry-After is UNCONFIRMED, so none is sent.
                return Response(b"", status=429, headers=decision.headers)
            rate_headers = decision.headers

        ctx = RequestContext(
            region=region,
            base_url=self.region_base_url(request, mount),
            world=self.world,
            app=app,
            user=user,
            division=division,
            grant_divisions=access.divisions,
            now=self.world.clock.now,
            events=self.webhooks,
        )
        response = self._with_faults(
            request, region, rest, app.client_id, user.user_id, lambda: self.dispatch(ctx, request, path)
        )
        for name, value in rate_headers.items():
            response.headers[name] = value
        self.counters.call(self._counted_endpoint(endpoint, response.status_code), response.status_code)
        self.error_limits.record(error_key, response.status_code, now)
        return response

    def _counted_endpoint(self, endpoint: str, status: int) -> str:
        """A 404 on a path that is no served endpoint goes to one bucket (random paths must not grow counters)."""
        known = self.known_endpoints
        if status != 404 or known is None:
            return endpoint
        if endpoint in known or any(endpoint.startswith(path + "/") for path in known):
            return endpoint  # e.g. a missing record, or crm/Accounts/$count, SalesInvoices/SalesInvoiceLines
        return UNKNOWN_ENDPOINT

    def _record_error(
        self,
        response: Response,
        client_id: str | None,
        user_id: UUID | None,
        division: int | None,
        endpoint: str,
        now: datetime,
    ) -> None:
        # Without a valid token the app is unknown, so such errors cannot be charged to a key.
        if client_id is not None:
            self.error_limits.record((client_id, user_id, division, endpoint), response.status_code, now)

    def _error_limit_response(self, until: datetime, now: datetime, endpoint: str) -> Response:
        """Sandbox choice (UNCONFIRMED in Exact's docs): 429 with the error envelope and Reason ErrorLimitExceeded."""
        seconds = max(int((until - now).total_seconds()), 1)
        self.counters.rate_limited("error_limit")
        return exact_error(
            429,
            f"Too many errors on {endpoint}: blocked until {until.isoformat()} (more than "
            f"{self.limits.config.error_limit} errors per hour).",
            headers={"Reason": "ErrorLimitExceeded", "Retry-After": str(seconds)},
        )

    # ----------------------------------------------------------------- faults

    def _with_faults(
        self,
        request: Request,
        region: str,
        path: str,
        client_id: str | None,
        user_id: UUID | None,
        handler: Callable[[], Response],
    ) -> Response:
        fired: list[Fault] = self.faults.firing(request.method, path, region, client_id)
        for fault in fired:
            self.counters.fault(fault.kind)
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000.0)
        action = next((f for f in fired if f.kind != "latency"), None)
        if action is None:
            return handler()
        if action.kind == "500":
            return exact_error(500, "Internal server error (sandbox fault).")
        if action.kind == "503":
            return exact_error(503, "Service unavailable (sandbox fault).")
        if action.kind == "drop_before_apply":
            raise DropConnection
        if action.kind == "drop_after_apply":
            # The change is applied (e.g. the refresh token rotates) but the client never hears of it (dotnet#152).
            handler()
            raise DropConnection
        if action.kind == "revoke_tokens":
            if client_id is not None:
                self.oauth.revoke(client_id=client_id, user_id=user_id, scope=action.revoke_scope)
            if path.startswith("/api/v1/"):
                return exact_error(401, "Access token has been revoked.")
            return handler()
        raise AssertionError(f"unhandled fault kind {action.kind}")


def _url_length(request: Request) -> int:
    """The URL as the client sent it (percent-encoded), scheme and host included."""
    target = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or request.full_path
    return len(request.host_url.rstrip("/")) + len(target)


def _split_api_path(rest: str) -> tuple[str, bool, str]:
    """`/api/v1/{division}/crm/Accounts(…)` -> ("{division}", True, "crm/Accounts(…)"); no division: the sub-path."""
    sub_path = rest[len("/api/v1/") :]
    first, _, remainder = sub_path.partition("/")
    has_division = first.isdigit()
    return first, has_division, remainder if has_division else sub_path


def _endpoint_of(rest: str) -> str:
    """The counters' endpoint name for a path after the region prefix, the way _api and the OAuth routes name it."""
    if rest.startswith("/api/v1/"):
        return endpoint_name(_split_api_path(rest)[2])
    return endpoint_name(rest.removeprefix("/api/"))


def generate_self_signed_cert(directory: Path, hostnames: Iterable[str] = ()) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1/localhost (and `hostnames`, e.g. start.exactonline.be for a client
    whose Exact host is fixed, reached through a proxy); clients trust it via its file (e.g. SSL_CERT_FILE)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Exact Online sandbox")])
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
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    *(x509.DNSName(name) for name in hostnames),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                ]
            ),
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
    """The sandbox in a daemon thread on its own port; a context manager for tests and the demo command."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        regions: Iterable[str] = REGIONS,
        snapshot_path: str | os.PathLike[str] | None = None,
        tls: bool = False,
        tls_hostnames: Iterable[str] = (),
        webhook_validation_delay: float = DEFAULT_VALIDATION_DELAY,
        dispatch: Dispatch | None = None,
        store_factory: StoreFactory | None = None,
        store_loader: Callable[[dict[str, Any]], Any] | None = None,
        root_region: str | None = None,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.tls = tls
        self.tls_hostnames = tuple(tls_hostnames)
        self.sandbox = Sandbox(
            regions=regions,
            snapshot_path=snapshot_path,
            webhook_validation_delay=webhook_validation_delay,
            dispatch=dispatch,
            store_factory=store_factory,
            store_loader=store_loader,
            root_region=root_region,
        )
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
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def base_url(self, region: str = "nl") -> str:
        """The region's stand-in for https://start.exactonline.<tld>; append /api/oauth2/auth, /api/v1, …"""
        if region not in self.sandbox.regions:
            raise ValueError(f"region {region!r} is not served")
        return f"{self.root_url}/{region}"

    @property
    def root_region(self) -> str | None:
        return self.sandbox.root_region

    def host_url(self) -> str:
        """The root region's stand-in for a bare host (`https://start.exactonline.nl`): the port itself."""
        if self.sandbox.root_region is None:
            raise ValueError("no root region is served (start with root_region=...)")
        return self.root_url

    @property
    def control(self) -> SandboxControl:
        """One control client per running server (closed by stop())."""
        from connectors.exact.sandbox.control_client import SandboxControl

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
            self._tls_dir = tempfile.TemporaryDirectory(prefix="exact-sandbox-tls-")
            cert_path, key_path = generate_self_signed_cert(Path(self._tls_dir.name), self.tls_hostnames)
            self.ca_file = cert_path
            ssl_context = (str(cert_path), str(key_path))
        # Keep-alive as the vendor serves it (connectors/base/sandbox_http.py).
        self._server = SandboxHTTPServer(self.host, self.requested_port, self.sandbox, ssl_context=ssl_context)
        self.sandbox.webhooks.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"exact-sandbox-{self.port}", daemon=True
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
