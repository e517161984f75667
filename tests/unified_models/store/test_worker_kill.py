"""A real Celery worker killed with SIGKILL in the middle of a backfill: the next run continues from the last
committed checkpoint and the copy ends exact (no missing or duplicate record, at most one page read twice)."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import pytest
from django.conf import settings

from tests.gateway.test_celery import start_worker
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import StoredRecord, SyncRun, SyncRunState, SyncState
from unified_models.store.tasks import sync_run_enqueue

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
]

INVOICES = 12_000


def _worker(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> subprocess.Popen[bytes]:
    # The sandbox, the credential keys of this test run and a short lease (a killed worker's run is taken over
    # after 3 s), then the usual worker.
    for name, value in connected.world.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEDGERBRIDGE_CREDENTIAL_KEYS", ",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS))
    monkeypatch.setenv("LEDGERBRIDGE_SYNC_LEASE_SECONDS", "3")
    return start_worker("sync")


def _stored_count(connected: Connected) -> int:
    return StoredRecord.objects.filter(connection=connected.connection, resource="invoices").count()


def _wait(predicate: Any, worker: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if worker.poll() is not None:
            output = worker.stdout.read().decode() if worker.stdout else ""
            pytest.fail(f"the worker died on its own: {output[-3000:]}")
        time.sleep(0.1)
    runs = list(SyncRun.objects.values_list("state", "rows", "error"))
    worker.kill()
    output = worker.stdout.read().decode() if worker.stdout else ""
    pytest.fail(f"timed out; runs {runs}; worker said: {output[-3000:]}")


def test_a_worker_killed_mid_backfill_resumes_from_its_checkpoint(
    connected: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    control = connected.world.control
    control.seed(connected.division, invoices=INVOICES, lines_per_invoice=2, seed=21)
    # Slow bulk pages down so the kill lands in the middle of the backfill.
    control.add_fault(kind="latency", pattern="/api/v1/*/bulk/SalesInvoice/*", latency_ms=400)
    control.reset_counters()
    run = services.sync_run_request(connection=connected.connection, resource="invoices", trigger="test")
    sync_run_enqueue(run.pk)

    first = _worker(connected, monkeypatch)
    try:
        _wait(lambda: _stored_count(connected) >= 3000, first, timeout=120)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    stored_at_kill = _stored_count(connected)
    state = SyncState.objects.get(connection=connected.connection, resource="invoices")
    assert stored_at_kill < INVOICES and '"phase":"bulk"' in state.checkpoint
    assert SyncRun.objects.get(pk=run.pk).state == SyncRunState.RUNNING  # nobody finished it

    control.clear_faults()
    second = _worker(connected, monkeypatch)
    try:
        # What beat does every period: request a run; once the dead run's lease expired it is taken over.
        deadline = time.monotonic() + 30
        while True:
            try:
                resumed = services.sync_run_request(
                    connection=connected.connection, resource="invoices", trigger="test"
                )
                break
            except services.SyncAlreadyRunning:
                assert time.monotonic() < deadline
                time.sleep(0.5)
        sync_run_enqueue(resumed.pk)
        _wait(
            lambda: SyncRun.objects.get(pk=resumed.pk).state in (SyncRunState.SUCCEEDED, SyncRunState.FAILED),
            second,
            timeout=120,
        )
    finally:
        second.terminate()
        second.wait(timeout=20)

    resumed.refresh_from_db()
    assert resumed.state == SyncRunState.SUCCEEDED, resumed.error
    assert SyncRun.objects.get(pk=run.pk).state == SyncRunState.ABANDONED
    # It continued: only what the first worker had not committed was read again (at most one page twice).
    assert resumed.rows <= INVOICES - stored_at_kill + 1000
    pages = -(-INVOICES // 1000)
    assert sum(connected.calls()["bulk/SalesInvoice/SalesInvoices"].values()) <= pages + 1
    # An exact copy: every invoice of the sandbox once, with its lines, nothing else.
    dump = control.dump(connected.division)
    lines: dict[str, set[str]] = {}
    for line in dump["SalesInvoiceLines"]:
        lines.setdefault(line["InvoiceID"], set()).add(line["ID"])
    stored = {
        row.record_id: row.data
        for row in StoredRecord.objects.filter(connection=connected.connection, resource="invoices")
    }
    assert set(stored) == {row["InvoiceID"] for row in dump["SalesInvoices"]} and len(stored) == INVOICES
    assert all({line["id"] for line in data["lines"]} == lines[record_id] for record_id, data in stored.items())
