"""System checks for writes under faults: vendor timeouts well inside the web server's, leases and redelivery that fit.

Run by `manage.py check` and by `migrate` (deploy/compose.yaml migrates before web and workers start); gunicorn's
import of the WSGI app does not run checks.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

# A write makes a few vendor calls in a row (lookups, the write, its read-back): each call's timeout must fit
# this many times into the web server's timeout, so a slow vendor ends the request before the server kills it.
CALLS_PER_WRITE = 4


@register()
def check_write_deadlines(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    web = float(settings.LEDGERBRIDGE_WEB_TIMEOUT)
    vendor = float(settings.EXACT_HTTP_TIMEOUT)
    if vendor * CALLS_PER_WRITE > web:
        errors.append(
            Error(
                f"EXACT_HTTP_TIMEOUT ({vendor:g} s) must fit {CALLS_PER_WRITE} times into LEDGERBRIDGE_WEB_TIMEOUT "
                f"({web:g} s): a request waiting on a slow vendor would be killed by the web server mid-write.",
                hint=f"Lower EXACT_HTTP_TIMEOUT or raise LEDGERBRIDGE_WEB_TIMEOUT to at least {vendor * 4:g}.",
                id="unified_models.E001",
            )
        )
    token = float(settings.EXACT_TOKEN_TIMEOUT)
    if token >= web:
        errors.append(
            Error(
                f"EXACT_TOKEN_TIMEOUT ({token:g} s) must be below LEDGERBRIDGE_WEB_TIMEOUT ({web:g} s).",
                id="unified_models.E002",
            )
        )
    visibility = (getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", None) or {}).get("visibility_timeout")
    if visibility is not None and float(visibility) <= float(settings.CELERY_TASK_TIME_LIMIT):
        errors.append(
            Error(
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) must exceed CELERY_TASK_TIME_LIMIT "
                f"({settings.CELERY_TASK_TIME_LIMIT} s): a running task would be delivered to a second worker.",
                id="unified_models.E003",
            )
        )
    if float(settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS) < vendor:
        errors.append(
            Error(
                f"LEDGERBRIDGE_MUTATION_SETTLE_SECONDS ({settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS:g} s) must be "
                f"at least EXACT_HTTP_TIMEOUT ({vendor:g} s): a write whose answer was lost may still be applied.",
                id="unified_models.E004",
            )
        )
    return errors
