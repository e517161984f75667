"""The metrics catalogue (deploy/metrics.yaml): loading, its conventions, deploy/METRICS.md, and reading PromQL.

`.venv/bin/python -m tests.deploy.catalogue --write` regenerates the derived files: deploy/METRICS.md from the
catalogue, and the Prometheus Operator's copy of deploy/prometheus/alerts.yaml (deploy/kubernetes/monitoring/).
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE_PATH = ROOT / "deploy" / "metrics.yaml"
MARKDOWN_PATH = ROOT / "deploy" / "METRICS.md"
ALERTS_PATH = ROOT / "deploy" / "prometheus" / "alerts.yaml"
PROMETHEUS_RULE_PATH = ROOT / "deploy" / "kubernetes" / "monitoring" / "prometheusrule.yaml"

PREFIX = "ledgerbridge_"
TYPES = {"counter", "gauge", "histogram"}
EXPORTERS = {"web", "worker", "collector"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# No metric may have more series than this, whatever its labels take (a single Prometheus holds millions).
MAX_SERIES_PER_METRIC = 50_000
# Labels Prometheus itself attaches to every scraped series (target labels), usable in any expression.
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "container", "endpoint"}
RESERVED_LABELS = {"le", "quantile"}
_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Label:
    id: str
    name: str
    values: tuple[str, ...] | None
    bound: int
    description: str = ""
    source: str = ""

    @property
    def size(self) -> int:
        return len(self.values) if self.values is not None else self.bound


@dataclass(frozen=True)
class Metric:
    name: str
    group: str
    type: str
    help: str
    exporters: tuple[str, ...]
    labels: tuple[Label, ...]
    buckets: tuple[float, ...] = ()
    series_bound: int | None = None
    cardinality: str = ""

    @property
    def label_names(self) -> set[str]:
        return {label.name for label in self.labels}

    def label(self, name: str) -> Label | None:
        return next((label for label in self.labels if label.name == name), None)

    @property
    def series_per_label_set(self) -> int:
        # A histogram exposes one series per bucket, +Inf, _sum and _count.
        return len(self.buckets) + 3 if self.type == "histogram" else 1

    @property
    def max_series(self) -> int:
        label_sets = self.series_bound or math.prod(label.size for label in self.labels)
        return label_sets * self.series_per_label_set


@dataclass
class Catalogue:
    raw: dict[str, Any]
    labels: dict[str, Label] = field(default_factory=dict)
    metrics: dict[str, Metric] = field(default_factory=dict)

    def metric_for_series(self, series_name: str) -> Metric | None:
        """The metric a series name belongs to (`x_bucket`, `x_sum`, `x_count` belong to histogram `x`)."""
        if series_name in self.metrics and self.metrics[series_name].type != "histogram":
            return self.metrics[series_name]
        for suffix in HISTOGRAM_SUFFIXES:
            base = series_name.removesuffix(suffix)
            if base != series_name and base in self.metrics and self.metrics[base].type == "histogram":
                return self.metrics[base]
        return None


def read_raw(path: Path = CATALOGUE_PATH) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def load(raw: dict[str, Any] | None = None) -> Catalogue:
    raw = read_raw() if raw is None else raw
    catalogue = Catalogue(raw=raw)
    for label_id, spec in raw["labels"].items():
        values = tuple(str(value) for value in spec["values"]) if "values" in spec else None
        bound = len(values) if values is not None else int(spec.get("bound") or 0)
        catalogue.labels[label_id] = Label(
            id=label_id,
            name=spec["label"],
            values=values,
            bound=bound,
            description=" ".join(str(spec.get("description", "")).split()),
            source=spec.get("source", ""),
        )
    for spec in raw["metrics"]:
        catalogue.metrics[spec["name"]] = Metric(
            name=spec["name"],
            group=spec["group"],
            type=spec["type"],
            help=" ".join(spec["help"].split()),
            exporters=tuple(spec["exporters"]),
            labels=tuple(catalogue.labels[label_id] for label_id in spec["labels"] if label_id in catalogue.labels),
            buckets=tuple(float(bucket) for bucket in spec.get("buckets", ())),
            series_bound=spec.get("series_bound"),
            cardinality=" ".join(str(spec.get("cardinality", "")).split()),
        )
    return catalogue


def problems(raw: dict[str, Any]) -> list[str]:
    """What breaks the catalogue's own rules (naming conventions, bounded labels); empty when it is sound."""
    found: list[str] = []
    for label_id, spec in raw["labels"].items():
        name = spec.get("label", "")
        if not _SNAKE.match(name) or name in RESERVED_LABELS or name.startswith("__"):
            found.append(f"label {label_id}: '{name}' is not a usable label name")
        if "values" in spec:
            if not spec["values"] or len(set(map(str, spec["values"]))) != len(spec["values"]):
                found.append(f"label {label_id}: values must be a non-empty list without repeats")
        elif not isinstance(spec.get("bound"), int) or spec["bound"] < 1 or not spec.get("description"):
            found.append(f"label {label_id}: needs `values`, or a positive `bound` and a `description`")
    names = [spec.get("name", "") for spec in raw["metrics"]]
    found += [f"metric {name}: defined twice" for name in sorted({n for n in names if names.count(n) > 1})]
    for spec in raw["metrics"]:
        found += _metric_problems(spec, raw["labels"])
    if not found:
        for metric in load(raw).metrics.values():
            if metric.max_series > MAX_SERIES_PER_METRIC:
                found.append(f"metric {metric.name}: up to {metric.max_series} series (> {MAX_SERIES_PER_METRIC})")
    return found


