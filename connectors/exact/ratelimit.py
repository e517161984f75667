"""Exact's rate-limit policy: one shared budget per (app, division), minutely and daily, read from its headers.

Exact's rules (NOTES.md: Rate limits, KB "API limits"):
- 60 calls per app, per division, per calendar minute, and 5,000 per app, per division, per day (reset 00:00 UTC).
- Every call with a division in its URL reports both windows: `X-RateLimit-{Limit,Remaining,Reset}` (daily) and
  `X-RateLimit-Minutely-{Limit,Remaining,Reset}`; resets are UTC epoch milliseconds.
- Over the limit Exact answers 429 with an empty body and only the headers of the window that was hit.
- Another process of ours, or another install of the same app, spends the same budget (picqer#646), so the
  headers are the truth and the budget lives in Redis, shared by every process (connectors/base/ratelimit.py).

Policy: before each call reserve a unit of both windows; if none is left wait for the reset when that is at most
EXACT_RATE_LIMIT_MAX_WAIT seconds, else fail fast with VendorRateLimited(reset_at) (the API turns it into a 429
problem with Retry-After). After each response reconcile with the headers. A 429 from Exact is recorded and
raised, never retried here.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from django.conf import settings

from connectors.base.ratelimit import (
    DAILY,
    MINUTELY,
    BudgetPolicy,
    BudgetStore,
    Observation,
    VendorRateLimiter,
    budget_store,
)

# Exact's minute is a calendar minute (KB: 60 calls by 10:00:40 are refused "until 10:01:00"); its day ends at
# 00:00 UTC (picqer#609). Used until two resets show the real length (a sandbox may shorten or stretch it); a
# minutely reset off the minute's boundaries shows at once that the length is another, and it is then not used to
# bound the vendor's clock (which would make that clock look ahead of ours and end each window early).
DEFAULT_WINDOW_LENGTHS_MS = {MINUTELY: 60_000, DAILY: 86_400_000}

_HEADERS = {
    MINUTELY: ("X-RateLimit-Minutely-Limit", "X-RateLimit-Minutely-Remaining", "X-RateLimit-Minutely-Reset"),
    DAILY: ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"),
}


def observations_from_headers(headers: Mapping[str, str]) -> list[Observation]:
    """The windows an Exact response reports; a 429 carries only the group that was hit (picqer#646)."""
    found = []
    for window, (limit_name, remaining_name, reset_name) in _HEADERS.items():
        values = [(headers.get(name) or "").strip() for name in (limit_name, remaining_name, reset_name)]
        if all(value.isdigit() for value in values):
            limit, remaining, reset = (int(value) for value in values)
            found.append(Observation(window=window, limit=limit, remaining=remaining, reset_ms=reset))
    return found


def budget_key(client_id: str, division: int | str) -> str:
    """Exact counts per app and per division ("per app, per company"), so that is the budget's key."""
    return f"exact:{client_id}:{int(division)}"


def new_exact_rate_limiter(
    *,
    store: BudgetStore | None = None,
    max_wait: float | None = None,
    guard: float | None = None,
    probe_timeout: float | None = None,
) -> VendorRateLimiter:
    """A limiter with Exact's policy; unset arguments come from the EXACT_RATE_LIMIT_* and HTTP settings."""
    policy = BudgetPolicy(
        default_lengths_ms=DEFAULT_WINDOW_LENGTHS_MS,
        clock_window=MINUTELY,
        calendar_windows=True,  # a calendar minute, a day ending at 00:00 UTC
        guard_ms=int(1000 * (settings.EXACT_RATE_LIMIT_GUARD if guard is None else guard)),
        probe_timeout_ms=int(1000 * (settings.EXACT_HTTP_TIMEOUT if probe_timeout is None else probe_timeout)),
    )
    return VendorRateLimiter(
        vendor_name="Exact",
        company_noun="division",
        store=store or budget_store(settings.REDIS_URL),
        policy=policy,
        max_wait=settings.EXACT_RATE_LIMIT_MAX_WAIT if max_wait is None else max_wait,
    )


_default: dict[tuple[str, float, float], VendorRateLimiter] = {}
_default_lock = threading.Lock()


def exact_rate_limiter() -> VendorRateLimiter:
    """The process's limiter for the current settings (tests may change REDIS_URL or the max wait)."""
    signature = (settings.REDIS_URL, settings.EXACT_RATE_LIMIT_MAX_WAIT, settings.EXACT_RATE_LIMIT_GUARD)
    with _default_lock:
        limiter = _default.get(signature)
        if limiter is None:
            limiter = _default[signature] = new_exact_rate_limiter()
        return limiter
