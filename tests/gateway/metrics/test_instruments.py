"""The instruments are the catalogue's (names, types, labels, buckets) and keep every label inside its bounded set."""

from __future__ import annotations

import pytest

from gateway.metrics import instruments
from tests.deploy import catalogue

CATALOGUE = catalogue.load()


def _sample(name: str, **labels: str) -> float:
    return instruments.REGISTRY.get_sample_value(name, labels) or 0.0


def _instrument_families() -> dict[str, tuple[str, list[str], tuple[float, ...]]]:
    """Exported name -> (type, label names, buckets) of every instrument, as prometheus-client describes them."""
    found = {}
    for collector in set(instruments.REGISTRY._collector_to_names):
        for family in collector.describe():
            name = f"{family.name}_total" if family.type == "counter" else family.name
            buckets = tuple(float(b) for b in getattr(collector, "_upper_bounds", ())[:-1])
            found[name] = (family.type, sorted(collector._labelnames), buckets)
    return found


def test_every_process_metric_of_the_catalogue_is_an_instrument_with_its_labels_and_buckets() -> None:
    families = _instrument_families()
    expected = {
        metric.name: (metric.type, sorted(metric.label_names), metric.buckets)
        for metric in CATALOGUE.metrics.values()
        if set(metric.exporters) & {"web", "worker"}
    }
    assert families == expected


def test_label_values_are_the_catalogues() -> None:
    labels = CATALOGUE.labels
    assert set(labels["http_method"].values) == instruments.HTTP_METHODS | {"other"}
    assert set(labels["http_status"].values) == instruments.HTTP_STATUSES | {"2xx", "3xx", "4xx", "5xx"}
    assert set(labels["vendor_method"].values) == instruments.VENDOR_METHODS | {"other"}
    assert set(labels["vendor_status"].values) == instruments.VENDOR_STATUSES | {"2xx", "3xx", "4xx", "5xx", "none"}
    for label_id, values in {
        "rate_limit_window": instruments.RATE_LIMIT_WINDOWS,
        "budget_window": instruments.BUDGET_WINDOWS,
        "refresh_outcome": instruments.REFRESH_OUTCOMES,
        "connection_status": instruments.CONNECTION_STATUSES,
        "resource": instruments.RESOURCES,
        "mutation_resource": instruments.MUTATION_RESOURCES,
        "mutation_operation": instruments.MUTATION_OPERATIONS,
        "mutation_outcome": instruments.MUTATION_OUTCOMES,
        "delivery_outcome": instruments.DELIVERY_OUTCOMES,
        "sync_mode": instruments.SYNC_MODES,
        "sync_change": instruments.SYNC_CHANGES,
        "sync_run_outcome": instruments.SYNC_RUN_OUTCOMES,
        "queue": instruments.QUEUES,
        "task_outcome": instruments.TASK_OUTCOMES,
    }.items():
        assert labels[label_id].values == values, label_id


def test_statuses_outside_the_list_become_their_class_and_no_answer_is_none() -> None:
    assert instruments.status_label(404, instruments.HTTP_STATUSES) == "404"
    assert instruments.status_label(418, instruments.HTTP_STATUSES) == "4xx"
    assert instruments.status_label(207, instruments.HTTP_STATUSES) == "2xx"
    assert instruments.status_label(599, instruments.VENDOR_STATUSES) == "5xx"
    assert instruments.status_label(100, instruments.VENDOR_STATUSES) == "2xx"  # informational: never final
    assert instruments.status_label(None, instruments.VENDOR_STATUSES) == "none"


def test_routes_are_patterns_admin_is_one_route_and_no_match_is_unmatched() -> None:
    assert (
        instruments.route_label("api/v1/connections/<uuid:connection_id>") == "api/v1/connections/<uuid:connection_id>"
    )
    assert instruments.route_label("admin/tenants/connection/<path:object_id>/change/") == "admin/"
    assert instruments.route_label(None) == "unmatched"


def test_http_requests_are_counted_and_timed() -> None:
    before = _sample("ledgerbridge_http_requests_total", route="healthz", method="other", status="4xx")
    instruments.http_request_observe(route="healthz", method="BREW", status=418, duration_seconds=0.02)
    assert _sample("ledgerbridge_http_requests_total", route="healthz", method="other", status="4xx") == before + 1
    assert (
        _sample("ledgerbridge_http_request_duration_seconds_bucket", route="healthz", method="other", le="0.025") >= 1
    )


