"""HTTP calls to Xero on the shared vendor client: its hosts, the headers it needs, its errors, its budget.

`XeroClient(client_id=…)` talks to the identity service (tokens) and the API host (`/connections` and the
Accounting API). Organisation calls take the tenant id and a `token_provider` (a callable returning a current
access token) from outside: token lifecycle and connection state belong to the core (the per-connection call
context). Pooling, the budget cycle, call reporting and transport errors are connectors.base.http's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from connectors.base.errors import VendorError
from connectors.base.http import OnCall, VendorHttpClient
from connectors.base.ratelimit import Observation, VendorRateLimiter
from connectors.xero.errors import error_for_response
from connectors.xero.ratelimit import budget_key, observations_from_headers, xero_rate_limiter
from connectors.xero.values import xero_json_dumps

# JSON both ways: Xero answers XML without this Accept (NOTES.md: Formats).
BASE_HEADERS = {"Accept": "application/json"}

TokenProvider = Callable[[], str]


@dataclass(frozen=True)
class XeroHosts:
    """Where Xero's three hosts are (one root for all in the sandbox; NOTES.md: Hosts)."""

    login: str  # the consent page: {login}/identity/connect/authorize
    identity: str  # tokens: {identity}/connect/token
    api: str  # {api}/connections and {api}/api.xro/2.0/…

    @classmethod
    def from_settings(cls) -> XeroHosts:
        if settings.XERO_SANDBOX_URL:
            root = settings.XERO_SANDBOX_URL
            return cls(login=root, identity=root, api=root)
        return cls(
            login=settings.XERO_LOGIN_URL.rstrip("/"),
            identity=settings.XERO_IDENTITY_URL.rstrip("/"),
            api=settings.XERO_API_URL.rstrip("/"),
        )

    @property
    def accounting(self) -> str:
        return f"{self.api}/api.xro/2.0"


def raise_only_for_call_errors(response: httpx.Response) -> bool:
    """For passthrough: the errors the gateway acts on (token retry, needs_reauth, rate limits) raise; every other
    status goes back to the caller as Xero said it."""
    return response.status_code in (401, 403, 429)


class XeroClient(VendorHttpClient):
    """Xero's hosts. With `client_id` every organisation call spends the shared budget of (app, organisation)."""

    vendor_id = "xero"
    # Endpoints metrics name (connectors/base/http.py); ids in the path are dropped, any other path is `other`.
    known_endpoints = frozenset(
        {"Contacts", "Invoices", "Accounts", "TaxRates", "Items", "Payments", "Organisation"}
        | {"connections", "connect/token"}
    )
    vendor_name = "Xero"

    def __init__(
        self,
        *,
        hosts: XeroHosts | None = None,
        timeout: float | None = None,
        client_id: str | None = None,
        rate_limiter: VendorRateLimiter | None = None,
        on_call: OnCall | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout or settings.XERO_HTTP_TIMEOUT,
            app_id=client_id,
            rate_limiter=rate_limiter,
            on_call=on_call,
            http=http,
        )
        self.hosts = hosts or XeroHosts.from_settings()

    # ------------------------------------------------------------------ hooks of the shared client

    def error_for_response(self, response: httpx.Response) -> VendorError:
        return error_for_response(response)

    def rate_limits(self, headers: Mapping[str, str]) -> list[Observation]:
        return observations_from_headers(headers)

    def budget_key(self, company_id: str) -> str:
        return budget_key(self.app_id or "", company_id)

    def default_rate_limiter(self) -> VendorRateLimiter:
        return xero_rate_limiter()

    # ------------------------------------------------------------------ organisation calls

    def tenant_request_raw(
        self,
        method: str,
        path: str,
        *,
        tenant_id: str,
        token_provider: TokenProvider,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        raise_for: Callable[[httpx.Response], bool] | None = None,
        file: tuple[bytes, str] | None = None,
    ) -> httpx.Response:
        """`{api}/api.xro/2.0/{path}` for one organisation (the `Xero-Tenant-Id` header). `file` is a raw body and
        its media type (an attachment upload: NOTES.md: Attachments) instead of a JSON `json`."""
        # Token and body first: a token refresh or a bad payload must not hold a unit of the shared budget.
        all_headers = {
            **BASE_HEADERS,
            **(headers or {}),
            "Authorization": f"Bearer {token_provider()}",
            "Xero-Tenant-Id": tenant_id,
        }
        content: str | bytes | None = None
        if file is not None:
            content, all_headers["Content-Type"] = file
        elif json is not None:
            content = xero_json_dumps(json)
            all_headers["Content-Type"] = "application/json"
        relative = path.lstrip("/")
        return self.send(
            method.upper(),
            f"{self.hosts.accounting}/{relative}",
            log_path=relative.split("?", 1)[0],
            company_id=tenant_id,
            headers=all_headers,
            params=params,
            content=content,
            raise_for=raise_for,
        )

    def tenant_request(
        self,
        method: str,
        path: str,
        *,
        tenant_id: str,
        token_provider: TokenProvider,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        file: tuple[bytes, str] | None = None,
    ) -> Any:
        """The parsed JSON answer of an organisation call (None for 204)."""
        response = self.tenant_request_raw(
            method,
            path,
            tenant_id=tenant_id,
            token_provider=token_provider,
            params=params,
            json=json,
            headers=headers,
            file=file,
        )
        return self.json_body(response)

    # ------------------------------------------------------------------ calls by access token (connect flow)

    def connections(self, *, access_token: str) -> list[dict[str, Any]]:
        """`GET /connections`: the organisations the grant reaches (a bare array; not an organisation call)."""
        response = self.send(
            "GET",
            f"{self.hosts.api}/connections",
            log_path="connections",
            headers={**BASE_HEADERS, "Authorization": f"Bearer {access_token}"},
        )
        body = self.json_body(response)
        if not isinstance(body, list):
            raise VendorError("Xero's /connections answer is not a list.", status=response.status_code)
        return [row for row in body if isinstance(row, dict)]
