"""The chaos run at small scale: invoice writes through gunicorn while the sandbox faults a fifth of all calls and a
web worker and the Celery worker are SIGKILLed; every write settles, none twice, none lost (bench/chaos_writes.py
runs the same harness with 2,000 writes)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings

from bench.chaos_writes import ChaosConfig, Stack, mutation_states, run_writes, running
from tests.fixtures.exact import subprocess_env
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.factories import ApiKeyFactory
from tests.unified_models.conftest import Connected

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_writes_settle_exactly_once_under_faults_and_kills(
    mapped: Connected, first_customer_id: str, tmp_path: Path
) -> None:
    api_key = ApiKeyFactory(workspace=mapped.connection.workspace)
    env = subprocess_env(
        mapped.world,
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        REDIS_URL=os.environ["REDIS_URL"],
        LEDGERBRIDGE_CREDENTIAL_KEYS=",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
        EXACT_HTTP_TIMEOUT="1",
        EXACT_TOKEN_TIMEOUT="5",
        LEDGERBRIDGE_WEB_TIMEOUT="8",
        LEDGERBRIDGE_MUTATION_SETTLE_SECONDS="2",
        LEDGERBRIDGE_RECONCILE_INTERVAL="2",
        CELERY_TASK_SOFT_TIME_LIMIT="5",
        CELERY_TASK_TIME_LIMIT="6",
        CELERY_VISIBILITY_TIMEOUT="10",
        LOG_LEVEL="WARNING",
    )
    stack = Stack(env=env, log_dir=tmp_path / "logs", web_workers=2)
    config = ChaosConfig(
        writes=30,
        fault_share=0.2,
        concurrency=6,
        web_kills=1,
        worker_kills=1,
        seed=7,
        latency_ms=1500,
        deadline_seconds=60,
        settle_timeout_seconds=40,
        max_retry_wait=2.0,
    )
    with running(stack):
        report = run_writes(
            config=config,
            stack=stack,
            control=mapped.world.control,
            api_key=api_key.secret,
            connection_id=str(mapped.connection.pk),
            contact_id=first_customer_id,
            division=mapped.division,
            run_id="t",
            mutation_states=lambda: mutation_states(str(mapped.connection.pk)),
        )
    summary = f"{report}\n" + "\n".join(f"--- {name}\n{text[-3000:]}" for name, text in stack.logs().items())
    assert sum(report.faults_fired.values()) >= 5, summary
    assert report.web_kills == 1 and report.worker_kills == 1, summary
    assert report.duplicates == 0, summary
    assert report.lost == 0, summary
    assert report.client_unsettled == 0 and report.client_succeeded == config.writes, summary
    assert report.invoices_at_vendor == config.writes, summary
    assert set(report.final_states) == {"succeeded"}, summary
