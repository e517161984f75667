"""Celery tasks of the tenants app: keeping idle credentials alive before their refresh token expires."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings

from connectors.base.errors import VendorError
from tenants.credentials import refresh

logger = logging.getLogger(__name__)


@shared_task(name="tenants.tasks.credentials_keepalive")
def credentials_keepalive() -> int:
    """Scheduled by beat: queue a refresh for every credential whose refresh token dies within the keep-alive window.

    Exact refresh tokens expire 30 days after the last refresh (connectors/exact/NOTES.md: OAuth and tokens); an
    idle connection would otherwise need the user to log in again.
    """
    due = refresh.credential_keepalive_due(within=timedelta(days=settings.LEDGERBRIDGE_KEEPALIVE_DAYS))
    credential_ids = [str(pk) for pk in due.values_list("pk", flat=True)]
    for credential_id in credential_ids:
        credential_keepalive.delay(credential_id)
    return len(credential_ids)


@shared_task(name="tenants.tasks.credential_keepalive")
def credential_keepalive(credential_id: str) -> bool:
    """Refresh one credential now (if Exact allows it); failures are recorded on the credential, not retried here."""
    try:
        return refresh.force_refresh(credential_id)
    except VendorError as exc:
        # The token manager already recorded the outcome (needs_reauth, lost, cooldown); the next run tries again.
        logger.warning("Keep-alive of credential %s failed: %s", credential_id, exc.__class__.__name__)
        return False
