"""The audit trail of ledger writes: a request observer that appends one AuditEvent per write request sent, and
the dry-run observer that stops the first write unsent and hands back its payload.

Both hook into connectors.base.http (every vendor's shared client announces its requests), so the payload recorded
or returned is the body exactly as it goes on the wire, for every vendor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from connectors.base.http import OutgoingRequest, RequestIntercepted
from events.models import AuditEvent, AuditOutcome
from gateway.request_context import current_api_key_prefix, current_request_id
from gateway.statements import Update, insert_all, insert_row, update_rows

logger = logging.getLogger(__name__)

VENDOR_MESSAGE_CHARS = 4000
# Statuses that refuse a write without applying it: the vendor's "not now".
REFUSING_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class WriteContext:
    """What the audit row says about the write besides the request itself."""

    workspace_id: Any
    connection_id: Any
    connector: str
    company_id: str
    resource: str
    operation: str
    target_id: str = ""
    unified_input: Any = None
    mutation_id: Any = None
    attempt: int | None = None
    api_key_prefix: str = ""
    # The audit text of a request body, where it is not the body itself: a file upload keeps its file's name, size
    # and SHA-256 in place of the bytes (the trail outlives the file, which is deleted once it landed).
    payload_text: Callable[[bytes], str] | None = None


def _outcome(status: int | None) -> str:
    if status is None:
        return AuditOutcome.NO_ANSWER
    if 200 <= status < 300:
        return AuditOutcome.ACCEPTED
    if status < 500 or status in REFUSING_STATUSES:
        return AuditOutcome.REFUSED
    return AuditOutcome.VENDOR_ERROR


@dataclass
class AuditRecorder:
    """RequestObserver: one AuditEvent per company write request.

    A row is appended once the id a create was answered with is known: the connector reports it
    (`created`, which it does at once, before any further call), or the next request starts, or the attempt ends
    (`close`). So the row carries the remote id without ever being changed after it is written.

    The write's call-log row waits with it (`hold`) and goes into the same statement: the answer's bookkeeping
    (call log, audit row, the remote id on the mutation) is one commit instead of two, written at the same moments.
    """

    write: WriteContext
    recorded: list[AuditEvent] = field(default_factory=list)
    _pending: dict[str, Any] | None = None
    _held: list[models.Model] = field(default_factory=list)

    @property
    def waiting(self) -> bool:
        """Whether a write's audit row waits to be written (rows held now are written with it)."""
        return self._pending is not None

    def hold(self, row: models.Model) -> None:
        """Write the unsaved `row` in the same statement as the waiting audit row (written alone if there is none)."""
        if self._pending is None:
            self._insert_alone(row)
            return
        self._held.append(row)

    def sending(self, request: OutgoingRequest) -> None:
        self.flush()

    def answered(self, request: OutgoingRequest, status: int | None, body: bytes, duration_ms: int) -> None:
        if not request.is_company_write:
            return
        self.flush()
        ok = status is not None and 200 <= status < 300
        self._pending = {
            **self._common(),
            "vendor_method": request.method,
            "vendor_path": request.log_path[:1000],
            "vendor_payload": self._payload(request.content or b""),
            "vendor_status": status,
            "remote_id": "",
            "vendor_message": "" if ok else body.decode("utf-8", errors="replace")[:VENDOR_MESSAGE_CHARS],
            "outcome": _outcome(status),
            "duration_ms": max(0, duration_ms),
            "sent_at": timezone.now() - timedelta(milliseconds=max(0, duration_ms)),
        }

    def _payload(self, content: bytes) -> str:
        if self.write.payload_text is not None:
            return self.write.payload_text(content)
        return content.decode("utf-8", errors="replace")

    def created(self, remote_id: str, *, update: Update | None = None) -> None:
        """The connector reported the id the last write (a create) was answered with.

        `update`: the caller's own record of the id, written in the same statement as the audit row
        and the rows held with it (gateway.statements). Should that statement fail, the update is made on its own
        first (the id must not be lost), then the rows are tried one by one.
        """
        if self._pending is not None:
            self._pending["remote_id"] = str(remote_id)[:100]
        if update is None:
            self.flush()
            return
        if self._pending is None:
            update_rows(update)
            return
        event = AuditEvent(**self._pending)
        held, self._held = self._held, []
        try:
            # In a caller's transaction a savepoint keeps a failure from breaking it; alone, one statement commits.
            with transaction.atomic() if not transaction.get_autocommit() else nullcontext():
                insert_all(*held, event, update=update)
        except Exception:
            logger.exception("Could not write the audit event with the created id; writing them one by one")
            update_rows(update)
            self._held = held
            self.flush()
            return
        self._pending = None
        self.recorded.append(event)

    def flush(self) -> None:
        held, self._held = self._held, []
        if self._pending is None:
            for row in held:
                self._insert_alone(row)
            return
        values, self._pending = self._pending, None
        event = AuditEvent(**values)
        try:
            with transaction.atomic() if not transaction.get_autocommit() else nullcontext():
                insert_all(*held, event)
            self.recorded.append(event)
            return
        except Exception:
            if not held:  # the write happened: a broken audit insert must not turn its success into a failure
                logger.exception(
                    "Could not append the audit event of %s %s", values["vendor_method"], values["vendor_path"]
                )
                return
            logger.exception("Could not write the audit event with its call-log row; writing them one by one")
        for row in held:
            self._insert_alone(row)
        try:
            self.recorded.append(AuditEvent.objects.create(**values))
        except Exception:
            logger.exception(
                "Could not append the audit event of %s %s", values["vendor_method"], values["vendor_path"]
            )

    def recovered(self, remote_id: str, *, message: str = "") -> None:
        """Reconciliation found the write at the vendor: unless a row of it already says the vendor accepted it, one
        more row says it landed, with its id. So the trail shows every write that landed, also when its sender got
        no answer or was killed between the vendor's answer and writing its rows (the request as sent is then the
        earlier row's, or unknown: blank)."""
        accepted = AuditEvent.objects.filter(mutation_id=self.write.mutation_id, outcome=AuditOutcome.ACCEPTED)
        if self.write.mutation_id is not None and accepted.exists():
            return
        try:
            self.recorded.append(
                AuditEvent.objects.create(
                    **self._common(),
                    vendor_method="",
                    vendor_path="",
                    vendor_payload="",
                    vendor_status=None,
                    remote_id=str(remote_id)[:100],
                    vendor_message=message
                    or "Found at the vendor by reconciliation; its sender recorded no accepted answer.",
                    outcome=AuditOutcome.RECOVERED,
                    duration_ms=0,
                    sent_at=timezone.now(),
                )
            )
        except Exception:  # like every audit insert: the outcome is recorded regardless
            logger.exception("Could not append the recovered audit event of mutation %s", self.write.mutation_id)

    def _common(self) -> dict[str, Any]:
        """The row's fields that come from the write, not from one request of it."""
        return {
            "workspace_id": self.write.workspace_id,
            "api_key_prefix": (self.write.api_key_prefix or current_api_key_prefix())[:32],
            "request_id": current_request_id()[:128],
            "connection_id": self.write.connection_id,
            "connector": self.write.connector,
            "company_id": self.write.company_id,
            "mutation_id": self.write.mutation_id,
            "attempt": self.write.attempt,
            "resource": self.write.resource,
            "operation": self.write.operation,
            "target_id": self.write.target_id[:100],
            "unified_input": self.write.unified_input,
        }

    @staticmethod
    def _insert_alone(row: models.Model) -> None:
        try:
            insert_row(row)
        except Exception:  # like the call log's own insert: a broken log row must not fail a call that happened
            logger.exception("Could not write the %s row of a write", type(row).__name__)

    close = flush


@dataclass(frozen=True)
class PreviewedRequest:
    method: str
    path: str
    body_text: str  # the body byte for byte as a real write sends it

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "body": json.loads(self.body_text) if self.body_text else None,
            "body_text": self.body_text,
        }


class DryRunObserver:
    """RequestObserver of a dry run: reads go through (lookups, checks), the first company write is stopped."""

    def sending(self, request: OutgoingRequest) -> None:
        if request.is_company_write:
            raise RequestIntercepted(request)

    def answered(self, request: OutgoingRequest, status: int | None, body: bytes, duration_ms: int) -> None:
        return None


def previewed(intercepted: RequestIntercepted) -> PreviewedRequest:
    request = intercepted.request
    return PreviewedRequest(
        method=request.method,
        path=request.log_path,
        body_text=(request.content or b"").decode("utf-8", errors="replace"),
    )
