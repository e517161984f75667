"""Reads of the unified API: records through the connection's connector, the ledger mapping, signed list cursors.

Connections are always loaded through tenants.selectors (workspace scoping, 404 otherwise). Vendor reads run
outside any transaction (the token manager refuses to refresh inside one).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import F, FilteredRelation, Q, QuerySet
from django.http import Http404

from connectors.base.connector import Connector, Operation
from connectors.base.data import ListQuery, OperationNotSupported, Page, PassthroughResult, Resource
from connectors.base.mapping import LedgerMapping
from connectors.base.records import Attachment, AttachmentContent
from connectors.registry import get_connector
from gateway.api.problems import Problem
from gateway.statements import PreparedGet
from tenants import selectors as tenant_selectors
from tenants.models import Connection, Workspace
from tenants.vendor_calls import connection_context
from unified_models.models import ConnectionMapping, Mutation, Reconciliation
from unified_models.store.models import SyncState
from unified_models.store.selectors import (
    STORE_CURSOR_PREFIX,
    Freshness,
    StoreCopy,
    store_copy_known,
    store_cursor_position,
)

_CURSOR_SALT = "unified_models.list-cursor"


def connection_get(*, workspace: Workspace, connection_id: str, store_resource: Resource | None = None) -> Connection:
    """A connection of the caller's workspace, or 404; with its credential and ledger mapping in the same read, so
    the request's vendor calls (`connection_context(..., current=True)`) and writes need no second one.

    With `store_resource` (a write of that resource follows), the same statement also says whether the resource
    has a store copy: the write's answer is then stored (`store_written_record`) without a statement to ask."""
    if store_resource is None:
        return tenant_selectors.connection_get(workspace=workspace, connection_id=connection_id, related=("mapping",))
    connection, copy = connection_get_with_copy(
        workspace=workspace, connection_id=connection_id, resource=store_resource
    )
    store_copy_known(connection, store_resource, has_copy=copy is not None)
    return connection


def _connection_with_copy_query(
    *, workspace_id: uuid.UUID, connection_id: uuid.UUID, resource: str
) -> QuerySet[Connection]:
    # What tenant_selectors.connection_get reads (scoped to the connection's workspace and its tenant's, with its
    # credential), with the mapping and the resource's sync state joined.
    workspace = Workspace(pk=workspace_id)
    return tenant_selectors.workspace_scoped(
        Connection.objects.select_related("credential", "mapping")
        .filter(tenant__workspace=workspace)
        .annotate(
            store_state=FilteredRelation("sync_states", condition=Q(sync_states__resource=resource)),
            store_first_completed_at=F("store_state__first_completed_at"),
            store_synced_at=F("store_state__last_success_at"),
        ),
        workspace=workspace,
    ).filter(pk=connection_id)


# Read on every unified request: the ORM builds and compiles it once per process, not per request (building it
# cost more than PostgreSQL takes to answer it).
_connection_with_copy = PreparedGet(
    _connection_with_copy_query,
    workspace_id=Workspace._meta.get_field("id"),
    connection_id=Connection._meta.get_field("id"),
    resource=SyncState._meta.get_field("resource"),
)


def connection_get_with_copy(
    *, workspace: Workspace, connection_id: str, resource: Resource
) -> tuple[Connection, StoreCopy | None]:
    """`connection_get`, and in the same statement the connection's store copy of `resource` when reads can come
    from it (its first sync completed; `store_selectors.store_copy`'s answer) and when its last sync ended: a
    one-record read knows where to read from without a statement of its own. The copy's row is the connection's
    (a LEFT JOIN on it), so it is scoped exactly as the connection is."""
    try:
        connection = _connection_with_copy.get(
            workspace_id=workspace.pk, connection_id=connection_id, resource=resource.value
        )
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:  # a malformed id is simply not found
        raise Http404 from exc
    if getattr(connection, "store_first_completed_at", None) is None:
        return connection, None
    return connection, StoreCopy(
        connection_id=connection.pk, freshness=Freshness(synced_at=getattr(connection, "store_synced_at", None))
    )


# ---------------------------------------------------------------------------------------------- cursors


def _invalid_cursor() -> Problem:
    return Problem(
        status_code=400,
        code="invalid_cursor",
        title="Invalid cursor",
        detail="The cursor is not valid for this list; start again from the first page.",
        errors=[{"field": "cursor", "code": "invalid", "message": "Not a cursor issued by this API for this list."}],
    )


