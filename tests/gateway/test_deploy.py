"""The web server, the settings and Celery agree on deadlines: gunicorn's timeout is the setting, vendor timeouts
fit well inside it (unified_models/checks.py refuses them otherwise: tests/unified_models/test_checks.py), and a
killed worker's tasks come back within minutes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from unified_models import tasks

ROOT = Path(__file__).resolve().parents[2]


def test_gunicorn_takes_its_timeout_from_the_setting() -> None:
    script = "import runpy; c = runpy.run_path('deploy/gunicorn.conf.py'); print(c['timeout'], c['accesslog'])"
    env = {**os.environ, "LEDGERBRIDGE_WEB_TIMEOUT": "77"}
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["77", "None"]
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert '"-c", "deploy/gunicorn.conf.py"' in dockerfile and "--access-logfile" not in dockerfile


def test_a_killed_workers_write_tasks_come_back() -> None:
    for task in (tasks.mutation_retry, tasks.mutations_reconcile):
        assert task.acks_late and task.reject_on_worker_lost, task.name
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        assert settings.CELERY_TASK_TIME_LIMIT < visibility <= 600, "back within minutes, never while still running"
    assert "mutations-reconcile" in settings.CELERY_BEAT_SCHEDULE
