"""Webhook delivery, platform side: Exact's empty validation POST and HMAC-signed event POSTs, asynchronously."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import queue
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from uuid import UUID

import httpx

from connectors.exact.sandbox.counters import Counters
from connectors.exact.sandbox.state import World

logger = logging.getLogger(__name__)

# (NOTES.md: Webhooks) the validation POST arrives "about 1 s after the subscription POST returns".
DEFAULT_VALIDATION_DELAY = 1.0
# Jobs waiting for the worker; beyond this, new jobs are dropped and counted (a stuck callback must not let the
# queue grow without bound).
DEFAULT_MAX_QUEUED = 10_000


def _normalise_client_id(value: object) -> str:
    """Exact shows client ids as GUIDs, sometimes in braces; compare them loosely."""
    return str(value).strip().strip("{}").lower()


def sign_content(content_text: str, secret: str) -> str:
    """HashCode = UPPERCASE hex HMAC-SHA256 of the raw Content JSON (picqer Authenticatable, hookdeck PR#152)."""
    return hmac.new(secret.encode("utf-8"), content_text.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def event_body(content: dict[str, Any], secret: str) -> bytes:
    """`{"Content":…,"HashCode":"…"}` where HashCode signs exactly the text between the two keys."""
    content_text = json.dumps(content, separators=(",", ":"))
    hash_code = sign_content(content_text, secret)
    return ('{"Content":' + content_text + ',"HashCode":"' + hash_code + '"}').encode("utf-8")


@dataclass
class Subscription:
    subscription_id: str
    division: int
    topic: str
    callback_url: str
    client_id: str
    # (NOTES.md: Webhooks) only a 2xx answer to the empty validation POST validates the subscription.
    validated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "subscription_id": self.subscription_id,
            "division": self.division,
            "topic": self.topic,
            "callback_url": self.callback_url,
            "client_id": self.client_id,
            "validated": self.validated,
        }


@dataclass
class _Job:
    kind: str  # "validation" or "event"
    url: str
    body: bytes
    subscription_id: str
    topic: str | None = None


class WebhookDispatcher:
    """Implements the data layer's EventSink; one worker thread drains a queue so writes never wait on callbacks."""

    def __init__(self, world: World, counters: Counters, validation_delay: float = DEFAULT_VALIDATION_DELAY) -> None:
        self.world = world
        self.counters = counters
        self.validation_delay = validation_delay
        self.timeout_seconds = 5.0
        self.max_queued = DEFAULT_MAX_QUEUED
        # False: events are lost before delivery (retries and guarantees are undocumented: NOTES.md: Webhooks).
        self.deliver_events = True
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        # Subscription ids whose validation POST got a 2xx; events go to these only (NOTES.md: Webhooks).
        self._validated: set[str] = set()
        self._deliveries: deque[dict[str, Any]] = deque(maxlen=500)
        self._ids = itertools.count(1)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._client: httpx.Client | None = None

    # ----------------------------------------------------------------- EventSink

    def subscription_created(self, *, division: int, subscription: dict[str, Any]) -> None:
        record = Subscription(
            subscription_id=str(subscription.get("ID", "")),
            division=division,
            topic=str(subscription.get("Topic", "")),
            callback_url=str(subscription.get("CallbackURL", "")),
            client_id=str(subscription.get("ClientID", "")),
        )
        with self._lock:
            self._subscriptions[record.subscription_id] = record
            self._validated.discard(record.subscription_id)
        # (NOTES.md: Webhooks) an empty POST (content-length 0) validates the callback URL.
        job = _Job("validation", record.callback_url, b"", record.subscription_id, record.topic)
        if self.validation_delay > 0:
            timer = threading.Timer(self.validation_delay, self._enqueue, args=(job,))
            timer.daemon = True
            timer.start()
        else:
            self._enqueue(job)

    def subscription_changed(self, *, division: int, before: dict[str, Any], after: dict[str, Any]) -> None:
        """A PUT changed a subscription: a new CallbackURL is validated again (events wait until then); a new topic
        alone keeps the validation, since the callback is the same."""
        if before.get("CallbackURL") != after.get("CallbackURL"):
            self.subscription_created(division=division, subscription=after)
            return
        with self._lock:
            record = self._subscriptions.get(str(after.get("ID", "")))
            if record is not None:
                record.topic = str(after.get("Topic", record.topic))

    def subscription_deleted(self, *, subscription_id: str) -> None:
        """Not part of the frozen EventSink contract; the data layer may call it when a subscription is deleted."""
        with self._lock:
            self._subscriptions.pop(str(subscription_id), None)
            self._validated.discard(str(subscription_id))

    def emit(self, *, division: int, topic: str, action: str, key: UUID, endpoint_url: str) -> None:
        created_on = self.world.clock.now()
        for subscription in self._matching(division, topic):
            app = self._app_for(subscription.client_id)
            if app is None:
                logger.warning("webhook subscription %s has no registered app", subscription.subscription_id)
                continue
            # Field order as in leapforce's WebhookResponse struct (NOTES.md: Webhooks).
            content = {
                "Topic": topic,
                "ClientId": subscription.client_id,
                "Division": division,
                "Action": action,
                "Key": str(key),
                "ExactOnlineEndpoint": endpoint_url,
                # UNCONFIRMED format; ISO 8601 UTC chosen (see README).
                "EventCreatedOn": created_on.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            body = event_body(content, app.webhook_secret)
            self._enqueue(_Job("event", subscription.callback_url, body, subscription.subscription_id, topic))

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            if self._queue.qsize() >= self.max_queued:
                # No retries anyway (§6.6): a dropped job is as lost as a failed one, and counted.
                self.counters.incr("webhooks_dropped")
                logger.warning("webhook queue full (%d jobs): dropped a %s job", self.max_queued, job.kind)
                return
            self._queue.put_nowait(job)

    def _matching(self, division: int, topic: str) -> list[Subscription]:
        """The data layer's store is the source of truth (deleted subscriptions stop receiving events)."""
        with self.world.lock:
            record = self.world.divisions.get(division)
            store = record.store if record is not None else None
            if store is not None and hasattr(store, "subscriptions"):
                return [
                    Subscription(
                        subscription_id=str(item.get("ID", "")),
                        division=division,
                        topic=str(item.get("Topic", "")),
                        callback_url=str(item.get("CallbackURL", "")),
                        client_id=str(item.get("ClientID", "")),
                    )
                    for item in store.subscriptions(topic)
                ]
        with self._lock:
            return [s for s in self._subscriptions.values() if s.division == division and s.topic == topic]

    def _app_for(self, client_id: str) -> Any:
        wanted = _normalise_client_id(client_id)
        with self.world.lock:
            for app in self.world.apps.values():
                if _normalise_client_id(app.client_id) == wanted:
                    return app
        return None

    # ----------------------------------------------------------------- worker

    def start(self) -> None:
        if self._worker is not None:
            return
        self._client = httpx.Client(timeout=self.timeout_seconds)
        self._worker = threading.Thread(target=self._run, name="exact-sandbox-webhooks", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is None:
            return
        self._queue.put(None)
        self._worker.join(timeout=5)
        self._worker = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """True once every queued delivery was attempted (delayed validations not yet due are not queued)."""
        done = threading.Event()

        def waiter() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=waiter, daemon=True).start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._deliver(job)
            except Exception:  # the worker must survive any single delivery
                logger.exception("webhook delivery crashed")
            finally:
                self._queue.task_done()

    def is_validated(self, subscription_id: str) -> bool:
        with self._lock:
            return str(subscription_id) in self._validated

    def _deliver(self, job: _Job) -> None:
        if job.kind == "event" and not self.deliver_events:
            self._not_sent(job, counter="webhooks_missed", error="not sent: event delivery is switched off (missed)")
            return
        if job.kind == "event" and not self.is_validated(job.subscription_id):
            # Checked here, not in emit(): the single worker handles the validation job first, so an event
            # emitted right after a successful validation still goes out. Unvalidated: nothing is sent.
            self._not_sent(job, counter="webhooks_unvalidated", error="not sent: the subscription is not validated")
            return
        record = self._delivery_record(job, error=None)
        assert self._client is not None
        try:
            # Exact sends no signature header: the HashCode is inside the body (NOTES.md: Webhooks).
            headers = {"Content-Type": "application/json"} if job.body else {}
            response = self._client.post(job.url, content=job.body, headers=headers)
            record["status_code"] = response.status_code
            ok = 200 <= response.status_code < 300
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            ok = False
        record["ok"] = ok
        # Retries are UNCONFIRMED (NOTES.md: Webhooks): the sandbox tries once and records the outcome.
        prefix = "webhook_validations" if job.kind == "validation" else "webhooks"
        self.counters.incr(f"{prefix}_delivered" if ok else f"{prefix}_failed")
        with self._lock:
            if job.kind == "validation":
                subscription = self._subscriptions.get(job.subscription_id)
                if ok:
                    self._validated.add(job.subscription_id)
                else:
                    self._validated.discard(job.subscription_id)
                if subscription is not None:
                    subscription.validated = ok
            self._deliveries.append(record)

    def _not_sent(self, job: _Job, *, counter: str, error: str) -> None:
        self.counters.incr(counter)
        with self._lock:
            self._deliveries.append(self._delivery_record(job, error=error))

    def _delivery_record(self, job: _Job, *, error: str | None) -> dict[str, Any]:
        """One entry of the delivery log, before any answer: not ok and no status code until a POST is answered."""
        return {
            "id": next(self._ids),
            "kind": job.kind,
            "subscription_id": job.subscription_id,
            "topic": job.topic,
            "url": job.url,
            "body": job.body.decode("utf-8"),
            "attempted_at": self.world.clock.now().isoformat(),
            "status_code": None,
            "error": error,
            "ok": False,
        }

    # ----------------------------------------------------------------- control API

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deliveries)[-limit:]

    def subscriptions(self) -> list[dict[str, Any]]:
        with self._lock:
            return [s.to_json() for s in self._subscriptions.values()]

    def clear(self) -> None:
        with self._lock:
            self.deliver_events = True
            self._subscriptions.clear()
            self._validated.clear()
            self._deliveries.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "validation_delay": self.validation_delay,
                "subscriptions": [s.to_json() for s in self._subscriptions.values()],
            }

    def load_json(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.validation_delay = float(data.get("validation_delay", DEFAULT_VALIDATION_DELAY))
            self._subscriptions = {
                item["subscription_id"]: Subscription(**item) for item in data.get("subscriptions", [])
            }
            self._validated = {sid for sid, s in self._subscriptions.items() if s.validated}
