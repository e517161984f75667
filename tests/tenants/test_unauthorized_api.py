"""A 401 from Exact on a token the gateway believes valid, seen through the public API (the sandbox over HTTP).

The user revokes the app in Exact, or Exact invalidates the token: the next API call asks Exact for a new pair
once and answers with what that says (data, 409 needs re-authorisation with the reason, or 503 with Retry-After).
"""

from __future__ import annotations

import pytest

from tenants.models import ConnectionStatus, CredentialStatus
from tests.tenants.factories import age_credential, connect_via_sandbox, token_calls

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


@pytest.fixture
def connected(exact_world, workspace):  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 100)  # 470 s before the gateway would refresh on its own
    return credential, connection


def test_revoked_consent_ends_in_needs_reauth_within_one_api_call(exact_world, connected, auth_client) -> None:  # type: ignore[no-untyped-def]
    credential, connection = connected
    exact_world.control.revoke_tokens(exact_world.client_id, user_id=exact_world.user_id, scope="all")
    exact_world.control.reset_counters()

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/ledger-accounts")

    assert response.status_code == 409 and response["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "connection_needs_reauth" and "revoked" in problem["reason"]
    assert token_calls(exact_world) == 1
    shown = auth_client.get(f"/api/v1/connections/{connection.pk}").json()
    assert shown["status"] == ConnectionStatus.NEEDS_REAUTH and "revoked" in shown["status_reason"]
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH
    assert credential.status_reason == "refresh token rejected: The refresh token has been revoked. [invalid_grant]"


def test_too_early_answers_503_with_retry_after_and_the_connection_stays_active(
    exact_world, connected, auth_client
) -> None:  # type: ignore[no-untyped-def]
    credential, connection = connected
    exact_world.control.revoke_tokens(exact_world.client_id, scope="access", keep_refresh_rule=True)
    exact_world.control.reset_counters()

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/ledger-accounts")

    assert response.status_code == 503 and response["Content-Type"].startswith(PROBLEM)
    problem = response.json()
    assert problem["code"] == "vendor_unavailable" and "too early" in problem["detail"]
    # Exact allows the next refresh 570 s after the last issue, i.e. in about 470 s.
    assert 460 <= int(response["Retry-After"]) <= 471 and problem["retry_after"] == int(response["Retry-After"])
    assert token_calls(exact_world) == 1
    shown = auth_client.get(f"/api/v1/connections/{connection.pk}").json()
    assert shown["status"] == ConnectionStatus.ACTIVE
    connection.refresh_from_db()
    assert "too early" in connection.last_error  # why, recorded on the connection
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and "401" in credential.last_refresh_error

    again = auth_client.get(f"/api/v1/connections/{connection.pk}/ledger-accounts")
    assert again.status_code == 503 and int(again["Retry-After"]) <= int(response["Retry-After"])
    assert token_calls(exact_world) == 1


def test_a_token_exact_invalidated_is_replaced_and_the_call_succeeds(exact_world, connected, auth_client) -> None:  # type: ignore[no-untyped-def]
    _, connection = connected
    exact_world.control.revoke_tokens(exact_world.client_id, scope="access")
    exact_world.control.reset_counters()

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/ledger-accounts")

    assert response.status_code == 200, response.json()
    assert response.json()["results"]
    assert exact_world.control.counters()["token_refreshes"] == 1 and token_calls(exact_world) == 1
