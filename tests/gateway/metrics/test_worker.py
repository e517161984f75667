"""gateway/metrics/worker.py: the worker's exporter over real HTTP (404 elsewhere, 401 without the token, the
Prometheus text with it) and each finished task counted by name, queue and outcome with its run time."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from gateway.metrics import instruments, worker


def _count(task: str, queue: str, outcome: str) -> float:
    labels = {"task": task, "queue": queue, "outcome": outcome}
    return instruments.REGISTRY.get_sample_value("ledgerbridge_celery_tasks_total", labels) or 0.0


def _durations(task: str, queue: str) -> float:
    labels = {"task": task, "queue": queue}
    return instruments.REGISTRY.get_sample_value("ledgerbridge_celery_task_duration_seconds_count", labels) or 0.0


@pytest.fixture
def exporter(settings: Any) -> Iterator[str]:
    settings.LEDGERBRIDGE_METRICS_TOKEN = "worker-token"
    server = worker.exporter_start(port=0, host="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_exporter_serves_metrics_only_at_its_path_and_with_the_token(exporter: str) -> None:
    assert httpx.get(f"{exporter}/other").status_code == 404
    refused = httpx.get(f"{exporter}/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'

    served = httpx.get(f"{exporter}/metrics", headers={"Authorization": "Bearer worker-token"})

    assert served.status_code == 200 and served.headers["Cache-Control"] == "no-store"
    assert served.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert "ledgerbridge_celery_tasks" in served.text


def _task(name: str, routing_key: str | None) -> Any:
    return SimpleNamespace(name=name, request=SimpleNamespace(delivery_info={"routing_key": routing_key}))


def test_a_finished_task_is_counted_by_name_queue_and_outcome_with_its_run_time() -> None:
    name = "h5.worker_probe"
    before = (_count(name, "sync", "succeeded"), _durations(name, "sync"), _count(name, "default", "retried"))

    worker.task_started(task_id="t-1")
    worker.task_finished(task_id="t-1", task=_task(name, "sync"), state="SUCCESS")
    worker.task_finished(task_id="t-2", task=_task(name, "an-undeclared-key"), state="RETRY")  # never started here
    worker.task_finished(task_id="t-3", task=_task(name, "sync"), state="REVOKED")  # not an outcome we count

    assert _count(name, "sync", "succeeded") == before[0] + 1
    assert _durations(name, "sync") == before[1] + 1
    assert _count(name, "default", "retried") == before[2] + 1  # an undeclared queue counts as default
    assert _durations(name, "default") == 0  # no start seen: no duration
    assert worker._started == {}
