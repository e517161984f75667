"""A small cache for vendor reference data (code -> id), shared by every process like the rate-limit budget.

Connectors keep facts of a vendor company here that they would otherwise look up before every write (Exact: an
item code's GUID). Vendor-neutral and outside Django: Redis when REDIS_URL is configured, else in this process.

- Entries live in a *scope* (one vendor company, as the connector names it) and each has its own bounded
  lifetime: it is read back only before its expiry, whatever else is written to the scope meanwhile.
- `forget(scope)` drops a whole scope (a mapping change, a refused id), `forget(scope, names)` some entries.
- The cache is an optimisation, never the truth: a store that fails (Redis down or slow) reads as a miss and
  writes are dropped, so a caller falls back to asking the vendor. It never raises.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Collection, Mapping
from typing import Protocol

logger = logging.getLogger(__name__)


class ReferenceCache(Protocol):
    def get_many(self, scope: str, names: Collection[str]) -> dict[str, str]:
        """The unexpired values of those of `names` the scope holds (missing names are left out)."""
        ...

    def put_many(self, scope: str, values: Mapping[str, str], *, ttl_seconds: float) -> None:
        """Store `values`, each readable for `ttl_seconds` from now."""
        ...

    def forget(self, scope: str, names: Collection[str] | None = None) -> None:
        """Drop `names` from the scope, or the whole scope when `names` is None."""
        ...


def _encode(value: str, expires_at: float) -> str:
    return f"{expires_at:.3f}|{value}"


def _decode(raw: str, now: float) -> str | None:
    expires, _, value = raw.partition("|")
    try:
        return value if float(expires) > now else None
    except ValueError:
        return None


class RedisReferenceCache:
    """One Redis hash per scope; a field's value carries its own expiry, the hash expires with its newest entry.

    One round trip per read (HMGET); the clock is this machine's (entries live minutes, NTP error is noise).
    """

    prefix = "ledgerbridge:refs:"

    def __init__(self, url: str) -> None:
        import redis

        # Short timeouts: a slow Redis must cost a write less than the vendor lookup it would save.
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)

    def get_many(self, scope: str, names: Collection[str]) -> dict[str, str]:
        wanted = list(names)
        if not wanted:
            return {}
        try:
            raws = self._redis.hmget(self.prefix + scope, wanted)
        except self._errors as exc:
            logger.warning("Reference cache unavailable (%s): looking references up", exc.__class__.__name__)
            return {}
        now = time.time()
        found: dict[str, str] = {}
        for name, raw in zip(wanted, raws, strict=True):
            value = _decode(raw.decode() if isinstance(raw, bytes) else raw, now) if raw is not None else None
            if value is not None:
                found[name] = value
        return found

    def put_many(self, scope: str, values: Mapping[str, str], *, ttl_seconds: float) -> None:
        if not values or ttl_seconds <= 0:
            return
        expires_at = time.time() + ttl_seconds
        key = self.prefix + scope
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.hset(key, mapping={name: _encode(value, expires_at) for name, value in values.items()})
            pipe.expire(key, max(1, int(ttl_seconds) + 1))
            pipe.execute()
        except self._errors as exc:
            logger.warning("Reference cache unavailable (%s): not stored", exc.__class__.__name__)

    def forget(self, scope: str, names: Collection[str] | None = None) -> None:
        try:
            if names is None:
                self._redis.delete(self.prefix + scope)
            elif names:
                self._redis.hdel(self.prefix + scope, *names)
        except self._errors as exc:
            # Stale ids stay until they expire; a vendor refusing one still invalidates it on the next write.
            logger.warning("Reference cache unavailable (%s): not forgotten", exc.__class__.__name__)


class LocalReferenceCache:
    """Entries in this process only, for installs without Redis (the local SQLite demo).

    Each process learns on its own and a `forget` reaches only the process that ran it; entries still expire, and
    a vendor refusing a stale id invalidates it wherever it is used. Production sets REDIS_URL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, dict[str, str]] = {}

    def get_many(self, scope: str, names: Collection[str]) -> dict[str, str]:
        now = time.time()
        with self._lock:
            entries = self._scopes.get(scope, {})
            found = {name: _decode(entries[name], now) for name in names if name in entries}
        return {name: value for name, value in found.items() if value is not None}

    def put_many(self, scope: str, values: Mapping[str, str], *, ttl_seconds: float) -> None:
        if not values or ttl_seconds <= 0:
            return
        expires_at = time.time() + ttl_seconds
        with self._lock:
            entries = self._scopes.setdefault(scope, {})
            entries.update({name: _encode(value, expires_at) for name, value in values.items()})

    def forget(self, scope: str, names: Collection[str] | None = None) -> None:
        with self._lock:
            if names is None:
                self._scopes.pop(scope, None)
            else:
                entries = self._scopes.get(scope, {})
                for name in names:
                    entries.pop(name, None)


_caches: dict[tuple[int, str], ReferenceCache] = {}
_caches_lock = threading.Lock()


def reference_cache(redis_url: str) -> ReferenceCache:
    """The process's cache: Redis when a URL is configured, else in-process (one per process id, fork-safe)."""
    cache_key = (os.getpid(), redis_url)
    with _caches_lock:
        cache = _caches.get(cache_key)
        if cache is None:
            cache = RedisReferenceCache(redis_url) if redis_url else LocalReferenceCache()
            _caches[cache_key] = cache
        return cache
