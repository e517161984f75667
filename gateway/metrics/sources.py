"""Scrape-time sources for the sync engine (unified_models.store) and outbound webhooks (events), read from their
tables; registered by GatewayConfig.ready when those apps are installed (gateway/metrics/collectors.py)."""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from gateway.metrics.collectors import DeliveryGauges, SyncGauges
from gateway.metrics.instruments import RESOURCES

# The sync-lag alert fires when the stalest copy is older than this many schedule periods: one late run is normal
# (beat spreads connections over the period, a run may wait for the rate-limit minute), three missed are not.
SYNC_LAG_PERIODS = 3


def sync_lag_thresholds(schedule: Mapping[str, int]) -> dict[str, float]:
    return {resource: float(SYNC_LAG_PERIODS * seconds) for resource, seconds in schedule.items()}


def sync_gauges() -> SyncGauges:
    """Per (connector, resource): the oldest last successful sync among active connections that sync it (a
    connection whose copy never completed counts from its first run's creation), and backfills by state."""
    from tenants.models import ConnectionStatus
    from unified_models.store.models import SyncRunState, SyncState

    now = timezone.now()
    states = SyncState.objects.filter(resource__in=RESOURCES).values(
        "connection__connector",
        "connection__status",
        "resource",
        "first_completed_at",
        "last_success_at",
        "last_error_at",
        "current_run__state",
        "current_run__created_at",
    )
    lag: dict[tuple[str, str], float] = {}
    backfills: dict[tuple[str, str, str], int] = {}
    for row in states.iterator():
        key = (row["connection__connector"], row["resource"])
        running = row["current_run__state"] in (SyncRunState.QUEUED, SyncRunState.RUNNING)
        if row["first_completed_at"] is not None:
            state = "done"
        elif running:
            state = "running"
        elif row["last_error_at"] is not None:
            state = "failed"
        else:
            state = "pending"
        backfills[(*key, state)] = backfills.get((*key, state), 0) + 1
        if row["connection__status"] != ConnectionStatus.ACTIVE:
            continue
        since = row["last_success_at"] or row["current_run__created_at"]
        if since is not None:
            lag[key] = max(lag.get(key, 0.0), (now - since).total_seconds())
    thresholds = sync_lag_thresholds(settings.LEDGERBRIDGE_SYNC_SCHEDULE)
    return SyncGauges(
        lag_seconds=lag,
        lag_threshold_seconds={
            (connector, resource): thresholds[resource]
            for connector, resource in {(c, r) for c, r, _ in backfills} | set(lag)
            if resource in thresholds
        },
        backfills=backfills,
    )


def delivery_gauges() -> DeliveryGauges:
    """Deliveries waiting for an attempt (pending) and the age of the oldest event among them."""
    from events.models import DeliveryStatus, WebhookDelivery

    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).aggregate(
        count=Count("id"), oldest=Min("event__created_at")
    )
    oldest = pending["oldest"]
    return DeliveryGauges(
        pending=pending["count"],
        oldest_pending_age_seconds=max((timezone.now() - oldest).total_seconds(), 0.0) if oldest else 0.0,
    )
