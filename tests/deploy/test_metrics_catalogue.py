"""deploy/metrics.yaml: sound by its own rules, bounded, in step with the code it describes, and METRICS.md its twin."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.urls import URLPattern, URLResolver, get_resolver

from connectors.base.data import Resource
from connectors.registry import registered_connectors
from tenants.models import ConnectionStatus
from tests.deploy import catalogue
from tests.settings_variables import variables_in_env_example, variables_read_by_settings
from unified_models import services as mutation_services
from unified_models.models import MutationStatus
from unified_models.serializers import PassthroughRequestSerializer


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return catalogue.read_raw()


@pytest.fixture(scope="module")
def metrics(raw: dict[str, Any]) -> catalogue.Catalogue:
    return catalogue.load(raw)


def test_metrics_md_is_generated_from_the_catalogue(metrics: catalogue.Catalogue) -> None:
    assert catalogue.MARKDOWN_PATH.read_text() == catalogue.render_markdown(metrics), (
        "deploy/METRICS.md is stale: run .venv/bin/python -m tests.deploy.catalogue --write"
    )


def test_the_catalogue_keeps_its_own_rules(raw: dict[str, Any]) -> None:
    assert catalogue.problems(raw) == []


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (lambda raw: raw["metrics"][0].update(name="ledgerbridge_http_requests"), "end in _total"),
        (lambda raw: raw["metrics"][0].update(name="http_requests_total"), "start with ledgerbridge_"),
        (lambda raw: raw["metrics"][1].update(buckets=[1, 0.5]), "increasing buckets"),
        (lambda raw: raw["metrics"][1].update(buckets=[1, 1]), "increasing buckets"),
        (lambda raw: raw["labels"]["route"].pop("bound"), "needs `values`, or a positive `bound`"),
        (lambda raw: raw["labels"]["route"].update(bound=10**6), "series (> 50000)"),
        (lambda raw: raw["labels"]["queue"].update(label="le"), "not a usable label name"),
        (lambda raw: raw["metrics"].append(copy.deepcopy(raw["metrics"][0])), "defined twice"),
        (lambda raw: raw["metrics"][0].update(exporters=["collector"]), "collector exports gauges only"),
    ],
    ids=[
        "counter-suffix",
        "prefix",
        "buckets",
        "repeated-bucket",
        "unbounded-label",
        "too-many-series",
        "reserved-label",
        "twice",
        "collector",
    ],
)
def test_a_broken_catalogue_is_refused(raw: dict[str, Any], breakage: Any, expected: str) -> None:
    broken = copy.deepcopy(raw)
    breakage(broken)
    assert any(expected in problem for problem in catalogue.problems(broken)), catalogue.problems(broken)


def test_what_the_issue_asks_for_is_there(metrics: catalogue.Catalogue) -> None:
    """Issue 16's list of metrics, each with the labels it names."""
    wanted = {
        "ledgerbridge_http_requests_total": {"route", "method", "status"},
        "ledgerbridge_http_request_duration_seconds": {"route", "method"},
        "ledgerbridge_vendor_requests_total": {"connector", "endpoint", "status"},
        "ledgerbridge_vendor_request_duration_seconds": {"connector", "endpoint"},
        "ledgerbridge_vendor_rate_limited_total": {"connector"},
        "ledgerbridge_vendor_error_limit_blocks_total": {"connector", "endpoint"},
        "ledgerbridge_vendor_budget_remaining": {"division", "window"},
        "ledgerbridge_token_refreshes_total": {"outcome"},
        "ledgerbridge_connections": {"status"},
        "ledgerbridge_mutations_waiting": {"status"},
        "ledgerbridge_mutation_attempts_total": {"outcome"},
        "ledgerbridge_outbound_deliveries_total": {"outcome"},
        "ledgerbridge_outbound_delivery_lag_seconds": set(),
        "ledgerbridge_sync_lag_seconds": {"resource"},
        "ledgerbridge_sync_backfills": {"resource", "state"},
        "ledgerbridge_celery_queue_length": {"queue"},
        "ledgerbridge_celery_tasks_total": {"task", "outcome"},
        "ledgerbridge_worker_heartbeat_timestamp_seconds": {"queue"},
    }
    missing = {name: labels for name, labels in wanted.items() if not labels <= metrics.metrics[name].label_names}
    assert missing == {}
    assert set(metrics.labels["budget_window"].values or ()) == {"minute", "day"}


