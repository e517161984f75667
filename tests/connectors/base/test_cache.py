"""The reference cache (connectors/base/cache.py): lifetimes, forgetting, and a store that fails reading as a miss."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from connectors.base.cache import LocalReferenceCache, RedisReferenceCache, ReferenceCache, reference_cache


def _caches() -> list[ReferenceCache]:
    caches: list[ReferenceCache] = [LocalReferenceCache()]
    if os.environ.get("REDIS_URL"):
        caches.append(RedisReferenceCache(os.environ["REDIS_URL"]))
    return caches


@pytest.mark.parametrize("cache", _caches(), ids=lambda cache: type(cache).__name__)
def test_entries_come_back_until_their_own_lifetime_ends(cache: ReferenceCache) -> None:
    scope = f"test:{uuid.uuid4()}"
    cache.put_many(scope, {"item:A": "guid-a"}, ttl_seconds=0.3)
    cache.put_many(scope, {"item:B": "guid-b"}, ttl_seconds=60)
    assert cache.get_many(scope, ["item:A", "item:B", "item:C"]) == {"item:A": "guid-a", "item:B": "guid-b"}
    time.sleep(0.4)
    # A's lifetime is its own: writing B later did not extend it.
    assert cache.get_many(scope, ["item:A", "item:B"]) == {"item:B": "guid-b"}
    assert cache.get_many(f"{scope}:other", ["item:B"]) == {}, "scopes never share entries"


@pytest.mark.parametrize("cache", _caches(), ids=lambda cache: type(cache).__name__)
def test_forget_drops_some_entries_or_the_whole_scope(cache: ReferenceCache) -> None:
    scope = f"test:{uuid.uuid4()}"
    cache.put_many(scope, {"item:A": "a", "item:B": "b", "gl:8000": "g"}, ttl_seconds=60)
    cache.forget(scope, ["item:A"])
    assert cache.get_many(scope, ["item:A", "item:B", "gl:8000"]) == {"item:B": "b", "gl:8000": "g"}
    cache.forget(scope)
    assert cache.get_many(scope, ["item:B", "gl:8000"]) == {}


@pytest.mark.parametrize("cache", _caches(), ids=lambda cache: type(cache).__name__)
def test_a_lifetime_of_zero_stores_nothing(cache: ReferenceCache) -> None:
    scope = f"test:{uuid.uuid4()}"
    cache.put_many(scope, {"item:A": "a"}, ttl_seconds=0)
    assert cache.get_many(scope, ["item:A"]) == {}


def test_a_redis_that_does_not_answer_reads_as_a_miss_and_never_raises() -> None:
    cache = RedisReferenceCache("redis://127.0.0.1:9/0")  # the discard port: nothing listens
    cache.put_many("test:down", {"item:A": "a"}, ttl_seconds=60)
    assert cache.get_many("test:down", ["item:A"]) == {}
    cache.forget("test:down")
    cache.forget("test:down", ["item:A"])


def test_one_cache_per_process_and_url() -> None:
    assert reference_cache("") is reference_cache("")
    assert isinstance(reference_cache(""), LocalReferenceCache)
