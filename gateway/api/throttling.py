"""Per-API-key request throttling (the gateway's own limit, separate from vendor rate limits)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Counts requests per API key in the shared cache (Redis in production), so all web processes agree."""

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = getattr(request, "auth", None)
        if api_key is None or not hasattr(api_key, "pk"):
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.pk}
