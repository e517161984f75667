"""The web server, the settings and Celery agree on deadlines: gunicorn's timeout is the setting, vendor timeouts
fit well inside it (a system check refuses them otherwise), and a killed worker's tasks come back within minutes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from unified_models import tasks
from unified_models.checks import check_write_deadlines

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_takes_its_timeout_from_the_setting() -> None:
    script = "import runpy; c = runpy.run_path('deploy/gunicorn.conf.py'); print(c['timeout'], c['accesslog'])"
    env = {**os.environ, "LEDGERBRIDGE_WEB_TIMEOUT": "77"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["77", "None"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert '"-c", "deploy/gunicorn.conf.py"' in dockerfile and "--access-logfile" not in dockerfile


def test_the_defaults_pass_the_deadline_check() -> None:
    assert check_write_deadlines() == []
    assert settings.EXACT_HTTP_TIMEOUT * 4 <= settings.LEDGERBRIDGE_WEB_TIMEOUT


def test_the_check_refuses_deadlines_that_do_not_fit(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_WEB_TIMEOUT = 30
    settings.EXACT_HTTP_TIMEOUT = 30.0  # the setup of the report: the vendor timeout equal to the server's
    settings.EXACT_TOKEN_TIMEOUT = 60.0
    settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS = 5.0
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    settings.CELERY_TASK_TIME_LIMIT = 7200
    assert {error.id for error in check_write_deadlines()} == {
        "unified_models.E001",
        "unified_models.E002",
        "unified_models.E003",
        "unified_models.E004",
    }


def test_a_killed_workers_write_tasks_come_back() -> None:
    for task in (tasks.mutation_retry, tasks.mutations_reconcile):
        assert task.acks_late and task.reject_on_worker_lost, task.name
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_TASK_TIME_LIMIT < visibility <= 600, "back within minutes, never while still running"
    assert "mutations-reconcile" in settings.CELERY_BEAT_SCHEDULE
