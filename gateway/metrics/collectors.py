"""Gauges computed at scrape time (deploy/metrics.yaml: exporters.collector), served by the web exporter only.

Each collector reads one source (PostgreSQL, Redis, the broker). One that fails sets
`ledgerbridge_collector_up{collector}` to 0 and leaves its other metrics out of that scrape; the scrape itself never
fails. Results are cached for CACHE_SECONDS per process, so several Prometheus replicas do not multiply the load.

Parts of the system that live elsewhere add their own source with `scrape_source_register`: the sync engine
registers `sync` (a SyncGauges), outbound webhooks register `deliveries` (a DeliveryGauges). Until they do, those
collectors report nothing, not even `collector_up`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from gateway.metrics import instruments

logger = logging.getLogger(__name__)

CACHE_SECONDS = 15.0
# Below this share of its limit a budget window counts as low (the alert's threshold for the daily window).
LOW_BUDGET_RATIO = 0.10
MUTATION_WAITING_STATUSES = ("pending", "sending", "failed", "in_doubt")
MUTATION_CAUSES = ("request", "transient", "none")
BACKFILL_STATES = ("pending", "running", "done", "failed")

Families = list[GaugeMetricFamily]


@dataclass(frozen=True)
class SyncGauges:
    """What the sync engine reports at scrape time (keys: (connector, resource); resource as in Resource)."""

    # Age in seconds of the oldest last successful sync among the active connections that sync the resource.
    lag_seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    # The lag the schedule allows for the resource.
    lag_threshold_seconds: dict[tuple[str, str], float] = field(default_factory=dict)
    # Backfills by (connector, resource, state) with state in BACKFILL_STATES.
    backfills: dict[tuple[str, str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class DeliveryGauges:
    """What outbound webhooks report at scrape time."""

    pending: int
    # Age of the oldest event still waiting for delivery, 0 when none waits.
    oldest_pending_age_seconds: float


_sources: dict[str, Callable[[], Any]] = {}


def scrape_source_register(collector: str, source: Callable[[], Any]) -> None:
    """Add the scrape-time source of `sync` (returns SyncGauges) or `deliveries` (returns DeliveryGauges)."""
    if collector not in ("sync", "deliveries"):
        raise ValueError(f"metrics: no scrape-time collector {collector!r} takes a source")
    _sources[collector] = source


def _connectors() -> list[str]:
    from connectors.registry import registered_connectors

    return [connector.info.id for connector in registered_connectors()]


def _gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def _age_seconds(moment: datetime | None, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0) if moment is not None else 0.0


# --------------------------------------------------------------------------------------------- the collectors


def connections_collect() -> Families:
    from tenants.models import Connection

    family = _gauge("ledgerbridge_connections", "Connections by status.", ["connector", "status"])
    counts = {
        (row["connector"], row["status"]): row["n"]
        for row in Connection.objects.values("connector", "status").annotate(n=Count("id")).order_by()
    }
    for connector in _connectors():
        for status in instruments.CONNECTION_STATUSES:
            family.add_metric([connector, status], counts.get((connector, status), 0))
    return [family]


def mutation_cause(status: str, error_code: str) -> str:
    """`request` for a failed write its caller must change (a 4xx other than 409 and 429), `transient` for other
    failures, `none` for the other statuses (deploy/metrics.yaml: label mutation_cause)."""
    from unified_models.errors import PROBLEM_CODES

    if status != "failed":
        return "none"
    if error_code == "vendor_refused":  # a passthrough write the vendor answered with a 4xx
        return "request"
    http_status = PROBLEM_CODES.get(error_code, (500, ""))[0]
    return "request" if 400 <= http_status < 500 and http_status not in (409, 429) else "transient"


def mutations_collect() -> Families:
    from unified_models.models import Mutation

    now = timezone.now()
    waiting = _gauge(
        "ledgerbridge_mutations_waiting",
        "Recorded writes that are not done, by status.",
        ["connector", "status", "cause"],
    )
    oldest = _gauge(
        "ledgerbridge_mutations_oldest_waiting_age_seconds",
        "Age of the oldest recorded write in this status (0 when there is none).",
        ["connector", "status", "cause"],
    )
    counts: dict[tuple[str, str, str], int] = {}
    first: dict[tuple[str, str, str], datetime] = {}
    rows = (
        Mutation.objects.filter(status__in=MUTATION_WAITING_STATUSES)
        .values("connection__connector", "status", "error_code")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for row in rows:
        key = (row["connection__connector"], row["status"], mutation_cause(row["status"], row["error_code"]))
        counts[key] = counts.get(key, 0) + row["n"]
        first[key] = min(first.get(key, row["oldest"]), row["oldest"])
    for connector in _connectors():
        for status in MUTATION_WAITING_STATUSES:
            causes = ("request", "transient") if status == "failed" else ("none",)
            for cause in causes:
                key = (connector, status, cause)
                waiting.add_metric(list(key), counts.get(key, 0))
                oldest.add_metric(list(key), _age_seconds(first.get(key), now))
    return [waiting, oldest]


def _budget_labels(key: str) -> tuple[str, str, str]:
    """(connector, app, division) from a budget key `<connector>:<app>:<company>`."""
    connector, _, rest = key.partition(":")
    app, _, division = rest.rpartition(":")
    return connector, app, division


def budgets_collect() -> Families:
    from connectors.base.ratelimit import DAILY, MINUTELY, budget_store, budgets_left

    names = {MINUTELY: "minute", DAILY: "day"}
    remaining = _gauge(
        "ledgerbridge_vendor_budget_remaining",
        "Calls left in the current window of one of the busiest budgets (per vendor app and division).",
        ["connector", "app", "division", "window"],
    )
    limit = _gauge(
        "ledgerbridge_vendor_budget_limit",
        "The window's limit as the vendor last reported it, for the busiest budgets.",
        ["connector", "app", "division", "window"],
    )
    low = _gauge(
        "ledgerbridge_vendor_budget_low_divisions",
        "Budgets (all of them, not only the busiest) with less than 10 % of their window's limit left.",
        ["connector", "window"],
    )
    by_budget: dict[str, dict[str, tuple[int, int]]] = {}
    low_counts: dict[tuple[str, str], int] = {}
    for left in budgets_left(budget_store(settings.REDIS_URL)):
        window = names.get(left.window)
        if window is None or left.limit <= 0:
            continue
        by_budget.setdefault(left.key, {})[window] = (left.remaining, left.limit)
        if left.remaining < LOW_BUDGET_RATIO * left.limit:
            connector = _budget_labels(left.key)[0]
            low_counts[(connector, window)] = low_counts.get((connector, window), 0) + 1
    # The busiest: fewest daily calls left (budgets that reported no daily window come last).
    busiest = sorted(by_budget, key=lambda key: (by_budget[key].get("day", (float("inf"), 0))[0], key))
    for key in busiest[: settings.LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS]:
        connector, app, division = _budget_labels(key)
        for window, (left, window_limit) in sorted(by_budget[key].items()):
            remaining.add_metric([connector, app, division, window], left)
            limit.add_metric([connector, app, division, window], window_limit)
    for connector in sorted(set(_connectors()) | {connector for connector, _ in low_counts}):
        for window in instruments.BUDGET_WINDOWS:
            low.add_metric([connector, window], low_counts.get((connector, window), 0))
    return [remaining, limit, low]


def queues_collect() -> Families:
    from gateway.celery import app as celery_app

    family = _gauge(
        "ledgerbridge_celery_queue_length",
        "Messages waiting in the broker queue (not yet taken by a worker).",
        ["queue"],
    )
    with celery_app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1)
        channel = connection.default_channel
        for queue in instruments.QUEUES:
            # kombu's virtual transports (Redis, filesystem) count without declaring; AMQP answers a passive declare.
            if hasattr(channel, "_size"):
                size = channel._size(queue)
            else:
                size = channel.queue_declare(queue=queue, passive=True).message_count
            family.add_metric([queue], size)
    return [family]


def heartbeats_collect() -> Families:
    from gateway.models import WorkerHeartbeat

    family = _gauge(
        "ledgerbridge_worker_heartbeat_timestamp_seconds",
        "Unix time a worker consuming this queue last ran the heartbeat task (0: never).",
        ["queue"],
    )
    seen = dict(
        WorkerHeartbeat.objects.filter(queue__in=instruments.QUEUES)
        .values("queue")
        .annotate(last=Max("last_seen_at"))
        .order_by()
        .values_list("queue", "last")
    )
    for queue in instruments.QUEUES:
        moment = seen.get(queue)
        family.add_metric([queue], moment.timestamp() if moment is not None else 0.0)
    return [family]


def sync_collect() -> Families:
    gauges: SyncGauges = _sources["sync"]()
    lag = _gauge(
        "ledgerbridge_sync_lag_seconds",
        "For each resource, the age of the oldest last successful sync among the active connections that sync it.",
        ["connector", "resource"],
    )
    threshold = _gauge(
        "ledgerbridge_sync_lag_threshold_seconds",
        "The lag the sync engine's schedule allows for this resource.",
        ["connector", "resource"],
    )
    backfills = _gauge(
        "ledgerbridge_sync_backfills", "Backfills by state; progress is done / all.", ["connector", "resource", "state"]
    )
    for (connector, resource), seconds in sorted(gauges.lag_seconds.items()):
        lag.add_metric([connector, instruments._one_of("resource", resource, instruments.RESOURCES)], seconds)
    for (connector, resource), seconds in sorted(gauges.lag_threshold_seconds.items()):
        threshold.add_metric([connector, instruments._one_of("resource", resource, instruments.RESOURCES)], seconds)
    for (connector, resource, state), count in sorted(gauges.backfills.items()):
        resource = instruments._one_of("resource", resource, instruments.RESOURCES)
        backfills.add_metric([connector, resource, instruments._one_of("state", state, BACKFILL_STATES)], count)
    return [lag, threshold, backfills]


def deliveries_collect() -> Families:
    gauges: DeliveryGauges = _sources["deliveries"]()
    pending = _gauge(
        "ledgerbridge_outbound_deliveries_pending", "Events waiting for their first or a further delivery attempt.", []
    )
    pending.add_metric([], gauges.pending)
    oldest = _gauge(
        "ledgerbridge_outbound_delivery_oldest_pending_age_seconds",
        "Age of the oldest event still waiting for delivery (0 when none waits).",
        [],
    )
    oldest.add_metric([], gauges.oldest_pending_age_seconds)
    return [pending, oldest]


COLLECTORS: dict[str, Callable[[], Families]] = {
    "connections": connections_collect,
    "mutations": mutations_collect,
    "budgets": budgets_collect,
    "deliveries": deliveries_collect,
    "sync": sync_collect,
    "queues": queues_collect,
    "heartbeats": heartbeats_collect,
}
# Collectors whose data lives in another part of the system: they run once it registers a source.
_NEEDS_SOURCE = frozenset({"sync", "deliveries"})

_cache_lock = threading.Lock()
_cache: dict[str, tuple[float, Families | None]] = {}


def collector_run(name: str) -> Families | None:
    """The collector's families (cached for CACHE_SECONDS), or None when it failed."""
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(name)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
    try:
        families: Families | None = COLLECTORS[name]()
    except Exception:
        logger.exception("metrics: the %s collector failed", name)
        families = None
    with _cache_lock:
        _cache[name] = (time.monotonic(), families)
    return families


def cache_clear() -> None:
    with _cache_lock:
        _cache.clear()


class ScrapeTimeCollector:
    """prometheus-client collector over COLLECTORS, with `ledgerbridge_collector_up` for each that ran."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = _gauge(
            "ledgerbridge_collector_up",
            "1 when the collector's scrape-time query succeeded, 0 when it failed.",
            ["collector"],
        )
        for name in COLLECTORS:
            if name in _NEEDS_SOURCE and name not in _sources:
                continue
            families = collector_run(name)
            up.add_metric([name], 0 if families is None else 1)
            yield from families or []
        yield up
