"""Prometheus metrics of deploy/metrics.yaml (deploy/METRICS.md): instruments, exporters, scrape-time collectors.

- `instruments`: every counter and histogram, defined once, and the `<thing>_observe` functions the rest of the code
  calls (they normalise label values to the catalogue's bounded sets, so no caller can grow a label).
- `multiprocess`: prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR): gunicorn workers and Celery
  processes write files that the exporter sums; files of dead processes are folded into one archive file.
- `collectors`: gauges computed at scrape time from PostgreSQL, Redis and the broker (web exporter only).
- `exposition`: the bearer-token check and the text the exporters answer; `middleware` serves /metrics on the web,
  `worker` runs a Celery worker's exporter and counts its tasks.
"""
