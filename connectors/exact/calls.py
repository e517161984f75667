"""Exact calls on behalf of one connection: every request through the core's CallContext and the shared budget.

`DivisionApi(connector_region_base_url, ctx)` binds an ExactClient to a connection's CallContext:
- each HTTP request runs inside `ctx.call(send)`, so it gets a current token, one refresh and retry after a
  401, NoDivisionAccess -> needs_reauth, and the connection's health bookkeeping;
- the client has `client_id=ctx.app_client_id`, so every division call spends the rate-limit budget shared by
  all processes for (app, division) (the limit is per app and division, not per process: NOTES.md: Rate limits);
- `on_response` writes each call to the connection's call log (method, path, status, duration, remaining budget;
  never bodies or tokens).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from connectors.base.data import CallContext, CallRecord
from connectors.base.errors import VendorError
from connectors.exact.client import ExactCall, ExactClient
from connectors.exact.odata import ODataQuery, Page, unwrap_entity, unwrap_page
from connectors.exact.paging import skiptoken_of


class DivisionApi:
    """One connection's division: GET/POST/PUT/DELETE relative to it, typed errors, call log, shared budget."""

    def __init__(self, *, base_url: str, ctx: CallContext) -> None:
        self.ctx = ctx
        self.division = int(ctx.company_id)
        self.client = ExactClient(base_url=base_url, client_id=ctx.app_client_id, on_response=self._log)

    def _log(self, call: ExactCall) -> None:
        self.ctx.record_call(
            CallRecord(
                method=call.method,
                path=call.path[:1000],
                status=call.status,
                duration_ms=call.duration_ms,
                rate_limit_remaining=call.daily_remaining,
                minutely_remaining=call.rate_limit_remaining,
                error="" if call.status is not None else "no response",
            )
        )

    # ------------------------------------------------------------------ requests

    def get(self, path: str, query: ODataQuery, *, skiptoken: str | None = None) -> Any:
        params = {"$skiptoken": skiptoken} if skiptoken else None
        return self.ctx.call(
            lambda token: self.client.get(
                path, division=self.division, token_provider=lambda: token, query=query, params=params
            )
        )

    def page(self, path: str, query: ODataQuery, *, skiptoken: str | None = None) -> Page:
        return unwrap_page(self.get(path, query, skiptoken=skiptoken))

    def entity(self, path: str, query: ODataQuery) -> dict[str, Any]:
        return unwrap_entity(self.get(path, query))

    def records(self, path: str, query: ODataQuery) -> Iterator[dict[str, Any]]:
        """Every row of a query, following `__next` one page at a time (each page its own ctx.call)."""
        page = self.page(path, query)
        seen: set[str] = set()
        while True:
            yield from page.records
            if page.next_url is None:
                return
            if page.next_url in seen:
                # A __next that repeats would loop forever and spend the whole budget.
                raise VendorError("Exact's __next link repeated a page already read.")
            seen.add(page.next_url)
            page = self.page(path, query, skiptoken=skiptoken_of(page.next_url))

    def post(self, path: str, body: Any) -> dict[str, Any]:
        return self.ctx.call(
            lambda token: self.client.post(path, division=self.division, token_provider=lambda: token, json=body)
        )

    def put(self, path: str, body: Any) -> None:
        self.ctx.call(
            lambda token: self.client.put(path, division=self.division, token_provider=lambda: token, json=body)
        )

    def raw(self, method: str, path: str, *, params: Mapping[str, str] | None, body: Any) -> httpx.Response:
        return self.ctx.call(
            lambda token: self.client.request_raw(
                method, path, division=self.division, token_provider=lambda: token, params=params, json=body
            )
        )

    def get_json(self, path: str, params: Mapping[str, str] | None) -> Any:
        return self.ctx.call(
            lambda token: self.client.request(
                "GET", path, division=self.division, token_provider=lambda: token, params=params
            )
        )
