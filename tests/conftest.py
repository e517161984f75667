"""Shared fixtures and the service-requirement rules (PostgreSQL, Redis, Celery worker, browser)."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory

pytest_plugins = ["tests.fixtures.exact", "tests.fixtures.xero"]

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _redis_reachable() -> bool:
    url = os.environ.get("REDIS_URL", "")
    if not url:
        return False
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _database_vendor() -> str:
    from django.db import connection

    return connection.vendor


def require_service(reason: str) -> None:
    """Skip locally when a service is absent; under CI=true the same absence fails the run."""
    if IN_CI:
        pytest.fail(f"CI requires this service but it is unavailable: {reason}", pytrace=False)
    pytest.skip(f"service unavailable: {reason}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres") and _database_vendor() != "postgresql":
        require_service("PostgreSQL (set DATABASE_URL=postgres://...)")
    if item.get_closest_marker("redis") and not _redis_reachable():
        require_service("Redis (set REDIS_URL=redis://127.0.0.1:6379/0)")


@pytest.fixture(autouse=True)
def _fresh_api_key_cache() -> None:
    """No test sees keys another test's requests left in this process's API key cache."""
    from tenants.services import api_key_cache_forget

    api_key_cache_forget()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def workspace(db):  # type: ignore[no-untyped-def]
    return WorkspaceFactory()


@pytest.fixture
def api_key(workspace):  # type: ignore[no-untyped-def]
    return ApiKeyFactory(workspace=workspace)


@pytest.fixture
def auth_client(api_key) -> APIClient:  # type: ignore[no-untyped-def]
    """A client authenticated as `workspace` through a real API key."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    return client
