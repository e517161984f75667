"""Writes for workspaces, API keys, tenants, connect links and connections."""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from connectors.base.records import InvalidInput
from connectors.registry import UnknownConnector, get_connector
from tenants import keys
from tenants.models import (
    ApiKey,
    Connection,
    ConnectionStatus,
    ConnectLink,
    Credential,
    Tenant,
    Workspace,
)
from tenants.signals import connection_disconnecting_send, connection_lifecycle_send

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


class LastActiveApiKey(Exception):
    """Revoking this key would leave its workspace without an active key."""


@transaction.atomic
def api_key_revoke_keeping_one(*, api_key: ApiKey) -> ApiKey:
    """Revoke through the API: never the workspace's last active key (LastActiveApiKey), even under concurrency."""
    # Lock the workspace's active keys: two requests revoking the last two keys at once must not both succeed.
    active = list(ApiKey.objects.select_for_update().filter(workspace_id=api_key.workspace_id, revoked_at__isnull=True))
    if api_key.revoked_at is None and [key.pk for key in active] == [api_key.pk]:
        raise LastActiveApiKey(str(api_key.pk))
    api_key.refresh_from_db()
    return api_key_revoke(api_key=api_key)


# Keys that authenticated lately, per process: key hash -> (monotonic expiry, the key's and its workspace's
# column values). Only active keys are kept; fresh instances are built from the values on every hit, so no request
# sees another's changes to them. A revoke or workspace change made in this process drops the entry at once
# (`api_key_cache_forget`, called from tenants.apps' signal receivers); one made in another process is seen here
# within API_KEY_CACHE_SECONDS.
_key_cache: dict[str, tuple[float, dict[str, Any], dict[str, Any]]] = {}
_key_cache_lock = threading.Lock()
_KEY_CACHE_MAX_ENTRIES = 10_000


def _row_values(instance: ApiKey | Workspace) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _from_values(model: type[Any], values: dict[str, Any]) -> Any:
    instance = model(**values)
    instance._state.adding = False
    instance._state.db = "default"
    return instance


def api_key_cache_forget(*, workspace_id: Any = None) -> None:
    """Drop cached keys: those of one workspace, or all of them (`workspace_id` None)."""
    with _key_cache_lock:
        if workspace_id is None:
            _key_cache.clear()
            return
        for key_hash in [h for h, (_, key, _ws) in _key_cache.items() if key["workspace_id"] == workspace_id]:
            del _key_cache[key_hash]


def _cached_key(key_hash: str) -> ApiKey | None:
    entry = _key_cache.get(key_hash)
    if entry is None:
        return None
    expires, key_values, workspace_values = entry
    if time.monotonic() >= expires:
        with _key_cache_lock:
            _key_cache.pop(key_hash, None)
        return None
    api_key: ApiKey = _from_values(ApiKey, key_values)
    api_key.workspace = _from_values(Workspace, workspace_values)
    return api_key


def _cache_key(key_hash: str, api_key: ApiKey) -> None:
    seconds = float(settings.API_KEY_CACHE_SECONDS)
    if seconds <= 0:
        return
    with _key_cache_lock:
        if len(_key_cache) >= _KEY_CACHE_MAX_ENTRIES:
            _key_cache.clear()  # bounded memory; the keys in use come back on their next request
        _key_cache[key_hash] = (time.monotonic() + seconds, _row_values(api_key), _row_values(api_key.workspace))


def api_key_authenticate(*, raw_key: str) -> ApiKey:
    """The active key matching `raw_key`; raises ApiKeyRejected with a specific code otherwise.

    A key that authenticated less than API_KEY_CACHE_SECONDS ago is taken from this process's cache (no SQL).
    """
    prefix = keys.parse_key(raw_key)
    if prefix is None:
        raise ApiKeyRejected("malformed_api_key", "The Authorization header does not carry a Ledgerbridge API key.")
    key_hash = keys.hash_key(raw_key)
    api_key = _cached_key(key_hash)
    if api_key is None:
        api_key = ApiKey.objects.select_related("workspace").filter(prefix=prefix).first()
        if api_key is None or not hmac.compare_digest(api_key.key_hash, key_hash):
            raise ApiKeyRejected("invalid_api_key", "The API key is not known.")
        if api_key.revoked_at is not None:
            raise ApiKeyRejected("revoked_api_key", "The API key has been revoked.")
        _cache_key(key_hash, api_key)
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        with _key_cache_lock:
            entry = _key_cache.get(key_hash)
            if entry is not None:
                entry[1]["last_used_at"] = now
    return api_key


