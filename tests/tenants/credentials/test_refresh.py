"""The token manager against the Exact sandbox over real HTTP: refresh timing, rejection, lost answers, cooldown."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from connectors.base.errors import TokenResponseLost, VendorUnavailable
from connectors.registry import get_connector, reset_registry
from tenants.credentials import refresh
from tenants.credentials.errors import CredentialNeedsReauth, TokenRefreshDeferred, TokenRefreshInTransaction
from tenants.credentials.store import REASON_LOST_AND_ROTATED, credential_tokens
from tenants.models import ConnectionStatus, Credential, CredentialStatus, RefreshState
from tests.tenants.factories import CredentialFactory, age_credential, connect_via_sandbox, token_calls

pytestmark = pytest.mark.django_db

TOKEN_PATH = "/api/oauth2/token"


@pytest.fixture
def connected(exact_world, workspace):  # type: ignore[no-untyped-def]
    credential, connections = connect_via_sandbox(exact_world, workspace=workspace, connect=(101, 102))
    exact_world.control.reset_counters()
    return credential, connections


def _too_early_errors(world) -> int:  # type: ignore[no-untyped-def]
    return world.control.counters()["token_errors"].get("access_denied", 0)


# ------------------------------------------------------------------------------------------- the 570 s rule


def test_a_credential_obtained_100_s_ago_is_not_refreshed(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    age_credential(exact_world, credential, 100)
    stored = credential_tokens(credential).access_token

    assert refresh.access_token_for(credential.pk) == stored
    assert token_calls(exact_world) == 0


def test_a_slow_token_answer_does_not_make_the_next_refresh_too_early(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    """Exact counts its 570 s from when the previous token was received: a refresh whose answer took 2 s must not
    make the next one due 2 s before that (a fleet benchmark's refresh was refused as TooEarlyToRefreshTokens)."""
    credential, _ = connected
    age_credential(exact_world, credential, 600)
    exact_world.control.add_fault(kind="latency", pattern="*oauth2/token*", latency_ms=2000, times=1)
    refresh.access_token_for(credential.pk)  # refreshed; the answer took 2 s
    credential.refresh_from_db()
    assert credential.refresh_count == 1 and _too_early_errors(exact_world) == 0
    stored = credential_tokens(credential).access_token

    age_credential(exact_world, credential, 569)  # 569 s since Exact issued it: too early by Exact's count
    assert refresh.access_token_for(credential.pk) == stored
    assert _too_early_errors(exact_world) == 0

    age_credential(exact_world, credential, 2)
    assert refresh.access_token_for(credential.pk) != stored
    credential.refresh_from_db()
    assert credential.refresh_count == 2 and _too_early_errors(exact_world) == 0


@pytest.mark.parametrize("age", [575, 700, 3600])
def test_inside_the_last_30_s_or_after_expiry_it_is_refreshed_once(exact_world, connected, age: int) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    age_credential(exact_world, credential, age)
    old = credential_tokens(credential)

    fresh = refresh.access_token_for(credential.pk)
    again = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    counters = exact_world.control.counters()
    assert fresh != old.access_token and again == fresh
    assert counters["token_refreshes"] == 1 and token_calls(exact_world) == 1
    assert counters["token_errors"] == {}  # in particular no TooEarlyToRefreshTokens
    assert credential_tokens(credential).access_token == fresh
    assert credential_tokens(credential).refresh_token != old.refresh_token
    assert credential.refresh_count == 1 and credential.refresh_state == RefreshState.IDLE
    assert credential.access_token_expires_at > timezone.now() + timedelta(seconds=500)


@pytest.mark.parametrize(
    ("lifetime", "earliest", "due"),
    [(600, 570, 570), (300, 270, 270), (3600, 570, 3570)],
    ids=["exact-600s", "short-300s", "long-3600s"],
)
def test_refresh_timing_follows_the_tokens_own_lifetime(db, lifetime: int, earliest: int, due: int) -> None:  # type: ignore[no-untyped-def]
    """Allowed from the earlier of issue + 570 s and expiry - 30 s; due in the last 30 s of the token's own life."""
    issued = timezone.now()
    credential = CredentialFactory(obtained_at=issued, access_token_expires_at=issued + timedelta(seconds=lifetime))

    assert refresh.refresh_earliest_at(credential, min_interval=570) == issued + timedelta(seconds=earliest)
    assert refresh.refresh_due_at(credential) == issued + timedelta(seconds=due)
    assert not refresh.refresh_allowed(credential, min_interval=570, now=issued + timedelta(seconds=earliest - 1))
    assert refresh.refresh_allowed(credential, min_interval=570, now=issued + timedelta(seconds=earliest))


def test_the_timing_constants_are_settings(exact_world, connected, settings) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    settings.LEDGERBRIDGE_TOKEN_REFRESH_MARGIN = 60
    settings.EXACT_MIN_REFRESH_INTERVAL = 500
    settings.EXACT_REFRESH_TOKEN_LIFETIME_DAYS = 20
    connector = get_connector("exact")

    assert connector.token_timing().min_refresh_interval == 500
    assert refresh.refresh_due_at(credential) == credential.access_token_expires_at - timedelta(seconds=60)
    assert refresh.refresh_earliest_at(credential, min_interval=500) == credential.obtained_at + timedelta(seconds=500)
    age_credential(exact_world, credential, 545)  # inside the 60 s margin: due; the sandbox (570 s) needs 25 s more
    exact_world.control.advance_clock(25)
    refresh.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential.refresh_count == 1 and token_calls(exact_world) == 1
    assert credential.refresh_token_expires_at - credential.obtained_at == timedelta(days=20)


def test_a_300_s_token_is_refreshed_in_its_last_30_s_not_after_570_s(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    Credential.objects.filter(pk=credential.pk).update(
        access_token_expires_at=credential.obtained_at + timedelta(seconds=300)
    )
    age_credential(exact_world, credential, 260)
    stored = credential_tokens(credential).access_token
    assert refresh.access_token_for(credential.pk) == stored and token_calls(exact_world) == 0

    age_credential(exact_world, credential, 20)  # 280 s: the last 30 s of its 300
    exact_world.control.advance_clock(300)  # the sandbox issues 600 s tokens; let its chain be old enough too
    fresh = refresh.access_token_for(credential.pk)

    assert fresh != stored and token_calls(exact_world) == 1


def test_a_3600_s_token_is_not_refreshed_after_570_s_but_may_be_kept_alive(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    Credential.objects.filter(pk=credential.pk).update(
        access_token_expires_at=credential.obtained_at + timedelta(seconds=3600)
    )
    age_credential(exact_world, credential, 600)
    stored = credential_tokens(credential).access_token

    assert refresh.access_token_for(credential.pk) == stored and token_calls(exact_world) == 0
    assert refresh.force_refresh(credential.pk) is True  # allowed from 570 s: the keep-alive may refresh
    assert token_calls(exact_world) == 1


def test_a_token_issued_already_expired_is_refreshed_and_a_too_early_answer_waits(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    """Exact has issued tokens that were already expired (picqer#487): ask once; "too early" waits, never loops."""
    credential, _ = connected
    Credential.objects.filter(pk=credential.pk).update(access_token_expires_at=credential.obtained_at)
    age_credential(exact_world, credential, 200)

    with pytest.raises(TokenRefreshDeferred) as excinfo:
        refresh.access_token_for(credential.pk)

    assert excinfo.value.retryable
    assert excinfo.value.retry_at == credential.obtained_at + timedelta(seconds=570)
    assert token_calls(exact_world) == 1 and _too_early_errors(exact_world) == 1
    for _ in range(3):
        with pytest.raises(TokenRefreshDeferred):
            refresh.access_token_for(credential.pk)
    assert token_calls(exact_world) == 1  # the cooldown holds until Exact allows a refresh
    age_credential(exact_world, credential, 370)
    refresh.access_token_for(credential.pk)
    assert exact_world.control.counters()["token_refreshes"] == 1 and token_calls(exact_world) == 2


def test_the_token_manager_refuses_to_run_inside_a_transaction(connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    with transaction.atomic(), pytest.raises(TokenRefreshInTransaction):
        refresh.access_token_for(credential.pk)


# ------------------------------------------------------------------------------------------- rejected refresh


@pytest.mark.parametrize("how", ["revoked", "rotated_elsewhere", "expired_after_30_days"])
def test_a_rejected_refresh_token_needs_reauth_and_stops_all_token_calls(exact_world, connected, how: str) -> None:  # type: ignore[no-untyped-def]
    credential, connections = connected
    if how == "revoked":
        exact_world.control.revoke_tokens(exact_world.client_id, scope="all")
        age_credential(exact_world, credential, 700)
        expected = "revoked"
    elif how == "rotated_elsewhere":
        # Someone else (a second installation, a stray cron: picqer#544) used our refresh token.
        age_credential(exact_world, credential, 700)
        from connectors.registry import get_connector
        from tenants.credentials.store import vendor_app_for

        get_connector("exact").refresh_tokens(
            region="nl",
            app=vendor_app_for(workspace=credential.workspace, connector_id="exact"),
            refresh_token=credential_tokens(credential).refresh_token,
        )
        expected = "Old refresh token used."
    else:
        age_credential(exact_world, credential, 31 * 24 * 3600)
        expected = "expired"
    exact_world.control.reset_counters()

    with pytest.raises(CredentialNeedsReauth) as excinfo:
        refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH and expected in credential.status_reason
    assert expected in excinfo.value.reason
    for connection in connections:
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.NEEDS_REAUTH and expected in connection.status_reason
    assert token_calls(exact_world) == 1

    for _ in range(3):
        with pytest.raises(CredentialNeedsReauth):
            refresh.access_token_for(credential.pk)
        assert refresh.force_refresh(credential.pk) is False
    assert token_calls(exact_world) == 1  # nothing hammers Exact's token endpoint afterwards


# ------------------------------------------------------------------------------------------- lost answers


def test_a_lost_answer_after_rotation_gets_one_probe_then_needs_reauth(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, connections = connected
    age_credential(exact_world, credential, 700)
    exact_world.control.add_fault(kind="drop_after_apply", pattern=TOKEN_PATH, method="POST", times=1)

    with pytest.raises(TokenResponseLost):
        refresh.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential.refresh_state == RefreshState.LOST and "lost" in credential.last_refresh_error
    assert credential.status == CredentialStatus.ACTIVE

    # The next caller sends the stored refresh token once, deliberately: Exact had rotated it.
    with pytest.raises(CredentialNeedsReauth) as excinfo:
        refresh.access_token_for(credential.pk)
    assert REASON_LOST_AND_ROTATED in excinfo.value.reason
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH
    assert credential.status_reason.startswith(REASON_LOST_AND_ROTATED)
    for connection in connections:
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.NEEDS_REAUTH

    for _ in range(3):
        with pytest.raises(CredentialNeedsReauth):
            refresh.access_token_for(credential.pk)
    counters = exact_world.control.counters()
    assert token_calls(exact_world) == 2  # the lost refresh and exactly one probe, never a loop
    assert counters["token_errors"] == {"unauthorized_client": 1}


@pytest.mark.parametrize("fault", ["drop_before_apply", "503"])
def test_a_lost_answer_that_was_not_applied_is_repaired_by_the_probe(exact_world, connected, fault: str) -> None:  # type: ignore[no-untyped-def]
    """A 5xx or a dropped request may or may not have rotated the chain (dotnet#152): one probe finds out."""
    credential, _ = connected
    age_credential(exact_world, credential, 700)
    exact_world.control.add_fault(kind=fault, pattern=TOKEN_PATH, method="POST", times=1)

    with pytest.raises(TokenResponseLost):
        refresh.access_token_for(credential.pk)
    fresh = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_state == RefreshState.IDLE
    assert credential_tokens(credential).access_token == fresh and credential.refresh_count == 1
    assert token_calls(exact_world) == 2 and exact_world.control.counters()["token_refreshes"] == 1


def test_an_attempt_left_in_flight_by_a_dead_process_is_probed_once(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    age_credential(exact_world, credential, 700)
    # A process recorded its attempt and died before sending (or before hearing back); its lock is gone.
    Credential.objects.filter(pk=credential.pk).update(
        refresh_state=RefreshState.IN_FLIGHT, refresh_attempt_started_at=timezone.now() - timedelta(minutes=10)
    )

    fresh = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert credential_tokens(credential).access_token == fresh and credential.refresh_state == RefreshState.IDLE
    assert token_calls(exact_world) == 1


def test_a_lost_answer_while_the_access_token_still_lives_keeps_the_call_going(exact_world, connected) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    age_credential(exact_world, credential, 580)
    stored = credential_tokens(credential).access_token
    exact_world.control.add_fault(kind="drop_after_apply", pattern=TOKEN_PATH, method="POST", times=1)

    assert refresh.access_token_for(credential.pk) == stored  # Exact keeps the old access token until it expires
    credential.refresh_from_db()
    assert credential.refresh_state == RefreshState.LOST


# ------------------------------------------------------------------------------------------- vendor down


def test_an_unreachable_token_endpoint_cools_down_instead_of_hammering(exact_world, connected, settings) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    age_credential(exact_world, credential, 700)
    settings.EXACT_SANDBOX_URL = "http://127.0.0.1:9"  # nothing listens: the request never reaches "Exact"
    reset_registry()

    with pytest.raises(VendorUnavailable):
        refresh.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential.refresh_state == RefreshState.IDLE and credential.refresh_not_before is not None
    assert "VendorUnavailable" in credential.last_refresh_error

    settings.EXACT_SANDBOX_URL = exact_world.server.root_url
    reset_registry()
    with pytest.raises(TokenRefreshDeferred):
        refresh.access_token_for(credential.pk)
    assert token_calls(exact_world) == 0  # still cooling down

    Credential.objects.filter(pk=credential.pk).update(refresh_not_before=timezone.now() - timedelta(seconds=1))
    fresh = refresh.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential_tokens(credential).access_token == fresh and credential.refresh_not_before is None
    assert token_calls(exact_world) == 1


# ------------------------------------------------------------------------------------------- no secrets shown


def test_no_token_appears_in_logs_or_exception_messages(exact_world, workspace, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    seen: set[str] = set()
    messages: list[str] = []

    def remember() -> None:
        credential.refresh_from_db()
        pair = credential_tokens(credential)
        seen.update({pair.access_token, pair.refresh_token})

    remember()
    age_credential(exact_world, credential, 700)
    refresh.access_token_for(credential.pk)  # a successful refresh
    remember()
    age_credential(exact_world, credential, 700)
    exact_world.control.add_fault(kind="drop_after_apply", pattern=TOKEN_PATH, method="POST", times=1)
    for expected in (TokenResponseLost, CredentialNeedsReauth, CredentialNeedsReauth):  # lost, probe, refused
        with pytest.raises(expected) as excinfo:
            refresh.access_token_for(credential.pk)
        messages.extend([str(excinfo.value), repr(excinfo.value), getattr(excinfo.value, "reason", "")])
    remember()
    credential.refresh_from_db()
    messages.extend([credential.status_reason, credential.last_refresh_error, str(credential), repr(credential)])

    text = caplog.text + "\n".join(messages)
    assert "lost" in caplog.text  # the flow was logged ...
    for token in seen:
        assert token not in text  # ... without any token in it
