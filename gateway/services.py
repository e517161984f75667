"""Writes about the gateway process itself."""

from django.utils import timezone

from gateway.models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat
