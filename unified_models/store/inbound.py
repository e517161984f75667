"""Inbound vendor webhooks, vendor-neutral: subscriptions per connection, receiving a POST, the targeted fetch.

The route is `/inbound/<connector id>` ({LEDGERBRIDGE_PUBLIC_URL}/inbound/exact is what Exact calls); the connector
parses and verifies (connectors/base/inbound.py), this module decides who it concerns and what to do:

- `inbound_receive`: a handshake without a signature is answered at once; otherwise the delivery must verify with
  the webhook secret of the app of at least one connection it names (the workspace's own app or the operator's
  default); nothing is read, written or queued before that. Each event is recorded once per connection
  (InboundEventSeen: a redelivery is dropped) and a targeted fetch is queued after the commit, so the answer
  takes one small transaction.
- `inbound_fetch`: the changed records by remote id through the connector's `sync_fetch` into the store; a record
  the vendor no longer has (or an event that says deleted) is soft-deleted. Only for resources whose copy is
  complete: before that the backfill brings them.
- Missed events are caught by the incremental runs (the change feeds), which is why nothing here moves a
  checkpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base.connector import Connector, OAuth2Connector
from connectors.base.data import Resource
from connectors.base.inbound import InboundAction, InboundRejected
from connectors.registry import UnknownConnector, get_connector
from gateway.metrics.instruments import sync_run_observe
from tenants.credentials.store import NoVendorApp, vendor_app_for
from tenants.models import Connection, ConnectionStatus
from tenants.vendor_calls import connection_context
from unified_models.store.models import InboundEventSeen, InboundSubscription, StoredRecord, SyncState
from unified_models.store.services import store_records

logger = logging.getLogger(__name__)

# How long a seen event is remembered for deduplication (redeliveries come minutes apart, if at all).
SEEN_FOR = timedelta(days=2)


def inbound_callback_url(connector_id: str) -> str:
    return f"{settings.LEDGERBRIDGE_PUBLIC_URL}/inbound/{connector_id}"


# ---------------------------------------------------------------------------------------------- subscriptions


def inbound_subscriptions_ensure(*, connection: Connection) -> list[InboundSubscription]:
    """The connection's subscriptions at the vendor, created where missing (at connect time, and by the check
    schedule: one the vendor dropped is created again). Returns the rows as now stored."""
    connector = get_connector(connection.connector)
    if not connector.inbound_topics:
        return []
    callback_url = inbound_callback_url(connection.connector)
    remote = connector.inbound_subscribe(connection_context(connection), callback_url)
    now = timezone.now()
    with transaction.atomic():
        for subscription in remote:
            InboundSubscription.objects.update_or_create(
                connection=connection,
                topic=subscription.topic,
                defaults={"remote_id": subscription.remote_id, "callback_url": callback_url, "checked_at": now},
            )
        InboundSubscription.objects.filter(connection=connection).exclude(
            topic__in=[subscription.topic for subscription in remote]
        ).delete()
    return list(InboundSubscription.objects.filter(connection=connection).order_by("topic"))


def inbound_subscriptions_remove(*, connection: Connection) -> None:
    """Delete the connection's subscriptions at the vendor (at disconnect, while its credential still works).

    A subscription another active connection of the same company and app still relies on (the vendor keeps one per
    app, company and topic) is left in place. A vendor error is logged: the disconnect goes on, and events of a
    subscription left behind name no connection and change nothing.
    """
    rows = list(InboundSubscription.objects.filter(connection=connection))
    if not rows:
        return
    shared = set(
        InboundSubscription.objects.filter(
            connection__connector=connection.connector,
            connection__company_id=connection.company_id,
            connection__status=ConnectionStatus.ACTIVE,
            remote_id__in=[row.remote_id for row in rows],
        )
        .exclude(connection=connection)
        .values_list("remote_id", flat=True)
    )
    remote_ids = [row.remote_id for row in rows if row.remote_id not in shared]
    try:
        if remote_ids:
            get_connector(connection.connector).inbound_unsubscribe(connection_context(connection), remote_ids)
    except Exception:
        logger.exception("Removing the webhook subscriptions of connection %s failed", connection.pk)
    InboundSubscription.objects.filter(connection=connection).delete()


# ---------------------------------------------------------------------------------------------- receiving


@dataclass(frozen=True)
class InboundOutcome:
    status: int
    queued: int = 0  # targeted fetches queued
    duplicates: int = 0


@dataclass(frozen=True)
class InboundFetch:
    """A targeted fetch to queue: records of one resource of one connection."""

    connection_id: Any
    resource: str
    remote_ids: list[str]
    deleted_ids: list[str]


class InboundUnknownConnector(Exception):
    pass


def _secrets_for(connector_id: str, connections: list[Connection], client_id: str | None) -> dict[str, list[Any]]:
    """Webhook secret -> the connections whose app signs with it (an app the delivery does not name is skipped)."""
    by_secret: dict[str, list[Any]] = {}
    for connection in connections:
        try:
            app = vendor_app_for(workspace=connection.workspace, connector_id=connector_id)
        except NoVendorApp:
            continue
        if client_id is not None and app.client_id.strip("{}").lower() != client_id:
            continue
        if app.webhook_secret:
            by_secret.setdefault(app.webhook_secret, []).append(connection.pk)
    return by_secret


def _signed_by_default_app(
    connector: Connector, body: bytes, headers: Mapping[str, str], client_id: str | None
) -> bool:
    app = connector.default_app() if isinstance(connector, OAuth2Connector) else None
    if app is None or not app.webhook_secret:
        return False
    if client_id is not None and app.client_id.strip("{}").lower() != client_id:
        return False
    return connector.inbound_verify(body, headers, app.webhook_secret)


def inbound_receive(
    *, connector_id: str, body: bytes, headers: Mapping[str, str]
) -> tuple[InboundOutcome, list[InboundFetch]]:
    """Verify a POST and record its events; returns the outcome and the fetches to queue once committed.

    Raises InboundRejected (400 malformed, 401 unsigned or signed with no secret of the connections it names) and
    InboundUnknownConnector; nothing is written in either case.
    """
    try:
        connector = get_connector(connector_id)
    except UnknownConnector:
        raise InboundUnknownConnector(connector_id) from None
    delivery = connector.inbound_parse(body, headers)
    if delivery.handshake and not delivery.signed:
        return InboundOutcome(status=200), []
    # Every connection the delivery names (any status: a paused connection's events are verified, then ignored).
    connections = list(
        Connection.objects.select_related("workspace").filter(
            connector=connector_id, company_id__in=sorted(delivery.company_ids)
        )
    )
    trusted: set[Any] = set()
    for secret, connection_ids in _secrets_for(connector_id, connections, delivery.app_client_id).items():
        if connector.inbound_verify(body, headers, secret):
            trusted.update(connection_ids)
    if not trusted:
        if _signed_by_default_app(connector, body, headers, delivery.app_client_id):
            # A subscription left behind (its connection is gone): accepted, nothing to do.
            return InboundOutcome(status=200), []
        raise InboundRejected("The signature does not verify.", status=401, code="invalid_signature")
    connections = [c for c in connections if c.pk in trusted and c.status == ConnectionStatus.ACTIVE]
    fetches: dict[tuple[Any, str], InboundFetch] = {}
    duplicates = 0
    with transaction.atomic():
        for event in delivery.events:
            for connection in connections:
                if connection.company_id != event.company_id:
                    continue
                try:
                    with transaction.atomic():
                        InboundEventSeen.objects.create(connection=connection, key=event.dedupe_key)
                except IntegrityError:
                    duplicates += 1
                    continue
                fetch = fetches.setdefault(
                    (connection.pk, event.resource.value),
                    InboundFetch(connection.pk, event.resource.value, remote_ids=[], deleted_ids=[]),
                )
                ids = fetch.deleted_ids if event.action is InboundAction.DELETED else fetch.remote_ids
                ids.append(event.remote_id)
    return InboundOutcome(status=200, queued=len(fetches), duplicates=duplicates), list(fetches.values())


def inbound_seen_prune() -> int:
    """Forget events older than the deduplication window."""
    deleted, _ = InboundEventSeen.objects.filter(received_at__lt=timezone.now() - SEEN_FOR).delete()
    return deleted


# ---------------------------------------------------------------------------------------------- fetching


def inbound_fetch(*, connection_id: Any, resource: str, remote_ids: list[str], deleted_ids: list[str]) -> int:
    """Bring these records of the connection into the store (one targeted read); returns how many changed."""
    connection = Connection.objects.filter(pk=connection_id, status=ConnectionStatus.ACTIVE).first()
    if connection is None:
        return 0
    if not SyncState.objects.filter(
        connection=connection, resource=resource, first_completed_at__isnull=False
    ).exists():
        return 0  # the copy is not complete yet: the backfill (or its change feed) brings the record
    records: list[Any] = []
    wanted = sorted(set(remote_ids) - set(deleted_ids))
    if wanted:
        records = get_connector(connection.connector).sync_fetch(
            connection_context(connection), Resource(resource), wanted
        )
    found = {str(record.remote_id) for record in records}
    gone = sorted(set(deleted_ids) | (set(wanted) - found))
    with transaction.atomic():
        outcome = store_records(
            connection_id=connection.pk, resource=Resource(resource), records=records, deleted_remote_ids=gone
        )
        state = SyncState.objects.select_for_update().get(connection=connection, resource=resource)
        state.record_count = StoredRecord.objects.filter(
            connection=connection, resource=resource, deleted_at__isnull=True
        ).count()
        state.save(update_fields=["record_count"])
    try:
        sync_run_observe(
            connector=connection.connector,
            resource=resource,
            mode="webhook",
            outcome="succeeded",
            upserted=outcome.changed,
            deleted=outcome.deleted,
        )
    except ValueError:
        logger.exception("webhook fetch of %s not counted", resource)
    return outcome.changed + outcome.deleted
