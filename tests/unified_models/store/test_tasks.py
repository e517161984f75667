"""unified_models/store/tasks.py: beat's schedule queues one incremental run per active connection that copies
the resource, each at its own stable offset in the period; live runs and other connectors are left alone; the
queue message leaves only after the commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenants.models import ConnectionStatus
from tests.tenants.factories import ConnectionFactory
from unified_models.store import services, tasks
from unified_models.store.models import SyncMode, SyncRun, SyncRunState, SyncState


def test_a_connections_offset_is_stable_within_the_period_and_differs_per_resource() -> None:
    offsets = [tasks.spread_offset(f"connection-{n}", "invoices", 300.0) for n in range(2_000)]
    assert all(0 <= offset < 300 for offset in offsets)
    assert tasks.spread_offset("connection-7", "invoices", 300.0) == offsets[7]
    assert tasks.spread_offset("connection-7", "contacts", 300.0) != offsets[7]
    # Spread evenly: each of the period's ten slices holds about a tenth of the fleet.
    slices = [sum(1 for offset in offsets if k * 30 <= offset < (k + 1) * 30) for k in range(10)]
    assert min(slices) > 140 and max(slices) < 260, slices


@pytest.mark.django_db
def test_the_schedule_queues_one_run_per_active_connection_that_copies_the_resource(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.LEDGERBRIDGE_SYNC_SCHEDULE = {**settings.LEDGERBRIDGE_SYNC_SCHEDULE, "sales-orders": 900}
    exact = ConnectionFactory()
    ConnectionFactory(company_id="102", status=ConnectionStatus.DISABLED)
    ConnectionFactory(company_id="103", status=ConnectionStatus.NEEDS_REAUTH)
    ConnectionFactory(connector="xero", region="", company_id="xero-org")  # Xero keeps no copy of sales orders
    busy = ConnectionFactory(company_id="104")
    live = services.sync_run_request(connection=busy, resource="sales-orders", trigger="api")
    before = timezone.now()

    with django_capture_on_commit_callbacks() as callbacks:
        assert tasks.sync_schedule("sales-orders") == 1

    (run,) = SyncRun.objects.filter(trigger="schedule")
    assert (run.connection_id, run.resource, run.mode, run.state) == (
        exact.pk,
        "sales-orders",
        SyncMode.INCREMENTAL,
        SyncRunState.QUEUED,
    )
    state = SyncState.objects.get(connection=exact, resource="sales-orders")
    offset = timedelta(seconds=tasks.spread_offset(exact.pk, "sales-orders", 900.0))
    lease = timedelta(seconds=settings.LEDGERBRIDGE_SYNC_LEASE_SECONDS)
    assert before + lease + offset <= state.lease_expires_at <= timezone.now() + lease + offset
    assert SyncState.objects.get(connection=busy, resource="sales-orders").current_run_id == live.pk
    assert len(callbacks) == 1  # the message for the one queued run, sent after the commit


@pytest.mark.django_db
def test_a_subscription_task_for_a_connection_that_is_gone_or_not_active_does_nothing() -> None:
    waiting = ConnectionFactory(status=ConnectionStatus.NEEDS_REAUTH)
    assert tasks.inbound_subscribe(str(waiting.pk)) == 0
    assert tasks.inbound_subscribe("00000000-0000-4000-8000-000000000000") == 0
