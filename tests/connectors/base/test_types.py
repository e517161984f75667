"""connectors/base/types.py: a token set's expiry moments (an API key never expires), and no secret in a repr."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.base.types import AppCredentials, TokenSet

ISSUED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_a_token_pair_expires_from_the_moment_it_was_obtained() -> None:
    pair = TokenSet("access", "refresh", ISSUED, 600, timedelta(days=30))
    assert pair.access_token_expires_at == ISSUED + timedelta(seconds=600)
    assert pair.refresh_token_expires_at == ISSUED + timedelta(days=30)


def test_a_refresh_token_without_a_stated_lifetime_lives_until_revoked() -> None:
    pair = TokenSet("access", "refresh", ISSUED, 1800, None)
    assert pair.access_token_expires_at == ISSUED + timedelta(minutes=30) and pair.refresh_token_expires_at is None


def test_an_api_key_is_an_access_token_that_never_expires_and_never_refreshes() -> None:
    key = TokenSet.for_api_key("key-123", obtained_at=ISSUED)
    assert (key.access_token, key.refresh_token) == ("key-123", "")
    assert key.access_token_expires_at is None and key.refresh_token_expires_at is None


def test_reprs_never_show_a_secret() -> None:
    pair = TokenSet("access-secret", "refresh-secret", ISSUED, 600, None)
    app = AppCredentials(client_id="client-1", client_secret="client-secret", webhook_secret="hook-secret")
    shown = repr(pair) + repr(app) + str(app) + f"{pair}"
    for secret in ("access-secret", "refresh-secret", "client-secret", "hook-secret"):
        assert secret not in shown
    assert "client-1" in repr(app) and "2025-03-01T09:00:00+00:00" in repr(pair)
