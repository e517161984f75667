"""The operator overview in admin (/admin/operations/): what the alerts watch, at a glance, from the same sources.

Connections needing attention, budgets near exhaustion, waiting writes, failing vendor endpoints, sync lag, worker
heartbeats and queue depths. Read-only selectors; gateway/admin.py renders them.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Min
from django.utils import timezone

logger = logging.getLogger(__name__)

LOW_BUDGET_RATIO = 0.10
# A heartbeat older than this means nobody consumes the queue (the alert's threshold, deploy/prometheus/alerts.yaml).
HEARTBEAT_STALE = timedelta(seconds=120)
FAILING_ENDPOINTS_WINDOW = timedelta(hours=1)
_KEY_SEGMENT = re.compile(r"\([^)]*\)")


@dataclass(frozen=True)
class BudgetRow:
    connector: str
    app: str
    division: str
    window: str
    remaining: int
    limit: int

    @property
    def ratio(self) -> float:
        return self.remaining / self.limit if self.limit else 1.0

    @property
    def low(self) -> bool:
        return self.ratio < LOW_BUDGET_RATIO


@dataclass(frozen=True)
class EndpointRow:
    endpoint: str
    calls: int
    errors: int
    unanswered: int
    last_status: int | None


@dataclass(frozen=True)
class QueueRow:
    queue: str
    length: int | None
    last_heartbeat: datetime | None

    @property
    def stale(self) -> bool:
        return self.last_heartbeat is None or timezone.now() - self.last_heartbeat > HEARTBEAT_STALE


@dataclass
class Overview:
    connections_by_status: dict[str, int]
    connections_needing_attention: list[Any]
    budgets: list[BudgetRow]
    budgets_unavailable: bool
    writes_by_status: dict[tuple[str, str], dict[str, Any]]
    writes_waiting: list[Any]
    failing_endpoints: list[EndpointRow]
    queues: list[QueueRow]
    sync: Any | None = None
    errors: list[str] = field(default_factory=list)


def connections_needing_attention(limit: int = 50) -> tuple[dict[str, int], list[Any]]:
    from tenants.models import Connection, ConnectionStatus

    counts = dict(Connection.objects.values_list("status").annotate(n=Count("id")).order_by())
    rows = list(
        Connection.objects.exclude(status=ConnectionStatus.ACTIVE)
        .select_related("tenant", "workspace")
        .order_by("-updated_at")[:limit]
    )
    return {status: counts.get(status, 0) for status in ConnectionStatus.values}, rows


def budgets_nearest_exhaustion(limit: int) -> list[BudgetRow]:
    """The budgets with the fewest daily calls left (the same choice as the budget gauges), both windows."""
    from connectors.base.ratelimit import DAILY, MINUTELY, budget_store, budgets_left

    names = {MINUTELY: "minute", DAILY: "day"}
    rows: dict[str, dict[str, BudgetRow]] = {}
    for left in budgets_left(budget_store(settings.REDIS_URL)):
        window = names.get(left.window)
        if window is None or left.limit <= 0:
            continue
        connector, _, rest = left.key.partition(":")
        app, _, division = rest.rpartition(":")
        rows.setdefault(left.key, {})[window] = BudgetRow(connector, app, division, window, left.remaining, left.limit)
    ordered = sorted(rows.values(), key=lambda windows: windows["day"].remaining if "day" in windows else 10**12)
    return [row for windows in ordered[:limit] for _, row in sorted(windows.items())]


def writes_waiting(limit: int = 50) -> tuple[dict[tuple[str, str], dict[str, Any]], list[Any]]:
    from gateway.metrics.collectors import MUTATION_WAITING_STATUSES, mutation_cause
    from unified_models.models import Mutation

    summary: dict[tuple[str, str], dict[str, Any]] = {}
    rows = (
        Mutation.objects.filter(status__in=MUTATION_WAITING_STATUSES)
        .values("status", "error_code")
        .annotate(n=Count("id"), oldest=Min("created_at"))
        .order_by()
    )
    for row in rows:
        key = (row["status"], mutation_cause(row["status"], row["error_code"]))
        entry = summary.setdefault(key, {"count": 0, "oldest": row["oldest"]})
        entry["count"] += row["n"]
        entry["oldest"] = min(entry["oldest"], row["oldest"])
    waiting = list(
        Mutation.objects.filter(status__in=("failed", "in_doubt"))
        .select_related("connection", "workspace")
        .order_by("created_at")[:limit]
    )
    return dict(sorted(summary.items())), waiting


def failing_endpoints(limit: int = 15) -> list[EndpointRow]:
    """Vendor endpoints with errors (4xx, 5xx or no answer) in the last hour, from the connections' call logs."""
    from tenants.models import CallLog

    since = timezone.now() - FAILING_ENDPOINTS_WINDOW
    calls: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    unanswered: Counter[str] = Counter()
    last: dict[str, int | None] = {}
    recent = (
        CallLog.objects.filter(created_at__gte=since)
        .values("path", "status")
        .annotate(n=Count("id"), latest=Max("created_at"))
        .order_by("latest")
    )
    for row in recent:
        endpoint = _KEY_SEGMENT.sub("", row["path"]).strip("/")[:200]
        calls[endpoint] += row["n"]
        if row["status"] is None:
            unanswered[endpoint] += row["n"]
        if row["status"] is None or row["status"] >= 400:
            errors[endpoint] += row["n"]
            last[endpoint] = row["status"]
    return [
        EndpointRow(endpoint, calls[endpoint], count, unanswered[endpoint], last.get(endpoint))
        for endpoint, count in errors.most_common(limit)
    ]


def queues() -> list[QueueRow]:
    from gateway.metrics.collectors import queues_collect
    from gateway.metrics.instruments import QUEUES
    from gateway.models import WorkerHeartbeat

    seen = dict(
        WorkerHeartbeat.objects.filter(queue__in=QUEUES)
        .values("queue")
        .annotate(last=Max("last_seen_at"))
        .order_by()
        .values_list("queue", "last")
    )
    lengths: dict[str, int] = {}
    try:
        for family in queues_collect():
            lengths.update({sample.labels["queue"]: int(sample.value) for sample in family.samples})
    except Exception:
        logger.exception("operations: the broker could not be asked for queue lengths")
    return [QueueRow(queue, lengths.get(queue), seen.get(queue)) for queue in QUEUES]


def operations_overview() -> Overview:
    """Everything the page shows; a source that fails is named in `errors` and leaves its part empty."""
    errors: list[str] = []
    by_status, attention = connections_needing_attention()
    budgets: list[BudgetRow] = []
    budgets_unavailable = False
    try:
        budgets = budgets_nearest_exhaustion(settings.LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS)
    except Exception:
        logger.exception("operations: the rate-limit store could not be read")
        budgets_unavailable = True
        errors.append("The rate-limit store (Redis) could not be read: budgets are not shown.")
    summary, waiting = writes_waiting()
    sync = None
    from gateway.metrics.collectors import _sources

    if "sync" in _sources:
        try:
            sync = _sources["sync"]()
        except Exception:
            logger.exception("operations: the sync engine's gauges failed")
            errors.append("The sync engine's state could not be read.")
    return Overview(
        connections_by_status=by_status,
        connections_needing_attention=attention,
        budgets=budgets,
        budgets_unavailable=budgets_unavailable,
        writes_by_status=summary,
        writes_waiting=waiting,
        failing_endpoints=failing_endpoints(),
        queues=queues(),
        sync=sync,
        errors=errors,
    )
