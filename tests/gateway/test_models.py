"""gateway/models.py: one heartbeat row per worker and queue, one stored first response per Idempotency-Key in
a workspace."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from gateway.models import IdempotencyKey, IdempotencyStatus, WorkerHeartbeat
from tests.tenants.factories import WorkspaceFactory


@pytest.mark.django_db
def test_one_heartbeat_per_worker_and_queue() -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="celery@a", queue="vendor", last_seen_at=now)
    WorkerHeartbeat.objects.create(hostname="celery@a", queue="sync", last_seen_at=now)
    WorkerHeartbeat.objects.create(hostname="celery@a", last_seen_at=now)
    assert str(WorkerHeartbeat.objects.get(queue="")).startswith("celery@a (-) @ ")
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkerHeartbeat.objects.create(hostname="celery@a", queue="vendor", last_seen_at=now)


@pytest.mark.django_db
def test_one_stored_response_per_key_in_a_workspace_in_flight_until_completed() -> None:
    workspace = WorkspaceFactory()
    row = IdempotencyKey.objects.create(
        workspace=workspace, key="k-1", method="POST", path="/api/v1/x", request_fingerprint="f" * 64
    )
    assert row.status == IdempotencyStatus.IN_FLIGHT and row.response_body is None
    IdempotencyKey.objects.create(
        workspace=WorkspaceFactory(), key="k-1", method="POST", path="/api/v1/x", request_fingerprint="f" * 64
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        IdempotencyKey.objects.create(
            workspace=workspace, key="k-1", method="PUT", path="/api/v1/y", request_fingerprint="e" * 64
        )
