"""A cross-process lock with a timeout: Redis when configured, PostgreSQL advisory locks, else a file lock.

Used where two processes must never do the same thing at once (refreshing one set of vendor tokens).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connections
from redis import exceptions as redis_exceptions

from gateway.settings.env import VAR_DIR


class LockTimeout(Exception):
    """The lock was not acquired within the wait time."""


class LockHandle:
    """What a holder gets: `held()` tells whether the lock is still its own (a Redis lock expires after `timeout`).

    PostgreSQL advisory locks and file locks live as long as their connection or process, so they are always held.
    """

    def __init__(self, lock: Any = None) -> None:
        self._lock = lock

    def held(self) -> bool:
        if self._lock is None:
            return True
        try:
            return bool(self._lock.owned())
        except redis_exceptions.RedisError:
            return False  # cannot tell: assume the worst


def _redis_client():  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@contextmanager
def distributed_lock(name: str, *, timeout: float, wait: float) -> Iterator[LockHandle]:
    """Hold `name` for at most `timeout` seconds (it expires if the holder dies); wait up to `wait` to get it.

    Yields a LockHandle: check `held()` before acting on what the lock protected after a long wait (Redis).
    """
    if settings.REDIS_URL:
        lock = _redis_client().lock(f"ledgerbridge:lock:{name}", timeout=timeout, blocking_timeout=wait)
        if not lock.acquire():
            raise LockTimeout(name)
        try:
            yield LockHandle(lock)
        finally:
            # Expired while held: the timeout already freed it for the next holder.
            with contextlib.suppress(redis_exceptions.LockError):
                lock.release()
        return
    if connections["default"].vendor == "postgresql":
        with _postgres_advisory_lock(name, wait=wait):
            yield LockHandle()
        return
    with _file_lock(name, wait=wait):
        yield LockHandle()


def _lock_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _postgres_advisory_lock(name: str, *, wait: float) -> Iterator[None]:
    # A session-level advisory lock dies with its connection, so a crashed holder never blocks others.
    connection = connections["default"]
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key(name)])
            if cursor.fetchone()[0]:
                break
            if time.monotonic() >= deadline:
                raise LockTimeout(name)
            time.sleep(0.05)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key(name)])


@contextmanager
def _file_lock(name: str, *, wait: float) -> Iterator[None]:
    # Local installs (SQLite, no Redis) run on one machine: an flock is enough and dies with its process.
    folder = VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with open(folder / hashlib.sha256(name.encode()).hexdigest(), "w") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(name) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
