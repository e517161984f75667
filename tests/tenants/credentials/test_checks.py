"""The token-timing system checks: the refresh lock against every connector's token call, margin and cooldown."""

from __future__ import annotations

from tenants.credentials.checks import check_token_lock_timeout, check_token_timing


def test_the_lock_timeout_must_outlast_two_token_calls(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EXACT_TOKEN_TIMEOUT = 60.0
    settings.XERO_TOKEN_TIMEOUT = 30.0  # each OAuth connector is checked against its own token call timeout
    settings.LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT = 140.0
    messages = check_token_lock_timeout()
    assert [message.id for message in messages] == ["tenants.E001"]
    assert "Exact" in messages[0].msg
    settings.LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT = 141.0
    assert check_token_lock_timeout() == []


def test_the_refresh_margin_and_cooldown_must_be_positive(settings) -> None:  # type: ignore[no-untyped-def]
    assert check_token_timing() == []
    settings.LEDGERBRIDGE_TOKEN_REFRESH_MARGIN = 0
    settings.LEDGERBRIDGE_TOKEN_REFRESH_COOLDOWN = -1
    messages = check_token_timing()
    assert [message.id for message in messages] == ["tenants.E002", "tenants.E002"]
    assert "LEDGERBRIDGE_TOKEN_REFRESH_MARGIN" in messages[0].msg and "COOLDOWN" in messages[1].msg