def _values(metrics: catalogue.Catalogue, label_id: str) -> set[str]:
    return set(metrics.labels[label_id].values or ())


def test_enumerated_labels_match_the_code(metrics: catalogue.Catalogue) -> None:
    assert _values(metrics, "connection_status") == set(ConnectionStatus.values)
    assert _values(metrics, "mutation_waiting_status") == set(MutationStatus.values) - {MutationStatus.SUCCEEDED}
    outcomes = {MutationStatus.SUCCEEDED, MutationStatus.FAILED, MutationStatus.IN_DOUBT}
    assert _values(metrics, "mutation_outcome") == outcomes
    assert _values(metrics, "resource") == {resource.value for resource in Resource}
    assert _values(metrics, "mutation_resource") == {resource.value for resource in Resource} | {
        mutation_services.PASSTHROUGH
    }
    passthrough_writes = {method.lower() for method in PassthroughRequestSerializer().fields["method"].choices}
    assert passthrough_writes - {"get"} <= _values(metrics, "mutation_operation")
    assert _values(metrics, "queue") == {queue.name for queue in settings.CELERY_TASK_QUEUES}


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            route = prefix + str(pattern.pattern)
            # Admin requests are reported as `admin/` (deploy/metrics.yaml: route).
            yield from ["admin/"] if route == "admin/" else _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_open_labels_stay_within_their_bounds(metrics: catalogue.Catalogue) -> None:
    routes = set(_routes(get_resolver().url_patterns)) | {"unmatched"}
    assert "api/v1/connections/<str:connection_id>/invoices" in routes  # the walk sees the included URLconfs
    assert len(routes) <= metrics.labels["route"].bound, f"{len(routes)} URL patterns: raise the route bound"

    from gateway.celery import app

    app.loader.import_default_modules()
    tasks = {name for name in app.tasks if not name.startswith("celery.")}
    assert "gateway.tasks.worker_heartbeat_record" in tasks
    assert len(tasks) <= metrics.labels["task"].bound

    assert 1 <= len(registered_connectors()) <= metrics.labels["connector"].bound


def test_budget_series_are_bounded_by_the_setting(metrics: catalogue.Catalogue) -> None:
    divisions = settings.LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS
    for name in ("ledgerbridge_vendor_budget_remaining", "ledgerbridge_vendor_budget_limit"):
        metric = metrics.metrics[name]
        assert metric.series_bound == divisions * len(metrics.labels["budget_window"].values or ())
        assert "LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS" in metric.cardinality
    assert metrics.labels["budget_division"].bound == metrics.labels["budget_app"].bound == divisions


def test_the_metrics_settings_exist(raw: dict[str, Any]) -> None:
    read, documented = variables_read_by_settings(), variables_in_env_example()
    for name in raw["settings"]:
        assert name in read and name in documented, name
    assert settings.LEDGERBRIDGE_METRICS_TOKEN == ""  # empty by default: no exporter runs


def test_promql_reader_finds_metrics_labels_and_values(metrics: catalogue.Catalogue) -> None:
    """The reader the rule and dashboard tests rely on: it must see what they use, and report what is wrong."""
    expr = (
        'sum by (route) (rate(ledgerbridge_http_requests_total{status=~"5..", route!~"healthz|readyz"}[5m]))'
        " / on () group_left sum(rate(ledgerbridge_http_request_duration_seconds_count[$__rate_interval]))"
    )
    selectors, grouping = catalogue.read_expression(expr)
    assert [selector.series for selector in selectors] == [
        "ledgerbridge_http_requests_total",
        "ledgerbridge_http_request_duration_seconds_count",
    ]
    assert grouping == {"route"}
    assert catalogue.expression_problems(expr, metrics) == []
    assert catalogue.label_literals(expr, "route") == {"healthz", "readyz"}

    wrong = {
        "ledgerbridge_http_request_total": "not in deploy/metrics.yaml",
        'ledgerbridge_connections{state="active"}': "has no label 'state'",
        'ledgerbridge_connections{status="broken"}': "'broken' is not a value of 'status'",
        'ledgerbridge_connections{status=~"gone|lost"}': "matches no value of 'status'",
        "sum by (queue) (ledgerbridge_connections)": "groups by labels no selected metric has",
        "ledgerbridge_connections_bucket": "not in deploy/metrics.yaml",
        "up": "not in deploy/metrics.yaml",
    }
    for expression, problem in wrong.items():
        found = catalogue.expression_problems(expression, metrics)
        assert any(problem in text for text in found), (expression, found)
