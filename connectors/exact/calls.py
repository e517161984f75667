"""Exact calls on behalf of one connection: every request through the core's CallContext and the shared budget.

`DivisionApi(connector_region_base_url, ctx)` binds an ExactClient to a connection's CallContext:
- each HTTP request runs inside `ctx.call(send)`, so it gets a current token, one refresh and retry after a
  401, NoDivisionAccess -> needs_reauth, and the connection's health bookkeeping;
- the client has `client_id=ctx.app_client_id`, so every division call spends the rate-limit budget shared by
  all processes for (app, division) (the limit is per app and division, not per process: NOTES.md: Rate limits);
- every call is reported to the connection's call log (`ctx.record_call`: method, path, status, duration, the
  remaining budget; never bodies or tokens).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from connectors.base.data import CallContext
from connectors.exact.client import ExactClient
from connectors.exact.odata import ODataQuery, Page, follow_pages, unwrap_entity, unwrap_page
from connectors.exact.paging import skiptoken_of


class DivisionApi:
    """One connection's division: GET/POST/PUT/DELETE relative to it, typed errors, call log, shared budget."""

    def __init__(self, *, base_url: str, ctx: CallContext) -> None:
        self.ctx = ctx
        self.division = int(ctx.company_id)
        self.client = ExactClient(base_url=base_url, client_id=ctx.app_client_id, on_call=ctx.record_call)

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

    def pages(self, path: str, query: ODataQuery) -> Iterator[Page]:
        """Every page of a query, following `__next` one page at a time (each page its own ctx.call).

        Only the `$skiptoken` of a `__next` link is used, on this division's own URL: the token goes nowhere else.
        """
        yield from follow_pages(
            lambda: self.get(path, query),
            lambda next_url: self.get(path, query, skiptoken=skiptoken_of(next_url)),
        )

    def records(self, path: str, query: ODataQuery) -> Iterator[dict[str, Any]]:
        """Every row of a query, page after page."""
        for page in self.pages(path, query):
            yield from page.records

    def post(self, path: str, body: Any) -> dict[str, Any]:
        return self.ctx.call(
            lambda token: self.client.post(path, division=self.division, token_provider=lambda: token, json=body)
        )

    def put(self, path: str, body: Any) -> None:
        self.ctx.call(
            lambda token: self.client.put(path, division=self.division, token_provider=lambda: token, json=body)
        )

    def delete(self, path: str) -> None:
        self.ctx.call(
            lambda token: self.client.request("DELETE", path, division=self.division, token_provider=lambda: token)
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
