"""Writes for workspaces and API keys."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from tenants import keys
from tenants.models import ApiKey, Workspace

# last_used_at is advisory: write it at most once a minute per key instead of on every request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyRejected(Exception):
    """Why a presented key was refused; `code` is the public problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    secret: str  # the full key: shown once, never stored


def workspace_create(*, name: str, slug: str | None = None) -> Workspace:
    return Workspace.objects.create(name=name, slug=slug or slugify(name))


@transaction.atomic
def api_key_create(*, workspace: Workspace, name: str) -> CreatedApiKey:
    generated = keys.generate_key()
    api_key = ApiKey.objects.create(
        workspace=workspace, name=name, prefix=generated.prefix, key_hash=generated.key_hash
    )
    return CreatedApiKey(api_key=api_key, secret=generated.secret)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The active key matching `raw_key`; raises ApiKeyRejected with a specific code otherwise."""
    prefix = keys.parse_key(raw_key)
    if prefix is None:
        raise ApiKeyRejected("malformed_api_key", "The Authorization header does not carry a Ledgerbridge API key.")
    api_key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, keys.hash_key(raw_key)):
        raise ApiKeyRejected("invalid_api_key", "The API key is not known.")
    if api_key.revoked_at is not None:
        raise ApiKeyRejected("revoked_api_key", "The API key has been revoked.")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
