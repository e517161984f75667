"""Gateway maintenance tasks."""

import socket

from celery import shared_task

from gateway import services


@shared_task(name="gateway.tasks.worker_heartbeat_record")
def worker_heartbeat_record(hostname: str | None = None) -> None:
    """Scheduled by beat: records that a worker is consuming the maintenance queue."""
    services.worker_heartbeat_record(hostname=hostname or socket.gethostname())
