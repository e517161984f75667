"""gunicorn settings for the web process (deploy/Dockerfile runs `gunicorn -c deploy/gunicorn.conf.py`).

The worker timeout is LEDGERBRIDGE_WEB_TIMEOUT as the Django settings read it (one variable, one default), so the
server and the vendor timeouts checked against it (unified_models/checks.py) always agree; the request hooks below
hold every request to it (gateway/web_deadline.py).
"""

import os

from gateway.settings.writes import LEDGERBRIDGE_WEB_TIMEOUT
from gateway.web_deadline import RequestDeadline

_deadline = RequestDeadline(LEDGERBRIDGE_WEB_TIMEOUT)

bind = os.environ.get("LEDGERBRIDGE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threads: nearly every API request waits on a vendor (Exact answers in 100 ms to seconds), and a worker's other
# threads run meanwhile. Each thread holds its own database connection (workers x threads per pod).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "4"))
# gthread workers are not killed for a long request as sync workers are: gateway/web_deadline.py ends a worker
# whose request runs past this timeout, which write leases and idempotency claims rely on.
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


def post_fork(server: object, worker: object) -> None:
    _deadline.watch()


def pre_request(worker: object, req: object) -> None:
    _deadline.request_started()


def post_request(worker: object, req: object, environ: object, resp: object) -> None:
    _deadline.request_finished()
