"""Per-API-key request throttling (the gateway's own limit, separate from vendor rate limits)."""

from __future__ import annotations

import logging
import time
from typing import Any

from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

# Seconds between warnings while the counter store is down (one per process, not one per request).
_WARN_EVERY = 10.0
_last_warning = 0.0


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Counts requests per API key in the shared cache (Redis in production), so all web processes agree.

    Policy while Redis is unreachable: requests are served without this limit (it protects capacity, not
    correctness), and a warning is logged. What needs Redis to be correct (vendor budgets, token locks) refuses
    on its own with a 503 problem, so writes keep their guarantees.
    """

    scope = "api_key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        api_key = getattr(request, "auth", None)
        if api_key is None or not hasattr(api_key, "pk"):
            return None
        return self.cache_format % {"scope": self.scope, "ident": api_key.pk}

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except RedisError as exc:
            global _last_warning
            now = time.monotonic()
            if now - _last_warning > _WARN_EVERY:
                _last_warning = now
                logger.warning("API rate limit not applied: its store is unavailable (%s)", exc.__class__.__name__)
            return True
