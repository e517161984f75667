"""Celery runs for real: a worker process consumes tasks from the configured broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection

from gateway.celery import app as celery_app
from gateway.models import WorkerHeartbeat
from gateway.tasks import worker_heartbeat_record

ROOT = Path(__file__).resolve().parents[2]


def database_url_for_subprocess() -> str:
    """The URL of the database this test runs on (the test database), for processes the test starts."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    credentials = f"{s['USER'] or ''}:{s['PASSWORD'] or ''}"
    return f"postgres://{credentials}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(queues: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess()}
    env["DJANGO_SETTINGS_MODULE"] = "gateway.settings.test"
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "gateway",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queues,
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def test_configuration_is_json_only_with_time_limits_and_queues() -> None:
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_soft_time_limit and conf.task_time_limit > conf.task_soft_time_limit
    assert {q.name for q in conf.task_queues} >= {"vendor", "sync", "webhooks", "maintenance"}
    assert conf.task_always_eager is False
    # A heartbeat on every queue, so each queue's workers prove they consume it (deploy/metrics.yaml).
    heartbeats = {
        entry["options"]["queue"]
        for entry in conf.beat_schedule.values()
        if entry["task"] == "gateway.tasks.worker_heartbeat_record"
    }
    assert heartbeats == {q.name for q in conf.task_queues}


# A web process: Django set up, the Celery app imported through `gateway`, a task enqueued from a view.
_WEB_PROCESS = (
    "import django; django.setup()\n"
    "from gateway import celery_app\n"
    "from gateway.tasks import worker_heartbeat_record\n"
    "worker_heartbeat_record.delay('web-process')\n"
    "print(celery_app.conf.broker_url)\n"
)


def test_a_web_process_configures_celery_once_without_recursion(tmp_path: Path) -> None:
    ours = ("DJANGO", "DATABASE", "REDIS", "CELERY", "LEDGERBRIDGE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(DJANGO_SETTINGS_MODULE="gateway.settings.local", LEDGERBRIDGE_VAR_DIR=str(tmp_path))

    result = subprocess.run(
        [sys.executable, "-c", _WEB_PROCESS], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert "RecursionError" not in result.stderr and "Signal handler" not in result.stderr, result.stderr
    assert result.stdout.split() == ["filesystem://"]
    # The configuration hook made the filesystem broker's folders, and the task landed in its queue.
    broker = tmp_path / "celery-broker"
    assert (broker / "control").is_dir() and (broker / "processed").is_dir()
    assert len(list((broker / "queue").iterdir())) == 1


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task() -> None:
    hostname = f"test-{uuid.uuid4().hex[:8]}"
    worker = start_worker("maintenance")
    try:
        worker_heartbeat_record.delay(hostname)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(hostname=hostname).exists():
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker died"
            time.sleep(0.3)
        assert WorkerHeartbeat.objects.filter(hostname=hostname).exists(), "the worker never ran the task"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
