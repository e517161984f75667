"""Outbound events: emit into the outbox, manage webhook endpoints, deliver signed requests with retries.

The rules that make delivery at least once:
- `event_emit` writes the Event and one WebhookDelivery per subscribed endpoint in the caller's transaction (the
  outbox): if the change rolls back, no event exists; if it commits, the deliveries are there to be sent.
- After the commit a task is queued per delivery; beat's `webhook-deliveries-dispatch` picks up every delivery that
  is due anyway (a lost message, a worker that died, the next retry), so nothing depends on a message arriving.
- An attempt leases the delivery (next_attempt_at moves past the attempt's deadline) before it sends, so two
  workers never send the same attempt; a worker killed mid-attempt leaves it due again after the lease.
- A receiver that does not answer 2xx is tried again on RETRY_SCHEDULE (about 27 hours in all). The event id is
  the `webhook-id` header and the payload's `id`: the same on every attempt, for deduplication.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from events.destinations import DestinationNotAllowed, destination_check
from events.models import (
    ConnectionEventCounter,
    DeliveryStatus,
    Event,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from gateway.metrics.instruments import outbound_delivery_observe
from gateway.request_context import current_request_id
from gateway.statements import Update, prepared_cursor, update_rows
from tenants.credentials import crypto
from tenants.models import Workspace

logger = logging.getLogger(__name__)

# Seconds to wait before attempt n+1 (Standard Webhooks' reference schedule): 8 attempts over about 27 hours.
RETRY_SCHEDULE: tuple[int, ...] = (5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
SECRET_PREFIX = "whsec_"
RESPONSE_EXCERPT_CHARS = 1000
USER_AGENT = "Ledgerbridge-Webhooks/1"


class InvalidEndpoint(Exception):
    """Input a webhook endpoint cannot take: (field, code, message)."""

    def __init__(self, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code
        self.message = message


# ---------------------------------------------------------------------------------------------- emit


def event_emit(
    *,
    workspace_id: Any,
    type: str,
    data: dict[str, Any],
    connection_id: Any = None,
    source: str = "system",
) -> Event:
    """Store an event and its deliveries in the current transaction; queue the deliveries once it commits.

    A connection's events get the next number of its sequence (the counter row is locked until the commit, so
    numbers follow commit order without gaps).
    """
    (event,) = events_emit(workspace_id=workspace_id, events=[(type, data)], connection_id=connection_id, source=source)
    return event


def events_emit(
    *,
    workspace_id: Any,
    events: list[tuple[str, dict[str, Any]]],
    connection_id: Any = None,
    source: str = "system",
    also: Sequence[Update] = (),
) -> list[Event]:
    """`event_emit` for several (type, data) events of one change, in order: their sequence numbers in one counter
    update, the events in one insert (per EMIT_CHUNK events), the workspace's endpoints read once.

    `also`: UPDATEs of the same change (e.g. the write's Idempotency-Key answer) made in the same transaction; on
    PostgreSQL in the same statement as the last chunk's numbered insert, one round trip less for the change.

    A sync batch's record events come here too (unified_models/store_events.py): a thousand events cost a few
    statements, not a thousand transactions."""
    # No savepoint inside a caller's transaction: a failure here fails the caller's write as a whole anyway.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        request_id = current_request_id()[:128]
        created = [
            Event(
                workspace_id=workspace_id,
                connection_id=connection_id,
                type=type,
                source=source,
                data=data,
                request_id=request_id,
                created_at=now,
            )
            for type, data in events
        ]
        # Locked until commit: an endpoint deleted meanwhile would leave these deliveries pointing at nothing
        # (webhook_endpoint_delete takes the same lock before it collects an endpoint's deliveries). The last chunk's
        # numbered insert reads and locks them in the same statement (one round trip less per write).
        endpoints: list[WebhookEndpoint] | None = None
        for start in range(0, len(created), EMIT_CHUNK):
            chunk = created[start : start + EMIT_CHUNK]
            last_chunk = start + EMIT_CHUNK >= len(created)
            # The counter row stays locked from the first chunk on, so the chunks' numbers follow one another.
            numbered = (
                _insert_numbered(
                    chunk,
                    connection_id,
                    endpoints_of=workspace_id if last_chunk else None,
                    also=also if last_chunk else (),
                )
                if connection_id is not None
                else None
            )
            if numbered is None:
                last = _next_sequence(connection_id, count=len(chunk)) if connection_id is not None else None
                for index, event in enumerate(chunk):
                    event.sequence = None if last is None else last - len(chunk) + 1 + index
                Event.objects.bulk_create(chunk)
            elif last_chunk:
                endpoints = numbered
        if endpoints is None:  # the numbered insert did not run (another database, no counter row yet)
            for update in also:
                update_rows(update)
            endpoints = _enabled_endpoints_locked(workspace_id)
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=event.created_at)
                for event in created
                for endpoint in endpoints
                if endpoint.accepts(event.type)
            ],
            batch_size=EMIT_CHUNK,
        )
        ids = [str(delivery.pk) for delivery in deliveries]
        if ids:
            transaction.on_commit(lambda: _enqueue(ids))
    return created


def _enabled_endpoints_locked(workspace_id: Any) -> list[WebhookEndpoint]:
    """The workspace's enabled endpoints (id and event types only, all a delivery needs), locked until the commit
    as `select_for_update()` locks them, with a statement written once per process: every write asks it."""
    features = db_connection.features
    text = _ENDPOINTS_SQL.format(lock=" FOR UPDATE" if features.has_select_for_update else "")
    workspace_field = WebhookEndpoint._meta.get_field("workspace")
    with prepared_cursor(db_connection) as cursor:
        cursor.execute(text, [workspace_field.get_db_prep_value(workspace_id, db_connection)])
        rows = cursor.fetchall()
    return _endpoints_of_rows(rows)


def _endpoints_of_rows(rows: list[tuple[Any, Any]]) -> list[WebhookEndpoint]:
    """Endpoints (id and event types only, all a delivery needs) from (id, event_types) rows as read raw."""
    types_field: Any = WebhookEndpoint._meta.get_field("event_types")
    return [
        WebhookEndpoint.from_db(
            db_connection.alias,
            ["id", "event_types"],
            (WebhookEndpoint._meta.pk.to_python(pk), types_field.from_db_value(types, None, db_connection)),  # type: ignore[union-attr]
        )
        for pk, types in rows
    ]


_ENDPOINTS_SQL = (
    'SELECT "id", "event_types" FROM "events_webhookendpoint" WHERE "workspace_id" = %s AND "enabled"{lock}'
)


# Events per INSERT statement: 9 parameters each, well under PostgreSQL's 65,535 parameters per statement.
EMIT_CHUNK = 1000

_EVENT_COLUMNS = ("id", "workspace_id", "connection_id", "type", "source", "data", "request_id", "created_at")
# One statement: the counter's UPDATE … RETURNING (which holds the row lock until the commit) numbers the rows the
# INSERT adds, in the order given (a data-modifying CTE, PostgreSQL's). Its answer is the new rows' (id, sequence);
# with `{endpoints}` filled, followed by the workspace's enabled endpoints (id, event types), locked, as rows whose
# sequence is NULL.
_NUMBERED_INSERT = (
    'WITH counter AS (UPDATE "events_connectioneventcounter" SET "last_sequence" = "last_sequence" + %s '
    'WHERE "connection_id" = %s RETURNING "last_sequence"), '
    'inserted AS (INSERT INTO "events_event" ("id", "workspace_id", "connection_id", "type", "source", "data", '
    '"request_id", "created_at", "sequence") '
    "SELECT new.id, new.workspace_id, new.connection_id, new.type, new.source, new.data, new.request_id, "
    "new.created_at, counter.last_sequence - %s + new.position FROM counter, (VALUES {rows}) AS new "
    "(id, workspace_id, connection_id, type, source, data, request_id, created_at, position) "
    'RETURNING "id", "sequence"){endpoints_cte} '
    'SELECT "id", "sequence", NULL::jsonb FROM inserted{endpoints}'
)
_NUMBERED_ROW = "(%s::uuid, %s::uuid, %s::uuid, %s, %s, %s::jsonb, %s, %s::timestamptz, %s::bigint)"
_NUMBERED_ENDPOINTS_CTE = (
    ', endpoints AS (SELECT "id", "event_types" FROM "events_webhookendpoint" WHERE "workspace_id" = %s AND "enabled" '
    "FOR UPDATE)"
)
_NUMBERED_ENDPOINTS = ' UNION ALL SELECT "id", NULL, "event_types" FROM endpoints'


def _insert_numbered(
    events: list[Event], connection_id: Any, *, endpoints_of: Any = None, also: Sequence[Update] = ()
) -> list[WebhookEndpoint] | None:
    """Insert `events` numbered from the connection's counter in one statement (PostgreSQL); with `endpoints_of`
    (a workspace id), the same statement reads and locks that workspace's enabled endpoints and returns them
    (else []), and makes the `also` UPDATEs. None, and nothing written (those UPDATEs neither), where that cannot
    be done: another database, or no counter row yet (`_next_sequence` creates it)."""
    if db_connection.vendor != "postgresql":
        return None
    fields = [Event._meta.get_field(name) for name in _EVENT_COLUMNS]
    params: list[Any] = [len(events), connection_id, len(events)]
    for position, event in enumerate(events, start=1):
        params.extend(field.get_db_prep_save(getattr(event, field.attname), db_connection) for field in fields)
        params.append(position)
    with_endpoints = endpoints_of is not None
    if with_endpoints:
        workspace_field = WebhookEndpoint._meta.get_field("workspace")
        params.append(workspace_field.get_db_prep_value(endpoints_of, db_connection))
    # Each UPDATE of `also` as a CTE of its own: PostgreSQL runs data-modifying CTEs whether or not they are read.
    # Only when the counter row exists (`WHERE EXISTS (SELECT 1 FROM counter)`): otherwise the caller's fallback
    # makes them, and nothing may be made twice.
    also_ctes = ""
    for number, update in enumerate(also):
        update_sql, update_params = update.sql(db_connection)
        # Update.sql: the model's own quoted table and column names, every value a parameter.
        also_ctes += f", also{number} AS ({update_sql} AND EXISTS (SELECT 1 FROM counter))"  # noqa: S608
        params.extend(update_params)
    text = _NUMBERED_INSERT.format(
        rows=", ".join([_NUMBERED_ROW] * len(events)),
        endpoints_cte=(_NUMBERED_ENDPOINTS_CTE if with_endpoints else "") + also_ctes,
        endpoints=_NUMBERED_ENDPOINTS if with_endpoints else "",
    )
    with prepared_cursor(db_connection) as cursor:
        cursor.execute(text, params)
        rows = cursor.fetchall()
    numbered = {pk: sequence for pk, sequence, _ in rows if sequence is not None}
    if not numbered:
        # No counter row: nothing was inserted, and the endpoints (if read) are read again after the fallback.
        return None
    for event in events:
        event.sequence = int(numbered[event.id])
        event._state.adding = False
        event._state.db = db_connection.alias
    return _endpoints_of_rows([(pk, types) for pk, sequence, types in rows if sequence is None])


def _next_sequence(connection_id: Any, *, count: int = 1) -> int:
    """The last of the `count` next numbers of the connection's sequence (taken together)."""
    # One statement: the UPDATE takes the row lock until the commit and answers the new number.
    key = ConnectionEventCounter._meta.pk.get_db_prep_value(connection_id, db_connection)  # type: ignore[union-attr]
    with prepared_cursor(db_connection) as cursor:
        cursor.execute(
            'UPDATE "events_connectioneventcounter" SET "last_sequence" = "last_sequence" + %s '
            'WHERE "connection_id" = %s RETURNING "last_sequence"',
            [count, key],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0])
    counter = ConnectionEventCounter.objects.select_for_update().filter(connection_id=connection_id).first()
    if counter is None:
        try:
            with transaction.atomic():
                ConnectionEventCounter.objects.create(connection_id=connection_id, last_sequence=0)
        except IntegrityError:
            pass  # another transaction created it first; the lock below waits for it
        counter = ConnectionEventCounter.objects.select_for_update().get(connection_id=connection_id)
    ConnectionEventCounter.objects.filter(pk=counter.pk).update(last_sequence=F("last_sequence") + count)
    return counter.last_sequence + count


