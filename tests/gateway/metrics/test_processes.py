"""Issue 16's acceptance: gunicorn with 2 workers (deploy/gunicorn.conf.py) and a real Celery worker serve real traffic
against the Exact sandbox; /metrics and the worker's exporter report counters summed over every process, including
processes that were recycled meanwhile, and together they export every metric of the catalogue with its labels."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.utils import timezone
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from bench.chaos_writes import free_port, wait_for_port
from gateway.tasks import worker_heartbeat_record
from tenants.models import Credential
from tenants.tasks import credentials_keepalive
from tests.deploy import catalogue
from tests.fixtures.exact import subprocess_env
from tests.gateway.test_celery import database_url_for_subprocess
from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory, age_credential, connect_via_sandbox

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "acceptance-scrape-token"
ROUTE = "api/v1/connections/<str:connection_id>/journals"
HEARTBEATS = 12

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()


def _scrape(url: str) -> tuple[Samples, dict[str, set[frozenset[str]]]]:
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    assert response.status_code == 200, response.text[:500]
    samples: Samples = {}
    label_sets: dict[str, set[frozenset[str]]] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
            label_sets.setdefault(sample.name, set()).add(frozenset(set(sample.labels) - {"le"}))
    return samples, label_sets


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _per_process(directory: Path, name: str, **labels: str) -> dict[str, float]:
    """What each process's file (and the archive of dead ones) holds for one counter series."""
    found = {}
    for file in directory.glob("counter_*.db"):
        for key, value, _, _ in MmapedDict.read_all_values_from_file(str(file)):
            if f'"{name}"' in key and all(f'"{k}": "{v}"' in key for k, v in labels.items()):
                found[file.stem.removeprefix("counter_")] = found.get(file.stem.removeprefix("counter_"), 0) + value
    return found


