"""Xero's call limits: per app and organisation 5 in progress, 60 a minute, 5,000 a day; 10,000 a minute per app."""

from __future__ import annotations

import math
import threading
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

# X-Rate-Limit-Problem values: "minute" and "day" are seen in the wild (NOTES.md "Limits"); the names for the
# concurrent and app limits are the sandbox's choice (UNCONFIRMED, see README).
PROBLEM_CONCURRENT = "concurrent"
PROBLEM_MINUTE = "minute"
PROBLEM_DAY = "day"
PROBLEM_APP_MINUTE = "appminute"


@dataclass
class LimitConfig:
    """Defaults are Xero's documented numbers (NOTES.md "Limits"); tests shrink them."""

    concurrent_limit: int = 5
    minute_limit: int = 60
    day_limit: int = 5000
    app_minute_limit: int = 10_000
    # A minute and a day in Xero; tests compress them (e.g. a 2 s "minute").
    minute_window_seconds: float = 60.0
    day_window_seconds: float = 86_400.0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    headers: dict[str, str]
    # Which limit refused the call (X-Rate-Limit-Problem), and when to retry (seconds).
    problem: str | None = None
    retry_after: int | None = None


def _offset(key: str, length: float) -> float:
    """Xero's windows are fixed but reset at a different time per organisation: a stable offset per key."""
    return (zlib.crc32(key.encode("utf-8")) % 10_000) / 10_000 * length


def _window(now: datetime, length: float, key: str) -> tuple[float, float]:
    """(start, end) of the fixed window holding `now`, as epoch seconds."""
    offset = _offset(key, length)
    start = math.floor((now.timestamp() - offset) / length) * length + offset
    return start, start + length


class RateLimiter:
    """Counts accepted calls per (client_id, tenant_id) and per client_id; a refused call uses no budget."""

    def __init__(self, config: LimitConfig | None = None) -> None:
        self.config = config or LimitConfig()
        self._lock = threading.Lock()
        self._minute: dict[tuple[str, str], tuple[float, int]] = {}
        self._day: dict[tuple[str, str], tuple[float, int]] = {}
        self._app_minute: dict[str, tuple[float, int]] = {}
        self._in_progress: dict[tuple[str, str], int] = {}

    def acquire(self, client_id: str, tenant_id: str, now: datetime) -> RateDecision:
        """Count one call and mark it in progress (call release() when answered), or refuse it."""
        key = (client_id, tenant_id)
        config = self.config
        tenant_key = f"{client_id}:{tenant_id}"
        minute_start, minute_end = _window(now, config.minute_window_seconds, tenant_key)
        day_start, day_end = _window(now, config.day_window_seconds, tenant_key)
        app_start, app_end = _window(now, config.minute_window_seconds, client_id)
        with self._lock:
            minute_used = self._used(self._minute.get(key), minute_start)
            day_used = self._used(self._day.get(key), day_start)
            app_used = self._used(self._app_minute.get(client_id), app_start)
            in_progress = self._in_progress.get(key, 0)
            now_ts = now.timestamp()
            refusal: tuple[str, float] | None = None
            if day_used >= config.day_limit:
                refusal = (PROBLEM_DAY, day_end - now_ts)
            elif minute_used >= config.minute_limit:
                refusal = (PROBLEM_MINUTE, minute_end - now_ts)
            elif app_used >= config.app_minute_limit:
                refusal = (PROBLEM_APP_MINUTE, app_end - now_ts)
            elif in_progress >= config.concurrent_limit:
                # UNCONFIRMED whether Xero sends Retry-After here; the sandbox says 1 s.
                refusal = (PROBLEM_CONCURRENT, 1.0)
            if refusal is None:
                minute_used += 1
                day_used += 1
                app_used += 1
                self._minute[key] = (minute_start, minute_used)
                self._day[key] = (day_start, day_used)
                self._app_minute[client_id] = (app_start, app_used)
                self._in_progress[key] = in_progress + 1
        headers = {
            "X-DayLimit-Remaining": str(max(config.day_limit - day_used, 0)),
            "X-MinLimit-Remaining": str(max(config.minute_limit - minute_used, 0)),
            "X-AppMinLimit-Remaining": str(max(config.app_minute_limit - app_used, 0)),
        }
        if refusal is None:
            return RateDecision(True, headers)
        problem, seconds = refusal
        return RateDecision(False, headers, problem, max(math.ceil(seconds), 1))

    def release(self, client_id: str, tenant_id: str) -> None:
        key = (client_id, tenant_id)
        with self._lock:
            left = self._in_progress.get(key, 0) - 1
            if left > 0:
                self._in_progress[key] = left
            else:
                self._in_progress.pop(key, None)

    @staticmethod
    def _used(entry: tuple[float, int] | None, window_start: float) -> int:
        if entry is None or entry[0] != window_start:
            return 0
        return entry[1]

    def usage(self, now: datetime) -> dict[str, Any]:
        """Calls used in the current windows, per app and organisation (the control API's view)."""
        config = self.config
        with self._lock:
            result: dict[str, Any] = {}
            for client_id, tenant_id in self._day.keys() | self._minute.keys() | self._in_progress.keys():
                tenant_key = f"{client_id}:{tenant_id}"
                minute_start, _ = _window(now, config.minute_window_seconds, tenant_key)
                day_start, _ = _window(now, config.day_window_seconds, tenant_key)
                app = result.setdefault(client_id, {"app_minute_used": 0, "organisations": {}})
                app["organisations"][tenant_id] = {
                    "minute_used": self._used(self._minute.get((client_id, tenant_id)), minute_start),
                    "day_used": self._used(self._day.get((client_id, tenant_id)), day_start),
                    "in_progress": self._in_progress.get((client_id, tenant_id), 0),
                }
            for client_id, entry in self._app_minute.items():
                app_start, _ = _window(now, config.minute_window_seconds, client_id)
                result.setdefault(client_id, {"app_minute_used": 0, "organisations": {}})
                result[client_id]["app_minute_used"] = self._used(entry, app_start)
            return result

    def reset_usage(self) -> None:
        with self._lock:
            self._minute.clear()
            self._day.clear()
            self._app_minute.clear()
            # Calls in progress stay counted: they will release() when answered.

    def configure(self, **changes: Any) -> LimitConfig:
        """Validate every change first, then apply them together under the lock."""
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

    def defaults(self) -> None:
        with self._lock:
            for name, value in asdict(LimitConfig()).items():
                setattr(self.config, name, value)
