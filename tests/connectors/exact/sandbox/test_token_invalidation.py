"""Control API: invalidating access tokens while the chain keeps its 570 s refresh rule (Exact-side invalidation)."""

from __future__ import annotations

import httpx
import pytest

from connectors.exact.sandbox.control_client import SandboxControl, SandboxControlError
from tests.connectors.exact.sandbox.conftest import ACCOUNTS, Tenant, refresh


def test_keep_refresh_rule_gives_401_and_a_too_early_refresh_until_570_s(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.advance_clock(100)
    revoked = control.revoke_tokens(
        connected.app["client_id"], user_id=connected.user["user_id"], scope="access", keep_refresh_rule=True
    )

    assert revoked == 1
    assert http.get(connected.api_url(ACCOUNTS), headers=connected.headers()).status_code == 401
    too_early = refresh(http, connected)
    assert too_early.status_code == 400 and too_early.json()["error"] == "access_denied"
    assert too_early.headers["Reason"].startswith("TooEarlyToRefreshTokens")
    # The refresh token survived: once 570 s have passed since the last issue, it is honoured.
    control.advance_clock(470)
    renewed = refresh(http, connected)
    assert renewed.status_code == 200, renewed.text
    headers = connected.headers(renewed.json()["access_token"])
    assert http.get(connected.api_url(ACCOUNTS), headers=headers).status_code == 200


def test_without_keep_refresh_rule_the_refresh_is_allowed_at_once(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    control.advance_clock(100)
    control.revoke_tokens(connected.app["client_id"], scope="access")

    assert refresh(http, connected).status_code == 200


def test_keep_refresh_rule_only_goes_with_scope_access(
    connected: Tenant, http: httpx.Client, control: SandboxControl
) -> None:
    with pytest.raises(SandboxControlError) as excinfo:
        control.revoke_tokens(connected.app["client_id"], scope="all", keep_refresh_rule=True)
    assert excinfo.value.status == 400 and "scope 'access'" in str(excinfo.value)
    not_a_flag = http.post(
        f"{connected.server.root_url}/_control/tokens/revoke",
        json={"client_id": connected.app["client_id"], "keep_refresh_rule": "yes"},
    )
    assert not_a_flag.status_code == 400 and "true or false" in not_a_flag.json()["error"]
    # Nothing was revoked by the refused requests.
    assert control.revoke_tokens(connected.app["client_id"], scope="access") == 1
