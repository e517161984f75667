"""Vendor calls through the shared client reach the Prometheus instruments (the sink GatewayConfig registers),
against the Exact sandbox over real HTTP: endpoints as templates, 429s by window, error-limit blocks, our refusals."""

from __future__ import annotations

import pytest

from connectors.base.errors import VendorNotFound, VendorRateLimited
from connectors.base.ratelimit import LocalBudgetStore
from connectors.exact.client import ExactClient
from connectors.exact.ratelimit import new_exact_rate_limiter
from connectors.registry import get_connector
from gateway.metrics import instruments
from tests.connectors.exact.client_fixtures import (  # noqa: F401  (pytest fixtures)
    DIVISION,
    access_token_fixture,
    exact_client_fixture,
    rate_limiter_fixture,
)
from tests.fixtures.exact import ExactWorld

NOWHERE = "11111111-2222-3333-4444-555555555555"


def _value(name: str, **labels: str) -> float:
    return instruments.REGISTRY.get_sample_value(name, labels) or 0.0


def _client(world: ExactWorld, *, max_wait: float = 5.0) -> ExactClient:
    """A client with a budget of its own that knows nothing yet (so the sandbox, not we, says no)."""
    return ExactClient(
        base_url=get_connector("exact").region("nl").base_url,
        client_id=world.client_id,
        rate_limiter=new_exact_rate_limiter(store=LocalBudgetStore(), max_wait=max_wait, guard=0.25, probe_timeout=30),
    )


def test_calls_are_counted_by_endpoint_template_method_and_status(
    exact_world: ExactWorld, exact_client: ExactClient, access_token: str
) -> None:
    ok = {"connector": "exact", "endpoint": "financial/Journals", "method": "GET", "status": "200"}
    missing = {**ok, "status": "404"}
    token_calls = _value(
        "ledgerbridge_vendor_requests_total", connector="exact", endpoint="oauth2/token", method="POST", status="200"
    )
    before, before_404 = (
        _value("ledgerbridge_vendor_requests_total", **ok),
        _value("ledgerbridge_vendor_requests_total", **missing),
    )
    exact_client.get("financial/Journals", division=DIVISION, token_provider=lambda: access_token, params={"$top": "1"})
    with pytest.raises(VendorNotFound):
        exact_client.get(f"financial/Journals(guid'{NOWHERE}')", division=DIVISION, token_provider=lambda: access_token)
    assert _value("ledgerbridge_vendor_requests_total", **ok) == before + 1
    assert _value("ledgerbridge_vendor_requests_total", **missing) == before_404 + 1
    assert (
        _value(
            "ledgerbridge_vendor_request_duration_seconds_count",
            connector="exact",
            endpoint="financial/Journals",
            method="GET",
        )
        >= 2
    )
    # The access token itself came from the token endpoint (the fixture's code exchange).
    assert token_calls >= 1


def test_exacts_429_is_counted_by_the_window_it_names(exact_world: ExactWorld, access_token: str) -> None:
    exact_world.control.set_limits(minutely_limit=2)
    minute = _value("ledgerbridge_vendor_rate_limited_total", connector="exact", window="minute")
    throttled = {"connector": "exact", "endpoint": "financial/Journals", "method": "GET", "status": "429"}
    before = _value("ledgerbridge_vendor_requests_total", **throttled)
    for _ in range(2):
        _client(exact_world).get("financial/Journals", division=DIVISION, token_provider=lambda: access_token)
    with pytest.raises(VendorRateLimited):
        _client(exact_world).get("financial/Journals", division=DIVISION, token_provider=lambda: access_token)
    assert _value("ledgerbridge_vendor_rate_limited_total", connector="exact", window="minute") == minute + 1
    assert _value("ledgerbridge_vendor_requests_total", **throttled) == before + 1


def test_an_error_limit_block_is_counted_on_its_endpoint(exact_world: ExactWorld, access_token: str) -> None:
    exact_world.control.set_limits(error_limit=2)
    labels = {"connector": "exact", "endpoint": "financial/Journals"}
    blocks = _value("ledgerbridge_vendor_error_limit_blocks_total", **labels)
    client = _client(exact_world)
    for _ in range(2):
        with pytest.raises(VendorNotFound):
            client.get(f"financial/Journals(guid'{NOWHERE}')", division=DIVISION, token_provider=lambda: access_token)
    with pytest.raises(VendorRateLimited):
        client.get(f"financial/Journals(guid'{NOWHERE}')", division=DIVISION, token_provider=lambda: access_token)
    assert _value("ledgerbridge_vendor_error_limit_blocks_total", **labels) == blocks + 1


def test_a_call_our_budget_refuses_counts_as_budget_exhausted(exact_world: ExactWorld, access_token: str) -> None:
    exact_world.control.set_limits(minutely_limit=1)
    client = _client(exact_world, max_wait=0)
    refused = _value("ledgerbridge_vendor_budget_exhausted_total", connector="exact", window="minute")
    client.get(
        "financial/Journals", division=DIVISION, token_provider=lambda: access_token
    )  # learns: 0 left this minute
    with pytest.raises(VendorRateLimited):
        client.get("financial/Journals", division=DIVISION, token_provider=lambda: access_token)
    assert _value("ledgerbridge_vendor_budget_exhausted_total", connector="exact", window="minute") == refused + 1
