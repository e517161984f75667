"""HTTP calls to Exact's REST API on the shared vendor client: the headers Exact needs, its errors, its budget.

`ExactClient(base_url=…, client_id=…)` talks to one region. Division calls take the division code and a
`token_provider` (a callable returning a current access token) from outside: token lifecycle and connection
state belong to the core (the per-connection call context), never to this module. Pooling, the budget cycle,
call reporting and transport errors are connectors.base.http's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx
from django.conf import settings

from connectors.base.errors import VendorError
from connectors.base.http import OnCall, VendorHttpClient
from connectors.base.ratelimit import Observation, VendorRateLimiter
from connectors.base.types import Company, VendorUser
from connectors.exact.errors import error_for_response
from connectors.exact.odata import ODataQuery, unwrap_entity, unwrap_page
from connectors.exact.ratelimit import budget_key, exact_rate_limiter, observations_from_headers
from connectors.exact.resources import RESOURCES
from connectors.exact.values import exact_json_dumps

# Exact answers Atom XML without this Accept header (KB); Prefer: return=representation makes a POST return the
# whole created entity instead of NULLs (KB Tips); never send Expect: 100-continue (KB Known issues: more 500s).
BASE_HEADERS = {"Accept": "application/json", "Content-Type": "application/json", "Prefer": "return=representation"}

TokenProvider = Callable[[], str]


def raise_only_for_call_errors(response: httpx.Response) -> bool:
    """For passthrough: errors the gateway itself must act on (token retry, needs_reauth, rate limits) are
    raised; every other status goes back to the caller as Exact said it."""
    return response.status_code in (401, 429) or (response.status_code == 403 and bool(response.headers.get("Reason")))


def _known_endpoints() -> frozenset[str]:
    """Endpoints metrics name: the resources' entity sets (lookups use the same) with their sync and bulk forms,
    the connect flow's and the token endpoint; any other path (a passthrough's) is counted as `other`."""
    entity_sets = {spec.path for spec in RESOURCES.values()}
    return frozenset(
        {
            *entity_sets,
            *(f"sync/{path}" for path in entity_sets),
            *(f"bulk/{path}" for path in entity_sets),
            "salesinvoice/SalesInvoiceLines",
            "salesinvoice/PrintedSalesInvoices",
            "sync/Deleted",
            "sync/Sync/SyncTimestamp",
            "webhooks/WebhookSubscriptions",
            "current/Me",
            "system/Divisions",
            "oauth2/token",
        }
    )


class ExactClient(VendorHttpClient):
    """One region's API.

    - `client_id`: the Exact app the tokens belong to; with it every division call goes through the shared
      rate-limit budget of (app, division). Without it (connect flow before a connection exists) calls are not
      budgeted, only reconciled by Exact's own 429s.
    - `on_call`: called after every call with a CallRecord (for a per-connection call log).
    """

    vendor_id = "exact"
    vendor_name = "Exact"
    known_endpoints = _known_endpoints()

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float | None = None,
        client_id: str | None = None,
        rate_limiter: VendorRateLimiter | None = None,
        on_call: OnCall | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            timeout=timeout or settings.EXACT_HTTP_TIMEOUT,
            app_id=client_id,
            rate_limiter=rate_limiter,
            on_call=on_call,
            http=http,
        )
        self.base_url = base_url.rstrip("/")

    @property
    def client_id(self) -> str | None:
        return self.app_id

    # ------------------------------------------------------------------ hooks of the shared client

    def error_for_response(self, response: httpx.Response) -> VendorError:
        return error_for_response(response)

    def rate_limits(self, headers: Mapping[str, str]) -> list[Observation]:
        return observations_from_headers(headers)

    def budget_key(self, company_id: str) -> str:
        return budget_key(self.app_id or "", company_id)

    def default_rate_limiter(self) -> VendorRateLimiter:
        return exact_rate_limiter()

    def error_limit_blocked(self, response: httpx.Response) -> bool:
        # Exact does not document its answer to a blocked key (NOTES.md: Rate limits); a 429 without any
        # X-RateLimit-* header is not the call budget, and the sandbox names the block in its Reason header.
        return response.headers.get("Reason", "") == "ErrorLimitExceeded" or not any(
            name.lower().startswith("x-ratelimit-") for name in response.headers
        )

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
        """An API call with Exact's headers and body encoding; `raise_for` narrows which error statuses raise."""
        # Token and body first: a token refresh or a bad payload must not hold a unit of the shared budget.
        headers = {**BASE_HEADERS, "Authorization": f"Bearer {token_provider()}"}
        content = exact_json_dumps(json) if json is not None else None
        return self.send(
            method,
            url,
            log_path=log_path,
            company_id=str(division) if division is not None else None,
            headers=headers,
            params=params,
            content=content,
            raise_for=raise_for,
        )

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
        return self.json_body(response)

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

    def post(self, path: str, *, division: int | str, token_provider: TokenProvider, json: Any) -> dict[str, Any]:
        """Create; with Prefer: return=representation Exact answers the created record (201)."""
        return unwrap_entity(self.request("POST", path, division=division, token_provider=token_provider, json=json))

    def put(self, path: str, *, division: int | str, token_provider: TokenProvider, json: Any) -> None:
        """Update the record at `path` with a partial body; Exact answers 204 (NOTES.md: Error texts)."""
        self.request("PUT", path, division=division, token_provider=token_provider, json=json)

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
        return self.json_body(response)

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
