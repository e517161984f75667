"""Every counter and histogram of deploy/metrics.yaml, defined once, and the functions that observe them.

The rest of the code never touches an instrument: it calls `<thing>_observe(...)` with plain values, and these
functions map them onto the catalogue's bounded label sets (a status code outside the list becomes its class, an
unknown method `other`) or refuse a value that is not in an enumerated set (ValueError: a programming error that
the tests catch, never caller input). tests/gateway/metrics/test_instruments.py checks names, types, labels and
buckets against the catalogue.

Gauges are not here: every gauge of the catalogue is computed at scrape time (gateway/metrics/collectors.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from gateway.metrics import multiprocess

logger = logging.getLogger(__name__)

# In multiprocess mode the instruments below open their files at once: the directory must exist.
multiprocess.directory_ensure()

# The catalogue has no `_created` series (multiprocess mode cannot serve them either).
disable_created_metrics()

# The instruments' own registry (no process or GC collectors: the exporters serve exactly the catalogue). In
# multiprocess mode the exporters read the processes' files instead (gateway/metrics/multiprocess.py).
REGISTRY = CollectorRegistry(auto_describe=True)

# --------------------------------------------------------------------------------------------- label value sets

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
HTTP_STATUSES = frozenset(
    {"200", "201", "204", "301", "302", "304", "400", "401", "403", "404", "405", "406", "409", "413", "415", "422",
     "429", "500", "502", "503", "504"}
)  # fmt: skip
VENDOR_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
VENDOR_STATUSES = frozenset(
    {"200", "201", "204", "400", "401", "403", "404", "405", "409", "410", "412", "415", "422", "429", "500", "502",
     "503", "504"}
)  # fmt: skip
RATE_LIMIT_WINDOWS = ("minute", "day", "unknown")
BUDGET_WINDOWS = ("minute", "day")
REFRESH_OUTCOMES = ("refreshed", "needs_reauth", "too_early", "lost", "failed")
CONNECTION_STATUSES = ("active", "needs_reauth", "disabled")
RESOURCES = (
    "contacts",
    "invoices",
    "ledger-accounts",
    "tax-rates",
    "journals",
    "items",
    "payments",
    "purchase-invoices",
    "journal-entries",
    "sales-orders",
    "projects",
    "time-entries",
    "cost-entries",
    "company",
)
MUTATION_RESOURCES = (*RESOURCES, "passthrough")
MUTATION_OPERATIONS = ("create", "update", "finalize", "from_order", "attach", "post", "put", "delete")
MUTATION_OUTCOMES = ("succeeded", "failed", "in_doubt")
DELIVERY_OUTCOMES = ("delivered", "retrying", "gave_up")
SYNC_MODES = ("backfill", "incremental", "webhook")
SYNC_CHANGES = ("upserted", "deleted")
SYNC_RUN_OUTCOMES = ("succeeded", "failed")
QUEUES = ("default", "vendor", "sync", "webhooks", "maintenance")
TASK_OUTCOMES = ("succeeded", "failed", "retried")
# Everything under admin/ is one route: its URL patterns are many and say nothing about the API's health.
ADMIN_ROUTE = "admin/"
UNMATCHED_ROUTE = "unmatched"
OTHER = "other"
NO_ANSWER = "none"

REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 180)
LAG_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 21600, 86400)

# --------------------------------------------------------------------------------------------- instruments
# prometheus-client adds `_total` to a counter's name itself; the names below are the exported ones without it.

HTTP_REQUESTS = Counter(
    "ledgerbridge_http_requests",
    "HTTP requests answered, by the URL pattern that matched, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "ledgerbridge_http_request_duration_seconds",
    "Time from the request reaching Django's first middleware to the response leaving it.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
VENDOR_REQUESTS = Counter(
    "ledgerbridge_vendor_requests",
    "Calls to a vendor API (data and token calls), by endpoint template, method and the vendor's status.",
    ["connector", "endpoint", "method", "status"],
    registry=REGISTRY,
)
VENDOR_REQUEST_DURATION = Histogram(
    "ledgerbridge_vendor_request_duration_seconds",
    "Duration of a vendor call, from sending to the last byte of the answer (or the failure).",
    ["connector", "endpoint", "method"],
    buckets=REQUEST_BUCKETS,
    registry=REGISTRY,
)
VENDOR_RATE_LIMITED = Counter(
    "ledgerbridge_vendor_rate_limited",
    "Calls the vendor answered with 429 Too Many Requests, by the window its headers named.",
    ["connector", "window"],
    registry=REGISTRY,
)
VENDOR_ERROR_LIMIT_BLOCKS = Counter(
    "ledgerbridge_vendor_error_limit_blocks",
    "Calls the vendor refused because its error limit was reached.",
    ["connector", "endpoint"],
    registry=REGISTRY,
)
VENDOR_BUDGET_EXHAUSTED = Counter(
    "ledgerbridge_vendor_budget_exhausted",
    "Calls the gateway itself refused with 429 before sending: the shared budget was spent.",
    ["connector", "window"],
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "ledgerbridge_token_refreshes",
    "Token refresh attempts sent to the vendor, by outcome.",
    ["connector", "outcome"],
    registry=REGISTRY,
)
CONNECTION_STATUS_CHANGES = Counter(
    "ledgerbridge_connection_status_changes",
    "Connections that changed into this status.",
    ["connector", "status"],
    registry=REGISTRY,
)
MUTATION_ATTEMPTS = Counter(
    "ledgerbridge_mutation_attempts",
    "Attempts to send a recorded write to the vendor, by how they ended.",
    ["connector", "resource", "operation", "outcome"],
    registry=REGISTRY,
)
OUTBOUND_DELIVERIES = Counter(
    "ledgerbridge_outbound_deliveries",
    "Delivery attempts of signed outbound webhook events to workspaces' endpoints, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
OUTBOUND_DELIVERY_LAG = Histogram(
    "ledgerbridge_outbound_delivery_lag_seconds",
    "Time from an event's creation to its successful delivery.",
    [],
    buckets=LAG_BUCKETS,
    registry=REGISTRY,
)
SYNC_RUNS = Counter(
    "ledgerbridge_sync_runs",
    "Sync runs (one resource of one connection), by mode and outcome.",
    ["connector", "resource", "mode", "outcome"],
    registry=REGISTRY,
)
SYNC_RECORDS = Counter(
    "ledgerbridge_sync_records",
    "Records written to the local store by sync, by mode and change.",
    ["connector", "resource", "mode", "change"],
    registry=REGISTRY,
)
CELERY_TASKS = Counter(
    "ledgerbridge_celery_tasks",
    "Tasks a worker finished, by task name, the queue it came from and outcome.",
    ["task", "queue", "outcome"],
    registry=REGISTRY,
)
CELERY_TASK_DURATION = Histogram(
    "ledgerbridge_celery_task_duration_seconds",
    "Run time of a task in the worker.",
    ["task", "queue"],
    buckets=TASK_BUCKETS,
    registry=REGISTRY,
)

# --------------------------------------------------------------------------------------------- label values


def _one_of(label: str, value: str, allowed: Iterable[str]) -> str:
    if value not in allowed:
        raise ValueError(f"metrics: {value!r} is not a value of the label {label!r} (deploy/metrics.yaml)")
    return value


def status_label(status: int | None, listed: frozenset[str]) -> str:
    """A listed status code as itself, any other as its class (`4xx`), no answer as `none`."""
    if status is None:
        return NO_ANSWER
    code = str(status)
    if code in listed:
        return code
    return f"{min(max(status // 100, 2), 5)}xx"


def http_method_label(method: str) -> str:
    method = method.upper()
    return method if method in HTTP_METHODS else OTHER


def route_label(route: str | None) -> str:
    """The URL pattern (Django's ResolverMatch.route), `admin/` for all of admin, `unmatched` for none."""
    if route is None:
        return UNMATCHED_ROUTE
    if route.startswith(ADMIN_ROUTE):
        return ADMIN_ROUTE
    return route or UNMATCHED_ROUTE


def queue_label(queue: str | None) -> str:
    """The queue a task came from; a queue the settings do not declare (a direct routing key) is `default`."""
    return queue if queue in QUEUES else "default"


# --------------------------------------------------------------------------------------------- observing


def http_request_observe(*, route: str | None, method: str, status: int, duration_seconds: float) -> None:
    """One answered HTTP request (gateway/metrics/middleware.py)."""
    route_value, method_value = route_label(route), http_method_label(method)
    HTTP_REQUESTS.labels(route_value, method_value, status_label(status, HTTP_STATUSES)).inc()
    HTTP_REQUEST_DURATION.labels(route_value, method_value).observe(duration_seconds)


def vendor_call_observe(
    *,
    connector: str,
    endpoint: str,
    method: str,
    status: int | None,
    duration_seconds: float,
    throttle: str | None = None,
) -> None:
    """One vendor call; `throttle` for a 429: the window it named (minute, day, unknown) or `error_limit`."""
    method_value = method.upper() if method.upper() in VENDOR_METHODS else OTHER
    VENDOR_REQUESTS.labels(connector, endpoint, method_value, status_label(status, VENDOR_STATUSES)).inc()
    VENDOR_REQUEST_DURATION.labels(connector, endpoint, method_value).observe(duration_seconds)
    if throttle == "error_limit":
        VENDOR_ERROR_LIMIT_BLOCKS.labels(connector, endpoint).inc()
        VENDOR_RATE_LIMITED.labels(connector, "unknown").inc()
    elif throttle is not None:
        VENDOR_RATE_LIMITED.labels(connector, _one_of("window", throttle, RATE_LIMIT_WINDOWS)).inc()


def vendor_budget_exhausted_observe(*, connector: str, window: str) -> None:
    """A call the gateway refused before sending because the shared budget's `window` was spent."""
    VENDOR_BUDGET_EXHAUSTED.labels(connector, _one_of("window", window, BUDGET_WINDOWS)).inc()


def token_refresh_observe(*, connector: str, outcome: str) -> None:
    """One token refresh sent to the vendor (tenants/credentials/refresh.py)."""
    TOKEN_REFRESHES.labels(connector, _one_of("outcome", outcome, REFRESH_OUTCOMES)).inc()


def connection_status_change_observe(*, connector: str, status: str, count: int = 1) -> None:
    """`count` connections changed into `status` (an update query's row count; 0 changes nothing)."""
    if count > 0:
        CONNECTION_STATUS_CHANGES.labels(connector, _one_of("status", status, CONNECTION_STATUSES)).inc(count)


def mutation_attempt_observe(*, connector: str, resource: str, operation: str, outcome: str) -> None:
    """One attempt at sending a recorded write ended (unified_models/services.py)."""
    MUTATION_ATTEMPTS.labels(
        connector,
        _one_of("resource", resource, MUTATION_RESOURCES),
        _one_of("operation", operation, MUTATION_OPERATIONS),
        _one_of("outcome", outcome, MUTATION_OUTCOMES),
    ).inc()


def outbound_delivery_observe(*, outcome: str, lag_seconds: float | None = None) -> None:
    """One delivery attempt of an outbound webhook event.

    `outcome`: `delivered` (2xx), `retrying` (failed, another attempt is scheduled) or `gave_up` (the last one
    failed). `lag_seconds`, for a delivered event: the time from the event's creation to this delivery.
    """
    OUTBOUND_DELIVERIES.labels(_one_of("outcome", outcome, DELIVERY_OUTCOMES)).inc()
    if outcome == "delivered" and lag_seconds is not None:
        OUTBOUND_DELIVERY_LAG.observe(max(lag_seconds, 0.0))


def sync_run_observe(
    *, connector: str, resource: str, mode: str, outcome: str, upserted: int = 0, deleted: int = 0
) -> None:
    """One sync run of one resource of one connection ended.

    `mode`: backfill, incremental or webhook; `outcome`: succeeded or failed; `upserted` / `deleted`: the records it
    wrote to the local store (also for a failed run, whatever it wrote before failing).
    """
    resource = _one_of("resource", resource, RESOURCES)
    mode = _one_of("mode", mode, SYNC_MODES)
    SYNC_RUNS.labels(connector, resource, mode, _one_of("outcome", outcome, SYNC_RUN_OUTCOMES)).inc()
    if upserted:
        SYNC_RECORDS.labels(connector, resource, mode, "upserted").inc(upserted)
    if deleted:
        SYNC_RECORDS.labels(connector, resource, mode, "deleted").inc(deleted)


def celery_task_observe(*, task: str, queue: str | None, outcome: str, duration_seconds: float | None) -> None:
    """A task a worker finished (gateway/metrics/worker.py); no duration for one that never ran to an end."""
    queue_value = queue_label(queue)
    CELERY_TASKS.labels(task, queue_value, _one_of("outcome", outcome, TASK_OUTCOMES)).inc()
    if duration_seconds is not None:
        CELERY_TASK_DURATION.labels(task, queue_value).observe(duration_seconds)


def counters_initialise(connectors: Iterable[str]) -> None:
    """Create the counters whose labels are all known at start at 0, so `increase()` sees their first event."""
    for connector in connectors:
        for window in RATE_LIMIT_WINDOWS:
            VENDOR_RATE_LIMITED.labels(connector, window)
        for window in BUDGET_WINDOWS:
            VENDOR_BUDGET_EXHAUSTED.labels(connector, window)
        for outcome in REFRESH_OUTCOMES:
            TOKEN_REFRESHES.labels(connector, outcome)
        for status in CONNECTION_STATUSES:
            CONNECTION_STATUS_CHANGES.labels(connector, status)
        for resource in MUTATION_RESOURCES:
            for operation in MUTATION_OPERATIONS:
                for outcome in MUTATION_OUTCOMES:
                    MUTATION_ATTEMPTS.labels(connector, resource, operation, outcome)
        for resource in RESOURCES:
            for mode in SYNC_MODES:
                for outcome in SYNC_RUN_OUTCOMES:
                    SYNC_RUNS.labels(connector, resource, mode, outcome)
                for change in SYNC_CHANGES:
                    SYNC_RECORDS.labels(connector, resource, mode, change)
    for outcome in DELIVERY_OUTCOMES:
        OUTBOUND_DELIVERIES.labels(outcome)
