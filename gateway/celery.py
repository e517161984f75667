"""The Celery application: configured from Django settings (CELERY_* names), tasks found per app."""

import os
from pathlib import Path
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")

app = Celery("ledgerbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# After configuration, from the loaded settings: an on_configure handler that reads `sender.conf` re-enters
# configuration (conf is still unset while on_configure runs) and recurses until RecursionError.
@app.on_after_configure.connect
def _ensure_filesystem_broker_folders(sender: Celery, source: Any, **_: object) -> None:
    """The filesystem transport expects its folders to exist before the first message."""
    options = source.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def _task_log_context_start(task_id: str | None = None, task: Any = None, **_: object) -> None:
    from gateway.request_context import log_context_start

    log_context_start(task_id=task_id or "", task_name=getattr(task, "name", "") or "")


def _task_log_context_end(**_: object) -> None:
    from gateway.request_context import log_context_end

    log_context_end()


def _connect_worker_metrics() -> None:
    """Metrics of worker processes (gateway/metrics/worker.py): the directory first, then the exporter, then tasks."""
    from celery import signals

    from gateway.metrics import worker

    signals.celeryd_init.connect(worker.worker_metrics_prepare, weak=False)
    signals.worker_init.connect(worker.worker_exporter_start, weak=False)
    signals.task_prerun.connect(worker.task_started, weak=False)
    signals.task_postrun.connect(worker.task_finished, weak=False)
    # Log lines of a task carry its id and name (LOG_FORMAT=json, gateway/logging.py).
    signals.task_prerun.connect(_task_log_context_start, weak=False)
    signals.task_postrun.connect(_task_log_context_end, weak=False)


_connect_worker_metrics()