def _enqueue(delivery_ids: list[str]) -> None:
    from events.tasks import webhook_delivery_enqueue  # tasks import services, not the other way round

    try:
        for delivery_id in delivery_ids:
            webhook_delivery_enqueue(delivery_id)
    except Exception:  # the broker is down: beat's dispatch sends them once it is back (the outbox has them)
        logger.warning("Could not queue %d webhook deliveries; the dispatcher will", len(delivery_ids), exc_info=True)


def event_payload(event: Event) -> dict[str, Any]:
    """The JSON body a receiver gets (Standard Webhooks' `type`, `timestamp`, `data`, plus our ordering fields)."""
    return {
        "id": str(event.id),
        "type": event.type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "workspace_id": str(event.workspace_id),
        "connection_id": str(event.connection_id) if event.connection_id else None,
        "sequence": event.sequence,
        "source": event.source,
        "data": event.data,
    }


# ---------------------------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def _new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _check_event_types(event_types: list[str]) -> list[str]:
    known = set(EventType.values)
    for index, event_type in enumerate(event_types):
        if event_type not in known:
            raise InvalidEndpoint(f"event_types.{index}", "invalid_choice", f"Unknown event type {event_type!r}.")
    return list(dict.fromkeys(event_types))


def _check_url(url: str) -> str:
    if not url.lower().startswith(("https://", "http://")):
        raise InvalidEndpoint("url", "invalid", "The URL must start with https:// (or http:// for local development).")
    try:
        destination_check(url, resolve=False)
    except DestinationNotAllowed as exc:
        raise InvalidEndpoint("url", "destination_not_allowed", str(exc)) from None
    return url