def test_a_vendor_429_counts_its_window_and_an_error_limit_block_its_endpoint() -> None:
    labels = {"connector": "exact", "endpoint": "crm/Accounts"}
    blocks = _sample("ledgerbridge_vendor_error_limit_blocks_total", **labels)
    unknown = _sample("ledgerbridge_vendor_rate_limited_total", connector="exact", window="unknown")
    day = _sample("ledgerbridge_vendor_rate_limited_total", connector="exact", window="day")
    for throttle in ("error_limit", "day"):
        instruments.vendor_call_observe(
            connector="exact",
            endpoint="crm/Accounts",
            method="GET",
            status=429,
            duration_seconds=0.1,
            throttle=throttle,
        )
    assert _sample("ledgerbridge_vendor_error_limit_blocks_total", **labels) == blocks + 1
    assert _sample("ledgerbridge_vendor_rate_limited_total", connector="exact", window="unknown") == unknown + 1
    assert _sample("ledgerbridge_vendor_rate_limited_total", connector="exact", window="day") == day + 1


@pytest.mark.parametrize(
    "observe",
    [
        lambda: instruments.token_refresh_observe(connector="exact", outcome="maybe"),
        lambda: instruments.connection_status_change_observe(connector="exact", status="deleted"),
        lambda: instruments.mutation_attempt_observe(
            connector="exact", resource="invoices", operation="patch", outcome="succeeded"
        ),
        lambda: instruments.outbound_delivery_observe(outcome="lost"),
        lambda: instruments.sync_run_observe(
            connector="exact", resource="orders", mode="backfill", outcome="succeeded"
        ),
        lambda: instruments.celery_task_observe(task="t", queue="vendor", outcome="crashed", duration_seconds=1.0),
        lambda: instruments.vendor_budget_exhausted_observe(connector="exact", window="hour"),
    ],
)
def test_a_value_outside_an_enumerated_label_is_refused(observe) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"deploy/metrics\.yaml"):
        observe()


def test_sync_runs_count_their_records_and_deliveries_their_lag() -> None:
    labels = {"connector": "exact", "resource": "contacts", "mode": "incremental"}
    runs = _sample("ledgerbridge_sync_runs_total", **labels, outcome="failed")
    deleted = _sample("ledgerbridge_sync_records_total", **labels, change="deleted")
    instruments.sync_run_observe(**labels, outcome="failed", upserted=0, deleted=3)
    assert _sample("ledgerbridge_sync_runs_total", **labels, outcome="failed") == runs + 1
    assert _sample("ledgerbridge_sync_records_total", **labels, change="deleted") == deleted + 3

    count = _sample("ledgerbridge_outbound_delivery_lag_seconds_count")
    instruments.outbound_delivery_observe(outcome="retrying", lag_seconds=5.0)  # not delivered: no lag
    instruments.outbound_delivery_observe(outcome="delivered", lag_seconds=42.0)
    assert _sample("ledgerbridge_outbound_delivery_lag_seconds_count") == count + 1
    assert _sample("ledgerbridge_outbound_delivery_lag_seconds_bucket", le="60.0") >= 1


def test_tasks_from_an_undeclared_queue_count_as_default() -> None:
    before = _sample("ledgerbridge_celery_tasks_total", task="x.y", queue="default", outcome="retried")
    instruments.celery_task_observe(task="x.y", queue="celery", outcome="retried", duration_seconds=None)
    assert _sample("ledgerbridge_celery_tasks_total", task="x.y", queue="default", outcome="retried") == before + 1


def test_counters_with_known_labels_start_at_zero() -> None:
    instruments.counters_initialise(["exact"])
    assert (
        instruments.REGISTRY.get_sample_value(
            "ledgerbridge_mutation_attempts_total",
            {"connector": "exact", "resource": "passthrough", "operation": "delete", "outcome": "in_doubt"},
        )
        is not None
    )
    assert (
        instruments.REGISTRY.get_sample_value("ledgerbridge_outbound_deliveries_total", {"outcome": "gave_up"})
        is not None
    )
