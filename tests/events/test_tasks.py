"""The webhook tasks on a real Celery worker: an event committed by the web process reaches the receiver."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings
from standardwebhooks.webhooks import Webhook

from events import services
from events.models import DeliveryStatus, EventType, WebhookDelivery
from events.tasks import webhook_deliver, webhook_deliveries_dispatch
from tests.events.factories import WebhookEndpointFactory
from tests.events.receiver import Receiver
from tests.gateway.test_celery import start_worker
from tests.tenants.factories import ConnectionFactory


def test_dispatch_is_scheduled_by_beat_on_the_webhooks_queue() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["webhook-deliveries-dispatch"]
    assert entry["task"] == webhook_deliveries_dispatch.name
    assert django_settings.CELERY_TASK_ROUTES["events.tasks.*"]["queue"] == "webhooks"
    assert webhook_deliver.name == "events.tasks.webhook_deliver"


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_an_event_queued_on_commit(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    receiver = Receiver().start()
    monkeypatch.setenv("LEDGERBRIDGE_CREDENTIAL_KEYS", ",".join(django_settings.LEDGERBRIDGE_CREDENTIAL_KEYS))
    monkeypatch.setenv("LEDGERBRIDGE_WEBHOOK_ALLOW_PRIVATE", "true")
    connection = ConnectionFactory()
    endpoint = WebhookEndpointFactory(workspace=connection.workspace, url=receiver.url)
    worker = start_worker("webhooks")
    try:
        event = services.event_emit(  # outside a transaction: committed at once, then queued
            workspace_id=connection.workspace_id, connection_id=connection.pk, type=EventType.INVOICE_CREATED, data={}
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not receiver.received():
            assert worker.poll() is None, worker.stdout.read().decode() if worker.stdout else "worker died"
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        receiver.stop()
    (request,) = receiver.received()
    assert Webhook(endpoint.secret).verify(request.body, request.headers)["id"] == str(event.id)
    assert WebhookDelivery.objects.get(event=event).status == DeliveryStatus.SUCCEEDED
