"""Xero's rate-limit policy: per (app, organisation) 5 calls in progress, a minute and a day; per app a minute.

Xero's rules (NOTES.md: Limits): per app and organisation 5 calls in progress, 60 a minute and 5,000 a day; per
app over all organisations 10,000 a minute. Every response says what is left (`X-MinLimit-Remaining`,
`X-DayLimit-Remaining`, `X-AppMinLimit-Remaining`) but not the limits nor when the windows reset (fixed windows
that reset at a different moment per organisation); a 429 names the limit (`X-Rate-Limit-Problem`) and says
`Retry-After`.

How the shared budget (connectors/base/ratelimit.py, in Redis for every process) is fed:
- the limits come from settings (XERO_MINUTE_LIMIT, XERO_DAY_LIMIT, XERO_APP_MINUTE_LIMIT); a response that
  reports more left than the configured limit (a larger allowance, a sandbox) raises the limit to what it reports;
- resets are not reported, so each report is placed in the calendar window (of the window's length) it was
  received in; our count restarts at that boundary and the first response after it brings Xero's count back in.
  Where Xero's window is offset from ours, Xero's 429 with `Retry-After` is the backstop (raised, never retried
  blindly);
- budgets are keyed `xero:<app>:<tenant>` (minute and day) and `xero:<app>` (the app's minute);
- the 5 calls in progress are slots in Redis (a sorted set of leases that expire after the HTTP timeout, so a
  process that dies frees its slot), taken before the budget and given back when the answer (or its absence)
  is known.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from django.conf import settings

from connectors.base.errors import VendorRateLimited, VendorUnavailable
from connectors.base.ratelimit import (
    DAILY,
    MINUTELY,
    BudgetPolicy,
    BudgetStore,
    Observation,
    Ticket,
    VendorRateLimiter,
    budget_store,
)

# The app's minute across all organisations (a window of its own budget key).
APP_MINUTELY = "app_minutely"

DEFAULT_WINDOW_LENGTHS_MS = {MINUTELY: 60_000, DAILY: 86_400_000, APP_MINUTELY: 60_000}

_HEADERS = {
    MINUTELY: "X-MinLimit-Remaining",
    DAILY: "X-DayLimit-Remaining",
    APP_MINUTELY: "X-AppMinLimit-Remaining",
}


def configured_limits() -> dict[str, int]:
    return {
        MINUTELY: int(settings.XERO_MINUTE_LIMIT),
        DAILY: int(settings.XERO_DAY_LIMIT),
        APP_MINUTELY: int(settings.XERO_APP_MINUTE_LIMIT),
    }


def observations_from_headers(headers: Mapping[str, str], *, now_ms: int | None = None) -> list[Observation]:
    """The windows a Xero response reports, each placed in the calendar window it was received in."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    limits = configured_limits()
    found = []
    for window, name in _HEADERS.items():
        value = (headers.get(name) or "").strip()
        if not value.isdigit():
            continue
        remaining = int(value)
        length = DEFAULT_WINDOW_LENGTHS_MS[window]
        reset_ms = (now_ms // length + 1) * length
        limit = max(limits[window], remaining)
        found.append(Observation(window=window, limit=limit, remaining=remaining, reset_ms=reset_ms))
    return found


def budget_key(client_id: str, tenant_id: str) -> str:
    """Xero counts per app and organisation ("per tenant"), so that is the budget's key."""
    return f"xero:{client_id}:{tenant_id}"


def app_key(key: str) -> str:
    """The app-wide budget of a (app, tenant) key: `xero:<app>`."""
    return key.rsplit(":", 1)[0]


# ---------------------------------------------------------------------------------------------- slots


class Slots(Protocol):
    def take(self, key: str, *, limit: int, lease_ms: int) -> str | None:
        """A slot id if fewer than `limit` calls are in progress for `key`, else None."""
        ...

    def give_back(self, key: str, slot: str) -> None: ...

    def clear(self, key: str) -> None: ...


# Drop expired leases, then take a slot if one is free (atomic: one script).
_TAKE_SCRIPT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
  return 1
end
return 0
"""


class RedisSlots:
    """Calls in progress per key, shared by every process: a sorted set of leases scored by their expiry."""

    prefix = "ledgerbridge:inflight:"

    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._take = self._redis.register_script(_TAKE_SCRIPT)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)

    def take(self, key: str, *, limit: int, lease_ms: int) -> str | None:
        slot = uuid.uuid4().hex
        try:
            taken = self._take(keys=[self.prefix + key], args=[limit, lease_ms, slot])
        except self._errors as exc:
            raise VendorUnavailable(f"Cannot check Xero's concurrent-call limit ({exc.__class__.__name__}).") from None
        return slot if taken else None

    def give_back(self, key: str, slot: str) -> None:
        with contextlib.suppress(*self._errors):  # the lease expires on its own
            self._redis.zrem(self.prefix + key, slot)

    def clear(self, key: str) -> None:
        self._redis.delete(self.prefix + key)


class LocalSlots:
    """Calls in progress in this process only (installs without Redis)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[str, dict[str, float]] = {}

    def take(self, key: str, *, limit: int, lease_ms: int) -> str | None:
        now = time.monotonic()
        with self._lock:
            leases = {slot: end for slot, end in self._leases.get(key, {}).items() if end > now}
            if len(leases) >= limit:
                self._leases[key] = leases
                return None
            slot = uuid.uuid4().hex
            leases[slot] = now + lease_ms / 1000
            self._leases[key] = leases
            return slot

    def give_back(self, key: str, slot: str) -> None:
        with self._lock:
            self._leases.get(key, {}).pop(slot, None)

    def clear(self, key: str) -> None:
        with self._lock:
            self._leases.pop(key, None)


_slots: dict[tuple[int, str], Slots] = {}
_slots_lock = threading.Lock()


def slots_store(redis_url: str) -> Slots:
    key = (os.getpid(), redis_url)
    with _slots_lock:
        store = _slots.get(key)
        if store is None:
            store = RedisSlots(redis_url) if redis_url else LocalSlots()
            _slots[key] = store
        return store


# ---------------------------------------------------------------------------------------------- the limiter


@dataclass(frozen=True)
class XeroTicket(Ticket):
    """A reserved call: its slot in progress and the app-wide ticket besides the organisation's."""

    slot: str = ""
    app_ticket: Ticket | None = None


class XeroRateLimiter(VendorRateLimiter):
    """The organisation's slots, minute and day, and the app's minute, as one acquire/record/release cycle."""

    def __init__(
        self,
        *,
        store: BudgetStore,
        slots: Slots,
        policy: BudgetPolicy,
        max_wait: float,
        concurrent_limit: int,
        lease_ms: int,
    ) -> None:
        super().__init__(vendor_name="Xero", company_noun="organisation", store=store, policy=policy, max_wait=max_wait)
        self.slots = slots
        self.concurrent_limit = concurrent_limit
        self.lease_ms = lease_ms

    def _take_slot(self, key: str) -> str:
        deadline = time.monotonic() + self.budget.max_wait
        while True:
            slot = self.slots.take(key, limit=self.concurrent_limit, lease_ms=self.lease_ms)
            if slot is not None:
                return slot
            if time.monotonic() >= deadline:
                raise VendorRateLimited(
                    f"Xero's limit of {self.concurrent_limit} calls in progress for this organisation is reached.",
                    reset_at=datetime.now(tz=UTC) + timedelta(seconds=1),
                )
            time.sleep(0.02 + random.uniform(0, 0.02))  # noqa: S311 (jitter)

    def acquire(self, key: str) -> Ticket:
        slot = self._take_slot(key)
        try:
            ticket = super().acquire(key)
            try:
                app_ticket = super().acquire(app_key(key))
            except BaseException:
                super().release(ticket)
                raise
        except BaseException:
            self.slots.give_back(key, slot)
            raise
        return XeroTicket(key=ticket.key, sent_ms=ticket.sent_ms, probe=ticket.probe, slot=slot, app_ticket=app_ticket)

    def record(self, ticket: Ticket, observations: list[Observation]) -> None:
        own = [observation for observation in observations if observation.window != APP_MINUTELY]
        app = [observation for observation in observations if observation.window == APP_MINUTELY]
        super().record(_plain(ticket), own)
        if isinstance(ticket, XeroTicket):
            if ticket.app_ticket is not None:
                super().record(ticket.app_ticket, app)
            self.slots.give_back(ticket.key, ticket.slot)

    def release(self, ticket: Ticket) -> None:
        super().release(_plain(ticket))
        if isinstance(ticket, XeroTicket):
            if ticket.app_ticket is not None:
                super().release(ticket.app_ticket)
            self.slots.give_back(ticket.key, ticket.slot)

    def forget(self, key: str) -> None:
        super().forget(key)
        super().forget(app_key(key))
        self.slots.clear(key)


def _plain(ticket: Ticket) -> Ticket:
    return (
        Ticket(key=ticket.key, sent_ms=ticket.sent_ms, probe=ticket.probe) if isinstance(ticket, XeroTicket) else ticket
    )


def new_xero_rate_limiter(
    *,
    store: BudgetStore | None = None,
    slots: Slots | None = None,
    max_wait: float | None = None,
    guard: float | None = None,
) -> XeroRateLimiter:
    """A limiter with Xero's policy; unset arguments come from the XERO_* settings."""
    timeout = float(settings.XERO_HTTP_TIMEOUT)
    policy = BudgetPolicy(
        default_lengths_ms=DEFAULT_WINDOW_LENGTHS_MS,
        clock_window=MINUTELY,
        guard_ms=int(1000 * (settings.XERO_RATE_LIMIT_GUARD if guard is None else guard)),
        probe_timeout_ms=int(1000 * timeout),
    )
    return XeroRateLimiter(
        store=store or budget_store(settings.REDIS_URL),
        slots=slots or slots_store(settings.REDIS_URL),
        policy=policy,
        max_wait=settings.XERO_RATE_LIMIT_MAX_WAIT if max_wait is None else max_wait,
        concurrent_limit=int(settings.XERO_CONCURRENT_LIMIT),
        # A call holds its slot at most as long as its timeout (plus a margin): a dead process frees it.
        lease_ms=int(math.ceil(timeout + 5) * 1000),
    )


_default: dict[tuple[object, ...], XeroRateLimiter] = {}
_default_lock = threading.Lock()


def xero_rate_limiter() -> XeroRateLimiter:
    """The process's limiter for the current settings (tests may change REDIS_URL or the limits)."""
    signature = (
        settings.REDIS_URL,
        settings.XERO_RATE_LIMIT_MAX_WAIT,
        settings.XERO_RATE_LIMIT_GUARD,
        settings.XERO_CONCURRENT_LIMIT,
        settings.XERO_HTTP_TIMEOUT,
    )
    with _default_lock:
        limiter = _default.get(signature)
        if limiter is None:
            limiter = _default[signature] = new_xero_rate_limiter()
        return limiter