# --- errors a caller can act on --------------------------------------------------------------------------------


def _refused(*, field: str, code: str, message: str) -> InvalidInput:
    """Body content these services refuse: a 422 `validation_error` naming `field` with a public `code` (it ends up
    in problem details)."""
    return InvalidInput(field, message, code=code, problem="validation_error")


class TenantExists(Exception):
    """Another tenant of the workspace already has this external_id."""

    def __init__(self, external_id: str) -> None:
        super().__init__(f"A tenant with external_id '{external_id}' already exists in this workspace.")
        self.external_id = external_id


# --- workspace ---------------------------------------------------------------------------------------------------

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})
# A DNS name, an IPv4 address or a bracketed IPv6 address; no scheme, port, path or wildcard.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_PATTERN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$|^\[[0-9a-f:]+\]$")


def normalise_redirect_host(raw: str) -> str:
    """A bare host name as stored in allowed_redirect_hosts; raises InvalidInput for URLs, paths or ports."""
    # No trimming: " app.example.com" is not a host name (the API schema's pattern says the same).
    host = raw.lower().rstrip(".")
    if not _HOST_PATTERN.match(host):
        raise _refused(
            field="allowed_redirect_hosts",
            code="invalid_host",
            message=f"'{raw}' is not a bare host name (no scheme, port, path or wildcard).",
        )
    return host


@transaction.atomic
def workspace_update(
    *,
    workspace: Workspace,
    name: str | None = None,
    allowed_redirect_hosts: list[str] | None = None,
    logo_url: str | None = None,
) -> Workspace:
    fields: list[str] = []
    if name is not None:
        workspace.name = name
        fields.append("name")
    if allowed_redirect_hosts is not None:
        workspace.allowed_redirect_hosts = sorted({normalise_redirect_host(h) for h in allowed_redirect_hosts})
        fields.append("allowed_redirect_hosts")
    if logo_url is not None:
        workspace.logo_url = logo_url
        fields.append("logo_url")
    if fields:
        workspace.save(update_fields=[*fields, "updated_at"])
    return workspace


def redirect_url_allowed(*, workspace: Workspace, url: str) -> bool:
    """True when `url` may end a connect flow: http(s), a host the workspace allows, https unless local."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        return False
    # Plain http only to the developer's own machine: an authorisation outcome must not travel in clear text.
    if ":" in host:  # urlsplit strips the brackets of an IPv6 literal; stored hosts keep them
        host = f"[{host}]"
    if parts.scheme == "http" and host not in _LOCAL_HOSTS:
        return False
    return host in {h.lower() for h in workspace.allowed_redirect_hosts}


# --- tenants -------------------------------------------------------------------------------------------------------


def tenant_create(*, workspace: Workspace, external_id: str, name: str) -> Tenant:
    try:
        # The savepoint keeps an outer transaction usable after the unique constraint fires.
        with transaction.atomic():
            return Tenant.objects.create(workspace=workspace, external_id=external_id, name=name)
    except IntegrityError:
        if Tenant.objects.filter(workspace=workspace, external_id=external_id).exists():
            raise TenantExists(external_id) from None
        raise


def tenant_update(*, tenant: Tenant, name: str | None = None, external_id: str | None = None) -> Tenant:
    fields: list[str] = []
    if name is not None:
        tenant.name = name
        fields.append("name")
    if external_id is not None and external_id != tenant.external_id:
        tenant.external_id = external_id
        fields.append("external_id")
    if not fields:
        return tenant
    try:
        with transaction.atomic():
            tenant.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise TenantExists(tenant.external_id) from None
    return tenant


def tenant_delete(*, tenant: Tenant) -> None:
    """Delete a tenant with its connections and links; credentials no other connection uses are forgotten."""
    connections = list(Connection.objects.filter(tenant=tenant).select_related("credential"))
    for connection in connections:
        connection_disconnecting_send(connection)  # before the transaction: receivers may call the vendor
    with transaction.atomic():
        for connection in Connection.objects.filter(tenant=tenant).select_related("credential"):
            _connection_delete(connection)
        tenant.delete()


# --- connect links ------------------------------------------------------------------------------------------------

CONNECT_LINK_DEFAULT_TTL = timedelta(hours=1)
CONNECT_LINK_MIN_TTL = timedelta(minutes=5)
# A day at most: the link is a bearer capability for the tenant's books, so it should not linger in inboxes.
CONNECT_LINK_MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class CreatedConnectLink:
    link: ConnectLink
    url: str  # carries the secret token: returned once, never stored

    def __repr__(self) -> str:
        return f"CreatedConnectLink(link={self.link.pk})"


def connect_link_url(token: str) -> str:
    return f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/{token}"


def connect_done_url() -> str:
    """The gateway's own closing page, for links an operator creates without a SaaS page to return to."""
    return f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/done"


