"""Bookkeeping a read request leaves until its answer has been sent (a GET's vendor call-log rows).

A request whose method is safe (GET, HEAD, OPTIONS) changes nothing at a vendor, so what it records about its
vendor calls need not hold up its answer: code adds an item to a named batch with `defer_until_answered`, and
RequestIdMiddleware (gateway/middleware.py) hands the batches to the response, whose `close()` writes each batch
with its writer once the server has sent the body (WSGI servers call `close()` after the last byte; Django's test
client calls it before it returns). Several items of one batch are written together: a page that makes three
vendor calls writes their three call-log rows in one statement.

Outside such a request (a write, a Celery task, a management command) nothing is deferred: `defer_until_answered`
returns False and the caller writes at once, as before.

What a crash can lose: a web process killed after it sent a read's answer and before `close()` ran loses that
request's deferred rows, as one killed between a vendor's answer and the row's INSERT always could. Writes keep
their rows written before they answer (unified_models/services.py: the write's call-log and audit rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# name -> (items, writer) for the request being served; None outside a safe request.
_batches: ContextVar[dict[str, tuple[list[Any], Callable[[list[Any]], None]]] | None] = ContextVar(
    "after_response_batches", default=None
)


def defer_until_answered(batch: str, item: T, write: Callable[[list[T]], None]) -> bool:
    """Keep `item` in the current request's `batch`, written by `write(items)` once the answer was sent.

    False outside a safe request (nothing kept: the caller writes now). The first item of a batch names its
    writer; the batch's name keeps apart what different writers collect."""
    batches = _batches.get()
    if batches is None:
        return False
    items, _ = batches.setdefault(batch, ([], write))
    items.append(item)
    return True


@contextmanager
def deferring(method: str) -> Iterator[Callable[[], Callable[[], None] | None]]:
    """The scope of one request: yields `take()`, which returns the deferred work to run after the answer (None if
    there is none) and ends deferral for the rest of the request. Work not taken (an exception escaped the
    request) is written when the scope ends."""
    if method.upper() not in SAFE_METHODS:
        yield lambda: None
        return
    batches: dict[str, tuple[list[Any], Callable[[list[Any]], None]]] = {}
    token = _batches.set(batches)
    taken = False

    def take() -> Callable[[], None] | None:
        nonlocal taken
        taken = True
        _batches.set(None)  # anything recorded from here on (while the body streams) is written at once
        if not batches:
            return None
        pending = dict(batches)
        return lambda: write_batches(pending)

    try:
        yield take
    finally:
        _batches.reset(token)
        if not taken and batches:
            write_batches(batches)


def write_batches(batches: dict[str, tuple[list[Any], Callable[[list[Any]], None]]]) -> None:
    """Write each batch with its writer; a failing writer is logged and the others still run."""
    for name, (items, write) in batches.items():
        try:
            write(items)
        except Exception:
            logger.exception("writing %d deferred %s item(s) after the answer failed", len(items), name)
