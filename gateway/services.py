"""Writes about the gateway process itself."""

from django.utils import timezone

from gateway.models import WorkerHeartbeat


def worker_heartbeat_record(*, hostname: str, queue: str = "") -> WorkerHeartbeat:
    """A worker on `hostname` ran the heartbeat task it took from `queue` (empty: not known)."""
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        hostname=hostname, queue=queue, defaults={"last_seen_at": timezone.now()}
    )
    return heartbeat
