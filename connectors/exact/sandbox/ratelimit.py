"""Exact's call budgets per app and division (minutely, daily) and the hourly error limit."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from connectors.exact.sandbox.clock import epoch_ms


@dataclass
class LimitConfig:
    """Defaults are Exact's documented numbers (KB API limits, NOTES.md: Rate limits); tests shrink them."""

    minutely_limit: int = 60
    daily_limit: int = 5000
    # A calendar minute in Exact; tests set e.g. 5 s so a window can pass quickly (windows align to epoch).
    minute_window_seconds: float = 60.0
    # "no more than 10 errors per API key, per user, per company, per endpoint, per hour".
    error_limit: int = 10
    error_window_seconds: float = 3600.0
    # "automatically … lifted after one hour"; the escalation Exact mentions is not simulated.
    error_block_seconds: float = 3600.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    # "minutely" or "daily" when the call was refused.
    group: str | None = None


def _next_midnight_utc(now: datetime) -> datetime:
    # Observed resets are 00:00 UTC (picqer#609: X-RateLimit-Reset 1683936000000 = 2023-05-13T00:00:00Z).
    today = now.astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


class RateLimiter:
    """Counts accepted calls per (client_id, division); a refused call does not use budget."""

    def __init__(self, config: LimitConfig | None = None) -> None:
        self.config = config or LimitConfig()
        self._lock = threading.Lock()
        self._minutely: dict[tuple[str, int], tuple[float, int]] = {}
        self._daily: dict[tuple[str, int], tuple[str, int]] = {}

    def _minute_window(self, now: datetime) -> tuple[float, datetime]:
        length = self.config.minute_window_seconds
        start = math.floor(now.timestamp() / length) * length
        return start, datetime.fromtimestamp(start + length, tz=UTC)

    def check(self, client_id: str, division: int, now: datetime) -> RateDecision:
        """Count one call, or refuse it with a 429 that carries only the header group that was hit."""
        key = (client_id, division)
        window_start, minute_reset = self._minute_window(now)
        day = now.astimezone(UTC).date().isoformat()
        day_reset = _next_midnight_utc(now)
        config = self.config
        with self._lock:
            minute_start, minute_used = self._minutely.get(key, (window_start, 0))
            if minute_start != window_start:
                minute_used = 0
            day_key, day_used = self._daily.get(key, (day, 0))
            if day_key != day:
                day_used = 0
            daily_headers = {
                "X-RateLimit-Limit": str(config.daily_limit),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(epoch_ms(day_reset)),
            }
            minutely_headers = {
                "X-RateLimit-Minutely-Limit": str(config.minutely_limit),
                "X-RateLimit-Minutely-Remaining": "0",
                "X-RateLimit-Minutely-Reset": str(epoch_ms(minute_reset)),
            }
            # picqer README / #646: on a 429 Exact sends only the headers of the limit that was hit.
            if day_used >= config.daily_limit:
                return RateDecision(False, daily_headers, "daily")
            if minute_used >= config.minutely_limit:
                return RateDecision(False, minutely_headers, "minutely")
            minute_used += 1
            day_used += 1
            self._minutely[key] = (window_start, minute_used)
            self._daily[key] = (day, day_used)
        daily_headers["X-RateLimit-Remaining"] = str(max(config.daily_limit - day_used, 0))
        minutely_headers["X-RateLimit-Minutely-Remaining"] = str(max(config.minutely_limit - minute_used, 0))
        return RateDecision(True, {**daily_headers, **minutely_headers})

    def usage(self, now: datetime, client_id: str | None = None, division: int | None = None) -> list[dict[str, Any]]:
        """Calls counted per (app, division) in the current minute and day, as a client would read the headers."""
        window_start, minute_reset = self._minute_window(now)
        day = now.astimezone(UTC).date().isoformat()
        config = self.config
        with self._lock:
            keys = sorted(self._minutely.keys() | self._daily.keys())
            rows = []
            for key in keys:
                if (client_id is not None and key[0] != client_id) or (division is not None and key[1] != division):
                    continue
                minute_start, minute_used = self._minutely.get(key, (window_start, 0))
                day_key, day_used = self._daily.get(key, (day, 0))
                minute_used = minute_used if minute_start == window_start else 0
                day_used = day_used if day_key == day else 0
                rows.append(
                    {
                        "client_id": key[0],
                        "division": key[1],
                        "minutely_used": minute_used,
                        "minutely_remaining": max(config.minutely_limit - minute_used, 0),
                        "minutely_reset": epoch_ms(minute_reset),
                        "daily_used": day_used,
                        "daily_remaining": max(config.daily_limit - day_used, 0),
                        "daily_reset": epoch_ms(_next_midnight_utc(now)),
                    }
                )
        return rows

    def reset_usage(self) -> None:
        with self._lock:
            self._minutely.clear()
            self._daily.clear()

    def configure(self, **changes: Any) -> LimitConfig:
        """Validate every change first, then apply them together under the lock (check() reads the config)."""
        allowed = set(asdict(self.config))
        unknown = set(changes) - allowed
        if unknown:
            raise ValueError(f"unknown limit settings: {sorted(unknown)}")
        typed: dict[str, Any] = {}
        for name, value in changes.items():
            if value is None:
                continue
            if float(value) <= 0:
                raise ValueError(f"{name} must be positive")
            typed[name] = type(getattr(self.config, name))(value)
        with self._lock:
            for name, value in typed.items():
                setattr(self.config, name, value)
        return self.config


