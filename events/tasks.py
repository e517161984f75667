"""Celery tasks of outbound webhooks (queue "webhooks"): one attempt per task, beat dispatches what is due."""

from __future__ import annotations

from celery import shared_task

from events import services

WEBHOOKS_QUEUE = "webhooks"


@shared_task(name="events.tasks.webhook_deliver", acks_late=True, reject_on_worker_lost=True)
def webhook_deliver(delivery_id: str) -> str | None:
    """Attempt one due delivery (the delivery's lease keeps two workers from sending the same attempt)."""
    return services.webhook_delivery_attempt(delivery_id=delivery_id)


@shared_task(name="events.tasks.webhook_deliveries_dispatch", acks_late=True, reject_on_worker_lost=True)
def webhook_deliveries_dispatch() -> int:
    """Scheduled by beat: queue every delivery that is due (first tries whose message was lost, and retries)."""
    due = services.webhook_deliveries_due()
    for delivery_id in due:
        webhook_delivery_enqueue(delivery_id)
    return len(due)


def webhook_delivery_enqueue(delivery_id: str) -> None:
    webhook_deliver.apply_async(args=[delivery_id], queue=WEBHOOKS_QUEUE)