def _metric_problems(spec: dict[str, Any], labels: dict[str, Any]) -> list[str]:
    name, kind = spec.get("name", ""), spec.get("type")
    found = []
    if not name.startswith(PREFIX) or not _SNAKE.match(name):
        found.append(f"metric {name}: must be snake_case and start with {PREFIX}")
    if kind not in TYPES:
        found.append(f"metric {name}: type must be one of {sorted(TYPES)}")
    if (kind == "counter") != name.endswith("_total"):
        found.append(f"metric {name}: counters, and only counters, end in _total")
    if kind == "histogram" and not name.endswith("_seconds"):
        found.append(f"metric {name}: histograms here measure time and end in _seconds")
    buckets = list(spec.get("buckets") or [])
    if kind == "histogram" and not (buckets and all(low < high for low, high in itertools.pairwise(buckets))):
        found.append(f"metric {name}: a histogram needs increasing buckets")
    if kind != "histogram" and "buckets" in spec:
        found.append(f"metric {name}: only histograms have buckets")
    if name.endswith(HISTOGRAM_SUFFIXES) or name.endswith("_created"):
        found.append(f"metric {name}: ends in a suffix the client library adds itself")
    if not spec.get("help") or not spec.get("group"):
        found.append(f"metric {name}: needs help and group")
    exporters = set(spec.get("exporters") or [])
    if not exporters or not exporters <= EXPORTERS:
        found.append(f"metric {name}: exporters must be some of {sorted(EXPORTERS)}")
    if "collector" in exporters and (kind != "gauge" or len(exporters) > 1):
        found.append(f"metric {name}: a scrape-time collector exports gauges only, and nothing else exports them")
    unknown = [label_id for label_id in spec.get("labels", []) if label_id not in labels]
    if unknown:
        found.append(f"metric {name}: unknown labels {unknown}")
    label_names = [labels[label_id]["label"] for label_id in spec.get("labels", []) if label_id in labels]
    if len(set(label_names)) != len(label_names):
        found.append(f"metric {name}: a label name is used twice")
    if "series_bound" in spec and not spec.get("cardinality"):
        found.append(f"metric {name}: a series_bound needs a cardinality note saying why it holds")
    return found


# ---------------------------------------------------------------------------------------------------------- METRICS.md


def _fold(text: str) -> str:
    return " ".join(str(text).split())


