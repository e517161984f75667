"""Xero's error responses: problem JSON (401/403/429), ApiException (400), plain-text 404 and 503."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

JSON_TYPE = "application/json; charset=utf-8"
# NOTES.md "Errors": a 404 for an unknown id or route is plain text, not JSON.
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(data), status=status, headers=dict(headers or {}), content_type=JSON_TYPE)


def problem(status: int, title: str, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    """The identity/API gateway's problem JSON, as seen for 401 and 403 (NOTES.md "Errors")."""
    body = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return json_response(body, status, headers)


def unauthorized(detail: str) -> Response:
    return problem(401, "Unauthorized", detail, {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def forbidden(detail: str = "AuthenticationUnsuccessful") -> Response:
    return problem(403, "Forbidden", detail)


def not_found() -> Response:
    return Response(NOT_FOUND_TEXT, status=404, content_type="text/plain; charset=utf-8")


def unavailable(text: str = "The Xero API is currently offline for maintenance") -> Response:
    """A 503 with a plain-text body: pyxero tells it from the old form-encoded rate-limit 503 by that."""
    return Response(text, status=503, content_type="text/plain; charset=utf-8")


def internal_error() -> Response:
    return api_exception(500, 500, "UnknownErrorException", "An error occurred in Xero. Check the API Status page.")


def api_exception(
    status: int,
    error_number: int,
    error_type: str,
    message: str,
    elements: list[dict[str, Any]] | None = None,
) -> Response:
    """The Accounting API's error body: ErrorNumber, Type, Message and, for validation, Elements."""
    body: dict[str, Any] = {"ErrorNumber": error_number, "Type": error_type, "Message": message}
    if elements is not None:
        body["Elements"] = elements
    return json_response(body, status)


def validation_exception(elements: list[dict[str, Any]]) -> Response:
    return api_exception(400, 10, "ValidationException", "A validation exception occurred", elements)


def query_parse_exception(message: str) -> Response:
    """A `where` or `order` the sandbox cannot evaluate: refused, never ignored."""
    return api_exception(400, 16, "QueryParseException", message)
