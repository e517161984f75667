"""The refresh race across OS processes: PostgreSQL, Redis, the Exact sandbox, 50 concurrent calls, one refresh.

Four worker processes (plain Python processes running Django, like Celery workers would) start 12-13 threads each;
all 50 threads make a vendor call through the per-connection call context at the same moment, on one connection
whose access token has expired, or whose token Exact refuses with a 401 (a storm of 401s). Exact's single-use
refresh tokens (connectors/exact/NOTES.md: Known pain points) punish any double refresh with "Old refresh token
used." and a dead connection, and every failed token call counts towards its error limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tenants.credentials.store import REASON_LOST_AND_ROTATED, credential_tokens
from tenants.models import ConnectionStatus, CredentialStatus, RefreshState
from tenants.vendor_calls import connection_context
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.factories import age_credential, connect_via_sandbox, token_calls

ROOT = Path(__file__).resolve().parents[2]
CALLS = 50
# Four worker processes (the acceptance minimum; each costs a Django start-up) sharing the 50 calls.
THREADS_PER_PROCESS = [13, 13, 12, 12]

# Runs in each worker process: wait for "go" on stdin, then fire THREADS calls at once; print one JSON list.
WORKER_SCRIPT = r"""
import json, sys, threading
import django

django.setup()
from django.db import connections
from connectors.base.errors import VendorError
from tenants.vendor_calls import connection_context

connection_id, threads = sys.argv[1], int(sys.argv[2])
barrier = threading.Barrier(threads)
results, results_lock = [], threading.Lock()


def call():
    barrier.wait()
    try:
        connection_context(connection_id).get_json("system/Divisions", params={"$select": "Code"})
        outcome = {"ok": True}
    except VendorError as exc:
        outcome = {"ok": False, "typed": True, "error": type(exc).__name__, "message": str(exc)}
    except Exception as exc:  # an untyped failure is what the test must never see
        outcome = {"ok": False, "typed": False, "error": type(exc).__name__, "message": str(exc)}
    finally:
        connections.close_all()
    with results_lock:
        results.append(outcome)


