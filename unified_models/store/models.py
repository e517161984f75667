"""The stored copy of each connection's unified records, the sync position per resource, and the sync runs."""

from __future__ import annotations

import uuid

from django.db import models


class StoredRecord(models.Model):
    """One unified record of one connection as the API shows it, with the vendor's raw object.

    `data` is the record exactly as a live read returns it without `remote_data` (so a page from the store is the
    stored JSON, nothing to map); `remote_data` is kept beside it for `?include=remote_data`.
    """

    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="stored_records")
    resource = models.CharField(max_length=40)  # unified resource: contacts, invoices, …
    record_id = models.CharField(max_length=100)  # the unified id (what the API's retrieve takes)
    remote_id = models.CharField(max_length=100)  # the vendor's key (deletions name it)
    data = models.JSONField()
    remote_data = models.JSONField(null=True, blank=True)
    # The vendor's version of the record where it gives one (Exact: the sync Timestamp, a rowversion).
    remote_version = models.BigIntegerField(null=True, blank=True)
    # The record's updated_at (the `updated_after` filter); null when the vendor gives none.
    updated_at = models.DateTimeField(null=True, blank=True)
    contact_id = models.CharField(max_length=100, blank=True)  # the `contact_id` filter (invoices, payments)
    deleted_at = models.DateTimeField(null=True, blank=True)  # soft deletion: the vendor reported it gone
    stored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "resource", "record_id"], name="stored_record_unique"),
        ]
        indexes = [
            models.Index(fields=["connection", "resource", "remote_id"], name="stored_record_remote_id"),
            models.Index(fields=["connection", "resource", "updated_at", "record_id"], name="stored_record_updated"),
            models.Index(fields=["connection", "resource", "contact_id", "record_id"], name="stored_record_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.resource} {self.record_id}"


class SyncRunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    # Its worker died (lease expired); a later run continued from the last committed checkpoint.
    ABANDONED = "abandoned", "Abandoned (worker lost)"


class SyncMode(models.TextChoices):
    INCREMENTAL = "incremental", "Incremental (changes since the checkpoint)"
    FULL = "full", "Full (copy everything again)"


class SyncState(models.Model):
    """Where the copy of one resource of one connection stands; the checkpoint moves only with committed rows."""

    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="sync_states")
    resource = models.CharField(max_length=40)
    # The connector's opaque position; "" = nothing copied yet (the next run is a full copy).
    checkpoint = models.TextField(blank=True)
    phase = models.CharField(max_length=40, blank=True)  # what the last batch was (backfill, changes, snapshot)
    # The vendor's epoch the checkpoint belongs to (Exact: division move dates); a change forces a full copy.
    epoch = models.CharField(max_length=200, blank=True)
    current_run = models.ForeignKey("SyncRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    lease_expires_at = models.DateTimeField(null=True, blank=True)  # the current run's worker is presumed alive
    first_completed_at = models.DateTimeField(null=True, blank=True)  # from then on reads come from the store
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    record_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "resource"], name="sync_state_unique")]

    def __str__(self) -> str:
        return f"sync of {self.resource} for {self.connection_id}"


class SyncRun(models.Model):
    """One sync run of one resource: what it read, stored and deleted, and how it ended."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="sync_runs")
    resource = models.CharField(max_length=40)
    mode = models.CharField(max_length=20, choices=SyncMode.choices, default=SyncMode.INCREMENTAL)
    state = models.CharField(max_length=20, choices=SyncRunState.choices, default=SyncRunState.QUEUED)
    trigger = models.CharField(max_length=40, blank=True)  # schedule, api, admin, webhook, connect
    phase = models.CharField(max_length=40, blank=True)
    batches = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)  # records read and stored
    rows_expected = models.PositiveIntegerField(null=True, blank=True)  # a full copy's size, when the vendor says
    changed = models.PositiveIntegerField(default=0)  # of which new or different from the stored copy
    deleted = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)  # vendor calls made
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "resource", "created_at"], name="sync_run_recent")]

    def __str__(self) -> str:
        return f"{self.mode} sync of {self.resource} ({self.state})"


class InboundSubscription(models.Model):
    """A webhook subscription the gateway keeps at the vendor for a connection (one per topic)."""

    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="inbound_subscriptions")
    topic = models.CharField(max_length=80)
    remote_id = models.CharField(max_length=100)  # the vendor's id of the subscription
    callback_url = models.URLField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField()  # the last time the vendor was seen to have it

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "topic"], name="inbound_subscription_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.topic} subscription of {self.connection_id}"


class InboundEventSeen(models.Model):
    """A vendor webhook event already accepted for a connection: a redelivery of it is not fetched again."""

    connection = models.ForeignKey("tenants.Connection", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)  # the connector's dedupe key
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "key"], name="inbound_event_seen_unique")]
        indexes = [models.Index(fields=["received_at"], name="inbound_event_seen_received")]

    def __str__(self) -> str:
        return self.key
