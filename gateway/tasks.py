"""Gateway maintenance tasks."""

import socket

from celery import Task, shared_task

from gateway import services
from gateway.api.idempotency import idempotency_keys_purge


@shared_task(name="gateway.tasks.worker_heartbeat_record", bind=True)
def worker_heartbeat_record(self: Task, hostname: str | None = None) -> None:
    """Scheduled by beat on every queue: records that a worker is consuming the queue it came from."""
    queue = (self.request.delivery_info or {}).get("routing_key") or ""
    services.worker_heartbeat_record(hostname=hostname or self.request.hostname or socket.gethostname(), queue=queue)


@shared_task(name="gateway.tasks.idempotency_keys_purge")
def idempotency_keys_purge_task() -> int:
    """Scheduled by beat: forget idempotency keys after their 24-hour retention."""
    return idempotency_keys_purge()