def webhook_endpoint_create(
    *,
    workspace: Workspace,
    url: str,
    description: str = "",
    event_types: list[str] | None = None,
    enabled: bool = True,
) -> CreatedEndpoint:
    """A new endpoint with a fresh signing secret (returned once, stored encrypted)."""
    secret = _new_secret()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace,
        url=_check_url(url),
        description=description,
        event_types=_check_event_types(event_types or []),
        enabled=enabled,
        secret_encrypted=crypto.encrypt(secret),
    )
    return CreatedEndpoint(endpoint=endpoint, secret=secret)


def webhook_endpoint_update(*, endpoint: WebhookEndpoint, **changes: Any) -> WebhookEndpoint:
    """Change url, description, event_types or enabled; enabling again clears the failure streak."""
    if "url" in changes:
        endpoint.url = _check_url(changes["url"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "event_types" in changes:
        endpoint.event_types = _check_event_types(changes["event_types"] or [])
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        endpoint.enabled = bool(changes["enabled"])
        endpoint.disabled_reason = "" if endpoint.enabled else "disabled through the API"
        endpoint.failing_since = None
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    with transaction.atomic():
        # Waits for events being emitted to this endpoint, so their deliveries are collected with it.
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        endpoint.delete()


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint, overlap_seconds: int | None = None) -> CreatedEndpoint:
    """A new secret signs from now on; the old one keeps signing too (both signatures sent) for the overlap."""
    overlap = settings.LEDGERBRIDGE_WEBHOOK_SECRET_OVERLAP if overlap_seconds is None else overlap_seconds
    secret = _new_secret()
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        row.previous_secret_encrypted = row.secret_encrypted if overlap > 0 else ""
        row.previous_secret_expires_at = timezone.now() + timedelta(seconds=overlap) if overlap > 0 else None
        row.secret_encrypted = crypto.encrypt(secret)
        row.save()
    return CreatedEndpoint(endpoint=row, secret=secret)


def _signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [crypto.decrypt(endpoint.secret_encrypted)]
    if (
        endpoint.previous_secret_encrypted
        and endpoint.previous_secret_expires_at is not None
        and endpoint.previous_secret_expires_at > now
    ):
        found.append(crypto.decrypt(endpoint.previous_secret_encrypted))
    return found


# ---------------------------------------------------------------------------------------------- delivery


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[str]:
    """Ids of pending deliveries whose time has come (oldest first), to enabled endpoints."""
    now = now or timezone.now()
    rows = (
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    return [str(pk) for pk in rows]


def _attempt_lease() -> timedelta:
    return timedelta(seconds=float(settings.LEDGERBRIDGE_WEBHOOK_TIMEOUT) + 30)


def _claim(delivery_id: str) -> WebhookDelivery | None:
    """Lease a due delivery for one attempt (None: not due, done, or another worker has it)."""
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("event", "endpoint")
            .filter(pk=delivery_id)
            .first()
        )
        now = timezone.now()
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return None
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
            return None
        delivery.attempts += 1
        delivery.round_attempts += 1
        delivery.next_attempt_at = now + _attempt_lease()
        delivery.save(update_fields=["attempts", "round_attempts", "next_attempt_at", "updated_at"])
    return delivery


@dataclass(frozen=True)
class AttemptResult:
    status_code: int | None
    response_ms: int | None
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signed_request(endpoint: WebhookEndpoint, event: Event, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one attempt: Standard Webhooks' webhook-id, -timestamp and -signature.

    During a secret rotation both secrets sign (space-separated signatures, as the spec allows).
    """
    body = json.dumps(event_payload(event), separators=(",", ":"), ensure_ascii=False).encode()
    msg_id = str(event.id)
    signatures = [Webhook(secret).sign(msg_id, now, body) for secret in _signing_secrets(endpoint, now)]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
    return body, headers


def _post(endpoint: WebhookEndpoint, event: Event, now: datetime) -> AttemptResult:
    try:
        destination_check(endpoint.url, resolve=True)  # at delivery time too: DNS may point elsewhere by now
    except DestinationNotAllowed as exc:
        return AttemptResult(None, None, "", f"destination_not_allowed: {exc}"[:500])
    body, headers = signed_request(endpoint, event, now=now)
    started = time.monotonic()
    try:
        response = _http().post(endpoint.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return AttemptResult(None, int((time.monotonic() - started) * 1000), "", exc.__class__.__name__)
    elapsed = int((time.monotonic() - started) * 1000)
    excerpt = response.text[:RESPONSE_EXCERPT_CHARS]
    return AttemptResult(response.status_code, elapsed, excerpt, "")


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(timeout=float(settings.LEDGERBRIDGE_WEBHOOK_TIMEOUT), follow_redirects=False)
    return _client


def webhook_delivery_attempt(*, delivery_id: str) -> str | None:
    """One attempt of a due delivery; returns its status afterwards (None: it was not due or not ours)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint, event = delivery.endpoint, delivery.event
    now = timezone.now()
    disabled = AttemptResult(None, None, "", "endpoint disabled")
    result = _post(endpoint, event, now) if endpoint.enabled else disabled
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=now,
        status_code=result.status_code,
        response_ms=result.response_ms,
        response_excerpt=result.excerpt,
        error=result.error[:500],
    )
    finished = timezone.now()
    fields: dict[str, Any] = {"last_status_code": result.status_code, "last_error": result.error[:500]}
    if result.succeeded:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=finished, next_attempt_at=None)
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
    elif not endpoint.enabled or delivery.round_attempts > len(RETRY_SCHEDULE):
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        fields.update(next_attempt_at=finished + timedelta(seconds=RETRY_SCHEDULE[delivery.round_attempts - 1]))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(updated_at=finished, **fields)
    outbound_delivery_observe(
        outcome="delivered"
        if result.succeeded
        else "gave_up"
        if fields.get("status") == DeliveryStatus.FAILED
        else "retrying",
        lag_seconds=(finished - event.created_at).total_seconds(),
    )
    if not result.succeeded and endpoint.enabled:
        _note_failure(endpoint, finished)
    return str(fields.get("status", DeliveryStatus.PENDING))


