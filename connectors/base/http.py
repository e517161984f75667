"""The one HTTP client base for vendor APIs: pooled transport, the shared budget, call reporting, typed errors.

Modelled on Sentry's `BaseApiClient._request`: every vendor request (data calls and token calls alike) goes
through `VendorHttpClient.send`, which
- reserves a unit of the (app, company) rate-limit budget before sending, and reconciles or releases it after
  (the reconcile sent before the call is reported and awaited after, so the two overlap);
- sends on a connection pool shared by the process (one per process id, so a Celery prefork child never
  shares sockets with its parent);
- reports every call, answered or not, to `on_call` as a CallRecord (never a token or a body), and to the
  telemetry sinks (connectors/base/telemetry.py) by endpoint template, with the limit a 429 named;
- turns a transport failure into VendorUnavailable, or VendorResponseLost for a write that may have been
  applied (its request left this machine but no answer came), and an error status into the vendor's typed error;
- announces every request, with its body exactly as it goes on the wire, to the RequestObserver the core has set
  for the current context (`observe_requests`), before anything is spent or sent, and its answer afterwards. The
  core records ledger writes for the audit trail this way, and a dry run stops the first write there
  (`RequestIntercepted`): the payload it returns is byte for byte what a real write sends, for every vendor.

A vendor client subclasses it and adds its base URL, auth headers and three hooks: `error_for_response` (its
error documents), `rate_limits` (its rate-limit headers) and `budget_key` (how it counts: per app and company);
for metrics it lists its `known_endpoints` (any other path is counted as `other`, so labels stay bounded) and may
say how it tells an error-limit block (`error_limit_blocked`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import ClassVar, Protocol
from urllib.parse import urlencode

import httpx
import orjson

from connectors.base.data import CallRecord, JsonValue
from connectors.base.errors import VendorError, VendorRateLimited, VendorResponseLost, VendorUnavailable
from connectors.base.ratelimit import DAILY, MINUTELY, Observation, Ticket, VendorRateLimiter
from connectors.base.telemetry import (
    THROTTLE_DAY,
    THROTTLE_ERROR_LIMIT,
    THROTTLE_MINUTE,
    THROTTLE_UNKNOWN,
    BudgetRefusal,
    VendorCall,
    budget_refusal_emit,
    vendor_call_emit,
)
from connectors.base.transport import StdlibTransport

logger = logging.getLogger(__name__)

OnCall = Callable[[CallRecord], None]

# Methods that change something at the vendor: without an answer they may have been applied.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Transport failures that happen before a request leaves this machine: a write that failed this way surely did
# not reach the vendor and may be sent again. Anything else (read timeout, dropped connection) may come after the
# vendor applied it, so a write becomes VendorResponseLost (e.g. Exact has no idempotency key on POST).
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)


def transport_error(vendor_name: str, method: str, exc: httpx.TransportError) -> VendorUnavailable:
    """The typed error for a request that got no answer: lost (maybe applied) for writes, else unavailable."""
    if method.upper() in WRITE_METHODS and not isinstance(exc, NOT_SENT_ERRORS):
        return VendorResponseLost(
            f"{vendor_name}'s answer to a {method.upper()} was lost ({exc.__class__.__name__}); "
            "it may have been applied."
        )
    # The exception class only: httpx messages can contain the URL, never the headers, but stay terse.
    return VendorUnavailable(f"{vendor_name} is unreachable ({exc.__class__.__name__}).")


# ---------------------------------------------------------------------------------------------- observing


@dataclass(frozen=True)
class OutgoingRequest:
    """A vendor request about to be sent: the body exactly as it goes on the wire (never the headers: tokens)."""

    vendor_id: str
    method: str
    url: str
    log_path: str  # relative to the company, no query string
    company_id: str | None  # None: not a company's data call (token endpoints, the connect flow)
    content: bytes | None
    query: tuple[tuple[str, str], ...] = ()

    @property
    def is_company_write(self) -> bool:
        return self.company_id is not None and self.method in WRITE_METHODS


class RequestObserver(Protocol):
    """Told about every vendor request made in its context (see `observe_requests`)."""

    def sending(self, request: OutgoingRequest) -> None:
        """Before anything is spent or sent; raising (e.g. RequestIntercepted) stops the request unsent."""

    def answered(self, request: OutgoingRequest, status: int | None, body: bytes, duration_ms: int) -> None:
        """After the exchange: the vendor's status (None: no answer) and body."""


