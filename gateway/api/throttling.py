"""Per-API-key request throttling (the gateway's own limit, separate from vendor rate limits)."""

from __future__ import annotations

import logging
import math
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

    A sliding-window counter (as Cloudflare's and Redis's rate-limiting write-ups describe it): one counter per key
    and window, and the previous window's count weighted by how much of it still overlaps the last `duration`
    seconds. On Redis that is one round trip (INCR, EXPIRE and GET in a pipeline), atomic across processes and
    of constant size, where DRF's default reads and writes the whole list of request times (one entry per request
    of the last minute) with a race between the read and the write. Refused requests count as well: a client that
    keeps sending while refused stays refused.

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
            return self._allow(request, view)
        except RedisError as exc:
            global _last_warning
            now = time.monotonic()
            if now - _last_warning > _WARN_EVERY:
                _last_warning = now
                logger.warning("API rate limit not applied: its store is unavailable (%s)", exc.__class__.__name__)
            return True

    def _allow(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.elapsed = now - window * self.duration  # seconds into the current window
        self.current, self.previous = self._count(f"{key}:{window}", f"{key}:{window - 1}")
        return self._estimate(self.elapsed) <= self.num_requests

    def _estimate(self, elapsed: float) -> float:
        assert self.duration is not None
        return self.previous * max(0.0, 1 - elapsed / self.duration) + self.current

    def _count(self, current_key: str, previous_key: str) -> tuple[int, int]:
        """This request counted in the current window: (its count now, the previous window's count)."""
        timeout = 2 * int(self.duration or 1)  # the previous window is read for one more window
        client = getattr(getattr(self.cache, "_cache", None), "get_client", None)
        if client is not None:  # django's RedisCache: one pipelined round trip
            current_raw, previous_raw = (self.cache.make_and_validate_key(k) for k in (current_key, previous_key))
            pipe = client(current_raw, write=True).pipeline(transaction=False)
            pipe.incr(current_raw)
            pipe.expire(current_raw, timeout)
            pipe.get(previous_raw)
            current, _, previous = pipe.execute()
            return int(current), int(previous or 0)
        # Any other cache (local memory in development): the same counters through the cache API.
        self.cache.add(current_key, 0, timeout)
        return int(self.cache.incr(current_key)), int(self.cache.get(previous_key) or 0)

    def wait(self) -> float | None:
        """Seconds until one more request fits under the limit, if none is sent meanwhile."""
        if self.num_requests is None or self.duration is None:
            return None
        limit, duration = self.num_requests, self.duration
        if self.current + 1 <= limit:
            # This window: previous * (1 - t / duration) + current + 1 <= limit once t reaches `fits`.
            fits = duration * (1 - (limit - self.current - 1) / self.previous) if self.previous else 0.0
            seconds = fits - self.elapsed
        else:
            # The next window, where this one's count is the previous: current * (1 - t / duration) + 1 <= limit.
            seconds = duration - self.elapsed + max(0.0, duration * (1 - (limit - 1) / self.current))
        return float(max(1, math.ceil(seconds)))
