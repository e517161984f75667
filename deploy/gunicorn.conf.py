"""gunicorn settings for the web process (deploy/Dockerfile runs `gunicorn -c deploy/gunicorn.conf.py`).

The worker timeout is LEDGERBRIDGE_WEB_TIMEOUT as the Django settings read it (one variable, one default), so the
server and the vendor timeouts checked against it (unified_models/checks.py) always agree.
"""

import os

from gateway.settings.writes import LEDGERBRIDGE_WEB_TIMEOUT

bind = os.environ.get("LEDGERBRIDGE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = LEDGERBRIDGE_WEB_TIMEOUT
graceful_timeout = 30
# No gunicorn access log: the application's own (ledgerbridge.access) has every request with its request id,
# tokens in paths redacted and control characters escaped. gunicorn's error log goes through the same redaction.
accesslog = None
errorlog = "-"
logger_class = "gateway.logging.GunicornLogger"


def on_starting(server: object) -> None:
    """Before the workers fork: they count in one prometheus-client multiprocess directory (PROMETHEUS_MULTIPROC_DIR,
    else a new temporary one), emptied now, and /metrics on any worker sums them all (gateway/metrics)."""
    from gateway.metrics.multiprocess import directory_prepare

    directory_prepare(role="web", empty=True)
