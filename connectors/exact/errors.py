"""Exact's error responses turned into the typed vendor errors of connectors.base.errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

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


def exact_messages_split(value: str) -> list[str]:
    """Exact joins several messages in one text with CRLF (NOTES.md, errors): one entry per message."""
    return [part.strip() for part in value.replace("\r\n", "\n").split("\n") if part.strip()]


def exact_messages(response: httpx.Response) -> list[str]:
    """Exact's message text, split where it joins several messages with CRLF (`{"error":{"message":{"value"}}}`)."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return [response.text.strip()] if response.text.strip() else []
    value = ""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            value = message.get("value", "") if isinstance(message, dict) else str(message or "")
        elif isinstance(body.get("error_description"), str):
            value = body["error_description"]
    return exact_messages_split(value)


def _reset_from_headers(response: httpx.Response) -> datetime:
    """The reset of whichever limit Exact says was hit (epoch milliseconds); a minute from now if absent."""
    for header in ("X-RateLimit-Minutely-Reset", "X-RateLimit-Reset"):
        value = response.headers.get(header)
        if value and value.isdigit():
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    # No X-RateLimit-* headers: not the call budget but e.g. the hourly error limit (10 errors per endpoint);
    # when a Retry-After says when the block lifts, trust it.
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return datetime.now(tz=UTC) + timedelta(seconds=int(retry_after))
    return datetime.now(tz=UTC) + timedelta(minutes=1)


def error_for_response(response: httpx.Response) -> VendorError:
    """The typed error for a non-2xx Exact API response."""
    status = response.status_code
    messages = exact_messages(response)
    text = "; ".join(messages) or f"Exact answered HTTP {status}."
    reason = response.headers.get("Reason", "")
    if status == 401:
        return VendorAuthError(text, status=status, vendor_messages=messages)
    if status == 403:
        if reason:
            return CompanyAccessDenied(f"Exact refused access: {reason}.", reason=reason.split(":")[0], status=status)
        return VendorAuthError(text, status=status, vendor_messages=messages)
    if status == 404:
        return VendorNotFound(text, status=status, vendor_messages=messages)
    if status == 429:
        return VendorRateLimited("Exact's rate limit was hit.", reset_at=_reset_from_headers(response))
    if status in (400, 405, 409, 422):
        return VendorValidationError(text, status=status, vendor_messages=messages)
    if status == 500 and any("ongeldige referentie" in m.lower() or "invalid reference" in m.lower() for m in messages):
        # Exact answers an invalid GUID reference with 500 (picqer#249): it is the caller's input, not an outage.
        return VendorValidationError(text, status=status, vendor_messages=messages)
    if status >= 500:
        return VendorUnavailable(text, status=status, vendor_messages=messages)
    return VendorError(text, status=status, vendor_messages=messages)
