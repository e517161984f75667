"""Process-level records of the gateway itself."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the heartbeat task of a queue; tells operators whether each queue is served.

    Beat sends the heartbeat to every queue (gateway/settings/celery_settings.py), so one row per worker and queue.
    """

    hostname = models.CharField(max_length=255)
    # The queue the heartbeat was delivered from (empty: sent directly, not through a queue's routing key).
    queue = models.CharField(max_length=100, blank=True, default="")
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [models.UniqueConstraint(fields=["hostname", "queue"], name="worker_heartbeat_unique")]
        indexes = [models.Index(fields=["queue", "last_seen_at"])]

    def __str__(self) -> str:
        return f"{self.hostname} ({self.queue or '-'}) @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class IdempotencyStatus(models.TextChoices):
    IN_FLIGHT = "in_flight", "In flight"
    COMPLETED = "completed", "Completed"


class IdempotencyKey(models.Model):
    """The first response to a write sent with an `Idempotency-Key`, replayed for 24 hours (Stripe semantics)."""

    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    # SHA-256 over method, path and the canonical JSON body: the same key with another request is refused.
    request_fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=20, choices=IdempotencyStatus.choices, default=IdempotencyStatus.IN_FLIGHT)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
