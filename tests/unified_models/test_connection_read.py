"""unified_models.selectors.connection_get_with_copy: the request's connection, read with a statement compiled once
(gateway.statements.PreparedGet), answers exactly what the ORM's own query answers."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db
from django.db.models import F, FilteredRelation, Q
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.base.data import Resource
from tenants.models import Connection, Workspace
from tests.tenants.factories import ConnectionFactory, TenantFactory, WorkspaceFactory
from unified_models.models import ConnectionMapping
from unified_models.selectors import connection_get_with_copy
from unified_models.store.models import SyncState

pytestmark = pytest.mark.django_db


def orm_read(workspace: Workspace, connection_id: Any, resource: Resource) -> Connection:
    """The query as the ORM builds it per request (the selector before it was prepared)."""
    return (
        Connection.objects.select_related("credential", "mapping")
        .filter(tenant__workspace=workspace)
        .annotate(
            store_state=FilteredRelation("sync_states", condition=Q(sync_states__resource=resource.value)),
            store_first_completed_at=F("store_state__first_completed_at"),
            store_synced_at=F("store_state__last_success_at"),
        )
        .filter(workspace=workspace)
        .get(pk=connection_id)
    )


def same_rows(prepared: Connection, orm: Connection) -> None:
    fields = [field.attname for field in Connection._meta.concrete_fields]
    assert [getattr(prepared, name) for name in fields] == [getattr(orm, name) for name in fields]
    assert prepared.credential.__dict__.keys() == orm.credential.__dict__.keys()
    for name in (field.attname for field in type(orm.credential)._meta.concrete_fields):
        assert getattr(prepared.credential, name) == getattr(orm.credential, name)
    assert hasattr(prepared, "mapping") == hasattr(orm, "mapping")
    if hasattr(orm, "mapping"):
        for name in (field.attname for field in ConnectionMapping._meta.concrete_fields):
            assert getattr(prepared.mapping, name) == getattr(orm.mapping, name)
    for name in ("store_first_completed_at", "store_synced_at"):
        assert getattr(prepared, name) == getattr(orm, name)
    assert not prepared._state.adding and prepared._state.db == orm._state.db


def test_the_prepared_read_answers_what_the_orm_answers_with_and_without_mapping_and_copy() -> None:
    connection = ConnectionFactory()
    workspace = connection.workspace
    bare, _ = connection_get_with_copy(
        workspace=workspace, connection_id=str(connection.pk), resource=Resource.INVOICES
    )
    same_rows(bare, orm_read(workspace, connection.pk, Resource.INVOICES))
    with pytest.raises(ConnectionMapping.DoesNotExist):
        bare.mapping  # noqa: B018 (the reverse one-to-one is known to be absent: no query)

    ConnectionMapping.objects.create(connection=connection, default_item="CONSULT", items_by_code={"a": "B"})
    completed = timezone.now() - timedelta(hours=1)
    SyncState.objects.create(
        connection=connection, resource=Resource.INVOICES.value, first_completed_at=completed, last_success_at=completed
    )
    SyncState.objects.create(connection=connection, resource=Resource.CONTACTS.value)  # another resource, no copy
    for resource in (Resource.INVOICES, Resource.CONTACTS):
        with CaptureQueriesContext(db) as captured:
            read, copy = connection_get_with_copy(
                workspace=workspace, connection_id=str(connection.pk), resource=resource
            )
            read.credential, read.mapping  # noqa: B018 (joined: no further query)
        assert len(captured.captured_queries) == 1
        same_rows(read, orm_read(workspace, connection.pk, resource))
        assert (copy is not None) == (resource is Resource.INVOICES)
    assert copy is None
    _, copy = connection_get_with_copy(
        workspace=workspace, connection_id=str(connection.pk), resource=Resource.INVOICES
    )
    assert copy is not None and copy.connection_id == connection.pk and copy.freshness.synced_at == completed


def test_another_workspaces_connection_or_a_malformed_id_is_not_found() -> None:
    connection = ConnectionFactory()
    other = WorkspaceFactory()
    for workspace, connection_id in (
        (other, str(connection.pk)),
        (connection.workspace, str(uuid.uuid4())),
        (connection.workspace, "not-a-uuid"),
    ):
        with pytest.raises(Http404):
            connection_get_with_copy(workspace=workspace, connection_id=connection_id, resource=Resource.INVOICES)
    # A row whose connection and tenant name different workspaces is shown to neither.
    moved = ConnectionFactory(tenant=TenantFactory(workspace=other), workspace=connection.workspace)
    for workspace in (connection.workspace, other):
        with pytest.raises(Http404):
            connection_get_with_copy(workspace=workspace, connection_id=str(moved.pk), resource=Resource.INVOICES)
