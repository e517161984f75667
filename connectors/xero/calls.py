"""Xero calls on behalf of one connection: every request through the core's CallContext and the shared budget.

`TenantApi(ctx)` binds a XeroClient to a connection's CallContext:
- each request runs inside `ctx.call(send)`: a current token, one refresh and retry after a 401, a 403 for the
  organisation -> needs_reauth on that connection, and the connection's health bookkeeping;
- the client has `client_id=ctx.app_client_id`, so every call spends the budget shared by all processes for
  (app, organisation): its slots in progress, its minute and day, and the app's minute (ratelimit.py);
- every call goes to the connection's call log (`ctx.record_call`; never bodies or tokens).

Writes carry an `Idempotency-Key` (NOTES.md: Idempotency): when the answer is lost (or Xero fails with a 5xx) the
same request is sent once more with the same key, and Xero replays the first answer instead of writing twice. If
that retry fails too, the loss surfaces as VendorResponseLost and the core reconciles (find_existing) before any
further attempt.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from connectors.base.data import CallContext
from connectors.base.errors import VendorError, VendorResponseLost, VendorUnavailable
from connectors.xero.client import XeroClient
from connectors.xero.values import format_if_modified_since

logger = logging.getLogger(__name__)


class TenantApi:
    """One connection's organisation: GET/PUT/POST relative to the Accounting API, typed errors, shared budget."""

    def __init__(self, ctx: CallContext) -> None:
        self.ctx = ctx
        self.tenant_id = ctx.company_id
        self.client = XeroClient(client_id=ctx.app_client_id or None, on_call=ctx.record_call)

    def get(self, path: str, *, params: Mapping[str, str] | None = None, modified_since: datetime | None = None) -> Any:
        headers = {"If-Modified-Since": format_if_modified_since(modified_since)} if modified_since else None
        return self.ctx.call(
            lambda token: self.client.tenant_request(
                "GET", path, tenant_id=self.tenant_id, token_provider=lambda: token, params=params, headers=headers
            )
        )

    def records(self, path: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
        """The records under the plural `key` of a GET answer (Xero wraps even one record in an array)."""
        body = self.get(path, **kwargs)
        rows = body.get(key) if isinstance(body, dict) else None
        if not isinstance(rows, list):
            raise VendorError(f"Xero's answer to GET {path} has no {key} list.")
        return [row for row in rows if isinstance(row, dict)]

    def all_records(self, path: str, key: str, *, params: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every record of a paged list, page after page (pages of 100)."""
        page = 1
        while True:
            rows = self.records(path, key, params={**(params or {}), "page": str(page)})
            yield from rows
            if len(rows) < 100:
                return
            page += 1

    def write(
        self, method: str, path: str, body: Any, key: str, *, file: tuple[bytes, str] | None = None
    ) -> list[dict[str, Any]]:
        """PUT (create) or POST (update) with an Idempotency-Key; the records of the answer. `file` (bytes and media
        type) is sent raw instead of the JSON `body` (attachments)."""
        idempotency_key = uuid.uuid4().hex
        try:
            answer = self._write(method, path, body, idempotency_key, file)
        except (VendorResponseLost, VendorUnavailable) as first:
            if first.status is not None and first.status < 500:
                raise
            # The same key again: Xero replays the first answer if the write was applied (NOTES.md: Idempotency).
            logger.warning("Xero %s %s: answer lost (%s); resending with the same Idempotency-Key", method, path, first)
            try:
                answer = self._write(method, path, body, idempotency_key, file)
            except VendorUnavailable:
                raise first from None
        rows = answer.get(key) if isinstance(answer, dict) else None
        if not isinstance(rows, list) or not rows:
            raise VendorError(f"Xero's answer to {method} {path} has no {key}.")
        return [row for row in rows if isinstance(row, dict)]

    def _write(
        self, method: str, path: str, body: Any, idempotency_key: str, file: tuple[bytes, str] | None = None
    ) -> Any:
        return self.ctx.call(
            lambda token: self.client.tenant_request(
                method,
                path,
                tenant_id=self.tenant_id,
                token_provider=lambda: token,
                json=body,
                headers={"Idempotency-Key": idempotency_key},
                file=file,
            )
        )

    def download(self, path: str, media_type: str) -> httpx.Response:
        """A file (an attachment's bytes), asked for by its media type (NOTES.md: Attachments)."""
        return self.ctx.call(
            lambda token: self.client.tenant_request_raw(
                "GET",
                path,
                tenant_id=self.tenant_id,
                token_provider=lambda: token,
                headers={"Accept": media_type, "contentType": media_type},
            )
        )

    def raw(
        self, method: str, path: str, *, params: Mapping[str, str] | None, body: Any, raise_for: Any
    ) -> httpx.Response:
        return self.ctx.call(
            lambda token: self.client.tenant_request_raw(
                method,
                path,
                tenant_id=self.tenant_id,
                token_provider=lambda: token,
                params=params,
                json=body,
                raise_for=raise_for,
            )
        )
