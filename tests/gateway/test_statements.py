"""gateway/statements.py: an insert and an update as one SQL statement that succeeds or fails as a whole."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from gateway.statements import insert_and_update, insert_row
from tenants.models import CallLog, Tenant, Workspace
from tests.tenants.factories import ConnectionFactory, TenantFactory, WorkspaceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def test_the_insert_and_the_update_are_one_statement() -> None:
    workspace = WorkspaceFactory(name="Before")
    tenant = Tenant(workspace=workspace, external_id="c-1", name="Customer 1")

    with CaptureQueriesContext(db) as captured:
        changed = insert_and_update(tenant, Workspace.objects.filter(pk=workspace.pk), {"name": "After"})

    assert changed == 1 and len(captured.captured_queries) == 1
    stored = Tenant.objects.get(pk=tenant.pk)
    assert (stored.external_id, stored.name) == ("c-1", "Customer 1") and stored.created_at is not None
    assert Workspace.objects.get(pk=workspace.pk).name == "After"
    assert not tenant._state.adding


def test_a_failing_insert_leaves_the_update_undone() -> None:
    existing = TenantFactory(workspace=WorkspaceFactory(name="Before"))
    duplicate = Tenant(workspace=existing.workspace, external_id=existing.external_id, name="Again")

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_and_update(duplicate, Workspace.objects.filter(pk=existing.workspace_id), {"name": "After"})

    assert Workspace.objects.get(pk=existing.workspace_id).name == "Before"
    assert Tenant.objects.filter(workspace=existing.workspace).count() == 1


def test_insert_row_writes_what_save_writes_in_one_statement() -> None:
    connection = ConnectionFactory()
    fields = {
        "connection_id": connection.pk,
        "method": "GET",
        "path": "/api/v1/101/salesinvoice/SalesInvoices",
        "status": 200,
        "duration_ms": 12,
        "rate_limit_remaining": 4990,
        "minutely_remaining": None,
        "request_id": "req-1",
        "error": "",
    }
    saved = CallLog.objects.create(**fields)

    with CaptureQueriesContext(db) as captured:
        insert_row(CallLog(**fields))
        insert_row(CallLog(**{**fields, "status": None, "error": "ReadTimeout"}))

    assert len(captured.captured_queries) == 2
    assert all(query["sql"].startswith('INSERT INTO "tenants_calllog"') for query in captured.captured_queries)
    rows = list(CallLog.objects.filter(connection=connection).order_by("id"))
    assert len(rows) == 3 and rows[0].pk == saved.pk
    for row in rows[1:]:
        assert row.created_at is not None and abs((row.created_at - saved.created_at).total_seconds()) < 60
    assert {name: getattr(rows[1], name) for name in fields} == {name: getattr(saved, name) for name in fields}
    assert (rows[2].status, rows[2].error) == (None, "ReadTimeout")
