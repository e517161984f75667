"""Celery tasks of the unified API: retrying recorded writes and reconciling abandoned ones (queue "vendor")."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction

from unified_models import services
from unified_models.errors import TYPED_ERRORS, MutationConflict
from unified_models.models import Mutation

logger = logging.getLogger(__name__)

# Vendor calls get their own queue so slow vendors never hold up maintenance or sync work (STYLE: Celery).
VENDOR_QUEUE = "vendor"


# acks_late + reject_on_worker_lost: a worker killed mid-task leaves the message to be delivered again (after the
# broker's visibility timeout). Safe: the mutation's lease decides who may send, and a retry reconciles first.
@shared_task(
    bind=True, name="unified_models.tasks.mutation_retry", acks_late=True, reject_on_worker_lost=True, max_retries=20
)
def mutation_retry(self: Any, mutation_id: str) -> str:
    """Retry one failed, in-doubt or abandoned mutation; the outcome is recorded on the mutation, not returned.

    While another sender holds the lease (or an in-doubt write settles) the task comes back when it may act.
    """
    mutation = Mutation.objects.filter(pk=mutation_id).first()
    if mutation is None:
        return "gone"
    try:
        services.mutation_retry(mutation=mutation)
    except MutationConflict as exc:
        if exc.code in ("mutation_in_flight", "mutation_in_doubt"):
            raise self.retry(countdown=exc.retry_after or 5) from None
        logger.info("Retry of mutation %s refused: %s", mutation_id, exc.code)
    except TYPED_ERRORS as exc:
        logger.info("Retry of mutation %s ended with %s", mutation_id, exc.__class__.__name__)
    mutation.refresh_from_db()
    return str(mutation.status)


@shared_task(name="unified_models.tasks.mutations_reconcile", acks_late=True, reject_on_worker_lost=True)
def mutations_reconcile() -> dict[str, int]:
    """Scheduled by beat: take over writes whose sender died and settled in-doubt writes, and finish them."""
    return services.mutations_reconcile()


def mutation_retry_enqueue(mutation_id: str) -> None:
    """Queue a retry on the vendor queue once the current transaction (if any) has committed."""
    transaction.on_commit(lambda: mutation_retry.apply_async(args=[mutation_id], queue=VENDOR_QUEUE))


@shared_task(name="unified_models.tasks.reconciliations_monthly", acks_late=True, reject_on_worker_lost=True)
def reconciliations_monthly() -> int:
    """Scheduled by beat on the 1st: reconcile last month for every active connection (a report each)."""
    from unified_models.reconciliation import reconciliations_for_previous_month

    return reconciliations_for_previous_month()