def test_counters_are_summed_across_gunicorn_workers_and_celery_processes(exact_world_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    web_port, worker_port = free_port(), free_port()
    world = exact_world_factory(public_url=f"http://127.0.0.1:{web_port}")
    workspace = WorkspaceFactory()
    api_key = ApiKeyFactory(workspace=workspace)
    credential, [connection] = connect_via_sandbox(world, workspace=workspace)
    env = subprocess_env(
        world,
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
        DATABASE_URL=database_url_for_subprocess(),
        LEDGERBRIDGE_CREDENTIAL_KEYS=",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS),
        LEDGERBRIDGE_METRICS_TOKEN=TOKEN,
        LEDGERBRIDGE_METRICS_WORKER_PORT=str(worker_port),
    )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web_dir, worker_dir = tmp_path / "web-metrics", tmp_path / "worker-metrics"
    gunicorn = [
        sys.executable, "-m", "gunicorn", "gateway.wsgi:application", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{web_port}", "--workers", "2",
        # Recycle workers during the run: their counts must survive them (folded into the archive file).
        "--max-requests", "9",
    ]  # fmt: skip
    celery = [
        sys.executable, "-m", "celery", "-A", "gateway", "worker", "-Q", "maintenance", "--concurrency", "2",
        "--max-tasks-per-child", "4", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    web_url, worker_url = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{worker_port}"
    api = httpx.Client(base_url=web_url, headers={"Authorization": f"Bearer {api_key.secret}"}, timeout=60)

    with (
        _process(gunicorn, {**env, "PROMETHEUS_MULTIPROC_DIR": str(web_dir)}, tmp_path / "gunicorn.log"),
        _process(celery, {**env, "PROMETHEUS_MULTIPROC_DIR": str(worker_dir)}, tmp_path / "worker.log"),
    ):
        wait_for_port(web_port)
        wait_for_port(worker_port)

        # --- web: real reads against the sandbox, in parallel so both workers serve them -------------------------
        def read_journals(_: int) -> int:
            return api.get(f"/api/v1/connections/{connection.pk}/journals", params={"page_size": 2}).status_code

        sent = 0
        # Which processes had counted these reads, seen while they ran: by the last scrape the workers that served
        # them may all have been recycled (--max-requests counts the scrapes too), leaving only the archive.
        seen: dict[str, float] = {}
        with ThreadPoolExecutor(max_workers=6) as pool:
            for _batch in range(6):
                statuses = list(pool.map(read_journals, range(12)))
                assert statuses == [200] * 12
                sent += 12
                seen = _per_process(web_dir, "ledgerbridge_http_requests_total", route=ROUTE)
                if len(seen) >= 3:
                    break
        # Exact's error limit: after 2 errors on an endpoint it blocks the key there (the sandbox's limit, lowered).
        world.control.set_limits(error_limit=2)
        missing = f"/api/v1/connections/{connection.pk}/ledger-accounts/11111111-2222-3333-4444-555555555555"
        assert [api.get(missing).status_code for _ in range(3)] == [404, 404, 429]
        web, web_labels = _scrape(f"{web_url}/metrics")
        again, _ = _scrape(f"{web_url}/metrics")  # whichever worker answers, the same sums
        blocked = {"connector": "exact", "endpoint": "financial/GLAccounts"}
        assert _value(web, "ledgerbridge_vendor_error_limit_blocks_total", **blocked) == 1
        requests = {"route": ROUTE, "method": "GET", "status": "200"}
        per_process = _per_process(web_dir, "ledgerbridge_http_requests_total", **requests)
        live = [name for name in seen if name != "archive"]
        assert len(live) + ("archive" in seen) >= 2, seen  # more than one process counted
        assert "archive" in per_process, "a recycled worker's counts were folded into the archive"
        assert _value(web, "ledgerbridge_http_requests_total", **requests) == sent == sum(per_process.values())
        assert _value(again, "ledgerbridge_http_requests_total", **requests) == sent
        vendor = {"connector": "exact", "endpoint": "financial/Journals", "method": "GET", "status": "200"}
        assert _value(web, "ledgerbridge_vendor_requests_total", **vendor) >= sent
        assert _value(web, "ledgerbridge_connections", connector="exact", status="active") == 1
        assert _value(web, "ledgerbridge_collector_up", collector="mutations") == 1

        # --- worker: a token refresh against the sandbox and heartbeats, over several prefork children ----------
        age_credential(world, credential, 3600)
        Credential.objects.filter(pk=credential.pk).update(refresh_token_expires_at=timezone.now() + timedelta(days=2))
        credentials_keepalive.delay()
        for _ in range(HEARTBEATS):
            worker_heartbeat_record.apply_async(args=["acceptance"], queue="maintenance")
        tasks = {"task": "gateway.tasks.worker_heartbeat_record", "queue": "maintenance", "outcome": "succeeded"}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            worker, worker_labels = _scrape(f"{worker_url}/metrics")
            done = _value(worker, "ledgerbridge_celery_tasks_total", **tasks)
            if done >= HEARTBEATS and _value(
                worker, "ledgerbridge_token_refreshes_total", connector="exact", outcome="refreshed"
            ):
                break
            time.sleep(0.5)
        assert _value(worker, "ledgerbridge_celery_tasks_total", **tasks) == HEARTBEATS
        assert sum(_per_process(worker_dir, "ledgerbridge_celery_tasks_total", **tasks).values()) == HEARTBEATS
        assert len(_per_process(worker_dir, "ledgerbridge_celery_tasks_total", **tasks)) >= 2  # children, recycled
        assert _value(worker, "ledgerbridge_token_refreshes_total", connector="exact", outcome="refreshed") == 1
        token = {"connector": "exact", "endpoint": "oauth2/token", "method": "POST", "status": "200"}
        assert _value(worker, "ledgerbridge_vendor_requests_total", **token) == 1
        # The web's requests are not in the worker's exporter, nor the worker's tasks in the web's /metrics.
        assert _value(worker, "ledgerbridge_http_requests_total", **requests) == 0
        assert _value(web, "ledgerbridge_celery_tasks_total", **tasks) == 0
        unauthorised = httpx.get(f"{worker_url}/metrics", timeout=10)
        assert unauthorised.status_code == 401 and b"ledgerbridge_" not in unauthorised.content

        # Scrape-time gauges are cached for 15 s per process: the heartbeats show within that.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            web, web_labels = _scrape(f"{web_url}/metrics")
            if _value(web, "ledgerbridge_worker_heartbeat_timestamp_seconds", queue="maintenance"):
                break
            time.sleep(1)
        assert _value(web, "ledgerbridge_worker_heartbeat_timestamp_seconds", queue="maintenance") > time.time() - 120

    # --- every metric of the catalogue is exported, with exactly its declared labels ------------------------------
    exported = {**web_labels}
    for name, label_sets in worker_labels.items():
        exported.setdefault(name, set()).update(label_sets)
    metrics = catalogue.load()
    # Sync and outbound deliveries report through sources their engines register (gateway/metrics/collectors.py).
    pending = {name for name, metric in metrics.metrics.items() if metric.group in ("Sync", "Outbound deliveries")}
    for metric in metrics.metrics.values():
        names = (
            [f"{metric.name}_bucket", f"{metric.name}_sum", f"{metric.name}_count"]
            if metric.type == "histogram"
            else [metric.name]
        )
        for name in names:
            if name not in exported:
                assert metric.name in pending and metric.type != "counter", f"{name} is not exported"
                continue
            assert exported[name] == {frozenset(metric.label_names)}, (name, exported[name])
    assert {catalogue_metric for name in exported if (catalogue_metric := metrics.metric_for_series(name))} <= set(
        metrics.metrics.values()
    )
    assert all(metrics.metric_for_series(name) is not None for name in exported), "only catalogued metrics"
