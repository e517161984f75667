"""System checks on token timing: the gateway's own settings against what every configured connector declares."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from connectors.registry import registered_connectors


@checks.register("ledgerbridge")
def check_token_lock_timeout(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The refresh lock must outlive a refresh: re-reading, the token call (the connector's TokenTiming) and
    persisting, with room for a probe. If it expired mid-call, a second process could send the same single-use
    refresh token."""
    lock_timeout = float(getattr(settings, "LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT", 0.0))
    errors: list[checks.CheckMessage] = []
    for connector in registered_connectors():
        if not connector.info.auth.is_oauth:
            continue  # an API key is never refreshed
        token_timeout = connector.token_timing().token_call_timeout
        minimum = 2 * (token_timeout + 10.0)
        if lock_timeout > minimum:
            continue
        errors.append(
            checks.Error(
                f"LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT ({lock_timeout:g} s) must exceed 2 x ({connector.name}'s token "
                f"call timeout {token_timeout:g} s + 10 s) = {minimum:g} s.",
                hint=f"Raise LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT or lower {connector.name}'s token call timeout (a setting "
                "of its connector): a refresh lock that expires while the token call is in flight lets a second "
                "process reuse a single-use refresh token.",
                id="tenants.E001",
            )
        )
    return errors


@checks.register("ledgerbridge")
def check_token_timing(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The token manager hands out a stored token only before the refresh margin, and bounds refresh attempts
    (a storm of 401s included) by the cooldown: both must be positive."""
    errors: list[checks.CheckMessage] = []
    for name in ("LEDGERBRIDGE_TOKEN_REFRESH_MARGIN", "LEDGERBRIDGE_TOKEN_REFRESH_COOLDOWN"):
        value = float(getattr(settings, name, 0.0))
        if value <= 0:
            errors.append(
                checks.Error(
                    f"{name} ({value:g} s) must be positive.",
                    hint="The margin keeps expired tokens from going out; the cooldown keeps failed refreshes "
                    "(each one counts towards the vendor's error limit) from repeating.",
                    id="tenants.E002",
                )
            )
    return errors