ErrorKey = tuple[str, UUID | None, int | None, str]

# KB API limits: "400, 401, 403 and 404 count as errors".
COUNTED_ERROR_STATUSES = frozenset({400, 401, 403, 404})


class ErrorLimiter:
    """After `error_limit` errors within the window the key is blocked on that endpoint for an hour."""

    def __init__(self, config: LimitConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._errors: dict[ErrorKey, deque[datetime]] = {}
        self._blocked_until: dict[ErrorKey, datetime] = {}
        self._last_sweep: datetime | None = None

    def tracked_keys(self) -> int:
        """How many keys hold errors or a block (for tests: expired ones must not accumulate)."""
        with self._lock:
            return len(self._errors.keys() | self._blocked_until.keys())

    def _sweep(self, now: datetime) -> None:
        """Drop keys whose errors all left the window and whose block (if any) is over. Under self._lock."""
        window = timedelta(seconds=self.config.error_window_seconds)
        # At most once per tenth of the window: a sweep walks every key.
        if self._last_sweep is not None and now - self._last_sweep < window / 10:
            return
        self._last_sweep = now
        for key in [k for k, until in self._blocked_until.items() if now >= until]:
            # As in blocked_until(): a lifted block takes its error history with it.
            del self._blocked_until[key]
            self._errors.pop(key, None)
        for key in [k for k, errors in self._errors.items() if not errors or now - errors[-1] > window]:
            if key not in self._blocked_until:
                del self._errors[key]

    def blocked_until(self, key: ErrorKey, now: datetime) -> datetime | None:
        with self._lock:
            until = self._blocked_until.get(key)
            if until is not None and now >= until:
                del self._blocked_until[key]
                self._errors.pop(key, None)
                return None
            return until

    def record(self, key: ErrorKey, status: int, now: datetime) -> None:
        if status not in COUNTED_ERROR_STATUSES:
            return
        window = timedelta(seconds=self.config.error_window_seconds)
        with self._lock:
            self._sweep(now)
            errors = self._errors.setdefault(key, deque())
            errors.append(now)
            while errors and now - errors[0] > window:
                errors.popleft()
            if len(errors) >= self.config.error_limit:
                self._blocked_until[key] = now + timedelta(seconds=self.config.error_block_seconds)

    def reset(self) -> None:
        with self._lock:
            self._errors.clear()
            self._blocked_until.clear()
            self._last_sweep = None
