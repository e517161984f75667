"""deploy/prometheus: the alert rules pass promtool's check and unit tests, use only catalogued metrics, and each
alert is tested both firing and quiet, labelled with a severity and linked to its runbook section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require_service
from tests.deploy import catalogue
from tests.deploy.test_runbook import runbook_anchors

PROMETHEUS_DIR = catalogue.ROOT / "deploy" / "prometheus"
RULES = PROMETHEUS_DIR / "alerts.yaml"
RULE_TESTS = PROMETHEUS_DIR / "alerts_test.yaml"

# Issue 16's alerts, each with the metric it must stand on.
REQUIRED_ALERTS = {
    "LedgerbridgeConnectionsNeedReauth": "ledgerbridge_connection_status_changes_total",
    "LedgerbridgeDivisionDailyBudgetLow": "ledgerbridge_vendor_budget_remaining",
    "LedgerbridgeWritesWaiting": "ledgerbridge_mutations_waiting",
    "LedgerbridgeOutboundDeliveriesFailing": "ledgerbridge_outbound_delivery_oldest_pending_age_seconds",
    "LedgerbridgeSyncLagHigh": "ledgerbridge_sync_lag_seconds",
    "LedgerbridgeWorkerHeartbeatMissing": "ledgerbridge_worker_heartbeat_timestamp_seconds",
    "LedgerbridgeApi5xxRatioHigh": "ledgerbridge_http_requests_total",
}


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        require_service("promtool (Debian: apt-get install prometheus; .ci/run installs it)")
    return str(path)


def _promtool(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = _promtool(promtool, "check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


def test_promtool_unit_tests_pass(promtool: str) -> None:
    result = _promtool(promtool, "test", "rules", RULE_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(
    ("alert", "original", "broken"),
    [
        # Never fires: the firing test must catch it.
        ("LedgerbridgeApi5xxRatioHigh", "> 0.05", "> 0.5"),
        # Fires too often: the quiet test (12 % left) must catch it.
        ("LedgerbridgeDivisionDailyBudgetLow", "< 0.10", "< 0.5"),
        # Drops its guard: the heartbeat of a stopped queue must still be seen.
        ("LedgerbridgeWorkerHeartbeatMissing", "> 120", "> 1200"),
    ],
)
def test_the_unit_tests_catch_a_broken_rule(
    promtool: str, tmp_path: Path, alert: str, original: str, broken: str
) -> None:
    rules = RULES.read_text()
    start = rules.index(f"- alert: {alert}")
    end = rules.find("- alert:", start + 1)
    end = len(rules) if end == -1 else end
    assert original in rules[start:end]
    (tmp_path / "alerts.yaml").write_text(rules[:start] + rules[start:end].replace(original, broken) + rules[end:])
    shutil.copy(RULE_TESTS, tmp_path / "alerts_test.yaml")

    result = _promtool(promtool, "test", "rules", tmp_path / "alerts_test.yaml")

    assert result.returncode != 0
    assert f"alertname: {alert}" in result.stdout + result.stderr


def test_the_issue_alerts_are_there() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules()}
    for alert, metric in REQUIRED_ALERTS.items():
        assert alert in rules, alert
        series = {selector.series for selector in catalogue.read_expression(rules[alert]["expr"])[0]}
        assert metric in series, (alert, series)


def test_every_alert_is_labelled_annotated_and_linked_to_its_runbook_section() -> None:
    anchors = runbook_anchors()
    for rule in alert_rules():
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        annotations = rule["annotations"]
        assert annotations["summary"].strip() and annotations["description"].strip(), name
        path, _, anchor = annotations["runbook_url"].partition("#")
        assert path == "deploy/RUNBOOK.md", name
        assert anchor == name.lower() and anchor in anchors, f"{name}: no section #{anchor} in deploy/RUNBOOK.md"


def test_rule_expressions_use_only_catalogued_metrics_and_labels() -> None:
    metrics = catalogue.load()
    for rule in alert_rules():
        assert catalogue.expression_problems(rule["expr"], metrics) == [], rule["alert"]


def test_routes_named_in_rules_are_url_patterns() -> None:
    from django.urls import resolve

    for rule in alert_rules():
        for route in catalogue.label_literals(rule["expr"], "route"):
            assert resolve("/" + re.sub(r"<\w+:(\w+)>", r"\1", route)).route == route, (rule["alert"], route)


def test_each_alert_has_a_test_that_fires_it_and_one_that_does_not() -> None:
    tests = yaml.safe_load(RULE_TESTS.read_text())
    assert tests["rule_files"] == ["alerts.yaml"]
    firing: set[str] = set()
    quiet: set[str] = set()
    for case in tests["tests"]:
        for expectation in case["alert_rule_test"]:
            (firing if expectation.get("exp_alerts") else quiet).add(expectation["alertname"])
    names = {rule["alert"] for rule in alert_rules()}
    assert names - firing == set(), "alerts no test fires"
    assert names - quiet == set(), "alerts no test keeps quiet"
    assert (firing | quiet) - names == set(), "tests of alerts that do not exist"


def test_unit_test_series_are_catalogued_metrics() -> None:
    metrics = catalogue.load()
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for series in case["input_series"]:
            assert catalogue.expression_problems(series["series"], metrics) == [], (case["name"], series["series"])
