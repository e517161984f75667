"""Fixtures for the data-layer tests: a connected tenant with generous limits and a small Exact client."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl
from tests.connectors.exact.sandbox.conftest import Tenant, authorize, exchange_code


class ExactClient:
    """What a client built for the real Exact sends: Bearer token, Accept JSON, Prefer representation."""

    def __init__(self, http: httpx.Client, tenant: Tenant) -> None:
        self.http = http
        self.tenant = tenant

    def url(self, path: str, division: int | None = None) -> str:
        if path.startswith("http"):
            return path
        return self.tenant.api_url(path, division)

    def headers(self, **extra: str) -> dict[str, str]:
        return {**self.tenant.headers(), "Prefer": "return=representation", **extra}

    def get(self, path: str, params: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return self.http.get(self.url(path), params=params, headers=self.headers(**headers))

    def post(self, path: str, body: Any, **headers: str) -> httpx.Response:
        return self.http.post(self.url(path), json=body, headers=self.headers(**headers))

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(self.url(path), json=body, headers=self.headers())

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(self.url(path), headers=self.headers())

    def results(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        response = self.get(path, params)
        assert response.status_code == 200, response.text
        data = response.json()["d"]
        return data if isinstance(data, list) else data.get("results", [data])

    def all_pages(self, path: str, params: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], int]:
        """Follow __next until it is absent; returns (rows, pages)."""
        rows: list[dict[str, Any]] = []
        response = self.get(path, params)
        pages = 1
        while True:
            assert response.status_code == 200, response.text
            data = response.json()["d"]
            rows.extend(data["results"])
            if not data.get("__next"):
                return rows, pages
            response = self.http.get(data["__next"], headers=self.headers())
            pages += 1


@pytest.fixture(name="exact")
def exact_fixture(control: SandboxControl, connected: Tenant, http: httpx.Client) -> ExactClient:
    # Data-layer tests make many calls per division: lift Exact's 60/minute limit (tested in test_ratelimit).
    control.set_limits(minutely_limit=100_000, daily_limit=1_000_000, error_limit=100_000)
    return ExactClient(http, connected)


def connect(http: httpx.Client, tenant: Tenant) -> Tenant:
    response = exchange_code(http, tenant, authorize(http, tenant))
    assert response.status_code == 200, response.text
    tenant.tokens = response.json()
    return tenant


def guid_of(record: dict[str, Any]) -> str:
    return record["__metadata"]["uri"].split("guid'")[1].rstrip("')")
