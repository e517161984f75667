"""Work a request leaves until its answer has been sent.

Two kinds, both run by the response's `close()` (RequestIdMiddleware, gateway/middleware.py, hands them over; WSGI
servers call `close()` after the last byte, Django's test client calls it before it returns):

- **Batches, in a read** (GET, HEAD, OPTIONS): a safe request changes nothing at a vendor, so what it records
  about its vendor calls need not hold up its answer. Code adds an item to a named batch with
  `defer_until_answered`; several items of one batch are written together (a page that makes three vendor calls
  writes their three call-log rows in one statement). In a write, a Celery task or a command nothing is batched:
  `defer_until_answered` returns False and the caller writes at once.
- **Jobs, in any request**: `run_after_answer` keeps one callable, for work whose crash recovery is already in
  place. A write through the API hands over the transaction that ends its attempt (events, the Idempotency-Key's
  answer) once the vendor's answer and the remote id are committed: unified_models/services.py says what
  recovers it when the process dies first. Each vendor call hands over the reading of its budget reconcile's
  reply (tenants/vendor_calls.py; the reconcile itself went to Redis with the call).

What a crash can lose: a web process killed after it sent the answer and before `close()` ran loses a read's
deferred call-log rows, as one killed between a vendor's answer and the row's INSERT always could. A write's
call-log and audit rows are never deferred: they are committed before it answers.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Batches = dict[str, tuple[list[Any], Callable[[list[Any]], None]]]


@dataclass
class _Held:
    """What the request being served has left for after its answer."""

    batches: Batches | None  # name -> (items, writer); None in a write (nothing batched)
    jobs: list[tuple[str, Callable[[], None]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.batches) or bool(self.jobs)


_held: ContextVar[_Held | None] = ContextVar("after_response_held", default=None)


def defer_until_answered(batch: str, item: T, write: Callable[[list[T]], None]) -> bool:
    """Keep `item` in the current read request's `batch`, written by `write(items)` once the answer was sent.

    False outside a safe request (nothing kept: the caller writes now). The first item of a batch names its
    writer; the batch's name keeps apart what different writers collect."""
    held = _held.get()
    if held is None or held.batches is None:
        return False
    items, _ = held.batches.setdefault(batch, ([], write))
    items.append(item)
    return True


def run_after_answer(name: str, job: Callable[[], None]) -> bool:
    """Run `job()` once the current request's answer was sent (jobs run in the order given, after the batches).

    False outside a request, or once its answer is on its way: nothing kept, the caller runs the job now. A job
    that raises is logged; the work after it still runs."""
    held = _held.get()
    if held is None:
        return False
    # The job runs in the request's context as it is now (its request id, API key and log fields), where nothing
    # more is held: what it records is written at once.
    context = contextvars.copy_context()
    held.jobs.append((name, lambda: context.run(_run_unheld, job)))
    return True


def _run_unheld(job: Callable[[], None]) -> None:
    _held.set(None)
    job()


@contextmanager
def deferring(method: str) -> Iterator[Callable[[], Callable[[], None] | None]]:
    """The scope of one request: yields `take()`, which returns the work to run after the answer (None if there is
    none) and ends deferral for the rest of the request. Work not taken (an exception escaped the request) is run
    when the scope ends."""
    held = _Held(batches={} if method.upper() in SAFE_METHODS else None)
    token = _held.set(held)
    taken = False

    def take() -> Callable[[], None] | None:
        nonlocal taken
        taken = True
        _held.set(None)  # anything recorded from here on (while the body streams) is written at once
        if not held:
            return None
        return lambda: run_held(held)

    try:
        yield take
    finally:
        _held.reset(token)
        if not taken and held:
            run_held(held)


def run_held(held: _Held) -> None:
    """Write each batch with its writer, then run each job; a failing one is logged and the others still run."""
    for name, (items, write) in (held.batches or {}).items():
        try:
            write(items)
        except Exception:
            logger.exception("writing %d deferred %s item(s) after the answer failed", len(items), name)
    for name, job in held.jobs:
        try:
            job()
        except Exception:
            logger.exception("the %s left until after the answer failed", name)
