"""gateway/locks.py: one holder at a time across processes, on each backend (Redis, PostgreSQL advisory locks,
a file lock), a wait that ends in LockTimeout, and a Redis lock that knows when it expired under its holder."""

from __future__ import annotations

import multiprocessing
import time
from typing import Any

import pytest
from django.db import connections

from gateway.locks import LockHandle, LockTimeout, _lock_key, distributed_lock


def _hold_in_another_process(ready: Any, release: Any, redis_url: str) -> None:
    # A separate process: its own Redis client; for the file backend its own flock.
    from django.conf import settings

    settings.REDIS_URL = redis_url
    with distributed_lock("h5-test:another-process", timeout=10, wait=1):
        ready.set()
        release.wait(10)


@pytest.mark.redis
def test_a_redis_lock_has_one_holder_and_a_waiter_times_out(settings: Any) -> None:
    assert settings.REDIS_URL
    with distributed_lock("h5-test:redis", timeout=5, wait=1) as handle:
        assert handle.held()
        with pytest.raises(LockTimeout, match="h5-test:redis"), distributed_lock("h5-test:redis", timeout=5, wait=0.2):
            pass
    with distributed_lock("h5-test:redis", timeout=5, wait=0.2) as again:  # released on exit
        assert again.held()


@pytest.mark.redis
def test_a_redis_lock_that_expired_under_its_holder_says_so_and_exits_quietly(settings: Any) -> None:
    with distributed_lock("h5-test:expiry", timeout=0.2, wait=1) as handle:
        time.sleep(0.4)
        assert handle.held() is False
        with distributed_lock("h5-test:expiry", timeout=5, wait=0.1) as next_holder:  # free for the next one
            assert next_holder.held()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_redis_a_postgresql_advisory_lock_excludes_other_sessions(settings: Any) -> None:
    settings.REDIS_URL = ""
    other = connections.create_connection("default")
    try:
        with distributed_lock("h5-test:pg", timeout=5, wait=1) as handle:
            assert handle.held()  # an advisory lock lives as long as its session
            with other.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key("h5-test:pg")])
                assert cursor.fetchone()[0] is False
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_lock_key("h5-test:pg")])
            assert cursor.fetchone()[0] is True  # released by the holder's session
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_lock_key("h5-test:pg")])
    finally:
        other.close()


def test_without_redis_or_postgresql_a_file_lock_excludes_another_process(settings: Any, monkeypatch: Any) -> None:
    settings.REDIS_URL = ""
    monkeypatch.setattr(connections["default"], "vendor", "sqlite")  # the local-install backend: a file lock
    context = multiprocessing.get_context("fork")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_in_another_process, args=(ready, release, ""))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockTimeout), distributed_lock("h5-test:another-process", timeout=5, wait=0.2):
            pass
    finally:
        release.set()
        holder.join(10)
    with distributed_lock("h5-test:another-process", timeout=5, wait=1) as handle:
        assert isinstance(handle, LockHandle) and handle.held()
