"""Thread-safe counters the control API exposes: calls per endpoint and status, per app and organisation."""

from __future__ import annotations

import re
import threading
from collections import Counter
from typing import Any

_GUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
# Calls answered 404 on a path that is no endpoint the sandbox serves are counted under this one name, so random
# paths cannot grow the counters without bound.
UNKNOWN_ENDPOINT = "(unknown)"


def endpoint_name(path: str) -> str:
    """`Invoices/{guid}` and `Invoices` count as one endpoint; `Invoices/{id}/Attachments` as another."""
    return _GUID.sub("{id}", path).strip("/")


class Counters:
    """Counts what happened since the last reset; tests assert on these instead of parsing logs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[tuple[str, int]] = Counter()
        # Accounting API calls per (client_id, tenant_id) and their statuses.
        self._usage: Counter[tuple[str, str, int]] = Counter()
        self._token_errors: Counter[str] = Counter()
        self._rate_limited: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._simple: Counter[str] = Counter()

    def call(self, endpoint: str, status: int) -> None:
        with self._lock:
            self._calls[(endpoint, status)] += 1

    def usage(self, client_id: str, tenant_id: str, status: int) -> None:
        with self._lock:
            self._usage[(client_id, tenant_id, status)] += 1

    def token_error(self, error_code: str) -> None:
        with self._lock:
            self._token_errors[error_code] += 1

    def rate_limited(self, problem: str) -> None:
        with self._lock:
            self._rate_limited[problem] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def incr(self, name: str, amount: int = 1) -> None:
        """Named counters: token_refreshes, tokens_issued, webhooks_delivered, …"""
        with self._lock:
            self._simple[name] += amount

    def get(self, name: str) -> int:
        with self._lock:
            return self._simple[name]

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._usage.clear()
            self._token_errors.clear()
            self._rate_limited.clear()
            self._faults.clear()
            self._simple.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            calls: dict[str, dict[str, int]] = {}
            for (endpoint, status), count in sorted(self._calls.items()):
                calls.setdefault(endpoint, {})[str(status)] = count
            usage: dict[str, dict[str, dict[str, int]]] = {}
            for (client_id, tenant_id, status), count in sorted(self._usage.items()):
                per_tenant = usage.setdefault(client_id, {}).setdefault(tenant_id, {"total": 0})
                per_tenant[str(status)] = count
                per_tenant["total"] += count
            return {
                "calls": calls,
                "usage": usage,
                "token_refreshes": self._simple["token_refreshes"],
                "tokens_issued": self._simple["tokens_issued"],
                "token_grace_reuses": self._simple["token_grace_reuses"],
                "token_revocations": self._simple["token_revocations"],
                "token_errors": dict(self._token_errors),
                "rate_limited": {"total": sum(self._rate_limited.values()), **dict(self._rate_limited)},
                "idempotent_replays": self._simple["idempotent_replays"],
                "faults": dict(self._faults),
                "webhooks": {
                    "delivered": self._simple["webhooks_delivered"],
                    "failed": self._simple["webhooks_failed"],
                    "events_delivered": self._simple["webhook_events_delivered"],
                    "intent_checks": self._simple["webhook_intent_checks"],
                    "intent_failed": self._simple["webhook_intent_failed"],
                    "not_sent_unverified": self._simple["webhooks_unverified"],
                    "dropped": self._simple["webhooks_dropped"],
                },
            }
