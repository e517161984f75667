"""gateway/statements.py: inserts and an update as one SQL statement that succeeds or fails as a whole; updates
whose text is built once."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from gateway.statements import Update, insert_all, insert_and_update, insert_row, update_rows
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


def test_insert_all_writes_several_rows_and_an_update_in_one_statement() -> None:
    workspace = WorkspaceFactory(name="Before")
    first = Tenant(workspace=workspace, external_id="c-1", name="Customer 1")
    second = Tenant(workspace=workspace, external_id="c-2", name="Customer 2")

    with CaptureQueriesContext(db) as captured:
        changed = insert_all(first, second, update=Update(Workspace, where={"pk": workspace.pk}, values={"name": "A"}))

    assert changed == 1 and len(captured.captured_queries) == 1
    assert sorted(Tenant.objects.filter(workspace=workspace).values_list("external_id", flat=True)) == ["c-1", "c-2"]
    assert Workspace.objects.get(pk=workspace.pk).name == "A"


def test_insert_all_is_all_or_nothing() -> None:
    existing = TenantFactory(workspace=WorkspaceFactory(name="Before"))
    fresh = Tenant(workspace=existing.workspace, external_id="new", name="New")
    duplicate = Tenant(workspace=existing.workspace, external_id=existing.external_id, name="Again")
    update = Update(Workspace, where={"pk": existing.workspace_id}, values={"name": "After"})

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_all(fresh, duplicate, update=update)

    assert Workspace.objects.get(pk=existing.workspace_id).name == "Before"
    assert list(Tenant.objects.filter(workspace=existing.workspace)) == [existing]


def test_update_writes_what_queryset_update_writes_and_only_where_every_field_matches() -> None:
    connection = ConnectionFactory()
    log = CallLog.objects.create(connection=connection, method="GET", path="/p", status=500, duration_ms=1)
    other = CallLog.objects.create(connection=connection, method="GET", path="/q", status=500, duration_ms=1)

    unmatched = Update(CallLog, where={"pk": log.pk, "status": 404}, values={"error": "x"})
    assert update_rows(unmatched) == 0
    with CaptureQueriesContext(db) as captured:
        changed = update_rows(
            Update(CallLog, where={"pk": log.pk, "status": 500}, values={"error": "Boom", "status": 502})
        )
        update_rows(Update(CallLog, where={"pk": other.pk, "status": 500}, values={"error": "Also", "status": 503}))
    assert changed == 1 and len(captured.captured_queries) == 2
    assert captured.captured_queries[0]["sql"].startswith('UPDATE "tenants_calllog" SET "error" = ')
    log.refresh_from_db()
    assert (log.status, log.error, log.path) == (502, "Boom", "/p")


@pytest.mark.parametrize("where", [{"pk": None}, {"pk": F("id")}])
def test_update_refuses_null_and_expressions_in_where(where: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        update_rows(Update(CallLog, where=where, values={"error": "x"}))


def test_statements_are_prepared_at_their_second_run_in_a_session_and_answer_as_before() -> None:
    """prepared_cursor: PostgreSQL plans the hot path's fixed statements once per session (gateway/statements.py)."""
    connection = ConnectionFactory()
    fields = {"connection_id": connection.pk, "method": "GET", "path": "/prepared", "status": 200, "duration_ms": 1}

    def prepared_texts() -> set[str]:
        with db.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
            return {row[0] for row in cursor.fetchall()}

    before = prepared_texts()
    with CaptureQueriesContext(db) as captured:
        for status in (200, 201, 202):
            insert_row(CallLog(**{**fields, "status": status}))
    assert len(captured.captured_queries) == 3  # still seen by Django's execute wrappers and query log
    added = prepared_texts() - before
    assert any(text.startswith('INSERT INTO "tenants_calllog"') and "$1" in text for text in added), added
    statuses = sorted(CallLog.objects.filter(connection=connection, path="/prepared").values_list("status", flat=True))
    assert statuses == [200, 201, 202]
    # A statement that fails on a prepared text leaves the session usable, and the text still prepared.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_row(CallLog(**{**fields, "method": None}))
    insert_row(CallLog(**{**fields, "status": 203}))
    assert CallLog.objects.filter(connection=connection, path="/prepared").count() == 4
