"""Exact's error responses: the OData error envelope and its status codes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from werkzeug.wrappers import Response


def error_body(messages: str | Iterable[str]) -> dict:
    """Exact joins several messages with CRLF and leaves `code` and `lang` empty."""
    value = messages if isinstance(messages, str) else "\r\n".join(messages)
    return {"error": {"code": "", "message": {"lang": "", "value": value}}}


def exact_error(status: int, messages: str | Iterable[str], headers: Mapping[str, str] | None = None) -> Response:
    """An Exact-style JSON error response."""
    return Response(
        json.dumps(error_body(messages)),
        status=status,
        headers=dict(headers or {}),
        content_type="application/json; charset=utf-8",
    )
