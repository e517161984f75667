"""Per-API-key request throttling (the gateway's own limit, separate from vendor rate limits)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from redis import ConnectionPool
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)

# Seconds between warnings while the counter store is down (one per process, not one per request).
_WARN_EVERY = 10.0
_last_warning = 0.0


def _allowed() -> bool:
    return True


def _pipelined(pool: ConnectionPool, commands: list[tuple[Any, ...]]) -> Callable[[], tuple[int, int]]:
    """The throttle's three commands sent on a connection of the cache's pool; the function returned reads their
    answers (INCR's count, EXPIRE's, GET's) and gives the connection back. Used raw rather than through a
    redis-py pipeline so the wait for the answer can come later; a client object per request is not built either.
    """
    connection = pool.get_connection()
    try:
        connection.send_packed_command(connection.pack_commands(commands))
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise

    def answers() -> tuple[int, int]:
        try:
            current, _expire, previous = [connection.read_response() for _command in commands]
        except BaseException:
            connection.disconnect()  # answers may be left unread: never hand this connection out again
            pool.release(connection)
            raise
        pool.release(connection)
        return int(current), int(previous or 0)

    return answers


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
        return self.allow_request_later(request, view)()

    def allow_request_later(self, request: Request, view: Any) -> Callable[[], bool]:
        """`allow_request` in two steps: this request is counted now (its counters sent to Redis) and the function
        returned reads the counts and decides, so a view can do one other read meanwhile
        (gateway.api.overlapped_throttle).
        Same counters, same decision, same policy while Redis is unreachable (allowed, warned)."""
        try:
            decide = self._start(request, view)
        except RedisError as exc:
            return self._unavailable(exc)

        def allowed() -> bool:
            try:
                return decide()
            except RedisError as exc:
                return self._unavailable(exc)()

        return allowed

    @staticmethod
    def _unavailable(exc: RedisError) -> Callable[[], bool]:
        global _last_warning
        now = time.monotonic()
        if now - _last_warning > _WARN_EVERY:
            _last_warning = now
            logger.warning("API rate limit not applied: its store is unavailable (%s)", exc.__class__.__name__)
        return _allowed

    def _start(self, request: Request, view: Any) -> Callable[[], bool]:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return _allowed
        key = self.get_cache_key(request, view)
        if key is None:
            return _allowed
        now = self.timer()
        window = int(now // self.duration)
        self.elapsed = now - window * self.duration  # seconds into the current window
        counted = self._count(f"{key}:{window}", f"{key}:{window - 1}")
        limit = self.num_requests

        def decide() -> bool:
            self.current, self.previous = counted()
            return self._estimate(self.elapsed) <= limit

        return decide

    def _estimate(self, elapsed: float) -> float:
        assert self.duration is not None
        return self.previous * max(0.0, 1 - elapsed / self.duration) + self.current

    def _count(self, current_key: str, previous_key: str) -> Callable[[], tuple[int, int]]:
        """This request counted in the current window; the function returned gives (its count now, the previous
        window's count)."""
        timeout = 2 * int(self.duration or 1)  # the previous window is read for one more window
        pool_of = getattr(getattr(self.cache, "_cache", None), "_get_connection_pool", None)
        if pool_of is not None:  # django's RedisCache: INCR, EXPIRE and GET pipelined, one round trip
            current_raw, previous_raw = (self.cache.make_and_validate_key(k) for k in (current_key, previous_key))
            return _pipelined(
                pool_of(True), [("INCR", current_raw), ("EXPIRE", current_raw, timeout), ("GET", previous_raw)]
            )
        # Any other cache (local memory in development): the same counters through the cache API.
        self.cache.add(current_key, 0, timeout)
        counts = int(self.cache.incr(current_key)), int(self.cache.get(previous_key) or 0)
        return lambda: counts

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