def cursor_sign(
    *, connection_id: uuid.UUID, resource: Resource, vendor_cursor: str, updated_after: datetime | None
) -> str:
    """Wrap the connector's opaque cursor: signed, bound to this connection, resource and filter."""
    payload = {
        "k": str(connection_id),
        "r": resource.value,
        "u": updated_after.isoformat() if updated_after else None,
        "c": vendor_cursor,
    }
    return signing.dumps(payload, salt=_CURSOR_SALT, compress=True)


def cursor_unsign(*, connection_id: uuid.UUID, resource: Resource, cursor: str, updated_after: datetime | None) -> str:
    """The connector's cursor inside one of ours; 400 `invalid_cursor` if forged or from another list."""
    try:
        payload = signing.loads(cursor, salt=_CURSOR_SALT)
    except signing.BadSignature:
        raise _invalid_cursor() from None
    expected_filter = updated_after.isoformat() if updated_after else None
    if (
        not isinstance(payload, dict)
        or payload.get("k") != str(connection_id)
        or payload.get("r") != resource.value
        or payload.get("u") != expected_filter
        or not isinstance(payload.get("c"), str)
    ):
        raise _invalid_cursor()
    return str(payload["c"])


def store_cursor_sign(
    *, connection_id: uuid.UUID, resource: Resource, position: str | None, updated_after: datetime | None
) -> str | None:
    """A store page's position as one of our signed cursors (None at the end)."""
    if position is None:
        return None
    return cursor_sign(
        connection_id=connection_id, resource=resource, vendor_cursor=position, updated_after=updated_after
    )


def store_cursor_after(
    *,
    connection_id: uuid.UUID,
    resource: Resource,
    cursor: str | None,
    updated_after: datetime | None,
    filters: dict[str, str],
) -> str | None:
    """The record id a store page continues after; 400 `invalid_cursor` for a live cursor or another list's."""
    if not cursor:
        return None
    position = cursor_unsign(connection_id=connection_id, resource=resource, cursor=cursor, updated_after=updated_after)
    return store_cursor_position(position, filters)


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RecordPage:
    records: list[Any]
    next_cursor: str | None  # ours (signed), not the connector's


def record_list(
    *,
    connection: Connection,
    resource: Resource,
    page_size: int,
    cursor: str | None = None,
    updated_after: datetime | None = None,
    include_remote_data: bool = False,
    filters: dict[str, str] | None = None,
) -> RecordPage:
    """One page of records from the vendor, in the connector's stable order."""
    connector = _connector_supporting(connection, resource, Operation.LIST)
    vendor_cursor = (
        cursor_unsign(connection_id=connection.pk, resource=resource, cursor=cursor, updated_after=updated_after)
        if cursor
        else None
    )
    if vendor_cursor is not None and vendor_cursor.startswith(STORE_CURSOR_PREFIX):
        raise _invalid_cursor()  # a page of the local store continues there, not at the vendor
    ctx = connection_context(connection, current=True)
    page: Page[Any] = connector.list_records(
        ctx,
        resource,
        ListQuery(
            page_size=page_size,
            cursor=vendor_cursor,
            updated_after=updated_after,
            include_remote_data=include_remote_data,
            filters=dict(filters or {}),
        ),
    )
    next_cursor = (
        cursor_sign(
            connection_id=connection.pk, resource=resource, vendor_cursor=page.next_cursor, updated_after=updated_after
        )
        if page.next_cursor
        else None
    )
    return RecordPage(records=list(page.records), next_cursor=next_cursor)


def record_retrieve(
    *, connection: Connection, resource: Resource, record_id: str, include_remote_data: bool = False
) -> Any:
    """One record by id (VendorNotFound when the vendor has none)."""
    connector = _connector_supporting(connection, resource, Operation.RETRIEVE)
    ctx = connection_context(connection, current=True)
    return connector.retrieve_record(ctx, resource, record_id, include_remote_data=include_remote_data)


# ---------------------------------------------------------------------------------------------- mapping


