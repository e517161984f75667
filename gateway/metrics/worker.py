"""A Celery worker's metrics: multiprocess files for its processes, its own exporter, and every task it finishes.

Connected from gateway/celery.py. `celeryd_init` (the worker's main process, before the pool starts) chooses the
multiprocess directory and re-creates the instruments in it; prefork children inherit both. The exporter runs in the
worker's main process (a thread), serves the sum over all of them on LEDGERBRIDGE_METRICS_WORKER_PORT, and only
with LEDGERBRIDGE_METRICS_TOKEN set (the same bearer token as the web's /metrics).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gateway.metrics import multiprocess

logger = logging.getLogger(__name__)

_started: dict[str, float] = {}
_started_lock = threading.Lock()
_exporter: WSGIServer | None = None

# Celery's task states after a run (task_postrun's `state`) as the catalogue's outcomes; other states are not counted.
_OUTCOMES = {"SUCCESS": "succeeded", "FAILURE": "failed", "RETRY": "retried"}


def worker_metrics_prepare(**_: Any) -> None:
    """celeryd_init: this worker's processes count in one multiprocess directory, emptied at start.

    Celery's Django fixup has set Django up by now, so the instruments exist already, counting in memory: they are
    created again (the module re-run in place), now writing to the directory. Functions imported from the module
    before keep working, they read the module's globals. Nothing was counted yet: no task has run.
    """
    path = multiprocess.directory_prepare(role="worker", empty=True)
    module = sys.modules.get("gateway.metrics.instruments")
    if module is not None:
        importlib.reload(module)
    logger.debug("metrics: multiprocess directory %s", path)


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes every 15 s must not fill the log
        pass


class _ThreadingServer(WSGIServer):
    daemon_threads = True

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self._handle, args=(request, client_address), daemon=True)
        thread.start()

    def _handle(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)


def exporter_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The worker exporter: GET /metrics with the bearer token, the sum over this worker's processes."""
    from gateway.metrics.exposition import CONTENT_TYPE, metrics_authorised, metrics_text

    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found\n"]
    if not metrics_authorised(environ.get("HTTP_AUTHORIZATION")):
        start_response(
            "401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')]
        )
        return [b"Unauthorized\n"]
    body = metrics_text(collectors=False)
    start_response("200 OK", [("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")])
    return [body]


def exporter_start(*, port: int, host: str = "") -> WSGIServer:
    """Serve exporter_app on `port` (0: any free port) in a daemon thread; the server knows its port."""
    server = make_server(host, port, exporter_app, server_class=_ThreadingServer, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True)
    thread.start()
    return server


def worker_exporter_start(**_: Any) -> None:
    """worker_init (main process, before the pool starts): run the exporter when a metrics token is set."""
    global _exporter
    from django.conf import settings

    if not settings.LEDGERBRIDGE_METRICS_TOKEN or _exporter is not None:
        return
    from connectors.registry import registered_connectors
    from gateway.metrics.instruments import counters_initialise

    counters_initialise(connector.info.id for connector in registered_connectors())
    _exporter = exporter_start(port=settings.LEDGERBRIDGE_METRICS_WORKER_PORT)
    logger.info("metrics: worker exporter on port %s", _exporter.server_port)


def task_started(task_id: str | None = None, **_: Any) -> None:
    """task_prerun."""
    if task_id:
        with _started_lock:
            _started[task_id] = time.monotonic()


def task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    """task_postrun: count the task by name, the queue it came from and how it ended, with its run time."""
    from gateway.metrics.instruments import celery_task_observe

    with _started_lock:
        started = _started.pop(task_id, None) if task_id else None
    outcome = _OUTCOMES.get(state or "")
    if task is None or outcome is None:
        return
    delivery = getattr(task.request, "delivery_info", None) or {}
    celery_task_observe(
        task=task.name,
        queue=delivery.get("routing_key"),
        outcome=outcome,
        duration_seconds=time.monotonic() - started if started is not None else None,
    )
