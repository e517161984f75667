"""Celery tasks of the local store (queue "sync"): one run per connection and resource, and beat's schedules."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import transaction

from connectors.registry import get_connector
from tenants.models import Connection, ConnectionStatus
from unified_models.store import inbound, services
from unified_models.store.models import SyncMode

logger = logging.getLogger(__name__)

SYNC_QUEUE = "sync"


# acks_late + reject_on_worker_lost: a worker killed mid-run leaves the message to be delivered again; the run's
# lease and checkpoint make that safe (the redelivery continues from the last committed batch).
@shared_task(name="unified_models.store.tasks.sync_run", acks_late=True, reject_on_worker_lost=True)
def sync_run(run_id: str) -> str:
    """Execute one requested sync run; its outcome is on the SyncRun row."""
    return str(services.sync_run_execute(run_id=run_id).state)


def sync_run_enqueue(run_id: Any, *, countdown: float = 0) -> None:
    """Queue a run on the sync queue once the current transaction (if any) has committed."""
    transaction.on_commit(
        lambda: sync_run.apply_async(args=[str(run_id)], queue=SYNC_QUEUE, countdown=countdown or None)
    )


def spread_offset(connection_id: Any, resource: str, period: float) -> float:
    """Where in the period this connection's run goes: a stable hash, so a fleet is spread evenly and never
    fired at the same second."""
    digest = hashlib.sha256(f"{connection_id}:{resource}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * period


@shared_task(name="unified_models.store.tasks.sync_schedule")
def sync_schedule(resource: str) -> int:
    """Beat, once per period of `resource`: an incremental run for every active connection that keeps a copy of
    it, each started at its own offset within the period. Returns how many were queued."""
    period = float(settings.LEDGERBRIDGE_SYNC_SCHEDULE[resource])
    queued = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.ACTIVE).iterator():
        if resource not in services.sync_resources(connection):
            continue
        offset = spread_offset(connection.pk, resource, period)
        try:
            run = services.sync_run_request(
                connection=connection,
                resource=resource,
                mode=SyncMode.INCREMENTAL,
                trigger="schedule",
                starts_in=offset,
            )
        except services.SyncAlreadyRunning:
            continue
        sync_run_enqueue(run.pk, countdown=offset)
        queued += 1
    return queued


@shared_task(name="unified_models.store.tasks.sync_epoch_check")
def sync_epoch_check() -> int:
    """Beat: look for vendor epochs that moved (Exact: division moves) and copy those connections again."""
    queued = 0
    for connection in Connection.objects.filter(
        status=ConnectionStatus.ACTIVE, stored_records__isnull=False
    ).distinct():
        try:
            runs = services.sync_epoch_check(connection=connection)
        except Exception:
            logger.exception("Epoch check of connection %s failed", connection.pk)
            continue
        for run in runs:
            sync_run_enqueue(run.pk)
        queued += len(runs)
    return queued


# ---------------------------------------------------------------------------------------------- inbound webhooks


@shared_task(name="unified_models.store.tasks.inbound_fetch", acks_late=True, reject_on_worker_lost=True)
def inbound_fetch(connection_id: str, resource: str, remote_ids: list[str], deleted_ids: list[str]) -> int:
    """The targeted fetch a webhook asked for (unified_models/store/inbound.py); returns the records changed."""
    return inbound.inbound_fetch(
        connection_id=connection_id, resource=resource, remote_ids=remote_ids, deleted_ids=deleted_ids
    )


def _send_quietly(task: Any, args: list[Any], what: str) -> None:
    try:
        task.apply_async(args=args, queue=SYNC_QUEUE)
    except Exception:
        # The broker is down. A lost fetch is caught by the next incremental run (the change feed), a lost
        # subscribe by the subscription check; neither may fail the request that triggered it.
        logger.warning("Could not queue %s; the schedule catches up", what, exc_info=True)


def inbound_fetches_enqueue(fetches: list[inbound.InboundFetch]) -> None:
    """Queue the fetches once the transaction that recorded their events has committed."""
    for fetch in fetches:
        args = [str(fetch.connection_id), fetch.resource, fetch.remote_ids, fetch.deleted_ids]
        transaction.on_commit(lambda args=args: _send_quietly(inbound_fetch, args, "a webhook fetch"))  # type: ignore[misc]


def inbound_subscribe_enqueue(connection_id: Any) -> None:
    """Queue the connect-time subscription once the connection is committed."""
    args = [str(connection_id)]
    transaction.on_commit(lambda: _send_quietly(inbound_subscribe, args, "webhook subscriptions"))


@shared_task(name="unified_models.store.tasks.inbound_subscribe")
def inbound_subscribe(connection_id: str) -> int:
    """At connect time: the connection's webhook subscriptions at the vendor. Returns how many it has."""
    connection = Connection.objects.filter(pk=connection_id, status=ConnectionStatus.ACTIVE).first()
    if connection is None:
        return 0
    return len(inbound.inbound_subscriptions_ensure(connection=connection))


@shared_task(name="unified_models.store.tasks.inbound_subscriptions_check")
def inbound_subscriptions_check() -> int:
    """Beat: every active connection of a connector with webhook topics still has its subscriptions (one the
    vendor dropped is created again); old deduplication records are forgotten. Returns the connections checked."""
    inbound.inbound_seen_prune()
    checked = 0
    for connection in Connection.objects.filter(status=ConnectionStatus.ACTIVE).iterator():
        if not get_connector(connection.connector).inbound_topics:
            continue
        try:
            inbound.inbound_subscriptions_ensure(connection=connection)
        except Exception:
            logger.exception("Checking the webhook subscriptions of connection %s failed", connection.pk)
            continue
        checked += 1
    return checked
