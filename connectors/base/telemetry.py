"""A neutral telemetry hook: the vendor HTTP client reports what happened, the core decides what to count.

connectors.base must not import the core (pyproject: import-linter), so the client emits plain events here and the
gateway registers a sink at start (gateway/metrics/vendor.py turns them into Prometheus metrics). With no sink
registered nothing is counted; a sink that fails is logged and never fails the vendor call that already happened.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

logger = logging.getLogger(__name__)

# `VendorCall.throttle` for a 429: the window the vendor's headers named, or its error limit.
THROTTLE_MINUTE = "minute"
THROTTLE_DAY = "day"
THROTTLE_UNKNOWN = "unknown"
THROTTLE_ERROR_LIMIT = "error_limit"


@dataclass(frozen=True)
class VendorCall:
    """One vendor call, answered or not (`status` None: no answer came)."""

    connector: str
    # The endpoint template, keys and query removed (`crm/Accounts`); `other` for anything the client does not know.
    endpoint: str
    method: str
    status: int | None
    duration_seconds: float
    # Only for a 429: which limit the vendor said was hit (THROTTLE_*).
    throttle: str | None = None


@dataclass(frozen=True)
class BudgetRefusal:
    """A call the client refused before sending: the shared budget's `window` (`minute`, `day`) was spent."""

    connector: str
    window: str


class TelemetrySink(Protocol):
    def vendor_call(self, event: VendorCall) -> None: ...

    def budget_refusal(self, event: BudgetRefusal) -> None: ...


_sinks: list[TelemetrySink] = []
_sinks_lock = threading.Lock()


def telemetry_register(sink: TelemetrySink) -> None:
    """Add a sink (idempotent: registering the same sink twice keeps one)."""
    with _sinks_lock:
        if sink not in _sinks:
            _sinks.append(sink)


def telemetry_unregister(sink: TelemetrySink) -> None:
    with _sinks_lock:
        if sink in _sinks:
            _sinks.remove(sink)


def vendor_call_emit(event: VendorCall) -> None:
    for sink in tuple(_sinks):
        try:
            sink.vendor_call(event)
        except Exception:
            logger.exception("telemetry sink %r failed on a vendor call", sink)


def budget_refusal_emit(event: BudgetRefusal) -> None:
    for sink in tuple(_sinks):
        try:
            sink.budget_refusal(event)
        except Exception:
            logger.exception("telemetry sink %r failed on a budget refusal", sink)
