"""Webhooks as Xero sends them: one URL and key per app, the intent-to-receive check, signed event batches."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import logging
import queue
import random
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from connectors.xero.sandbox.counters import Counters
from connectors.xero.sandbox.state import World

logger = logging.getLogger(__name__)

# NOTES.md "Webhooks": the receiver must answer within 5 seconds.
RESPONSE_TIMEOUT = 5.0
# Events written close together go out in one POST (Xero batches; its window is not documented).
DEFAULT_BATCH_DELAY = 0.5
DEFAULT_MAX_QUEUED = 10_000
# Intent to receive: this many correctly and incorrectly signed probes, in a seeded random order.
INTENT_PROBES_EACH = 2

STATUS_NONE = "NONE"
STATUS_PENDING = "PENDING"
STATUS_OK = "OK"
STATUS_FAILED = "FAILED"


def sign(body: bytes, key: str) -> str:
    """x-xero-signature: base64 of HMAC-SHA256 over the raw body with the app's webhook key (NOTES.md)."""
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def _entropy(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(20))


def event_date(moment: datetime) -> str:
    """eventDateUtc: ISO with milliseconds and no zone, e.g. 2024-06-21T01:15:39.902 (NOTES.md)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


@dataclass
class WebhookState:
    """An app's webhook: where to send, whether the intent-to-receive check passed, the event sequence."""

    client_id: str
    url: str
    status: str = STATUS_PENDING
    detail: str | None = None
    next_sequence: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    flush_scheduled: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "url": self.url,
            "status": self.status,
            "detail": self.detail,
            "next_sequence": self.next_sequence,
        }


@dataclass
class _Job:
    kind: str  # "intent" or "flush"
    client_id: str


