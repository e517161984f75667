"""Xero's error responses turned into the typed vendor errors of connectors.base.errors (NOTES.md: Errors)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from connectors.base.errors import (
    CompanyAccessDenied,
    VendorAuthError,
    VendorError,
    VendorNotFound,
    VendorRateLimited,
    VendorUnavailable,
    VendorValidationError,
)


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def validation_messages(body: Any) -> list[str]:
    """Xero's own words from a 400: every `Elements[].ValidationErrors[].Message`, else `Message`/`Detail`."""
    messages: list[str] = []
    if not isinstance(body, dict):
        return messages
    elements = body.get("Elements")
    if isinstance(elements, list):
        for element in elements:
            errors = element.get("ValidationErrors") if isinstance(element, dict) else None
            for error in errors if isinstance(errors, list) else []:
                message = error.get("Message") if isinstance(error, dict) else None
                if isinstance(message, str) and message.strip() and message.strip() not in messages:
                    messages.append(message.strip())
    if not messages:
        for key in ("Message", "Detail", "Title"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                messages.append(value.strip())
                break
    return messages


def xero_messages(response: httpx.Response) -> list[str]:
    body = _body(response)
    if body is None:
        text = response.text.strip()
        return [text[:500]] if text else []
    return validation_messages(body)


def _detail(response: httpx.Response) -> str:
    """The `Detail` of a 401/403 problem document ("TokenExpired: …", "AuthenticationUnsuccessful")."""
    body = _body(response)
    if isinstance(body, dict):
        detail = body.get("Detail") or body.get("detail")
        if isinstance(detail, str):
            return detail.strip()
    return ""


def retry_at(response: httpx.Response) -> datetime:
    """When a 429 says to come back: `Retry-After` seconds (NOTES.md: Limits), else a minute from now."""
    value = response.headers.get("Retry-After", "").strip()
    seconds = int(value) if value.isdigit() else 60
    return datetime.now(tz=UTC) + timedelta(seconds=max(seconds, 1))


def error_for_response(response: httpx.Response) -> VendorError:
    """The typed error for a non-2xx Xero Accounting API (or /connections) response."""
    status = response.status_code
    messages = xero_messages(response)
    text = "; ".join(messages) or f"Xero answered HTTP {status}."
    if status == 401:
        detail = _detail(response)
        if detail.startswith("AuthorizationUnsuccessful"):
            # A scope the grant lacks (NOTES.md: Scopes): a fresh token would not help, so not a 401 to retry.
            return VendorAuthError(f"Xero refused the call: {detail}.", status=403, vendor_messages=messages)
        return VendorAuthError(text, status=status, vendor_messages=messages)
    if status == 403:
        # A tenant id the grant no longer covers (disconnected, role changed, org deleted): NOTES.md: Connections.
        detail = _detail(response) or "AuthenticationUnsuccessful"
        return CompanyAccessDenied(
            f"Xero refused access to the organisation: {detail}.", reason=detail.split(":")[0], status=status
        )
    if status == 404:
        return VendorNotFound(text, status=status, vendor_messages=messages)
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem", "").strip() or "unknown"
        return VendorRateLimited(f"Xero's {problem} rate limit was hit.", reset_at=retry_at(response))
    if status in (400, 409, 412, 413, 422):
        return VendorValidationError(text, status=status, vendor_messages=messages)
    if status >= 500:
        return VendorUnavailable(text, status=status, vendor_messages=messages)
    return VendorError(text, status=status, vendor_messages=messages)