def _note_failure(endpoint: WebhookEndpoint, now: datetime) -> None:
    """Start the endpoint's failure streak, or disable it once the streak is old enough (and tell the others)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
    disable_after = timedelta(days=float(settings.LEDGERBRIDGE_WEBHOOK_DISABLE_AFTER_DAYS))
    with transaction.atomic():
        row = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if not row.enabled or row.failing_since is None or now - row.failing_since < disable_after:
            return
        row.enabled = False
        row.disabled_reason = f"every delivery failed since {row.failing_since.isoformat()}"
        row.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        WebhookDelivery.objects.filter(endpoint=row, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="endpoint disabled", updated_at=now
        )
        _emit_disabled_notice(row)
    logger.warning("Webhook endpoint %s disabled: %s", row.pk, row.disabled_reason)


def _emit_disabled_notice(endpoint: WebhookEndpoint) -> None:
    # The disabled endpoint is excluded by event_emit itself (only enabled endpoints get deliveries).
    event_emit(
        workspace_id=endpoint.workspace_id,
        type=EventType.WEBHOOK_ENDPOINT_DISABLED,
        data={
            "endpoint_id": str(endpoint.pk),
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat() if endpoint.failing_since else None,
            "reason": endpoint.disabled_reason,
        },
    )


# ---------------------------------------------------------------------------------------------- redelivery


def webhook_redeliver(*, deliveries: QuerySet[WebhookDelivery]) -> int:
    """Start a new round of attempts for these deliveries (e.g. one event, or everything since a time)."""
    now = timezone.now()
    ids = [str(pk) for pk in deliveries.filter(endpoint__enabled=True).values_list("pk", flat=True)]
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, round_attempts=0, next_attempt_at=now, updated_at=now
        )
        transaction.on_commit(lambda: _enqueue(ids))
    return len(ids)


def webhook_deliveries_since(*, endpoint: WebhookEndpoint, since: datetime) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint=endpoint).filter(Q(event__created_at__gte=since))
