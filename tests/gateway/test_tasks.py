"""gateway/tasks.py: the heartbeat a worker records per queue, and the purge of idempotency keys past 24 hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from gateway import tasks
from gateway.api.idempotency import RETENTION
from gateway.models import IdempotencyKey, WorkerHeartbeat
from tests.tenants.factories import WorkspaceFactory


@pytest.mark.django_db
def test_a_heartbeat_run_outside_a_queue_is_recorded_once_per_host_and_moves_on() -> None:
    tasks.worker_heartbeat_record("celery@h5-test")
    first = WorkerHeartbeat.objects.get(hostname="celery@h5-test")
    assert first.queue == ""  # called directly: no routing key
    tasks.worker_heartbeat_record("celery@h5-test")
    again = WorkerHeartbeat.objects.get(hostname="celery@h5-test")
    assert again.pk == first.pk and again.last_seen_at >= first.last_seen_at


@pytest.mark.django_db
def test_idempotency_keys_are_forgotten_after_their_retention_only() -> None:
    workspace = WorkspaceFactory()
    old, fresh = (
        IdempotencyKey.objects.create(
            workspace=workspace, key=key, method="POST", path="/api/v1/x", request_fingerprint="f" * 64
        )
        for key in ("old", "fresh")
    )
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - RETENTION - timedelta(seconds=1))
    IdempotencyKey.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - RETENTION + timedelta(minutes=1))

    assert tasks.idempotency_keys_purge_task() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
