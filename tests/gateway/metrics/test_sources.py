"""Scrape-time sources of the sync engine and outbound webhooks, from their own tables; and their counters, observed
where a sync run or a delivery attempt ends (against a real HTTP receiver)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from events import services as event_services
from events.models import DeliveryStatus, EventType, WebhookDelivery
from gateway.metrics import instruments, sources
from tests.events.factories import WebhookEndpointFactory
from tests.events.receiver import Receiver
from tests.tenants.factories import ConnectionFactory
from unified_models.store.models import SyncRun, SyncRunState, SyncState

pytestmark = pytest.mark.django_db


def _state(connection: Any, resource: str, **fields: Any) -> SyncState:
    return SyncState.objects.create(connection=connection, resource=resource, **fields)


def test_sync_lag_is_the_stalest_active_copy_and_backfills_count_by_state(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_SYNC_SCHEDULE = {"contacts": 300, "invoices": 300}
    now = timezone.now()
    fresh, stale, broken = ConnectionFactory(), ConnectionFactory(company_id="102"), ConnectionFactory(company_id="103")
    _state(fresh, "contacts", first_completed_at=now - timedelta(days=1), last_success_at=now - timedelta(minutes=2))
    _state(stale, "contacts", first_completed_at=now - timedelta(days=1), last_success_at=now - timedelta(hours=2))
    broken.status = "needs_reauth"
    broken.save()
    # A connection that cannot sync does not make the lag: its alert is the re-consent one.
    _state(broken, "contacts", first_completed_at=now - timedelta(days=3), last_success_at=now - timedelta(days=3))
    run = SyncRun.objects.create(connection=fresh, resource="invoices", state=SyncRunState.RUNNING)
    _state(fresh, "invoices", current_run=run)
    _state(stale, "invoices", last_error_at=now, last_error="VendorUnavailable")

    gauges = sources.sync_gauges()

    assert 7150 < gauges.lag_seconds[("exact", "contacts")] < 7300
    assert gauges.lag_threshold_seconds[("exact", "contacts")] == 900  # three schedule periods
    assert gauges.lag_seconds[("exact", "invoices")] < 60  # the backfill under way counts from its start
    assert gauges.backfills == {
        ("exact", "contacts", "done"): 3,
        ("exact", "invoices", "running"): 1,
        ("exact", "invoices", "failed"): 1,
    }


def test_pending_deliveries_and_the_age_of_the_oldest_event() -> None:
    connection = ConnectionFactory()
    WebhookEndpointFactory(workspace=connection.workspace)
    assert sources.delivery_gauges() == sources.DeliveryGauges(pending=0, oldest_pending_age_seconds=0.0)
    event = event_services.event_emit(
        workspace_id=connection.workspace_id, connection_id=connection.pk, type=EventType.INVOICE_CREATED, data={}
    )
    event.created_at = timezone.now() - timedelta(minutes=10)
    event.save(update_fields=["created_at"])
    gauges = sources.delivery_gauges()
    assert gauges.pending == 1 and 595 < gauges.oldest_pending_age_seconds < 700
    WebhookDelivery.objects.update(status=DeliveryStatus.SUCCEEDED)
    assert sources.delivery_gauges().pending == 0


def _deliveries(outcome: str) -> float:
    return instruments.REGISTRY.get_sample_value("ledgerbridge_outbound_deliveries_total", {"outcome": outcome}) or 0.0


def test_delivery_attempts_are_counted_by_outcome_with_the_lag_of_delivered_events() -> None:
    receiver = Receiver().start()
    try:
        connection = ConnectionFactory()
        WebhookEndpointFactory(workspace=connection.workspace, url=receiver.url)
        before = {outcome: _deliveries(outcome) for outcome in ("delivered", "retrying")}
        lag_count = instruments.REGISTRY.get_sample_value("ledgerbridge_outbound_delivery_lag_seconds_count") or 0.0
        receiver.status = 503
        event_services.event_emit(
            workspace_id=connection.workspace_id, connection_id=connection.pk, type=EventType.INVOICE_CREATED, data={}
        )
        delivery = WebhookDelivery.objects.get()
        assert event_services.webhook_delivery_attempt(delivery_id=str(delivery.pk)) == DeliveryStatus.PENDING
        receiver.status = 200
        WebhookDelivery.objects.update(next_attempt_at=timezone.now())
        assert event_services.webhook_delivery_attempt(delivery_id=str(delivery.pk)) == DeliveryStatus.SUCCEEDED
    finally:
        receiver.stop()
    assert _deliveries("retrying") == before["retrying"] + 1
    assert _deliveries("delivered") == before["delivered"] + 1
    assert instruments.REGISTRY.get_sample_value("ledgerbridge_outbound_delivery_lag_seconds_count") == lag_count + 1
