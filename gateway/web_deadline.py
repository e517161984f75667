"""The web worker's request deadline with threads: a request still running after LEDGERBRIDGE_WEB_TIMEOUT ends its
worker process, as gunicorn's sync worker is ended, so the promise writes rely on holds with any worker class.

Why: a write's lease (unified_models/services.py, `web_lease_seconds`) and an Idempotency-Key's claim
(gateway/api/idempotency.py, `stale_after`) expire a few seconds after LEDGERBRIDGE_WEB_TIMEOUT, because no request
outlives it: after that, another sender may take the write over. gunicorn kills a sync worker whose request passes
its `timeout`; its gthread worker does not (its main loop keeps reporting alive while a request thread hangs, e.g.
on a vendor answer trickling in under the per-read timeout). deploy/gunicorn.conf.py runs gthread workers (one
worker serves other requests while a request waits for the vendor) and wires this watch to gunicorn's request hooks:
a worker with a request past the deadline kills itself (SIGKILL, as the arbiter would), ending every request it
held. Writes of those requests are the killed-worker case the mutation leases already handle
(bench/chaos_writes.py kills workers the same way).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

# How often the watch looks: a request is ended at most this long after its deadline, well inside the few seconds
# by which leases outlive LEDGERBRIDGE_WEB_TIMEOUT.
CHECK_INTERVAL = 0.5


def _kill_this_process() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class RequestDeadline:
    """Requests in flight in this process (by thread) and their start; a watch thread ends the process when one
    runs past `timeout` seconds."""

    def __init__(self, timeout: float, *, on_overdue: Callable[[], None] = _kill_this_process) -> None:
        self.timeout = timeout
        self._on_overdue = on_overdue
        self._started: dict[int, float] = {}
        self._lock = threading.Lock()
        self._watch: threading.Thread | None = None

    def request_started(self) -> None:
        with self._lock:
            self._started[threading.get_ident()] = time.monotonic()

    def request_finished(self) -> None:
        with self._lock:
            self._started.pop(threading.get_ident(), None)

    def overdue_for(self, now: float | None = None) -> float | None:
        """Seconds the oldest request in flight has run past the deadline; None when none has."""
        now = time.monotonic() if now is None else now
        with self._lock:
            oldest = min(self._started.values(), default=None)
        if oldest is None or now - oldest <= self.timeout:
            return None
        return now - oldest - self.timeout

    def check(self) -> bool:
        """End the process if a request is past the deadline (True when it was told to)."""
        overdue = self.overdue_for()
        if overdue is None:
            return False
        logger.critical(
            "A request ran %.1f s past LEDGERBRIDGE_WEB_TIMEOUT (%.0f s): ending web worker %d with the requests it "
            "holds, as the server ends a sync worker (gateway/web_deadline.py).",
            overdue,
            self.timeout,
            os.getpid(),
        )
        self._on_overdue()
        return True

    def watch(self, interval: float = CHECK_INTERVAL) -> threading.Thread:
        """Start the watch thread (once per process: call it after the fork)."""
        if self._watch is None:

            def loop() -> None:
                while not self.check():
                    time.sleep(interval)

            self._watch = threading.Thread(target=loop, name="web-request-deadline", daemon=True)
            self._watch.start()
        return self._watch
