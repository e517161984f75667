"""Fixtures for Exact client tests (import the `*_fixture` names): a real sandbox access token and a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from connectors.base.data import CallRecord
from connectors.base.ratelimit import LocalBudgetStore, VendorRateLimiter
from connectors.exact.client import ExactClient
from connectors.exact.ratelimit import new_exact_rate_limiter
from connectors.registry import get_connector
from tests.fixtures.exact import ExactWorld

DIVISION = 101
T = TypeVar("T")


def sandbox_access_token(world: ExactWorld) -> str:
    """Consent (auto), follow the redirect's code, exchange it: a real 600-second access token."""
    world.auto_consent()
    connector = get_connector("exact")
    app = connector.default_app()
    assert app is not None
    url = connector.authorization_url(region="nl", app=app, redirect_uri=world.redirect_uri, state="client-tests")
    redirect = httpx.get(url, follow_redirects=False)
    assert redirect.status_code == 302, redirect.text
    code = parse_qs(urlparse(redirect.headers["Location"]).query)["code"][0]
    return connector.exchange_code(region="nl", app=app, code=code, redirect_uri=world.redirect_uri).access_token


@dataclass
class TokenContext:
    """A CallContext for client-level tests: one access token as is (no refresh), calls kept in a list."""

    access_token: str
    app_client_id: str
    region: str = "nl"
    company_id: str = str(DIVISION)
    calls: list[CallRecord] = field(default_factory=list)

    def call(self, send: Callable[[str], T]) -> T:
        return send(self.access_token)

    def record_call(self, record: CallRecord) -> None:
        self.calls.append(record)


@pytest.fixture(name="access_token")
def access_token_fixture(exact_world: ExactWorld) -> str:
    return sandbox_access_token(exact_world)


@pytest.fixture(name="rate_limiter")
def rate_limiter_fixture() -> VendorRateLimiter:
    """An in-process budget of its own, so tests never share state with each other (or with Redis)."""
    return new_exact_rate_limiter(store=LocalBudgetStore(), max_wait=5.0, guard=0.25, probe_timeout=30.0)


@pytest.fixture(name="exact_client")
def exact_client_fixture(exact_world: ExactWorld, rate_limiter: VendorRateLimiter) -> Iterator[ExactClient]:
    client = ExactClient(
        base_url=get_connector("exact").region("nl").base_url,
        client_id=exact_world.client_id,
        rate_limiter=rate_limiter,
    )
    yield client
