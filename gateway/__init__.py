"""The Ledgerbridge Django project: settings, URLs, Celery app and the API plumbing shared by all apps."""

from gateway.celery import app as celery_app

__all__ = ["celery_app"]