print("READY", flush=True)
sys.stdin.readline()
workers = [threading.Thread(target=call) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print("RESULTS " + json.dumps(results), flush=True)
"""

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _run_concurrent_calls(world: Any, connection_id: str, *, lock: str = "redis") -> list[dict[str, Any]]:
    env = {
        **os.environ,
        **world.env(),
        "DJANGO_SETTINGS_MODULE": "gateway.settings.test",
        "DATABASE_URL": database_url_for_subprocess(),
        # gateway.locks uses Redis when REDIS_URL is set, else PostgreSQL advisory locks.
        "REDIS_URL": settings.REDIS_URL if lock == "redis" else "",
        # The same keys as this process, or the workers could not read the stored tokens.
        "LEDGERBRIDGE_CREDENTIAL_KEYS": ",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER_SCRIPT, connection_id, str(threads)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for threads in THREADS_PER_PROCESS
    ]
    try:
        for worker in workers:  # every process is up (Django loaded) before anyone calls
            assert worker.stdout is not None
            line = worker.stdout.readline()
            assert line.strip() == "READY", worker.stderr.read() if worker.stderr else line
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        results: list[dict[str, Any]] = []
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=120)  # a hang fails the test instead of blocking CI
            lines = [line for line in stdout.splitlines() if line.startswith("RESULTS ")]
            assert worker.returncode == 0 and lines, stderr
            results.extend(json.loads(lines[-1].removeprefix("RESULTS ")))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


@pytest.fixture
def expired_connection(exact_world, workspace):  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    # Expired: 700 s old in the database and at the sandbox (past Exact's 600 s lifetime and its 570 s rule).
    age_credential(exact_world, credential, 700)
    exact_world.control.set_limits(minutely_limit=1000)  # this test is about tokens, not Exact's 60/minute
    exact_world.control.reset_counters()
    return credential, connection


@pytest.mark.parametrize("lock", ["redis", "postgres"])
def test_fifty_concurrent_calls_in_four_processes_make_exactly_one_refresh(
    exact_world, expired_connection, lock: str
) -> None:  # type: ignore[no-untyped-def]
    credential, connection = expired_connection
    before = credential_tokens(credential)

    results = _run_concurrent_calls(exact_world, str(connection.pk), lock=lock)

    counters = exact_world.control.counters()
    failures = [r for r in results if not r["ok"]]
    assert sum(THREADS_PER_PROCESS) == CALLS and len(THREADS_PER_PROCESS) >= 4
    assert len(results) == CALLS and failures == []
    assert counters["token_refreshes"] == 1 and token_calls(exact_world) == 1
    assert counters["token_errors"] == {}  # no "Old refresh token used.", no TooEarlyToRefreshTokens
    assert counters["calls"]["system/Divisions"] == {"200": CALLS}
    credential.refresh_from_db()
    after = credential_tokens(credential)
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert credential.refresh_count == 1 and credential.refresh_state == RefreshState.IDLE
    assert credential.status == CredentialStatus.ACTIVE
    # The stored pair is the one Exact now honours: another call works without a refresh.
    connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})
    assert exact_world.control.counters()["token_refreshes"] == 1


def test_a_lost_token_response_ends_working_or_needs_reauth_never_silently(exact_world, expired_connection) -> None:  # type: ignore[no-untyped-def]
    credential, connection = expired_connection
    exact_world.control.add_fault(kind="drop_after_apply", pattern="/api/oauth2/token", method="POST", times=1)

    results = _run_concurrent_calls(exact_world, str(connection.pk))

    assert len(results) == CALLS
    failures = [r for r in results if not r["ok"]]
    assert all(r["typed"] for r in failures), failures  # every failed call got a typed error
    assert {r["error"] for r in failures} <= {
        "TokenResponseLost",
        "CredentialNeedsReauth",
        "ConnectionNotUsable",
        "TokenRefreshDeferred",
    }
    counters = exact_world.control.counters()
    # The lost refresh plus at most one deliberate probe; never a loop at Exact's token endpoint.
    assert token_calls(exact_world) <= 2
    assert counters["token_errors"].get("unauthorized_client", 0) <= 1
    credential.refresh_from_db()
    connection.refresh_from_db()
    if credential.status == CredentialStatus.ACTIVE:
        connection_context(connection).get_json("system/Divisions", params={"$select": "Code"})  # working
    else:
        assert credential.status == CredentialStatus.NEEDS_REAUTH
        assert credential.status_reason.startswith(REASON_LOST_AND_ROTATED)
        assert connection.status == ConnectionStatus.NEEDS_REAUTH and connection.status_reason
        assert connection.last_error  # the failure is recorded on the connection, not swallowed
    # Exact rotated the chain when it dropped the answer, so this run must end in needs_reauth, with the reason.
    assert credential.status == CredentialStatus.NEEDS_REAUTH
    assert failures and any(r["error"] == "TokenResponseLost" for r in failures)


@pytest.mark.parametrize("how", ["invalidated", "too_early", "revoked"])
def test_a_storm_of_fifty_401s_costs_one_refresh_attempt(exact_world, workspace, how: str) -> None:  # type: ignore[no-untyped-def]
    """50 concurrent calls all get a 401 on a token the gateway believes valid (100 s old): one token call in all."""
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 100)
    # This test is about tokens, not Exact's 60 calls a minute or its 10 errors an hour per endpoint.
    exact_world.control.set_limits(minutely_limit=1000, error_limit=1000)
    if how == "invalidated":  # Exact dropped the token and lifted its 570 s rule: a new pair for everyone
        exact_world.control.revoke_tokens(exact_world.client_id, scope="access")
    elif how == "too_early":  # Exact dropped the token and keeps its 570 s rule
        exact_world.control.revoke_tokens(exact_world.client_id, scope="access", keep_refresh_rule=True)
    else:  # the user revoked the app's consent
        exact_world.control.revoke_tokens(exact_world.client_id, scope="all")
    exact_world.control.reset_counters()

    results = _run_concurrent_calls(exact_world, str(connection.pk))

    counters = exact_world.control.counters()
    failures = [r for r in results if not r["ok"]]
    assert len(results) == CALLS and all(r["typed"] for r in failures), failures
    assert token_calls(exact_world) == 1, counters  # the storm figure: one refresh attempt for 50 401s
    unauthorized = counters["calls"]["system/Divisions"].get("401", 0)
    assert 1 <= unauthorized <= CALLS
    credential.refresh_from_db()
    connection.refresh_from_db()
    if how == "invalidated":
        assert failures == [] and counters["token_refreshes"] == 1 and counters["token_errors"] == {}
        assert counters["calls"]["system/Divisions"]["200"] == CALLS
        assert credential.refresh_count == 1 and connection.status == ConnectionStatus.ACTIVE
    elif how == "too_early":
        assert len(failures) == CALLS and {r["error"] for r in failures} == {"TokenRefreshDeferred"}
        assert counters["token_errors"] == {"access_denied": 1}
        assert connection.status == ConnectionStatus.ACTIVE and credential.status == CredentialStatus.ACTIVE
        assert "too early" in credential.last_refresh_error and "too early" in connection.last_error
    else:
        assert len(failures) == CALLS
        assert {r["error"] for r in failures} <= {"CredentialNeedsReauth", "ConnectionNotUsable"}
        assert counters["token_errors"] == {"invalid_grant": 1}
        assert credential.status == CredentialStatus.NEEDS_REAUTH and "revoked" in credential.status_reason
        assert connection.status == ConnectionStatus.NEEDS_REAUTH and "revoked" in connection.status_reason
