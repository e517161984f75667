"""gateway/statements.py: an insert and an update as one SQL statement that succeeds or fails as a whole."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from gateway.statements import insert_and_update
from tenants.models import Tenant, Workspace
from tests.tenants.factories import TenantFactory, WorkspaceFactory

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