class WebhookDispatcher:
    """The data layer's event sink; one worker thread does the HTTP, so writes never wait on receivers."""

    def __init__(self, world: World, counters: Counters, batch_delay: float = DEFAULT_BATCH_DELAY) -> None:
        self.world = world
        self.counters = counters
        self.batch_delay = batch_delay
        self.timeout_seconds = RESPONSE_TIMEOUT
        self.max_queued = DEFAULT_MAX_QUEUED
        self.seed = 0
        self._lock = threading.Lock()
        self._states: dict[str, WebhookState] = {}
        self._deliveries: deque[dict[str, Any]] = deque(maxlen=500)
        self._ids = itertools.count(1)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._pending_timers = 0

    # ----------------------------------------------------------------- configuration (control API)

    def configure(self, client_id: str, url: str | None) -> dict[str, Any]:
        """Set (or with None remove) the app's webhook URL; a new URL is checked with intent-to-receive."""
        with self._lock:
            if url is None:
                self._states.pop(client_id, None)
                return {"client_id": client_id, "url": None, "status": STATUS_NONE}
            state = WebhookState(client_id=client_id, url=url)
            self._states[client_id] = state
            snapshot = state.to_json()
        # NOTES.md "Webhooks": creating the webhook, changing its URL or re-enabling it runs the check.
        self._enqueue(_Job("intent", client_id))
        return snapshot

    def state(self, client_id: str) -> dict[str, Any]:
        with self._lock:
            state = self._states.get(client_id)
            if state is None:
                return {"client_id": client_id, "url": None, "status": STATUS_NONE}
            return state.to_json()

    # ----------------------------------------------------------------- event sink (data layer)

    def emit(
        self,
        *,
        tenant_id: str,
        tenant_type: str,
        category: str,
        event_type: str,
        resource_id: str,
        resource_url: str,
        when: datetime,
    ) -> None:
        """A record changed: queue one event for every app with a webhook that reaches this organisation."""
        event = {
            "resourceUrl": resource_url,
            "resourceId": resource_id,
            "eventDateUtc": event_date(when),
            "eventType": event_type,
            "eventCategory": category,
            "tenantId": tenant_id,
            "tenantType": tenant_type,
        }
        with self.world.lock:
            apps = {c.client_id for c in self.world.connections.values() if str(c.tenant_id) == tenant_id}
        to_flush: list[str] = []
        with self._lock:
            for client_id in sorted(apps):
                state = self._states.get(client_id)
                if state is None:
                    continue
                if state.status != STATUS_OK:
                    # Only a webhook that passed intent-to-receive gets events.
                    self.counters.incr("webhooks_unverified")
                    continue
                state.pending.append(dict(event))
                if not state.flush_scheduled:
                    state.flush_scheduled = True
                    to_flush.append(client_id)
        for client_id in to_flush:
            self._schedule_flush(client_id)

    def _schedule_flush(self, client_id: str) -> None:
        if self.batch_delay <= 0:
            self._enqueue(_Job("flush", client_id))
            return
        with self._lock:
            self._pending_timers += 1

        def fire() -> None:
            with self._lock:
                self._pending_timers -= 1
            self._enqueue(_Job("flush", client_id))

        timer = threading.Timer(self.batch_delay, fire)
        timer.daemon = True
        timer.start()

    def _enqueue(self, job: _Job) -> None:
        with self._lock:
            if self._queue.qsize() >= self.max_queued:
                self.counters.incr("webhooks_dropped")
                logger.warning("webhook queue full (%d jobs): dropped a %s job", self.max_queued, job.kind)
                return
            self._queue.put_nowait(job)

    # ----------------------------------------------------------------- worker

    def start(self) -> None:
        if self._worker is not None:
            return
        self._client = httpx.Client(timeout=self.timeout_seconds, follow_redirects=False)
        self._worker = threading.Thread(target=self._run, name="xero-sandbox-webhooks", daemon=True)
        self._worker.start()

    def stop(self) -> None:
        if self._worker is None:
            return
        self._queue.put(None)
        self._worker.join(timeout=10)
        self._worker = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """True once every queued job and every batch waiting for its delay has been handled."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                busy = self._pending_timers > 0 or self._queue.unfinished_tasks > 0
            if not busy:
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                if job.kind == "intent":
                    self._intent_to_receive(job.client_id)
                else:
                    self._flush(job.client_id)
            except Exception:  # the worker must survive any single delivery
                logger.exception("webhook job crashed")
            finally:
                self._queue.task_done()

    def _post(self, url: str, body: bytes, signature: str) -> tuple[httpx.Response | None, str | None, float]:
        assert self._client is not None
        started = time.monotonic()
        try:
            response = self._client.post(
                url,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8", "x-xero-signature": signature},
            )
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}", time.monotonic() - started
        return response, None, time.monotonic() - started

    def _record(self, **fields: Any) -> None:
        with self._lock:
            self._deliveries.append({"id": next(self._ids), "at": self.world.clock.now().isoformat(), **fields})

    def _key_and_url(self, client_id: str) -> tuple[str, str] | None:
        with self.world.lock:
            app = self.world.apps.get(client_id)
        with self._lock:
            state = self._states.get(client_id)
        if app is None or state is None:
            return None
        return app.webhook_key, state.url

    def _intent_to_receive(self, client_id: str) -> None:
        """Correctly and incorrectly signed empty batches: 200 (empty body, no cookies) and 401, within 5 s."""
        target = self._key_and_url(client_id)
        if target is None:
            return
        key, url = target
        rng = random.Random(f"{self.seed}:{client_id}:{url}")  # noqa: S311  (reproducible probes, not crypto)
        probes = [True] * INTENT_PROBES_EACH + [False] * INTENT_PROBES_EACH
        rng.shuffle(probes)
        self.counters.incr("webhook_intent_checks")
        failure: str | None = None
        for signed_correctly in probes:
            body = json.dumps(
                {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": _entropy(rng)}
            ).encode("utf-8")
            signature = sign(body, key) if signed_correctly else sign(body, key + secrets.token_hex(4))
            response, error, elapsed = self._post(url, body, signature)
            expected = 200 if signed_correctly else 401
            status = response.status_code if response is not None else None
            problem = error
            if problem is None and status != expected:
                which = "correct" if signed_correctly else "wrong"
                problem = f"expected {expected} to a {which} signature, got {status}"
            if problem is None and elapsed > self.timeout_seconds:
                problem = f"answered after {elapsed:.1f} s (limit {self.timeout_seconds:.0f} s)"
            if problem is None and signed_correctly and response is not None:
                if response.content:
                    problem = "the 200 answer must have an empty body"
                elif "set-cookie" in response.headers:
                    problem = "the 200 answer must set no cookies"
            self._record(
                kind="intent",
                client_id=client_id,
                url=url,
                signed_correctly=signed_correctly,
                status_code=status,
                ok=problem is None,
                error=problem,
                body=body.decode("utf-8"),
            )
            if problem is not None and failure is None:
                failure = problem
        with self._lock:
            state = self._states.get(client_id)
            if state is not None and state.url == url:
                state.status = STATUS_FAILED if failure else STATUS_OK
                state.detail = failure
        if failure:
            self.counters.incr("webhook_intent_failed")

    def _flush(self, client_id: str) -> None:
        with self._lock:
            state = self._states.get(client_id)
            if state is None:
                return
            events, state.pending = state.pending, []
            state.flush_scheduled = False
            if not events:
                return
            first = state.next_sequence
            state.next_sequence += len(events)
        target = self._key_and_url(client_id)
        if target is None:
            return
        key, url = target
        body = json.dumps(
            {
                "events": events,
                "firstEventSequence": first,
                "lastEventSequence": first + len(events) - 1,
                "entropy": _entropy(random.Random(f"{client_id}:{first}")),  # noqa: S311
            }
        ).encode("utf-8")
        signature = sign(body, key)
        # NOTES.md "Webhooks": a failed delivery is retried at once, later ones are not simulated (README).
        for attempt in (1, 2):
            response, error, _elapsed = self._post(url, body, signature)
            status = response.status_code if response is not None else None
            ok = status == 200
            self._record(
                kind="events",
                client_id=client_id,
                url=url,
                attempt=attempt,
                status_code=status,
                ok=ok,
                error=error,
                events=len(events),
                body=body.decode("utf-8"),
            )
            if ok:
                self.counters.incr("webhooks_delivered")
                self.counters.incr("webhook_events_delivered", len(events))
                return
        self.counters.incr("webhooks_failed")

    # ----------------------------------------------------------------- control API

    def deliveries(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deliveries)[-limit:]

    def clear(self) -> None:
        with self._lock:
            self._states.clear()
            self._deliveries.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "batch_delay": self.batch_delay,
                "states": [s.to_json() for s in self._states.values()],
            }

    def load_json(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.batch_delay = float(data.get("batch_delay", DEFAULT_BATCH_DELAY))
            self._states = {}
            for item in data.get("states", []):
                state = WebhookState(
                    client_id=item["client_id"],
                    url=item["url"],
                    status=item["status"],
                    detail=item.get("detail"),
                    next_sequence=int(item.get("next_sequence", 1)),
                )
                self._states[state.client_id] = state
