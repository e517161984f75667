"""Thread-safe counters the control API exposes: calls per endpoint and status, token events, 429s, webhooks."""

from __future__ import annotations

import re
import threading
from collections import Counter, deque
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from werkzeug.wrappers import Request

_KEY_SEGMENT = re.compile(r"\(.*?\)")
# Calls answered 404 on a path that is no endpoint the sandbox serves are counted under this one name, so random
# paths cannot grow the counters without bound.
UNKNOWN_ENDPOINT = "(unknown)"


def endpoint_name(path: str) -> str:
    """`crm/Accounts(guid'…')` and `crm/Accounts` count as one endpoint, like Exact's per-endpoint error limit."""
    return _KEY_SEGMENT.sub("", path).strip("/")


class Counters:
    """Counts what happened since the last reset; tests assert on these instead of parsing logs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, int]] = Counter()
        self._token_errors: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._simple: Counter[str] = Counter()

    def call(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._calls[(endpoint, status)] += 1

    def token_error(self, error_code: str) -> None:
        with self._lock:
            self._token_errors[error_code] += 1

    def rate_limited(self, group: str) -> None:
        with self._lock:
            self._rate_limited[group] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def incr(self, name: str, amount: int = 1) -> None:
        """Named counters: token_refreshes, tokens_issued, webhooks_delivered, webhooks_failed, …"""
        with self._lock:
            self._simple[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._simple[name]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._token_errors.clear()
            self._rate_limited.clear()
            self._faults.clear()
            self._simple.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            calls: dict[str, dict[str, int]] = {}
            for (endpoint, status), count in sorted(self._calls.items()):
                calls.setdefault(endpoint, {})[str(status)] = count
            return {
                "calls": calls,
                "token_refreshes": self._simple["token_refreshes"],
                "tokens_issued": self._simple["tokens_issued"],
                "token_errors": dict(self._token_errors),
                "rate_limited": {
                    "total": sum(self._rate_limited.values()),
                    **dict(self._rate_limited),
                },
                "faults": dict(self._faults),
                "webhooks": {
                    "delivered": self._simple["webhooks_delivered"],
                    "failed": self._simple["webhooks_failed"],
                    "validations_delivered": self._simple["webhook_validations_delivered"],
                    "validations_failed": self._simple["webhook_validations_failed"],
                    "not_sent_unvalidated": self._simple["webhooks_unvalidated"],
                    "dropped": self._simple["webhooks_dropped"],
                    "missed": self._simple["webhooks_missed"],
                },
            }


class RequestLog:
    """The last `size` requests to Exact's URLs (not the control API), oldest first: what a client really sent.

    Tests assert on the query a client put on the wire (e.g. the `$filter` it added) instead of trusting the client.
    """

    def __init__(self, size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)

    def record(self, request: Request, status: int) -> None:
        entry = {
            "method": request.method,
            "path": request.path,
            # Decoded query parameters; a repeated name keeps its last value.
            "query": dict(request.args.items()),
            "status": status,
            "basic_auth": request.headers.get("Authorization", "").lower().startswith("basic "),
        }
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype == "application/json":
            # A data write's JSON body exactly as received (token requests are forms with secrets: never kept).
            entry["body"] = request.get_data(as_text=True)
        with self._lock:
            self._entries.append(entry)

    def entries(self, limit: int | None = None, path_contains: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [e for e in self._entries if path_contains is None or path_contains in e["path"]]
        return found[-limit:] if limit else found

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