class RequestIntercepted(Exception):
    """A request an observer stopped before it was sent (a dry run); carries the request."""

    def __init__(self, request: OutgoingRequest) -> None:
        super().__init__(f"{request.method} {request.log_path} intercepted before sending")
        self.request = request


_observer: ContextVar[RequestObserver | None] = ContextVar("vendor_request_observer", default=None)


@contextmanager
def observe_requests(observer: RequestObserver) -> Iterator[RequestObserver]:
    """Announce every vendor request made in this context (this thread or task) to `observer`."""
    token = _observer.set(observer)
    try:
        yield observer
    finally:
        _observer.reset(token)


# Where the answer of a call's budget reconcile may be read after the call returns (see `budget_answers_later`).
_answer_keeper: ContextVar[Callable[[Callable[[], None]], bool] | None] = ContextVar(
    "budget_answer_keeper", default=None
)


@contextmanager
def budget_answers_later(keep: Callable[[Callable[[], None]], bool]) -> Iterator[None]:
    """In this context a call's budget reconcile, sent to the store before the call is reported, need not be
    awaited before the call returns: `keep(read)` may take the function that reads its answer (and gives the store
    connection back) to run later, e.g. after a read request's answer was sent; False: awaited now, as elsewhere.

    The store has the reconcile either way (it went out with the call); only reading its answer moves. A probe's
    is always awaited: the calls queued behind a probe wait for its reconcile to have landed."""
    token = _answer_keeper.set(keep)
    try:
        yield
    finally:
        _answer_keeper.reset(token)


