"""Under CI the suite must really run on PostgreSQL and Redis; these fail there if it silently did not."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from gateway.celery import app as celery_app


@pytest.mark.postgres
@pytest.mark.django_db
def test_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


@pytest.mark.redis
def test_cache_and_broker_are_redis() -> None:
    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("ledgerbridge-test-key", "value", 10)
    assert cache.get("ledgerbridge-test-key") == "value"
    assert celery_app.conf.broker_url.startswith("redis://")
