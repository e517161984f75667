"""Liveness and readiness checks: /healthz (process alive) and /readyz (database and broker reachable)."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    """None when a trivial query succeeds, else why not."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        connection.close()
        logger.warning("Readiness: database unreachable: %s", exc.__class__.__name__)
        return "database is unreachable"
    return None


def check_broker() -> str | None:
    """None when the Celery broker accepts a connection within a few seconds."""
    from gateway.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        logger.warning("Readiness: broker unreachable: %s", exc.__class__.__name__)
        return "broker is unreachable"
    return None


def check_cache() -> str | None:
    """Redis holds rate limits and locks when configured."""
    try:
        cache.get("readyz-probe")
    except Exception as exc:
        logger.warning("Readiness: redis unreachable: %s", exc.__class__.__name__)
        return "redis is unreachable"
    return None


NOT_CONFIGURED = "not configured"


def readiness() -> dict[str, Any]:
    """Each dependency's state: "ok", "not configured" (optional and absent) or what is wrong."""
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "redis": check_cache() if settings.REDIS_URL else NOT_CONFIGURED,
    }
    return {name: ("ok" if problem is None else problem) for name, problem in checks.items()}
