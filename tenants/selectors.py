"""Reads, always scoped to the caller's workspace: the one place where tenancy is enforced for queries."""

from __future__ import annotations

import uuid
from typing import TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

from tenants import keys
from tenants.models import ApiKey, CallLog, Connection, ConnectLink, Tenant, Workspace

M = TypeVar("M", bound=Model)


def workspace_scoped(queryset: QuerySet[M], *, workspace: Workspace, field: str = "workspace") -> QuerySet[M]:
    """Restrict any queryset to one workspace; every selector that returns workspace data goes through here."""
    return queryset.filter(**{field: workspace})


def scoped_get(queryset: QuerySet[M], *, workspace: Workspace, pk: uuid.UUID | str, field: str = "workspace") -> M:
    """One record of the caller's workspace, or 404: never a hint that it exists in another workspace."""
    try:
        return workspace_scoped(queryset, workspace=workspace, field=field).get(pk=pk)
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:  # a malformed id is simply not found
        raise Http404 from exc


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return workspace_scoped(ApiKey.objects.all(), workspace=workspace)


def api_key_get(*, workspace: Workspace, api_key_id: uuid.UUID | str) -> ApiKey:
    return scoped_get(ApiKey.objects.all(), workspace=workspace, pk=api_key_id)


# --- tenants, connections, connect links ---------------------------------------------------------------------


def tenant_list(*, workspace: Workspace, external_id: str | None = None) -> QuerySet[Tenant]:
    tenants = workspace_scoped(Tenant.objects.all(), workspace=workspace)
    if external_id is not None:
        tenants = tenants.filter(external_id=external_id)
    return tenants


def tenant_get(*, workspace: Workspace, tenant_id: uuid.UUID | str) -> Tenant:
    return scoped_get(Tenant.objects.all(), workspace=workspace, pk=tenant_id)


def connection_list(
    *, workspace: Workspace, tenant_id: uuid.UUID | str | None = None, status: str | None = None
) -> QuerySet[Connection]:
    # Both the connection's and its tenant's workspace: a row whose two disagree is shown to nobody.
    connections = workspace_scoped(
        Connection.objects.select_related("credential").filter(tenant__workspace=workspace), workspace=workspace
    )
    if tenant_id is not None:
        connections = connections.filter(tenant_id=tenant_id)
    if status is not None:
        connections = connections.filter(status=status)
    return connections


def connection_get(
    *, workspace: Workspace, connection_id: uuid.UUID | str, related: tuple[str, ...] = ()
) -> Connection:
    """One connection of the workspace (404 otherwise) with its credential, and the `related` rows another app
    names (its one-to-one rows on the connection), read in the same statement."""
    return scoped_get(
        Connection.objects.select_related("credential", *related).filter(tenant__workspace=workspace),
        workspace=workspace,
        pk=connection_id,
    )


def call_log_list(*, workspace: Workspace, connection_id: uuid.UUID | str) -> QuerySet[CallLog]:
    """The vendor calls made for one of the workspace's connections (404 for another workspace's)."""
    connection = connection_get(workspace=workspace, connection_id=connection_id)
    return CallLog.objects.filter(connection=connection)


def connect_link_for_token(*, token: str) -> ConnectLink | None:
    """The link a browser presents: found by the token's hash (the token itself is never stored).

    Not workspace-scoped on purpose: the hosted flow has no API key; the secret token is the capability.
    """
    return (
        ConnectLink.objects.select_related("workspace", "tenant", "repair_connection")
        .filter(token_hash=keys.hash_key(token))
        .first()
    )


def connect_link_for_state(*, state: str) -> ConnectLink | None:
    """The link an OAuth callback belongs to, found by the hash of its `state` (bound at consent start)."""
    if not state:
        return None
    return (
        ConnectLink.objects.select_related("workspace", "tenant", "repair_connection")
        .filter(oauth_state_hash=keys.hash_key(state))
        .first()
    )


def connect_link_connector(*, link_id: str) -> str | None:
    """The connector id of a link, by its (not secret) id: enough for the closing page to name the vendor."""
    try:
        return ConnectLink.objects.filter(pk=uuid.UUID(link_id)).values_list("connector", flat=True).first()
    except ValueError:
        return None
