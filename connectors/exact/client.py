"""HTTP calls to Exact's REST API: pooled httpx, the headers Exact needs, the shared rate limit, typed errors.

`ExactClient(base_url=…, client_id=…)` talks to one region. Division calls take the division code and a
`token_provider` (a callable returning a current access token) from outside: token lifecycle and connection
state belong to tenants/ (the per-connection call context), never to this module.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from connectors.base.errors import (
    VendorError,
    VendorResponseLost,
    VendorUnavailable,
)
from connectors.base.types import Company, VendorUser
from connectors.exact.errors import error_for_response
from connectors.exact.odata import ODataQuery, Page, follow_pages, unwrap_entity, unwrap_page
from connectors.exact.ratelimit import ExactRateLimiter, exact_rate_limiter
from connectors.exact.values import exact_json_dumps

logger = logging.getLogger(__name__)

# Exact answers Atom XML without this Accept header (KB); Prefer: return=representation makes a POST return the
# whole created entity instead of NULLs (KB Tips); never send Expect: 100-continue (KB Known issues: more 500s).
BASE_HEADERS = {"Accept": "application/json", "Content-Type": "application/json", "Prefer": "return=representation"}

TokenProvider = Callable[[], str]

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# Transport failures that happen before a request leaves this machine: a write that failed this way surely did
# not reach Exact and may be sent again. Anything else (read timeout, dropped connection) may come after Exact
# applied it; Exact has no idempotency key on POST (NOTES.md: Known pain points), so that becomes VendorResponseLost.
NOT_SENT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)


def transport_error(method: str, exc: httpx.TransportError) -> VendorUnavailable:
    """The typed error for a request that got no answer: lost (maybe applied) for writes, else unavailable."""
    if method.upper() in WRITE_METHODS and not isinstance(exc, NOT_SENT_ERRORS):
        return VendorResponseLost(
            f"Exact's answer to a {method.upper()} was lost ({exc.__class__.__name__}); it may have been applied."
        )
    # The exception class only: httpx messages can contain the URL, never the headers, but stay terse.
    return VendorUnavailable(f"Exact is unreachable ({exc.__class__.__name__}).")


def raise_only_for_call_errors(response: httpx.Response) -> bool:
    """For passthrough: errors the gateway itself must act on (token retry, needs_reauth, rate limits) are
    raised; every other status goes back to the caller as Exact said it."""
    return response.status_code in (401, 429) or (response.status_code == 403 and bool(response.headers.get("Reason")))


@dataclass(frozen=True)
class ExactCall:
    """One finished call, for the per-connection call log (`on_response`); never holds a token or a body."""

    method: str
    path: str  # relative to the division (or to /api/v1/ without one), without the query string
    division: int | None
    status: int | None  # None: no response (timeout, connection error)
    duration_ms: int
    rate_limit_remaining: int | None  # X-RateLimit-Minutely-Remaining after this call
    rate_limit_reset_ms: int | None  # X-RateLimit-Minutely-Reset: the end of the window Exact counted it in
    daily_remaining: int | None


OnResponse = Callable[[ExactCall], None]


# ---------------------------------------------------------------------------------------------- pooling

_http_clients: dict[tuple[int, float], httpx.Client] = {}
_http_clients_lock = threading.Lock()


def _drop_expect(request: httpx.Request) -> None:
    # httpx never sends Expect: 100-continue itself; this keeps a caller's header from reaching Exact either.
    request.headers.pop("Expect", None)


def shared_http_client(timeout: float) -> httpx.Client:
    """One pooled httpx.Client per process and timeout; httpx clients are safe to share between threads.

    Keyed by process id too: a client created before a fork (Celery prefork) must not share sockets with it.
    """
    key = (os.getpid(), timeout)
    with _http_clients_lock:
        client = _http_clients.get(key)
        if client is None:
            client = httpx.Client(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30),
                event_hooks={"request": [_drop_expect]},
                follow_redirects=False,
            )
            _http_clients[key] = client
        return client


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    return int(value) if value is not None and value.strip().isdigit() else None


# ---------------------------------------------------------------------------------------------- client


class ExactClient:
    """One region's API.

    - `client_id`: the Exact app the tokens belong to; with it every division call goes through the shared
      rate-limit budget of (app, division). Without it (connect flow before a connection exists) calls are not
      budgeted, only reconciled by Exact's own 429s.
    - `on_response`: called after every call with an ExactCall (for a per-connection call log).
    """

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float | None = None,
        client_id: str | None = None,
        rate_limiter: ExactRateLimiter | None = None,
        on_response: OnResponse | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout or settings.EXACT_HTTP_TIMEOUT
        self.client_id = client_id
        self._rate_limiter = rate_limiter
        self.on_response = on_response
        self._http = http

    @property
    def http(self) -> httpx.Client:
        return self._http or shared_http_client(self.timeout)

    @property
    def rate_limiter(self) -> ExactRateLimiter | None:
        if self.client_id is None:
            return None
        return self._rate_limiter or exact_rate_limiter()

    # ------------------------------------------------------------------ transport

    def division_url(self, division: int | str, path: str) -> str:
        return f"{self.base_url}/api/v1/{int(division)}/{path.lstrip('/')}"

    def _send(
        self,
        method: str,
        url: str,
        *,
        division: int | None,
        log_path: str,
        token_provider: TokenProvider,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        raise_for: Callable[[httpx.Response], bool] | None = None,
    ) -> httpx.Response:
        """One HTTP exchange: reserve budget, send, reconcile the budget, report, raise the typed error.

        `raise_for` narrows which error responses raise (default: every status >= 400).
        """
        # Token and body first: a token refresh or a bad payload must not hold a unit of the shared budget.
        headers = {**BASE_HEADERS, "Authorization": f"Bearer {token_provider()}"}
        content = exact_json_dumps(json) if json is not None else None
        limiter = self.rate_limiter if division is not None else None
        ticket = (
            limiter.acquire(self.client_id or "", division) if limiter is not None and division is not None else None
        )
        started = time.monotonic()
        try:
            response = self.http.request(method, url, params=params, content=content, headers=headers)
        except httpx.TransportError as exc:
            if limiter is not None and ticket is not None:
                limiter.release(ticket)
            self._report(method, log_path, division, None, started, {})
            raise transport_error(method, exc) from None
        except BaseException:
            if limiter is not None and ticket is not None:
                limiter.release(ticket)  # e.g. an invalid URL: a probe must not block the budget until it times out
            raise
        if limiter is not None and ticket is not None:
            limiter.record(ticket, response.headers)
        self._report(method, log_path, division, response.status_code, started, response.headers)
        if response.status_code >= 400 and (raise_for is None or raise_for(response)):
            raise error_for_response(response)
        return response

    def _report(
        self,
        method: str,
        path: str,
        division: int | None,
        status: int | None,
        started: float,
        headers: Mapping[str, str],
    ) -> None:
        call = ExactCall(
            method=method,
            path=path,
            division=division,
            status=status,
            duration_ms=int((time.monotonic() - started) * 1000),
            rate_limit_remaining=_int_header(headers, "X-RateLimit-Minutely-Remaining"),
            rate_limit_reset_ms=_int_header(headers, "X-RateLimit-Minutely-Reset"),
            daily_remaining=_int_header(headers, "X-RateLimit-Remaining"),
        )
        logger.debug("exact call %s %s division=%s status=%s %d ms", method, path, division, status, call.duration_ms)
        if self.on_response is not None:
            try:
                self.on_response(call)
            except Exception:  # a broken call log must not fail the vendor call that already happened
                logger.exception("on_response hook failed for %s %s", method, path)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise VendorError(
                f"Exact answered HTTP {response.status_code} with a body that is not JSON.",
                status=response.status_code,
            ) from None

    # ------------------------------------------------------------------ division calls

    def request(
        self,
        method: str,
        path: str,
        *,
        division: int | str,
        token_provider: TokenProvider,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> Any:
        """`{base}/api/v1/{division}/{path}`; the parsed JSON body, None for 204 (PUT, DELETE)."""
        response = self._send(
            method.upper(),
            self.division_url(division, path),
            division=int(division),
            log_path=path.lstrip("/"),
            token_provider=token_provider,
            params=params,
            json=json,
        )
        return self._json(response)

    def request_raw(
        self,
        method: str,
        path: str,
        *,
        division: int | str,
        token_provider: TokenProvider,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Passthrough: the response as Exact gave it; only 401, 429 and 403 with a Reason raise (typed)."""
        return self._send(
            method.upper(),
            self.division_url(division, path),
            division=int(division),
            log_path=path.lstrip("/").split("?", 1)[0],
            token_provider=token_provider,
            params=params,
            json=json,
            raise_for=raise_only_for_call_errors,
        )

    def get(
        self,
        path: str,
        *,
        division: int | str,
        token_provider: TokenProvider,
        query: ODataQuery | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """GET with an ODataQuery ($select always) or raw params; the whole JSON document."""
        merged = {**(query.params() if query else {}), **(params or {})}
        return self.request("GET", path, division=division, token_provider=token_provider, params=merged or None)

    def get_entity(
        self, path: str, *, division: int | str, token_provider: TokenProvider, query: ODataQuery | None = None
    ) -> dict[str, Any]:
        """One record, e.g. `crm/Accounts(guid'…')`; VendorNotFound when Exact says 404."""
        return unwrap_entity(self.get(path, division=division, token_provider=token_provider, query=query))

    def post(self, path: str, *, division: int | str, token_provider: TokenProvider, json: Any) -> dict[str, Any]:
        """Create; with Prefer: return=representation Exact answers the created record (201)."""
        return unwrap_entity(self.request("POST", path, division=division, token_provider=token_provider, json=json))

    def put(self, path: str, *, division: int | str, token_provider: TokenProvider, json: Any) -> None:
        """Update the record at `path` with a partial body; Exact answers 204 (NOTES.md: Error texts)."""
        self.request("PUT", path, division=division, token_provider=token_provider, json=json)

    def delete(self, path: str, *, division: int | str, token_provider: TokenProvider) -> None:
        """Delete the record at `path`; Exact answers 204."""
        self.request("DELETE", path, division=division, token_provider=token_provider)

    def iter_pages(
        self, path: str, *, query: ODataQuery, division: int | str, token_provider: TokenProvider
    ) -> Iterator[Page]:
        """Every page of a list, following `__next` one request at a time (KB: parallel paging loses records)."""
        division_code = int(division)
        prefix = self.division_url(division_code, "")

        def fetch_next(next_url: str) -> Any:
            # __next is absolute; only follow it on this division of this host, so the token goes nowhere else.
            if not next_url.startswith(prefix):
                raise VendorError("Exact's __next link points outside this division's API.")
            response = self._send(
                "GET",
                next_url,
                division=division_code,
                log_path=next_url[len(prefix) :].split("?", 1)[0],
                token_provider=token_provider,
            )
            return self._json(response)

        yield from follow_pages(
            lambda: self.get(path, division=division_code, token_provider=token_provider, query=query), fetch_next
        )

    def iter_records(
        self, path: str, *, query: ODataQuery, division: int | str, token_provider: TokenProvider
    ) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(path, query=query, division=division, token_provider=token_provider):
            yield from page.records

    # ------------------------------------------------------------------ calls by access token (connect flow)

    def get_json(self, path: str, *, access_token: str, params: dict[str, str] | None = None) -> Any:
        """GET `{base}/api/v1/{path}`; a path starting with a division code is budgeted like any division call."""
        relative = path.lstrip("/")
        head, _, rest = relative.partition("/")
        division = int(head) if head.isdigit() else None
        response = self._send(
            "GET",
            f"{self.base_url}/api/v1/{relative}",
            division=division,
            log_path=rest if division is not None else relative,
            token_provider=lambda: access_token,
            params=params,
        )
        return self._json(response)

    def current_user(self, *, access_token: str) -> VendorUser:
        # current/Me has no division in its URL and does not count toward the rate limits.
        body = self.get_json(
            "current/Me",
            access_token=access_token,
            params={"$select": "UserID,FullName,Email,CurrentDivision"},
        )
        me = unwrap_entity(body)
        current = me.get("CurrentDivision")
        return VendorUser(
            user_id=str(me["UserID"]),
            name=me.get("FullName") or "",
            email=me.get("Email") or "",
            default_company_id=str(current) if current else None,
        )

    def divisions(self, *, access_token: str, via_division: str | None) -> list[Company]:
        """Divisions the grant covers (system/Divisions); the URL needs some division the grant covers."""
        if not via_division:
            return []
        body = self.get_json(
            f"{int(via_division)}/system/Divisions",
            access_token=access_token,
            params={"$select": "Code,Description,Country,Currency"},
        )
        return [
            Company(
                company_id=str(row["Code"]),
                name=row.get("Description") or f"Division {row['Code']}",
                country=row.get("Country") or "",
                currency=row.get("Currency") or "",
            )
            for row in unwrap_page(body).records
        ]
