"""Workspaces (one SaaS product or environment) and their API keys."""

from __future__ import annotations

import uuid

from django.db import models


class Workspace(models.Model):
    """One SaaS product (or one environment of it) that uses the gateway; owns keys and tenants."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
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
