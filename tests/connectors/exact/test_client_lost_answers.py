"""ExactClient: a write whose answer never came is VendorResponseLost (maybe applied, never resent blindly); a read
without an answer, or a write that surely never left (connection refused), stays VendorUnavailable."""

from __future__ import annotations

import socket

import pytest

from connectors.base.errors import VendorResponseLost, VendorUnavailable
from connectors.base.ratelimit import VendorRateLimiter
from connectors.exact.client import ExactClient
from connectors.registry import get_connector
from tests.connectors.exact.client_fixtures import (  # noqa: F401
    DIVISION,
    access_token_fixture,
    rate_limiter_fixture,
)
from tests.fixtures.exact import ExactWorld

ACCOUNTS = "/api/v1/*/crm/Accounts*"


def _client(world: ExactWorld, rate_limiter: VendorRateLimiter, *, timeout: float = 30.0) -> ExactClient:
    base_url = get_connector("exact").region("nl").base_url
    return ExactClient(base_url=base_url, client_id=world.client_id, rate_limiter=rate_limiter, timeout=timeout)


@pytest.mark.parametrize("kind", ["drop_after_apply", "drop_before_apply"])
def test_a_dropped_post_is_lost_not_unavailable(
    exact_world: ExactWorld, access_token: str, rate_limiter: VendorRateLimiter, kind: str
) -> None:
    exact_world.control.add_fault(kind=kind, pattern=ACCOUNTS, method="POST", times=1)
    client = _client(exact_world, rate_limiter)

    with pytest.raises(VendorResponseLost) as lost:
        client.post("crm/Accounts", division=DIVISION, token_provider=lambda: access_token, json={"Name": "Lost"})

    # From the client's side both drops look the same: the request left, no answer came.
    assert lost.value.status is None and not lost.value.retryable
    applied = [row["Name"] for row in exact_world.control.dump(DIVISION)["Accounts"]].count("Lost")
    assert applied == (1 if kind == "drop_after_apply" else 0)


def test_read_timeouts_on_writes_are_lost_and_on_reads_unavailable(
    exact_world: ExactWorld, access_token: str, rate_limiter: VendorRateLimiter
) -> None:
    exact_world.control.add_fault(kind="latency", pattern=ACCOUNTS, latency_ms=1500)
    client = _client(exact_world, rate_limiter, timeout=0.3)

    with pytest.raises(VendorResponseLost):
        client.put(
            "crm/Accounts(guid'0f0f0f0f-0000-4000-8000-000000000000')",
            division=DIVISION,
            token_provider=lambda: access_token,
            json={"City": "Delft"},
        )
    with pytest.raises(VendorResponseLost):
        client.request(
            "DELETE",
            "crm/Accounts(guid'0f0f0f0f-0000-4000-8000-000000000000')",
            division=DIVISION,
            token_provider=lambda: access_token,
        )
    with pytest.raises(VendorUnavailable) as read:
        client.request("GET", "crm/Accounts", division=DIVISION, token_provider=lambda: access_token)
    assert not isinstance(read.value, VendorResponseLost), "a read can simply be repeated"


def test_a_refused_connection_on_a_write_is_unavailable(rate_limiter: VendorRateLimiter) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again at once: nothing listens there
    client = ExactClient(base_url=f"http://127.0.0.1:{port}/nl", client_id="app", rate_limiter=rate_limiter)

    with pytest.raises(VendorUnavailable) as refused:
        client.post("crm/Accounts", division=DIVISION, token_provider=lambda: "token", json={"Name": "Never"})
    assert not isinstance(refused.value, VendorResponseLost)
