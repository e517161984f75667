"""Prometheus metrics (deploy/METRICS.md is the catalogue): who may scrape, and how many division budgets are shown."""

from gateway.settings.env import env

# --- Metrics (deploy/METRICS.md) ------------------------------------------------------------------------------------
# Bearer token Prometheus sends to /metrics (web) and to the workers' exporters; empty turns the exporters off, so
# the metrics are never open to the API's callers by default.
LEDGERBRIDGE_METRICS_TOKEN = env.str("LEDGERBRIDGE_METRICS_TOKEN", default="")
# Rate-budget gauges cover only this many divisions (the busiest): one series per division would grow without bound.
LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS = env.int("LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS", default=20)
# Port of each Celery worker's own exporter (its processes' task, vendor and write metrics; deploy/metrics.yaml).
LEDGERBRIDGE_METRICS_WORKER_PORT = env.int("LEDGERBRIDGE_METRICS_WORKER_PORT", default=9808)