def connect_link_create(
    *,
    tenant: Tenant,
    connector_id: str,
    redirect_url: str,
    region: str = "",
    expires_in: timedelta = CONNECT_LINK_DEFAULT_TTL,
    repair_connection: Connection | None = None,
    trusted_redirect: bool = False,
) -> CreatedConnectLink:
    """A single-use link to the hosted connect flow; `trusted_redirect` is for operator-made links only."""
    try:
        connector = get_connector(connector_id)
    except UnknownConnector:
        raise _refused(
            field="connector", code="unknown_connector", message=f"No connector '{connector_id}' is configured."
        ) from None
    if repair_connection is not None:
        if repair_connection.tenant_id != tenant.pk:
            raise _refused(field="connection_id", code="not_found", message="No such connection for this tenant.")
        if repair_connection.connector != connector_id:
            raise _refused(
                field="connector", code="connector_mismatch", message="The connection uses another connector."
            )
        if region and region != repair_connection.region:
            raise _refused(field="region", code="region_mismatch", message="The connection is in another region.")
        region = repair_connection.region
    if region and region not in connector.regions():
        raise _refused(
            field="region",
            code="unknown_region",
            message=f"'{region}' is not a region of {connector.name} ({', '.join(connector.regions())}).",
        )
    if not trusted_redirect and not redirect_url_allowed(workspace=tenant.workspace, url=redirect_url):
        raise _refused(
            field="redirect_url",
            code="redirect_url_not_allowed",
            message="The redirect_url's host is not in the workspace's allowed_redirect_hosts "
            "(https is required except for localhost).",
        )
    if not CONNECT_LINK_MIN_TTL <= expires_in <= CONNECT_LINK_MAX_TTL:
        raise _refused(
            field="expires_in",
            code="out_of_range",
            message=f"expires_in must be {int(CONNECT_LINK_MIN_TTL.total_seconds())} to "
            f"{int(CONNECT_LINK_MAX_TTL.total_seconds())} seconds.",
        )
    token = secrets.token_urlsafe(32)
    link = ConnectLink.objects.create(
        workspace=tenant.workspace,
        tenant=tenant,
        connector=connector_id,
        region=region,
        redirect_url=redirect_url,
        token_hash=keys.hash_key(token),
        repair_connection=repair_connection,
        expires_at=timezone.now() + expires_in,
    )
    return CreatedConnectLink(link=link, url=connect_link_url(token))


def connection_reconnect_link(*, connection: Connection) -> CreatedConnectLink:
    """An operator's link that re-authorises this connection and ends on the gateway's own closing page."""
    return connect_link_create(
        tenant=connection.tenant,
        connector_id=connection.connector,
        redirect_url=connect_done_url(),
        repair_connection=connection,
        trusted_redirect=True,
    )


# --- connections ---------------------------------------------------------------------------------------------------


def connection_disconnect(*, connection: Connection) -> None:
    """Delete the connection; its credential is deleted too when no other connection shares it.

    Exact keeps one token chain per user and app, so a credential still used by another division must stay.
    Receivers of `connection_disconnecting` run first, outside the transaction (they may still call the vendor).
    """
    connection_disconnecting_send(connection)
    with transaction.atomic():
        _connection_delete(connection)


def _connection_delete(connection: Connection) -> None:
    credential_id = connection.credential_id
    connection_lifecycle_send("disconnected", [connection])
    connection.delete()
    if credential_id is None:
        return
    credential = Credential.objects.select_for_update().filter(pk=credential_id).first()
    if credential is not None and not credential.connections.exists():
        credential.delete()


def connection_disable(*, connection: Connection, reason: str) -> Connection:
    """Stop all calls for this connection (an operator's decision); a new consent re-enables it."""
    with transaction.atomic():
        was = connection.status
        connection.status = ConnectionStatus.DISABLED
        connection.status_reason = reason
        connection.save(update_fields=["status", "status_reason", "updated_at"])
        if was != ConnectionStatus.DISABLED:
            connection_lifecycle_send("disabled", [connection])
    return connection
