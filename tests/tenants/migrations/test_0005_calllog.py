"""tenants.0005_calllog with unified_models.0005: the call log moves apps with its rows (and back again)."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("tenants", "0004_credential_token_generation"), ("unified_models", "0004_reconciliation")]
AFTER = [("tenants", "0005_calllog"), ("unified_models", "0005_move_calllog_to_tenants")]


def _migrate(targets: list[tuple[str, str]]):  # type: ignore[no-untyped-def]
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_call_log_keeps_its_rows_when_it_moves_to_tenants_and_back() -> None:
    old = _migrate(BEFORE)
    workspace = old.get_model("tenants", "Workspace").objects.create(name="Move", slug=f"move-{uuid.uuid4().hex[:8]}")
    tenant = old.get_model("tenants", "Tenant").objects.create(workspace=workspace, external_id="t-1", name="T")
    division = old.get_model("tenants", "Connection").objects.create(
        workspace=workspace, tenant=tenant, connector="exact", region="nl", company_id="101", company_name="Div", connected_at=timezone.now()
    )
    old.get_model("unified_models", "CallLog").objects.create(
        connection=division, method="GET", path="/api/v1/101/crm/Accounts", status=200, duration_ms=12, request_id="r-1"
    )
    # A database from before the move knows the model by its old app only.
    content_types = ContentType.objects
    content_types.filter(app_label="tenants", model="calllog").delete()
    content_types.get_or_create(app_label="unified_models", model="calllog")

    new = _migrate(AFTER)
    (moved,) = new.get_model("tenants", "CallLog").objects.filter(connection_id=division.pk)
    assert (moved.method, moved.path, moved.status, moved.duration_ms, moved.request_id) == (
        "GET",
        "/api/v1/101/crm/Accounts",
        200,
        12,
        "r-1",
    )
    assert content_types.filter(app_label="tenants", model="calllog").exists()
    assert not content_types.filter(app_label="unified_models", model="calllog").exists()
    # New rows get ids after the moved one (the id sequence moved with the table).
    later = new.get_model("tenants", "CallLog").objects.create(connection_id=division.pk, method="GET", path="/x", duration_ms=1)
    assert later.pk > moved.pk

    back = _migrate(BEFORE)
    assert back.get_model("unified_models", "CallLog").objects.filter(connection_id=division.pk).count() == 2
    assert content_types.filter(app_label="unified_models", model="calllog").exists()


@pytest.fixture(autouse=True)
def _latest_schema_afterwards():  # type: ignore[no-untyped-def]
    """Migrating back unapplies every later migration that depends on these: put the whole graph back after."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
