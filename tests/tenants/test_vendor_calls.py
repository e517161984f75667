"""The per-connection call context against the Exact sandbox: status gate, stored division, 401 and 403 handling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.base.data import CallRecord
from connectors.base.errors import CompanyAccessDenied, ConnectionNotUsable
from connectors.base.ratelimit import DAILY, MINUTELY, Observation
from connectors.exact.ratelimit import exact_rate_limiter
from gateway.after_response import deferring
from gateway.request_context import request_id_var
from tenants.credentials import refresh
from tenants.credentials.errors import TokenRefreshDeferred
from tenants.credentials.store import credential_tokens
from tenants.models import CallLog, ConnectionStatus, CredentialStatus
from tenants.vendor_calls import connection_context
from tests.tenants.factories import age_credential, connect_via_sandbox, token_calls

pytestmark = pytest.mark.django_db


def _division_codes(body: dict) -> set[int]:  # type: ignore[type-arg]
    return {row["Code"] for row in body["d"]["results"]}


def test_the_stored_division_is_injected_not_the_users_current_one(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    _, (connection_101, connection_102) = connect_via_sandbox(exact_world, workspace=workspace, connect=(101, 102))
    # The user clicks around in Exact's UI: CurrentDivision changes, our connections must not (picqer#470).
    exact_world.control.set_current_division(exact_world.user_id, 103)
    exact_world.control.reset_counters()

    connection_context(connection_101).get_json("system/Divisions", params={"$select": "Code"})
    connection_context(connection_102).get_json("system/Divisions", params={"$select": "Code"})

    calls = exact_world.control.counters()["calls"]
    assert calls["system/Divisions"] == {"200": 2}
    connection_101.refresh_from_db()
    assert connection_101.last_success_at is not None and connection_101.last_error == ""


def test_calls_refresh_through_the_token_manager_when_due(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 700)
    exact_world.control.reset_counters()

    body = connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})

    assert 101 in _division_codes(body)
    assert exact_world.control.counters()["token_refreshes"] == 1


def test_no_division_access_marks_only_that_connection(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, (granted, not_granted) = connect_via_sandbox(
        exact_world, workspace=workspace, divisions=[101], connect=(101, 102)
    )

    with pytest.raises(CompanyAccessDenied) as excinfo:
        connection_context(not_granted).get_json("system/Divisions", params={"$select": "Code"})
    assert excinfo.value.reason == "NoDivisionAccess"

    not_granted.refresh_from_db()
    assert not_granted.status == ConnectionStatus.NEEDS_REAUTH
    assert not_granted.status_reason == "NoDivisionAccess: Exact Online no longer grants access to company 102"
    assert not_granted.last_error_at is not None
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE

    connection_context(granted).get_json("system/Divisions", params={"$select": "Code"})
    granted.refresh_from_db()
    assert granted.status == ConnectionStatus.ACTIVE

    # The refused connection makes no further calls at Exact (403s count towards the error limit).
    exact_world.control.reset_counters()
    with pytest.raises(ConnectionNotUsable) as refused:
        connection_context(not_granted).get_json("system/Divisions", params={"$select": "Code"})
    assert refused.value.status_code == ConnectionStatus.NEEDS_REAUTH and "NoDivisionAccess" in refused.value.reason
    assert exact_world.control.counters()["calls"] == {}


@pytest.mark.parametrize("status", [ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_REAUTH])
def test_unusable_connections_are_refused_without_a_vendor_call(exact_world, workspace, status: str) -> None:  # type: ignore[no-untyped-def]
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    type(connection).objects.filter(pk=connection.pk).update(status=status, status_reason="operator said so")
    exact_world.control.reset_counters()

    with pytest.raises(ConnectionNotUsable) as excinfo:
        connection_context(connection)  # the caller's object is stale: the status is read again

    assert excinfo.value.status_code == status and excinfo.value.reason == "operator said so"
    assert exact_world.control.counters()["calls"] == {}


def test_a_401_before_570_s_is_answered_with_one_refresh_and_one_retry(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    """Exact invalidated the token and lifted its own 570 s rule: the refresh the 401 triggers gets a new pair."""
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 100)
    rejected = credential_tokens(credential).access_token
    exact_world.control.revoke_tokens(exact_world.client_id, scope="access")
    exact_world.control.reset_counters()

    body = connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})

    assert 101 in _division_codes(body)
    counters = exact_world.control.counters()
    assert counters["token_refreshes"] == 1 and token_calls(exact_world) == 1
    assert counters["calls"]["system/Divisions"] == {"401": 1, "200": 1}
    credential.refresh_from_db()
    assert credential_tokens(credential).access_token != rejected and credential.refresh_count == 1
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE and connection.last_success_at is not None


def test_a_401_after_revoked_consent_needs_reauth_within_the_call(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    """The user revoked the app in Exact 100 s after connecting: the product believed the token valid for 470 s more."""
    credential, (connection, sibling) = connect_via_sandbox(exact_world, workspace=workspace, connect=(101, 102))
    age_credential(exact_world, credential, 100)
    exact_world.control.revoke_tokens(exact_world.client_id, scope="all")
    exact_world.control.reset_counters()

    with pytest.raises(ConnectionNotUsable) as excinfo:
        connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})

    assert excinfo.value.status_code == CredentialStatus.NEEDS_REAUTH and "revoked" in excinfo.value.reason
    assert token_calls(exact_world) == 1
    assert exact_world.control.counters()["token_errors"] == {"invalid_grant": 1}
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH and "revoked" in credential.status_reason
    for each in (connection, sibling):  # the same dead grant: every connection on it waits for the user
        each.refresh_from_db()
        assert each.status == ConnectionStatus.NEEDS_REAUTH and "revoked" in each.status_reason
    assert "revoked" in connection.last_error

    exact_world.control.reset_counters()
    with pytest.raises(ConnectionNotUsable):
        connection_context(sibling).get_json("system/Divisions", params={"$select": "Code"})
    assert exact_world.control.counters()["calls"] == {}  # nothing more reaches Exact


def test_a_401_that_exact_answers_too_early_defers_without_further_calls(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    """Exact invalidated the token but keeps its 570 s rule: stay active, say when to retry, record why."""
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 100)
    exact_world.control.revoke_tokens(exact_world.client_id, scope="access", keep_refresh_rule=True)
    exact_world.control.reset_counters()

    with pytest.raises(TokenRefreshDeferred) as excinfo:
        connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})

    assert excinfo.value.retryable
    assert excinfo.value.retry_at == credential.obtained_at + timedelta(seconds=570)  # when Exact allows a refresh
    counters = exact_world.control.counters()
    assert token_calls(exact_world) == 1 and counters["token_errors"] == {"access_denied": 1}
    assert counters["calls"]["system/Divisions"] == {"401": 1}
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.last_error.startswith("TokenRefreshDeferred") and "too early" in connection.last_error
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and "too early" in credential.last_refresh_error
    assert credential.refresh_not_before == excinfo.value.retry_at

    # Until then no call reaches Exact: the refused token is not sent again (401s count towards the error limit).
    exact_world.control.reset_counters()
    for _ in range(3):
        with pytest.raises(TokenRefreshDeferred):
            connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})
    assert exact_world.control.counters()["calls"] == {}

    # Once Exact allows it, the next call refreshes and goes through.
    age_credential(exact_world, credential, 475)
    body = connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})
    assert 101 in _division_codes(body) and exact_world.control.counters()["token_refreshes"] == 1


def test_a_401_on_a_token_another_process_replaced_retries_with_the_stored_one(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    stored = credential_tokens(credential).access_token
    exact_world.control.reset_counters()

    assert refresh.access_token_after_unauthorized(credential.pk, rejected_access_token="an older token") == stored
    assert token_calls(exact_world) == 0


def test_a_401_after_570_s_is_answered_with_one_refresh(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 580)
    rejected = credential_tokens(credential).access_token
    exact_world.control.reset_counters()

    replacement = refresh.access_token_after_unauthorized(credential.pk, rejected_access_token=rejected)

    credential.refresh_from_db()
    assert replacement not in (None, rejected) and credential_tokens(credential).access_token == replacement
    assert exact_world.control.counters()["token_refreshes"] == 1 and token_calls(exact_world) == 1


def test_a_rejected_refresh_surfaces_as_connection_not_usable(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    exact_world.control.revoke_tokens(exact_world.client_id, scope="all")
    age_credential(exact_world, credential, 700)

    with pytest.raises(ConnectionNotUsable) as excinfo:
        connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})

    assert excinfo.value.status_code == CredentialStatus.NEEDS_REAUTH
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH and "revoked" in connection.status_reason
    assert "revoked" in connection.last_error


def test_the_context_is_a_call_context_for_the_connectors_app(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    ctx = connection_context(connection)

    assert ctx.app_client_id == credential.client_id == exact_world.client_id
    assert (ctx.region, ctx.company_id) == ("nl", "101")


def test_record_call_writes_the_call_log_with_the_request_id_and_no_token(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    ctx = connection_context(connection)
    access_token = ctx.access_token()
    marker = request_id_var.set("req-vendor-calls-1")
    try:
        ctx.record_call(
            CallRecord(
                method="GET",
                path=f"crm/Accounts?token={access_token}",
                status=None,
                duration_ms=12,
                rate_limits=(
                    Observation(window=DAILY, limit=5000, remaining=4999, reset_ms=1_700_006_400_000),
                    Observation(window=MINUTELY, limit=60, remaining=59, reset_ms=1_700_000_040_000),
                ),
                error="no response",
            )
        )
        connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})
    finally:
        request_id_var.reset(marker)

    logged, divisions = sorted(CallLog.objects.filter(connection=connection), key=lambda log: log.path)
    assert (logged.method, logged.status, logged.duration_ms, logged.error) == ("GET", None, 12, "no response")
    assert access_token not in logged.path and logged.request_id == "req-vendor-calls-1"
    assert (logged.rate_limit_remaining, logged.minutely_remaining) == (4999, 59)
    # The gateway's own company GET goes through the connector, the call log and the shared budget too.
    assert (divisions.path, divisions.status, divisions.request_id) == ("system/Divisions", 200, "req-vendor-calls-1")
    assert divisions.minutely_remaining is not None


@pytest.mark.redis
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_in_a_request_the_budget_reconciles_answer_is_read_after_the_answer(  # type: ignore[no-untyped-def]
    exact_world, workspace, method: str
) -> None:
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    ctx = connection_context(connection)
    store = exact_rate_limiter().budget.store
    pool = store._redis.connection_pool  # type: ignore[attr-defined]
    ctx.get_json("system/Divisions", params={"$select": "Code"})  # the budget's probe: its answer is awaited
    assert not pool._in_use_connections

    with deferring(method) as take:
        ctx.get_json("system/Divisions", params={"$select": "Code"})
        # The reconcile went out with the call; its answer waits on a connection held until after the answer.
        assert len(pool._in_use_connections) == 1
        work = take()
    assert work is not None
    work()
    assert not pool._in_use_connections
    # Outside a request it is read at once.
    ctx.get_json("system/Divisions", params={"$select": "Code"})
    assert not pool._in_use_connections
