"""Fault injection by path pattern and method, with seeded randomness so test runs are reproducible."""

from __future__ import annotations

import fnmatch
import itertools
import random
import threading
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset({"500", "503", "latency", "drop_after_apply", "drop_before_apply", "revoke_tokens"})


@dataclass
class Fault:
    """One rule. `pattern` is a glob on the request path, e.g. `/api.xro/2.0/Invoices*` or `/connect/token`."""

    id: str
    kind: str
    pattern: str
    method: str = "*"
    # Fire with this probability (seeded RNG); None means always (while `times` lasts).
    probability: float | None = None
    # Fire at most this many times; None means no cap.
    times: int | None = None
    seed: int = 0
    latency_ms: int = 0
    client_id: str | None = None
    tenant_id: str | None = None
    # revoke_tokens only: "access" kills access tokens, "all" also the refresh tokens (re-consent needed).
    revoke_scope: str = "access"
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, path: str, client_id: str | None, tenant_id: str | None) -> bool:
        if self.method != "*" and self.method.upper() != method.upper():
            return False
        if self.client_id is not None and self.client_id != client_id:
            return False
        if self.tenant_id is not None and (tenant_id is None or self.tenant_id.lower() != tenant_id.lower()):
            return False
        # Paths are case-insensitive in Xero (clients call /Connections and /connections alike).
        return fnmatch.fnmatch(path.lower(), self.pattern.lower())

    def should_fire(self) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "pattern": self.pattern,
            "method": self.method,
            "probability": self.probability,
            "times": self.times,
            "seed": self.seed,
            "latency_ms": self.latency_ms,
            "client_id": self.client_id,
            "tenant_id": self.tenant_id,
            "revoke_scope": self.revoke_scope,
            "fired": self.fired,
        }


class FaultInjector:
    """Holds the active rules; the server asks it which rules fire for each request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: dict[str, Fault] = {}
        self._ids = itertools.count(1)

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = str(spec.get("kind", ""))
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        pattern = spec.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise ValueError("pattern (a glob on the path, e.g. /api.xro/2.0/Invoices*) is required")
        probability = spec.get("probability")
        if probability is not None and not 0.0 <= float(probability) <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        times = spec.get("times")
        if times is not None and int(times) < 0:
            raise ValueError("times must not be negative")
        revoke_scope = str(spec.get("revoke_scope", "access"))
        if revoke_scope not in ("access", "all"):
            raise ValueError("revoke_scope must be 'access' or 'all'")
        latency_ms = int(spec.get("latency_ms", 0))
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        seed = int(spec.get("seed", 0))
        with self._lock:
            fault = Fault(
                id=f"fault-{next(self._ids)}",
                kind=kind,
                pattern=pattern,
                method=str(spec.get("method", "*")),
                probability=None if probability is None else float(probability),
                times=None if times is None else int(times),
                seed=seed,
                latency_ms=latency_ms,
                client_id=spec.get("client_id"),
                tenant_id=None if spec.get("tenant_id") is None else str(spec["tenant_id"]),
                revoke_scope=revoke_scope,
                _rng=random.Random(seed),  # noqa: S311  (reproducible test faults, not crypto)
            )
            self._faults[fault.id] = fault
        return fault

    def firing(self, method: str, path: str, client_id: str | None, tenant_id: str | None) -> list[Fault]:
        """The rules that fire for this request, in the order they were added."""
        with self._lock:
            return [
                fault
                for fault in self._faults.values()
                if fault.matches(method, path, client_id, tenant_id) and fault.should_fire()
            ]

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.to_json() for fault in self._faults.values()]

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            return self._faults.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
