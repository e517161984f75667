"""Outbound events: the outbox (written in the transaction of the change), webhook endpoints, deliveries, attempts."""

from __future__ import annotations

import uuid

from django.db import models


class EventType(models.TextChoices):
    CONNECTION_CREATED = "connection.created"
    CONNECTION_NEEDS_REAUTH = "connection.needs_reauth"
    CONNECTION_REACTIVATED = "connection.reactivated"
    CONNECTION_DISABLED = "connection.disabled"
    CONNECTION_DISCONNECTED = "connection.disconnected"
    CONTACT_CREATED = "contact.created"
    CONTACT_UPDATED = "contact.updated"
    CONTACT_DELETED = "contact.deleted"
    INVOICE_CREATED = "invoice.created"
    INVOICE_UPDATED = "invoice.updated"
    INVOICE_DELETED = "invoice.deleted"
    SYNC_COMPLETED = "sync.completed"
    SYNC_FAILED = "sync.failed"
    MUTATION_SUCCEEDED = "mutation.succeeded"
    MUTATION_FAILED = "mutation.failed"
    MUTATION_IN_DOUBT = "mutation.in_doubt"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"


class Event(models.Model):
    """One thing that happened, stored in the same transaction as the change it reports (the outbox).

    `sequence` numbers a connection's events 1, 2, 3, … in commit order, so a receiver can order them; events
    about no connection (an endpoint disabled) have none. The id is stable across redeliveries (deduplication).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="events")
    # No foreign key: a connection's last event (disconnected) outlives it.
    connection_id = models.UUIDField(null=True, blank=True)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    type = models.CharField(max_length=64, choices=EventType.choices)
    # Where it came from: "api" (a write through the gateway), "sync" (the sync engine), "system".
    source = models.CharField(max_length=20, default="system")
    data = models.JSONField(default=dict)
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["workspace", "type", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["connection_id", "sequence"], name="event_sequence_unique_per_connection")
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class ConnectionEventCounter(models.Model):
    """The last sequence number given to one connection's events (locked while the next one is taken)."""

    connection_id = models.UUIDField(primary_key=True)
    last_sequence = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.connection_id}: {self.last_sequence}"


class WebhookEndpoint(models.Model):
    """A URL of the SaaS that receives the workspace's events, signed with a secret only it and we know."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True)
    # Event types delivered here; empty: all of them.
    event_types = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True)
    # "whsec_…" secrets, encrypted like vendor credentials; the previous one still signs until it expires (rotation).
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Set by the first failed attempt after a success; an endpoint failing for LEDGERBRIDGE_WEBHOOK_DISABLE_AFTER_DAYS
    # is disabled.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.url

    def accepts(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    # Every attempt of the schedule failed (or the endpoint was disabled); a redelivery starts it again.
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event to one endpoint: attempted on the retry schedule until the receiver answers 2xx."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Attempts of the current round (a redelivery starts a new round; the schedule counts these).
    round_attempts = models.PositiveIntegerField(default=0)
    # Pending: when it is due; while an attempt runs, the end of that attempt's lease.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["endpoint", "created_at"]),
        ]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, the receiver's status, how long it took, the start of its answer."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=1000, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="webhook_attempt_number_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"


class AuditQuerySet(models.QuerySet):
    """Audit rows are appended, never changed or removed (the database refuses too: migration 0002)."""

    def update(self, **kwargs: object) -> int:
        raise AuditImmutable("Audit events cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit events cannot be deleted.")


class AuditImmutable(Exception):
    """An attempt to change or delete an audit event."""


class AuditOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted by the vendor (2xx)"
    REFUSED = "refused", "Refused by the vendor (4xx, 429, 503)"
    VENDOR_ERROR = "vendor_error", "Vendor error (5xx)"
    NO_ANSWER = "no_answer", "No answer (may have been applied)"
    # Appended by reconciliation: the write was found at the vendor, and no row of it says it was accepted (its
    # sender got no answer, or was killed before it could write its rows).
    RECOVERED = "recovered", "Found at the vendor by reconciliation"


class AuditEvent(models.Model):
    """One write request sent to a ledger: who, for which company, the unified input, the exact vendor payload,
    the vendor's answer, timing. Append-only; it outlives the connection (no foreign keys)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace_id = models.UUIDField(db_index=True)
    api_key_prefix = models.CharField(max_length=32, blank=True)  # blank: a write retried by the gateway itself
    request_id = models.CharField(max_length=128, blank=True)
    connection_id = models.UUIDField()
    connector = models.CharField(max_length=50)
    company_id = models.CharField(max_length=100)  # Exact: the division
    mutation_id = models.UUIDField(null=True, blank=True)
    attempt = models.PositiveIntegerField(null=True, blank=True)
    resource = models.CharField(max_length=50)  # contacts, invoices, passthrough, ...
    operation = models.CharField(max_length=20)  # create, update, delete, finalize, or the passthrough method
    target_id = models.CharField(max_length=100, blank=True)
    unified_input = models.JSONField(null=True, blank=True)
    vendor_method = models.CharField(max_length=10)
    vendor_path = models.CharField(max_length=1000)
    # The body exactly as sent (text of the bytes on the wire).
    vendor_payload = models.TextField(blank=True)
    vendor_status = models.PositiveSmallIntegerField(null=True, blank=True)
    remote_id = models.CharField(max_length=100, blank=True)
    vendor_message = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=AuditOutcome.choices)
    duration_ms = models.PositiveIntegerField()
    sent_at = models.DateTimeField()

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]
        indexes = [
            models.Index(fields=["workspace_id", "sent_at"]),
            models.Index(fields=["connection_id", "sent_at"]),
            models.Index(fields=["workspace_id", "remote_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_method} {self.vendor_path} ({self.outcome})"

    def save(self, *args: object, **kwargs: object) -> None:
        if not self._state.adding:
            raise AuditImmutable("Audit events cannot be changed.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise AuditImmutable("Audit events cannot be deleted.")
