"""tenants/tasks.py, the keep-alive: idle credentials are refreshed before Exact's 30-day refresh token dies; fresh
ones are left alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from gateway.celery import app as celery_app
from tenants.credentials import refresh
from tenants.models import ConnectionStatus, Credential, CredentialStatus
from tenants.tasks import credential_keepalive, credentials_keepalive
from tests.gateway.test_celery import start_worker
from tests.tenants.factories import (
    ConnectionFactory,
    CredentialFactory,
    age_credential,
    connect_via_sandbox,
    token_calls,
)


@pytest.fixture
def eager_celery() -> Iterator[None]:
    """Run the tasks the periodic task queues inline (Celery's own eager mode), without a broker."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


@pytest.mark.django_db
def test_selection_takes_active_credentials_whose_refresh_token_dies_soon() -> None:
    now = timezone.now()
    soon = ConnectionFactory(credential__refresh_token_expires_at=now + timedelta(days=3)).credential
    ConnectionFactory(company_id="102", tenant=soon.connections.get().tenant, credential=soon)  # counted once
    ConnectionFactory(credential__refresh_token_expires_at=now + timedelta(days=25))
    ConnectionFactory(
        credential__refresh_token_expires_at=now + timedelta(days=1), credential__status=CredentialStatus.NEEDS_REAUTH
    )

    assert list(refresh.credential_keepalive_due(within=timedelta(days=7))) == [soon]


@pytest.mark.django_db
def test_keepalive_skips_credentials_no_connection_uses() -> None:
    # An orphan (its last connection went) is not refreshed forever at Exact's token endpoint.
    CredentialFactory(refresh_token_expires_at=timezone.now() + timedelta(days=3))

    assert list(refresh.credential_keepalive_due(within=timedelta(days=7))) == []


@pytest.mark.django_db
def test_an_idle_credential_is_refreshed_before_its_refresh_token_expires(exact_world, workspace, eager_celery) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    exact_world.control.reset_counters()

    assert credentials_keepalive() == 0  # fresh: nothing to do
    assert token_calls(exact_world) == 0

    # 27 days of silence: the gateway and the in-process sandbox travel together.
    with time_machine.travel(timezone.now() + timedelta(days=27), tick=True):
        assert credentials_keepalive() == 1
        credential.refresh_from_db()
        assert credential.refresh_count == 1 and credential.status == CredentialStatus.ACTIVE
        assert credential.refresh_token_expires_at > timezone.now() + timedelta(days=29)
        assert credentials_keepalive() == 0  # alive again for another 30 days
    counters = exact_world.control.counters()
    assert counters["token_refreshes"] == 1 and counters["token_errors"] == {}


@pytest.mark.django_db
def test_a_keepalive_too_late_marks_needs_reauth_with_the_reason(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, (connection,) = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 31 * 24 * 3600)

    assert credential_keepalive(str(credential.pk)) is False

    credential.refresh_from_db()
    connection.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH and "expired" in credential.status_reason
    assert connection.status == ConnectionStatus.NEEDS_REAUTH


@pytest.mark.django_db
def test_keepalive_never_refreshes_before_570_s(exact_world, workspace) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    exact_world.control.reset_counters()

    assert credential_keepalive(str(credential.pk)) is False
    assert token_calls(exact_world) == 0


def test_the_keepalive_is_scheduled_by_beat() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["credentials-keepalive"]
    assert entry["task"] == credentials_keepalive.name
    assert django_settings.CELERY_TASK_ROUTES["tenants.tasks.*"]["queue"] == "maintenance"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_keeps_an_idle_connection_alive(exact_world, workspace, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    # An hour old at both ends, and (as far as the gateway knows) two days before the refresh token dies.
    age_credential(exact_world, credential, 3600)
    Credential.objects.filter(pk=credential.pk).update(refresh_token_expires_at=timezone.now() + timedelta(days=2))
    idle_but_fresh = CredentialFactory(refresh_token_expires_at=timezone.now() + timedelta(days=25))
    exact_world.control.reset_counters()
    for key, value in exact_world.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LEDGERBRIDGE_CREDENTIAL_KEYS", ",".join(django_settings.LEDGERBRIDGE_CREDENTIAL_KEYS))

    worker = start_worker("maintenance")
    try:
        credentials_keepalive.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Credential.objects.get(pk=credential.pk).refresh_count == 0:
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker died"
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    credential.refresh_from_db()
    assert credential.refresh_count == 1, "the worker never refreshed the idle credential"
    assert credential.refresh_token_expires_at > timezone.now() + timedelta(days=29)
    assert Credential.objects.get(pk=idle_but_fresh.pk).refresh_count == 0
    assert exact_world.control.counters()["token_refreshes"] == 1
