"""Records the unified API keeps: per-connection ledger mappings, mutations (durable writes), reconciliations.

The vendor call log belongs to the connection and lives in tenants.models.CallLog.
"""

from __future__ import annotations

import uuid

from django.db import models


class ConnectionMapping(models.Model):
    """How a unified invoice becomes vendor lines for one connection (company): edited via API and admin."""

    connection = models.OneToOneField("tenants.Connection", on_delete=models.CASCADE, related_name="mapping")
    # LedgerMapping.to_dict form: [{"code": "high"} or {"rate": "21.00"}, plus "vendor_code": "2"], checked in order.
    tax_rates = models.JSONField(default=list, blank=True)
    default_revenue_ledger_account = models.CharField(max_length=100, blank=True)
    default_sales_journal = models.CharField(max_length=100, blank=True)
    default_purchase_journal = models.CharField(max_length=100, blank=True)
    # Exact requires an item on every sales invoice line; lines without one use this item code.
    default_item = models.CharField(max_length=100, blank=True)
    # {"unified item code": "vendor item code"}
    items_by_code = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mapping of {self.connection_id}"


class MutationStatus(models.TextChoices):
    PENDING = "pending", "Pending (recorded, not sent)"
    SENDING = "sending", "Sending"
    SUCCEEDED = "succeeded", "Succeeded"
    # The vendor refused it, or it failed before anything was sent: safe to send again.
    FAILED = "failed", "Failed (refused or not sent)"
    # Sent without a clear refusal: the write may exist at the vendor; reconciled (looked up) before any resend.
    IN_DOUBT = "in_doubt", "In doubt (may exist at the vendor)"


class Mutation(models.Model):
    """One write to a vendor, stored before it is sent; failed ones stay visible and replayable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="mutations")
    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="mutations")
    resource = models.CharField(max_length=50)  # unified resource: contacts, invoices, ...
    operation = models.CharField(max_length=20)  # create, update, delete, finalize, attach (a file on target_id), ...
    target_id = models.CharField(max_length=100, blank=True)  # the record updated/deleted/finalized
    idempotency_key = models.CharField(max_length=255, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    # The API key the write was requested with (the audit trail names it on every attempt, retries included).
    api_key_prefix = models.CharField(max_length=32, blank=True)
    # The unified input as the client sent it (validated): enough to replay the write.
    request = models.JSONField()
    status = models.CharField(max_length=20, choices=MutationStatus.choices, default=MutationStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    remote_id = models.CharField(max_length=100, blank=True)
    # The unified response on success, or {code, message, vendor: {...}} on failure.
    outcome = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    # Pending or sending: the sender owns the write until then; later it is presumed dead and the write is taken
    # over by reconciliation (a retry or beat's mutations_reconcile).
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    # In doubt: the earliest moment to look the write up at the vendor (a lost request may still be applied).
    reconcile_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # Not a column: on a row this process inserted already claimed (status sending, attempts 1, the lease held),
    # its first attempt, whose row is written when it ends; `mutation_execute` sends it without taking the lease
    # again (unified_models/services.py).
    claimed_attempt: MutationAttempt | None = None

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["connection", "status"]),
            models.Index(fields=["workspace", "created_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]
        # One write per Idempotency-Key in a workspace, also under concurrent requests (gateway.idempotency claims
        # by inserting first); writes sent without a key are not constrained.
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="mutation_idempotency_key_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.resource} ({self.status})"


class MutationAttempt(models.Model):
    """One try at sending a mutation: when, how it ended."""

    mutation = models.ForeignKey(Mutation, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    vendor_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        ordering = ["mutation", "number"]
        constraints = [models.UniqueConstraint(fields=["mutation", "number"], name="mutation_attempt_number_unique")]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.mutation_id}"


class MutationFile(models.Model):
    """The bytes of a file upload (an `attach` mutation) until it lands at the vendor.

    Kept so a failed or in-doubt upload can be sent again (a retry, beat's reconciliation); deleted in the
    transaction that records the mutation's success. Bounded by the vendors' cap (10 MB, checked before the row is
    written). The file's name, media type, size and SHA-256 are the mutation's `request` (shown by the API and
    admin); the bytes are never shown.
    """

    mutation = models.OneToOneField(Mutation, on_delete=models.CASCADE, primary_key=True, related_name="file")
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"file of {self.mutation_id}"


class ReconciliationStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed (the vendor could not be read)"


class Reconciliation(models.Model):
    """One comparison of the writes we made to a connection's ledger in a period with what the ledger holds now.

    `items` lists every record: matched, changed (with the differing fields), missing (we wrote it, it is gone) or
    orphan (it carries our reference format but no write of ours made it); `summary` counts them.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey("tenants.Workspace", on_delete=models.CASCADE, related_name="reconciliations")
    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="reconciliations")
    period_start = models.DateField()
    period_end = models.DateField()  # inclusive
    reference_prefixes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=ReconciliationStatus.choices)
    summary = models.JSONField(default=dict, blank=True)
    items = models.JSONField(default=list, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "created_at"])]

    def __str__(self) -> str:
        return f"reconciliation {self.period_start}..{self.period_end} of {self.connection_id} ({self.status})"
