"""The Celery application: configured from Django settings (CELERY_* names), tasks found per app."""

import os
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings.local")

app = Celery("ledgerbridge")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_configure.connect
def _ensure_filesystem_broker_folders(sender: Celery, **_: object) -> None:
    """The filesystem transport expects its folders to exist before the first message."""
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder", "processed_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
