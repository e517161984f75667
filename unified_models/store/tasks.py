"""Celery tasks of the local store (queue "sync"): one run per connection and resource, and beat's schedules."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from tenants.models import Connection, ConnectionStatus
from unified_models.store import services
from unified_models.store.models import SyncMode

logger = logging.getLogger(__name__)

SYNC_QUEUE = "sync"


# acks_late + reject_on_worker_lost: a worker killed mid-run leaves the message to be delivered again; the run's
# lease and checkpoint make that safe (the redelivery continues from the last committed batch).
@shared_task(name="unified_models.store.tasks.sync_run", acks_late=True, reject_on_worker_lost=True)
def sync_run(run_id: str) -> str:
    """Execute one requested sync run; its outcome is on the SyncRun row."""
    return str(services.sync_run_execute(run_id=run_id).state)


def sync_run_enqueue(run_id: Any, *, countdown: float = 0) -> None:
    """Queue a run on the sync queue once the current transaction (if any) has committed."""
    transaction.on_commit(
        lambda: sync_run.apply_async(args=[str(run_id)], queue=SYNC_QUEUE, countdown=countdown or None)
    )


def spread_offset(connection_id: Any, resource: str, period: float) -> float:
    """Where in the period this connection's run goes: a stable hash, so a fleet is spread evenly and never
    fired at the same second."""
    digest = hashlib.sha256(f"{connection_id}:{resource}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * period


@shared_task(name="unified_models.store.tasks.sync_schedule")
def sync_schedule(resource: str) -> int:
    """Beat, once per period of `resource`: an incremental run for every active connection that keeps a copy of
    it, each started at its own offset within the period. Returns how many were queued."""
    period = float(settings.LEDGERBRIDGE_SYNC_SCHEDULE[resource])
    queued = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.ACTIVE).iterator():
        if resource not in services.sync_resources(connection):
            continue
        offset = spread_offset(connection.pk, resource, period)
        try:
            run = services.sync_run_request(
                connection=connection,
                resource=resource,
                mode=SyncMode.INCREMENTAL,
                trigger="schedule",
                starts_in=offset,
            )
        except services.SyncAlreadyRunning:
            continue
        sync_run_enqueue(run.pk, countdown=offset)
        queued += 1
    return queued


@shared_task(name="unified_models.store.tasks.sync_epoch_check")
def sync_epoch_check() -> int:
    """Beat: look for vendor epochs that moved (Exact: division moves) and copy those connections again."""
    queued = 0
    for connection in Connection.objects.filter(
        status=ConnectionStatus.ACTIVE, stored_records__isnull=False
    ).distinct():
        try:
            runs = services.sync_epoch_check(connection=connection)
        except Exception:
            logger.exception("Epoch check of connection %s failed", connection.pk)
            continue
        for run in runs:
            sync_run_enqueue(run.pk)
        queued += len(runs)
    return queued
