"""Exact's token calls go through the shared vendor client: one list of "not sent" errors for API and token calls."""

from __future__ import annotations

import socket

import pytest

from connectors.base.errors import TokenResponseLost, VendorUnavailable
from connectors.base.types import AppCredentials
from connectors.exact import auth
from tests.fixtures.exact import ExactWorld

APP = AppCredentials(client_id="app", client_secret="secret")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again at once: nothing listens there


@pytest.mark.parametrize("base_url", [f"http://127.0.0.1:{_closed_port()}/nl", "ftp://127.0.0.1/nl"])
def test_a_refresh_that_never_left_is_unavailable_not_lost(base_url: str) -> None:
    """The refresh token is untouched: the token manager may send it again after the cooldown."""
    with pytest.raises(VendorUnavailable) as raised:
        auth.refresh_tokens(base_url=base_url, app=APP, refresh_token="refresh-1")
    assert not isinstance(raised.value, TokenResponseLost)


def test_a_refresh_without_an_answer_is_lost(exact_world: ExactWorld) -> None:
    """Sent, but the answer never came: Exact may have rotated the chain already (dotnet#152)."""
    exact_world.control.add_fault(kind="drop_before_apply", pattern="/api/oauth2/token", method="POST", times=1)
    with pytest.raises(TokenResponseLost):
        auth.refresh_tokens(base_url=f"{exact_world.server.root_url}/nl", app=APP, refresh_token="refresh-1")
