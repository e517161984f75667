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
