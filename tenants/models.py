"""Workspaces (one SaaS product or environment) and their API keys."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q


class Workspace(models.Model):
    """One SaaS product (or one environment of it) that uses the gateway; owns keys and tenants."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    # Hosts the connect flow may send users back to (exact host names, e.g. "app.example.com" or "localhost").
    allowed_redirect_hosts = models.JSONField(default=list, blank=True)
    # Branding of the hosted connect pages.
    logo_url = models.URLField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """A secret a workspace's backend uses; only its prefix and a SHA-256 hash are stored."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=200)
    # Public, unique part of the key ("lb_" + 12 chars): shown in lists and logs to recognise a key.
    prefix = models.CharField(max_length=32, unique=True, editable=False)
    # SHA-256 of the whole key; keys carry 256 bits of randomness, so a fast hash is enough.
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class VendorApp(models.Model):
    """A workspace's own app registration at a vendor (else the operator's default from settings is used)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="vendor_apps")
    connector = models.CharField(max_length=50)
    client_id = models.CharField(max_length=200)
    client_secret_encrypted = models.TextField(editable=False)
    webhook_secret_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "connector"], name="one_vendor_app_per_connector")]

    def __str__(self) -> str:
        return f"{self.connector} app {self.client_id} ({self.workspace})"


class Tenant(models.Model):
    """One customer of the SaaS product: an organisation whose books live in an accounting system."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tenants")
    external_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "external_id"], name="tenant_external_id_unique_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.external_id})"


class CredentialStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
    REVOKED = "revoked", "Revoked"


class RefreshState(models.TextChoices):
    """Where the last refresh attempt stands; a lost answer stays visible until someone resolves it."""

    IDLE = "idle", "Idle"
    IN_FLIGHT = "in_flight", "Refresh sent, answer pending"
    LOST = "lost", "Refresh sent, answer lost"


class Credential(models.Model):
    """One vendor user's token pair for one app and region, shared by all connections it authorised.

    Exact keeps one refresh-token chain per app and user: two divisions connected by the same user must share
    one credential, or refreshing one would kill the other.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="credentials")
    connector = models.CharField(max_length=50)
    region = models.CharField(max_length=10)
    client_id = models.CharField(max_length=200)
    vendor_user_id = models.CharField(max_length=200)
    vendor_user_name = models.CharField(max_length=200, blank=True)
    access_token_encrypted = models.TextField(editable=False)
    refresh_token_encrypted = models.TextField(editable=False)
    obtained_at = models.DateTimeField()
    access_token_expires_at = models.DateTimeField()
    refresh_token_expires_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=CredentialStatus.choices, default=CredentialStatus.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True)
    refresh_state = models.CharField(max_length=20, choices=RefreshState.choices, default=RefreshState.IDLE)
    refresh_attempt_started_at = models.DateTimeField(null=True, blank=True)
    # Cooldown after a failed refresh attempt (vendor down, refused too early): failed token calls count
    # towards Exact's hourly error limit, so nobody retries before this moment.
    refresh_not_before = models.DateTimeField(null=True, blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    last_refresh_error = models.CharField(max_length=500, blank=True)
    refresh_count = models.PositiveIntegerField(default=0)
    # Bumped on every write of the token pair (refresh, new consent) or of its retirement (another workspace's
    # consent): the token manager writes only `WHERE token_generation = <what it read>`, so a slow refresh
    # (or one whose lock expired) never overwrites a newer pair nor marks a fresh consent as needing re-auth.
    token_generation = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "connector", "region", "client_id", "vendor_user_id"],
                name="one_credential_per_vendor_user",
            )
        ]

    def __str__(self) -> str:
        return f"{self.connector}/{self.region} user {self.vendor_user_name or self.vendor_user_id}"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authorisation"
    DISABLED = "disabled", "Disabled"


class Connection(models.Model):
    """One authorised vendor company (Exact: division) of a tenant. Every data call names exactly one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connections")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connections")
    connector = models.CharField(max_length=50)
    region = models.CharField(max_length=10)
    # Exact: the division code; stored explicitly, never taken from CurrentDivision at call time.
    company_id = models.CharField(max_length=100)
    company_name = models.CharField(max_length=300, blank=True)
    credential = models.ForeignKey(
        Credential, on_delete=models.SET_NULL, null=True, blank=True, related_name="connections"
    )
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE)
    status_reason = models.CharField(max_length=500, blank=True)
    connected_at = models.DateTimeField()
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "connector", "region", "company_id"], name="one_connection_per_company"
            )
        ]
        indexes = [models.Index(fields=["workspace", "status"])]

    def __str__(self) -> str:
        return f"{self.connector}/{self.region}/{self.company_id} ({self.tenant})"


class ConnectLinkStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ConnectLink(models.Model):
    """A short-lived, single-use URL of the hosted connect flow for one tenant."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="connect_links")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="connect_links")
    connector = models.CharField(max_length=50)
    region = models.CharField(max_length=10, blank=True)  # preset by the SaaS, else chosen by the user
    redirect_url = models.URLField(max_length=2000)
    # SHA-256 of the secret token in the link URL; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # SHA-256 of the OAuth `state` sent to the vendor; single use, bound to this link and the browser session.
    oauth_state_hash = models.CharField(max_length=64, blank=True, editable=False)
    oauth_state_used_at = models.DateTimeField(null=True, blank=True)
    # Repairs this connection (needs_reauth) instead of creating a new one.
    repair_connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="repair_links"
    )
    status = models.CharField(max_length=20, choices=ConnectLinkStatus.choices, default=ConnectLinkStatus.PENDING)
    error_code = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["oauth_state_hash"], condition=~Q(oauth_state_hash=""), name="connect_link_state_unique"
            )
        ]

    def __str__(self) -> str:
        return f"connect link for {self.tenant} ({self.status})"


class CallLog(models.Model):
    """One HTTP call to a vendor on behalf of a connection (no bodies: they may carry personal data or secrets)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="call_logs")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=1000)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # null: no answer (timeout, dropped)
    duration_ms = models.PositiveIntegerField()
    rate_limit_remaining = models.IntegerField(null=True, blank=True)
    minutely_remaining = models.IntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["connection", "created_at"], name="tenants_calllog_conn_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"