def render_markdown(catalogue: Catalogue) -> str:
    raw = catalogue.raw
    lines = [
        "# Ledgerbridge metrics",
        "",
        "<!-- Generated from deploy/metrics.yaml by `.venv/bin/python -m tests.deploy.catalogue --write`:",
        "     edit the YAML, not this file (tests/deploy/test_metrics_catalogue.py fails when they differ). -->",
        "",
        "The contract between the instrumentation and everything that reads its metrics: the alert rules",
        "(`deploy/prometheus/alerts.yaml`), the Grafana dashboard (`deploy/grafana/ledgerbridge.json`) and the",
        "admin operator page. Each metric below is registered with exactly this name, type, labels and buckets;",
        "the rules and the dashboard use nothing else (both are tested against `deploy/metrics.yaml`). What to do",
        "when an alert fires: `deploy/RUNBOOK.md`.",
        "",
        "## Rules",
        "",
        *[f"- {_fold(rule)}" for rule in raw["rules"]],
        "",
        "## Exporters",
        "",
        "| exporter | where | how |",
        "|---|---|---|",
    ]
    for exporter, spec in raw["exporters"].items():
        if "port" in spec:
            where = f"port {spec['port']}, `{spec['path']}`"
        elif "served_by" in spec:
            where = f"served by `{spec['served_by']}`"
        else:
            where = "nothing"
        lines.append(f"| `{exporter}` | {where} | {_fold(spec['process'])} |")
    lines += ["", "## Settings", "", "| variable | meaning |", "|---|---|"]
    lines += [f"| `{name}` | {_fold(text)} |" for name, text in raw["settings"].items()]
    lines += [
        "",
        "## Metrics at a glance",
        "",
        "Series bound: the most series one scraped target can export for the metric, from its labels' bounds (times",
        "the buckets + 3 for a histogram). Prometheus adds the target's own labels (instance, pod) on top.",
        "",
        "| metric | type | labels | exported by | series bound |",
        "|---|---|---|---|---|",
    ]
    for metric in catalogue.metrics.values():
        labels = ", ".join(f"`{label.name}`" for label in metric.labels) or "—"
        lines.append(
            f"| `{metric.name}` | {metric.type} | {labels} | {', '.join(metric.exporters)} | {metric.max_series:,} |"
        )
    groups: dict[str, list[Metric]] = {}
    for metric in catalogue.metrics.values():
        groups.setdefault(metric.group, []).append(metric)
    for group, metrics in groups.items():
        lines += ["", f"## {group}"]
        for metric in metrics:
            lines += ["", f"### `{metric.name}`", ""]
            lines.append(
                f"{metric.type}, exported by {', '.join(metric.exporters)}, at most {metric.max_series:,} series. "
                f"{metric.help}"
            )
            if metric.labels:
                lines += ["", "| label | values | bound |", "|---|---|---|"]
                for label in metric.labels:
                    values = "Values: " + ", ".join(f"`{value}`" for value in label.values) if label.values else ""
                    text = " ".join(part for part in (label.description, values) if part)
                    lines.append(f"| `{label.name}` | {text} | {label.size} |")
            if metric.cardinality:
                lines += ["", f"Cardinality: {metric.cardinality}"]
            if metric.buckets:
                lines += ["", "Buckets (s): " + ", ".join(f"{bucket:g}" for bucket in metric.buckets) + "."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------- PromQL

_KEYWORDS = {"and", "or", "unless", "bool", "by", "without", "on", "ignoring", "group_left", "group_right", "offset"}
_AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk"}
_AGGREGATIONS |= {"quantile"}  # aggregation operators may be followed by `by (...)` instead of their argument
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_TOKEN = re.compile(
    r"""(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<braces>\{[^}]*\})
      | (?P<range>\[[^\]]*\])
      | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
      | (?P<space>\s+)
      | (?P<other>.)""",
    re.VERBOSE,
)
_MATCHER = re.compile(r"""\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?""")


@dataclass(frozen=True)
class Selector:
    series: str
    matchers: tuple[tuple[str, str, str], ...]


def read_expression(expr: str) -> tuple[list[Selector], set[str]]:
    """The series selectors of a PromQL expression and the label names its by/on/... clauses name."""
    tokens = [(kind, text) for kind, text in _tokens(expr) if kind != "space"]
    selectors: list[Selector] = []
    grouping: set[str] = set()
    index = 0
    while index < len(tokens):
        kind, text = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ("", "")
        if kind == "ident" and text in _LABEL_LISTS and following == ("other", "("):
            close = next(i for i in range(index + 2, len(tokens)) if tokens[i] == ("other", ")"))
            grouping |= {name for kind_, name in tokens[index + 2 : close] if kind_ == "ident"}
            index = close + 1
            continue
        if kind == "ident" and text not in _KEYWORDS | _AGGREGATIONS and following != ("other", "("):
            matchers: tuple[tuple[str, str, str], ...] = ()
            if following[0] == "braces":
                matchers = tuple(_MATCHER.findall(following[1][1:-1]))
                index += 1
            selectors.append(Selector(series=text, matchers=matchers))
        elif kind == "braces":
            raise ValueError(f"a selector without a metric name is not checkable: {text}")
        index += 1
    return selectors, grouping


def _tokens(expr: str) -> list[tuple[str, str]]:
    return [(match.lastgroup or "other", match.group()) for match in _TOKEN.finditer(expr)]


def expression_problems(expr: str, catalogue: Catalogue) -> list[str]:
    """Metrics, labels and label values an expression uses that the catalogue does not define."""
    selectors, grouping = read_expression(expr)
    found = []
    used_labels = set(TARGET_LABELS)
    for selector in selectors:
        metric = catalogue.metric_for_series(selector.series)
        if metric is None:
            found.append(f"{selector.series}: not in deploy/metrics.yaml")
            continue
        used_labels |= metric.label_names
        if metric.type == "histogram":
            used_labels.add("le")
        for name, operator, value in selector.matchers:
            label = metric.label(name)
            if label is None:
                if name not in TARGET_LABELS:
                    found.append(f"{selector.series}: has no label '{name}'")
                continue
            if label.values is None or "$" in value:
                continue  # open label, or a dashboard variable
            if operator in {"=", "!="} and value not in label.values:
                found.append(f"{selector.series}: '{value}' is not a value of '{name}' {list(label.values)}")
            if operator in {"=~", "!~"} and not any(re.fullmatch(value, known) for known in label.values):
                found.append(f"{selector.series}: /{value}/ matches no value of '{name}'")
    unknown_grouping = grouping - used_labels
    if selectors and unknown_grouping:
        found.append(f"groups by labels no selected metric has: {sorted(unknown_grouping)}")
    return found


def label_literals(expr: str, label: str) -> set[str]:
    """Literal values an expression matches `label` against (alternatives of a regex included)."""
    selectors, _ = read_expression(expr)
    literals = set()
    for selector in selectors:
        for name, operator, value in selector.matchers:
            if name == label and "$" not in value:
                literals |= set(value.split("|")) if operator in {"=~", "!~"} else {value}
    return literals


# ---------------------------------------------------------------------------------------------------- PrometheusRule


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (PromQL, descriptions) as literal blocks, so the generated file reads like the source."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def render_prometheus_rule() -> str:
    """deploy/prometheus/alerts.yaml wrapped in the Prometheus Operator's PrometheusRule."""
    groups = yaml.safe_load(ALERTS_PATH.read_text())["groups"]
    manifest = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "ledgerbridge", "labels": {"app.kubernetes.io/name": "ledgerbridge"}},
        "spec": {"groups": groups},
    }
    header = (
        "# Generated from deploy/prometheus/alerts.yaml by `.venv/bin/python -m tests.deploy.catalogue --write`:\n"
        "# edit that file, not this one (tests/deploy/test_kubernetes.py fails when they differ).\n"
    )
    return header + yaml.dump(manifest, Dumper=_BlockDumper, sort_keys=False, width=120, allow_unicode=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the files derived from deploy/ sources")
    args = parser.parse_args(argv)
    raw = read_raw()
    if found := problems(raw):
        print("\n".join(found), file=sys.stderr)
        return 1
    text = render_markdown(load(raw))
    if args.write:
        MARKDOWN_PATH.write_text(text)
        PROMETHEUS_RULE_PATH.write_text(render_prometheus_rule())
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