def mapping_get(*, connection: Connection) -> tuple[LedgerMapping, ConnectionMapping | None]:
    """The connection's ledger mapping (empty defaults when none was saved) and its row, if any."""
    try:
        # Read with the connection when it was loaded by `connection_get` (a reverse one-to-one select_related).
        stored: ConnectionMapping | None = connection.mapping  # type: ignore[attr-defined]
    except ConnectionMapping.DoesNotExist:
        stored = None
    if stored is None:
        return LedgerMapping(), None
    return (
        LedgerMapping.from_dict(
            {
                "tax_rates": stored.tax_rates,
                "default_revenue_ledger_account": stored.default_revenue_ledger_account,
                "default_sales_journal": stored.default_sales_journal,
                "default_purchase_journal": stored.default_purchase_journal,
                "default_item": stored.default_item,
                "items_by_code": stored.items_by_code,
            }
        ),
        stored,
    )


def connector_for(connection: Connection) -> Connector:
    return get_connector(connection.connector)


def _connector_supporting(connection: Connection, resource: Resource, operation: Operation) -> Connector:
    """The connection's connector, if it declares `operation` on `resource` (else 405, before any vendor call)."""
    connector = connector_for(connection)
    if not connector.supports(resource, operation):
        raise OperationNotSupported(resource.value, operation.value, connector.name)
    return connector


# ---------------------------------------------------------------------------------------------- operations


def mutation_list(
    *, workspace: Workspace, status: str | None = None, connection_id: str | None = None
) -> QuerySet[Mutation]:
    """The workspace's recorded writes, newest first, with their attempts; filtered by status and connection."""
    mutations = tenant_selectors.workspace_scoped(
        Mutation.objects.prefetch_related("attempt_log"), workspace=workspace
    ).filter(connection__tenant__workspace=workspace)
    if status is not None:
        mutations = mutations.filter(status=status)
    if connection_id is not None:
        mutations = mutations.filter(connection_id=connection_id)
    return mutations


def mutation_get(*, workspace: Workspace, mutation_id: str) -> Mutation:
    """One recorded write of the caller's workspace, or 404 (also for another workspace's)."""
    return tenant_selectors.scoped_get(
        Mutation.objects.prefetch_related("attempt_log").filter(connection__tenant__workspace=workspace),
        workspace=workspace,
        pk=mutation_id,
    )


def company_get(*, connection: Connection, include_remote_data: bool = False) -> Any:
    """The connection's company (connectors.base.records.CompanyInfo), read from the vendor."""
    record = connector_for(connection).company_info(connection_context(connection))
    return record if include_remote_data else record.without_remote_data()


def passthrough_get(*, connection: Connection, path: str, query: dict[str, str]) -> PassthroughResult:
    """A raw vendor GET relative to the connection's company (the connector refuses paths that leave it)."""
    ctx = connection_context(connection, current=True)
    return connector_for(connection).passthrough(ctx, method="GET", path=path, query=query, body=None)


# ---------------------------------------------------------------------------------------------- reconciliations


def reconciliation_list(*, connection: Connection) -> QuerySet[Reconciliation]:
    return Reconciliation.objects.filter(connection=connection)


def reconciliation_get(*, connection: Connection, reconciliation_id: str) -> Reconciliation:
    try:
        return Reconciliation.objects.get(connection=connection, pk=reconciliation_id)
    except (Reconciliation.DoesNotExist, ValidationError, ValueError) as exc:  # a malformed id is simply not found
        raise Http404 from exc


# ---------------------------------------------------------------------------------------------- attachments


def attachable_connector(*, connection: Connection, resource: Resource) -> Connector:
    """The connection's connector, if it takes attachments on this resource (OperationNotSupported otherwise)."""
    connector = connector_for(connection)
    if not connector.supports_attachments(resource.value):
        raise OperationNotSupported(resource.value, "attachments", connector.name)
    return connector


def attachment_list(*, connection: Connection, resource: Resource, record_id: str) -> list[Attachment]:
    """The files attached to one record, read from the vendor."""
    connector = attachable_connector(connection=connection, resource=resource)
    return connector.attachment_list(connection_context(connection), resource, record_id)


def attachment_content(
    *, connection: Connection, resource: Resource, record_id: str, attachment_id: str
) -> AttachmentContent:
    """One attached file's bytes, read from the vendor (not_found for a file of another record)."""
    connector = attachable_connector(connection=connection, resource=resource)
    return connector.attachment_content(connection_context(connection), resource, record_id, attachment_id)