# Keys in a path (`crm/Accounts(guid'…')`, `Items(1)`, `Invoices/<guid>`, `Items/42`) are not part of the endpoint.
_KEY_SEGMENT = re.compile(r"\([^)]*\)")
_ID_SEGMENT = re.compile(r"^(?:[0-9]+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
OTHER_ENDPOINT = "other"
# Budget windows as metrics name them; a refusal while only a probe was in flight (no window known yet) waited for
# the first call of a fresh budget, which reports the minutely window first.
_WINDOW_NAMES = {MINUTELY: THROTTLE_MINUTE, DAILY: THROTTLE_DAY}


def endpoint_template(path: str, known: frozenset[str]) -> str:
    """`path` without keys and query, as one of the `known` endpoints (case-insensitively), else `other`."""
    segments = _KEY_SEGMENT.sub("", path.split("?", 1)[0]).strip("/").split("/")
    lowered = "/".join(segment for segment in segments if not _ID_SEGMENT.match(segment)).lower()
    for endpoint in known:
        if endpoint.lower() == lowered:
            return endpoint
    return OTHER_ENDPOINT


def never_raise(response: httpx.Response) -> bool:
    """A `raise_for` that leaves every status to the caller (token endpoints have their own error documents)."""
    return False


# ---------------------------------------------------------------------------------------------- pooling

_http_clients: dict[tuple[int, float], httpx.Client] = {}
_http_clients_lock = threading.Lock()


def _drop_expect(request: httpx.Request) -> None:
    # httpx never sends Expect: 100-continue itself; this keeps a caller's header from reaching a vendor either
    # (Exact answers it with 500s: connectors/exact/NOTES.md, Known pain points).
    request.headers.pop("Expect", None)


def shared_http_client(timeout: float) -> httpx.Client:
    """One pooled httpx.Client per process and timeout; httpx clients are safe to share between threads.

    Keyed by process id too: a client created before a fork (Celery prefork) must not share sockets with it.
    """
    key = (os.getpid(), timeout)
    with _http_clients_lock:
        client = _http_clients.get(key)
        if client is None:
            limits = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30)
            timeouts = httpx.Timeout(timeout, connect=min(timeout, 10.0))
            # The standard library's exchange (connectors/base/transport.py: a third of httpx's own CPU per call),
            # unless the environment names a proxy, which only httpx's transport speaks.
            transport = (
                None
                if urllib.request.getproxies()
                else StdlibTransport(
                    timeout=timeouts, max_idle=limits.max_keepalive_connections or 20, keepalive_expiry=30.0
                )
            )
            client = httpx.Client(
                timeout=timeouts,
                limits=limits,
                event_hooks={"request": [_drop_expect]},
                follow_redirects=False,
                transport=transport,
                # One client serves every connection of the process: a cookie one tenant's answer sets must never
                # ride along on another's request, so the jar takes none (vendor APIs authenticate by token).
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
            _http_clients[key] = client
        return client


# ---------------------------------------------------------------------------------------------- the client


class VendorHttpClient(ABC):
    """One vendor's HTTP exchange; subclasses add URLs, auth headers and the hooks below.

    - `app_id`: the vendor app the calls are made as; with it, every call naming a company spends the shared
      budget of (app, company). Without it (a connect flow before any connection exists) calls are not
      budgeted, only reconciled by the vendor's own 429s.
    - `on_call`: called after every call with a CallRecord (for a per-connection call log).
    """

    vendor_id: ClassVar[str]
    vendor_name: ClassVar[str]  # in error messages: "Exact is unreachable (ConnectTimeout)."
    # Endpoint templates (relative to the company, no keys) that metrics name; any other path is `other`.
    known_endpoints: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        *,
        timeout: float,
        app_id: str | None = None,
        rate_limiter: VendorRateLimiter | None = None,
        on_call: OnCall | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.timeout = timeout
        self.app_id = app_id
        self._rate_limiter = rate_limiter
        self.on_call = on_call
        self._http = http

    @property
    def http(self) -> httpx.Client:
        return self._http or shared_http_client(self.timeout)

    @property
    def rate_limiter(self) -> VendorRateLimiter | None:
        if self.app_id is None:
            return None
        return self._rate_limiter or self.default_rate_limiter()

    # ------------------------------------------------------------------ vendor hooks

    @abstractmethod
    def error_for_response(self, response: httpx.Response) -> VendorError:
        """The typed error for an error response, from the vendor's own error document."""

    def rate_limits(self, headers: Mapping[str, str]) -> list[Observation]:
        """What a response's headers say about the vendor's rate-limit windows (none by default)."""
        return []

    def budget_key(self, company_id: str) -> str:
        """The shared budget this app's calls for `company_id` spend (vendors count per app and company)."""
        return f"{self.vendor_id}:{self.app_id}:{company_id}"

    def default_rate_limiter(self) -> VendorRateLimiter | None:
        """The process's limiter with the vendor's policy, used when none was given (None: no budget)."""
        return None

    def error_limit_blocked(self, response: httpx.Response) -> bool:
        """Whether a 429 is the vendor's error-limit block rather than its call budget (no by default)."""
        return False

    def throttle_of(self, response: httpx.Response, observations: list[Observation]) -> str:
        """For a 429: the window its rate-limit headers say is spent, the error limit, or unknown."""
        for observation in observations:
            if observation.remaining <= 0 and observation.window in _WINDOW_NAMES:
                return _WINDOW_NAMES[observation.window]
        if self.error_limit_blocked(response):
            return THROTTLE_ERROR_LIMIT
        return THROTTLE_UNKNOWN

    # ------------------------------------------------------------------ the exchange

    def send(
        self,
        method: str,
        url: str,
        *,
        log_path: str,
        company_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        content: str | bytes | None = None,
        form: Mapping[str, str] | None = None,
        raise_for: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange: reserve budget, send, reconcile the budget, report, raise the typed error.

        `log_path` is what the call log shows (relative to the company, no query string); `company_id` names the
        company whose budget the call spends; `raise_for` narrows which error statuses raise (default: all).
        Build headers and body before calling: a token refresh or a bad payload must not hold a unit of budget.
        """
        method = method.upper()
        observer = _observer.get()
        outgoing: OutgoingRequest | None = None
        if observer is not None:
            outgoing = OutgoingRequest(
                vendor_id=self.vendor_id,
                method=method,
                url=url,
                log_path=log_path,
                company_id=company_id,
                content=content.encode() if isinstance(content, str) else content,
                query=tuple((str(k), str(v)) for k, v in (params or {}).items()),
            )
            observer.sending(outgoing)  # may stop it (a dry run): nothing spent, nothing sent
        limiter = self.rate_limiter if company_id is not None else None
        ticket: Ticket | None = None
        if limiter is not None and company_id is not None:
            try:
                ticket = limiter.acquire(self.budget_key(company_id))
            except VendorRateLimited as exc:
                if exc.budget_window is not None:
                    window = _WINDOW_NAMES.get(exc.budget_window, THROTTLE_MINUTE)
                    budget_refusal_emit(BudgetRefusal(connector=self.vendor_id, window=window))
                raise
        started = time.monotonic()
        if params and "?" not in url and all(type(value) is str for value in params.values()):
            # The query encoded as httpx encodes it (`urlencode`): the same bytes on the wire, without httpx merging
            # params into a parsed URL, which checks every character again (Exact's `$select`: ~0.1 ms a call).
            url, params = f"{url}?{urlencode(params)}", None
        try:
            response = self.http.request(
                method, url, params=params, content=content, data=form, headers=dict(headers or {})
            )
        except httpx.TransportError as exc:
            if limiter is not None and ticket is not None:
                limiter.release(ticket)
            self._announce_answer(observer, outgoing, None, b"", started)
            self._report(method, log_path, company_id, None, started, [], None)
            raise transport_error(self.vendor_name, method, exc) from None
        except BaseException:
            if limiter is not None and ticket is not None:
                limiter.release(ticket)  # e.g. an invalid URL: a probe must not block the budget until it times out
            raise
        observations = self.rate_limits(response.headers)
        # The budget's reconcile goes out now and its answer is awaited after the call is reported: Redis runs it
        # while the call-log row is written, one wait instead of two in a row.
        recorded = limiter.record_begin(ticket, observations) if limiter is not None and ticket is not None else None
        try:
            throttle = self.throttle_of(response, observations) if response.status_code == 429 else None
            # The observer first: a write's audit row is taken down before its call-log row, so the call context can
            # write the two in one statement (events.audit.AuditRecorder.hold).
            self._announce_answer(observer, outgoing, response.status_code, response.content, started)
            self._report(method, log_path, company_id, response.status_code, started, observations, throttle)
        finally:
            if recorded is not None and not self._answer_kept(ticket, recorded):
                recorded()
        if response.status_code >= 400 and (raise_for is None or raise_for(response)):
            raise self.error_for_response(response)
        return response

    @staticmethod
    def _answer_kept(ticket: Ticket | None, read: Callable[[], None]) -> bool:
        keep = _answer_keeper.get()
        return keep is not None and ticket is not None and not ticket.probe and keep(read)

    def json_body(self, response: httpx.Response) -> JsonValue:
        """The parsed JSON body; None for 204 or an empty body; VendorError for a body that is not JSON."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            # orjson reads Exact's page of 60 invoices with 3 lines each (110 kB) in 0.22 ms against the standard
            # library's 0.56 (bench/README.md: Round 5). What it refuses but the standard library reads (NaN, a lone
            # surrogate, a body not in UTF-8) is read as before. An integer beyond 64 bits comes back as a float: no
            # vendor field is one.
            return orjson.loads(response.content)  # type: ignore[no-any-return]
        except orjson.JSONDecodeError:
            pass
        try:
            body: JsonValue = response.json()
        except ValueError:
            raise VendorError(
                f"{self.vendor_name} answered HTTP {response.status_code} with a body that is not JSON.",
                status=response.status_code,
            ) from None
        return body

    def _announce_answer(
        self,
        observer: RequestObserver | None,
        outgoing: OutgoingRequest | None,
        status: int | None,
        body: bytes,
        started: float,
    ) -> None:
        if observer is None or outgoing is None:
            return
        try:
            observer.answered(outgoing, status, body, int((time.monotonic() - started) * 1000))
        except Exception:  # like the call log: a broken observer must not fail a call that already happened
            logger.exception("request observer failed for %s %s", outgoing.method, outgoing.log_path)

    def _report(
        self,
        method: str,
        path: str,
        company_id: str | None,
        status: int | None,
        started: float,
        observations: list[Observation],
        throttle: str | None,
    ) -> None:
        elapsed = time.monotonic() - started
        vendor_call_emit(
            VendorCall(
                connector=self.vendor_id,
                endpoint=endpoint_template(path, self.known_endpoints),
                method=method,
                status=status,
                duration_seconds=elapsed,
                throttle=throttle,
            )
        )
        call = CallRecord(
            method=method,
            path=path,
            status=status,
            duration_ms=int(elapsed * 1000),
            company_id=company_id,
            rate_limits=tuple(observations),
            error="" if status is not None else "no response",
        )
        logger.debug(
            "%s call %s %s company=%s status=%s %d ms",
            self.vendor_id,
            method,
            path,
            company_id,
            status,
            call.duration_ms,
        )
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:  # a broken call log must not fail the vendor call that already happened
                logger.exception("on_call hook failed for %s %s", method, path)
