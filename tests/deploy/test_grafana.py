"""deploy/grafana/ledgerbridge.json: importable, the data source a template variable, every query over catalogued
metrics and labels only (and valid PromQL, checked by promtool), every catalogued metric on some panel."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve

from tests.conftest import require_service
from tests.deploy import catalogue

DASHBOARD_PATH = catalogue.ROOT / "deploy" / "grafana" / "ledgerbridge.json"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SECTIONS = ["API", "Vendor calls", "Budgets", "Tokens and connections", "Writes", "Deliveries", "Sync"]
SECTIONS += ["Celery and workers"]
# Grafana's own variables, as Prometheus would receive them.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "6h"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD_PATH.read_text())


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def _expressions(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title, PromQL with Grafana's own variables filled in) for every query."""
    found = []
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            found.append((panel["title"], expr))
    return found


def test_the_data_source_is_a_template_variable(dashboard: dict[str, Any]) -> None:
    variables = {variable["name"]: variable for variable in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for panel in _panels(dashboard):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"] and all(target["datasource"] == DATASOURCE for target in panel["targets"])
    for variable in variables.values():
        if variable["type"] == "query":
            assert variable["datasource"] == DATASOURCE, variable["name"]
    # Importable as it is: no data source of a particular Grafana baked in.
    assert '"uid": "${DS_' not in DASHBOARD_PATH.read_text() and "__inputs" not in dashboard


def test_it_covers_each_section_the_issue_asks_for(dashboard: dict[str, Any]) -> None:
    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == SECTIONS


def test_panels_have_unique_ids_and_do_not_overlap(dashboard: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    taken: set[tuple[int, int]] = set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(grid["x"] + dx, grid["y"] + dy) for dx in range(grid["w"]) for dy in range(grid["h"])}
        assert not cells & taken, f"{panel['title']} overlaps another panel"
        taken |= cells


def test_queries_use_only_catalogued_metrics_labels_and_values(dashboard: dict[str, Any]) -> None:
    metrics = catalogue.load()
    for title, expr in _expressions(dashboard):
        assert catalogue.expression_problems(expr, metrics) == [], (title, expr)
        for route in catalogue.label_literals(expr, "route"):
            assert resolve("/" + re.sub(r"<\w+:(\w+)>", r"\1", route)).route == route, (title, route)


def test_template_variables_read_catalogued_labels(dashboard: dict[str, Any]) -> None:
    metrics = catalogue.load()
    used = set()
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        series, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", variable["query"]["query"]).groups()  # type: ignore[union-attr]
        metric = metrics.metric_for_series(series)
        assert metric is not None and label in metric.label_names, variable["name"]
        used.add(variable["name"])
    # Each variable filters some query, and each $variable a query uses is defined.
    text = " ".join(expr for _, expr in _expressions(dashboard))
    assert {name for name in re.findall(r"\$(\w+)", text)} == used


def test_every_catalogued_metric_is_on_the_dashboard(dashboard: dict[str, Any]) -> None:
    metrics = catalogue.load()
    shown = {
        metric.name
        for _, expr in _expressions(dashboard)
        for selector in catalogue.read_expression(expr)[0]
        if (metric := metrics.metric_for_series(selector.series)) is not None
    }
    assert set(metrics.metrics) - shown == set()


def test_queries_are_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        require_service("promtool (Debian: apt-get install prometheus; .ci/run installs it)")
    queries = _expressions(dashboard)
    # Dashboard variables become the regex they stand for; each query becomes a recording rule promtool parses.
    rules = [
        {"record": f"dashboard:query_{index}", "expr": expr.replace("$connector", ".*").replace("$queue", ".*")}
        for index, (_, expr) in enumerate(queries)
    ]
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout

    path.write_text(yaml.safe_dump({"groups": [{"name": "broken", "rules": [{"record": "x:y", "expr": "sum by ("}]}]}))
    broken = subprocess.run([str(promtool), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert broken.returncode != 0  # the same check refuses a query that does not parse
