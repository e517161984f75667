"""Gateway maintenance tasks."""

import socket

from celery import shared_task

from gateway import services
from gateway.api.idempotency import idempotency_keys_purge


@shared_task(name="gateway.tasks.worker_heartbeat_record")
def worker_heartbeat_record(hostname: str | None = None) -> None:
    """Scheduled by beat: records that a worker is consuming the maintenance queue."""
    services.worker_heartbeat_record(hostname=hostname or socket.gethostname())


@shared_task(name="gateway.tasks.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    """Scheduled by beat: forget idempotency keys after their 24-hour retention."""
    return idempotency_keys_purge()
