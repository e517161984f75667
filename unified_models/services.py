"""Writes of the unified API: durable mutations (recorded, then sent), their reconciliation, ledger mapping saves.

Every create, update, finalize, attach (a file upload: its bytes wait in a MutationFile until it lands) and
passthrough write is a Mutation row committed with status `pending` before
anything goes to the vendor; the vendor call then runs outside any transaction (the token manager refuses to
refresh inside one, and a rollback must never erase the record of a write that was sent). Each try is a
MutationAttempt.

The rules that keep a write from being duplicated or stuck:
- Whoever moves a mutation to `sending` holds a lease on it (longer than that sender can live: the web server's
  timeout, or the task time limit). Only the holder calls the vendor; once the lease has expired the sender is
  presumed dead and the write is taken over by reconciliation (a retry, or beat's `mutations_reconcile`).
- Once a write request went out without a clear refusal coming back (a 2xx followed by a failing read-back, a
  5xx other than 503, no answer, a process that died), the mutation is `in_doubt`, never `failed`. An in-doubt
  write is looked up at the vendor before it may be sent again: by the id the vendor answered (stored the moment
  the connector reports it, `CallContext.record_created`), else by `Connector.find_existing`. A write whose
  answer never came waits LEDGERBRIDGE_MUTATION_SETTLE_SECONDS first: the vendor may still be applying it.
- `failed` means the vendor refused it (4xx, 429, 503, its validation messages) or nothing was sent; a retry
  sends it again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import mimetypes
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from redis.exceptions import RedisError

from connectors.base.connector import AttachmentRules, Operation
from connectors.base.data import CallRecord, OperationNotSupported, PassthroughResult, Resource, WriteResult
from connectors.base.errors import VendorError, VendorNotFound, VendorValidationError
from connectors.base.http import RequestIntercepted, observe_requests
from connectors.base.mapping import LedgerMapping
from connectors.base.records import Attachment, AttachmentInput, InvalidInput, Warning
from connectors.registry import get_connector
from events.audit import AuditRecorder, DryRunObserver, PreviewedRequest, WriteContext, previewed
from events.models import EventType
from events.services import events_emit
from gateway.after_response import run_after_answer
from gateway.idempotency import deferred_key, idempotency_claim
from gateway.metrics.instruments import mutation_attempt_observe
from gateway.request_context import current_api_key_prefix, current_request_id
from gateway.statements import Update, insert_all, insert_row, update_rows
from tenants.models import Connection, Workspace
from tenants.vendor_calls import ConnectionCallContext, connection_context
from unified_models.codec import UnifiedInput, input_from_data, record_to_data
from unified_models.errors import TYPED_ERRORS, MappingInvalid, MutationConflict, problem_for, vendor_part
from unified_models.models import ConnectionMapping, Mutation, MutationAttempt, MutationFile, MutationStatus
from unified_models.selectors import attachable_connector, mapping_get
from unified_models.store.services import store_deleted_record, store_written_record

logger = logging.getLogger(__name__)

T = TypeVar("T")

PASSTHROUGH = "passthrough"
# A file attached to the record `target_id` of the mutation's resource; its bytes wait in a MutationFile until it lands.
ATTACH = "attach"
# A sales order turned into an invoice: a write of `invoices` whose target is the order (its answer is the invoice).
FROM_ORDER = "from_order"
# Record operations the connector declares in its capabilities (405 operation_not_supported before anything is
# recorded when it does not).
CHECKED_OPERATIONS = frozenset({Operation.CREATE, Operation.UPDATE, Operation.DELETE})
# Writes whose accepted answer names a new record's id, which the connector reports at once (record_created).
CREATING_OPERATIONS = frozenset({Operation.CREATE.value, FROM_ORDER, ATTACH})
RETRYABLE_STATUSES = (MutationStatus.FAILED, MutationStatus.IN_DOUBT)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Seconds a killed sender's last vendor call may still take to end after its deadline (socket close, last packet).
LEASE_MARGIN_SECONDS = 5
# An answer that refuses a write without applying it: the vendor's "no" or its "not now".
REFUSING_STATUSES = frozenset({429, 503})
# Failures that happen before a write request leaves (mapping, input, tokens, budget, Redis for a lock): with no
# write reported to the call log they prove nothing was sent.
FAILED_BEFORE_SENDING = (*TYPED_ERRORS, RedisError)


def web_lease_seconds() -> float:
    """How long a web request may own a write: the web server kills it after LEDGERBRIDGE_WEB_TIMEOUT."""
    return float(settings.LEDGERBRIDGE_WEB_TIMEOUT + LEASE_MARGIN_SECONDS)


def task_lease_seconds() -> float:
    """How long a Celery task may own a write: the worker kills it after CELERY_TASK_TIME_LIMIT."""
    return float(settings.CELERY_TASK_TIME_LIMIT + LEASE_MARGIN_SECONDS)


@dataclass(frozen=True)
class WriteOutcome:
    """What one successful mutation produced: a unified record with warnings, or a passthrough answer."""

    mutation: Mutation
    record: Any = None
    warnings: list[Warning] = field(default_factory=list)
    passthrough: PassthroughResult | None = None
    recovered: bool = False  # the write was found at the vendor after a lost answer, not sent again
    # A delete: the id of the record the vendor no longer has, as reads give it (the connector's answer; the target
    # id as sent when reconciliation found it gone). Empty for every other write.
    deleted_id: str = ""
    # The API's answer, with `mutation_id` (set once the outcome is recorded): built here, once; the view returns it.
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return bool(self.deleted_id)


class _Deleted:
    """`_recover`'s answer for a delete the vendor no longer has the record of."""


DELETED = _Deleted()


class RecordGone(MutationConflict):
    """The vendor created the record (it answered with its id) but no longer has it: not sent again."""


class MutationCallContext:
    """The connection's call context, watched during one attempt of one mutation.

    It notes whether a write request went out and how it was answered (from the call log reports every vendor
    call makes), and stores the id a create was answered with on the mutation at once, before the connector
    makes any further call, so even a process killed during the read-back leaves the id behind.
    """

    def __init__(self, inner: ConnectionCallContext, mutation: Mutation, audit: AuditRecorder | None = None) -> None:
        self.inner = inner
        self.mutation = mutation
        self.audit = audit
        self.write_sent = False
        self.write_status: int | None = None  # the last write's HTTP status; None: no answer
        self.remote_id = ""

    @property
    def region(self) -> str:
        return self.inner.region

    @property
    def company_id(self) -> str:
        return self.inner.company_id

    @property
    def app_client_id(self) -> str:
        return self.inner.app_client_id

    @property
    def write_key(self) -> str:
        return mutation_write_key(self.mutation)

    def call(self, send: Callable[[str], T]) -> T:
        return self.inner.call(send)

    def record_call(self, record: CallRecord) -> None:
        if record.method.upper() not in WRITE_METHODS:
            self.inner.record_call(record)
            return
        # Noted before the call log row: a failing log write must not hide that a write went out.
        self.write_sent = True
        self.write_status = record.status
        if self.audit is not None and self.audit.waiting and self._id_follows(record):
            # A create the vendor accepted: its audit row waits (the answer is announced before it is logged) for
            # the id the connector names next, before anything else (record_created); the call-log row goes with
            # them in one statement, one commit. Any other write's call-log row is written at once.
            self.audit.hold(self.inner.call_log_row(record))
            return
        self.inner.record_call(record)

    def _id_follows(self, record: CallRecord) -> bool:
        accepted = record.status is not None and 200 <= record.status < 300
        return accepted and self.mutation.operation in CREATING_OPERATIONS

    def record_created(self, remote_id: str) -> None:
        self.remote_id = str(remote_id)[:100]
        update = Update(
            Mutation, where={"pk": self.mutation.pk}, values={"remote_id": self.remote_id, "updated_at": timezone.now()}
        )
        if self.audit is None:
            update_rows(update)
            return
        # The id on the mutation and the write's audit row, in one statement (the id alone if that fails).
        self.audit.created(self.remote_id, update=update)

    def get_json(self, path: str, *, params: Any = None) -> Any:
        return self.inner.connector.company_get_json(self, path, params=params)


# ---------------------------------------------------------------------------------------------- create


def mutation_create(
    *,
    workspace: Workspace,
    connection: Connection,
    resource: str,
    operation: str,
    request: dict[str, Any],
    target_id: str = "",
    idempotency_key: str = "",
    lease_seconds: float | None = None,
    claim: bool = False,
) -> Mutation:
    """Record a write before it is sent (committed at once, status pending, leased to the caller).

    With `claim` the caller sends it at once (`mutation_execute` next, in the same process): a row this call
    inserts is inserted already claimed (status sending, attempts 1, the lease held), which is what taking
    the lease would write, without its transaction. With an Idempotency-Key the earlier mutation of that key is
    reused: a failed or in-doubt one is tried again (never duplicated), one whose sender still holds its lease is
    409, and the same key with another request is refused.
    """
    if resource != PASSTHROUGH and operation in CHECKED_OPERATIONS:
        connector = get_connector(connection.connector)
        if not connector.supports(resource, Operation(operation)):
            raise OperationNotSupported(resource, operation, connector.name)
    now = timezone.now()

    def new_row() -> Mutation:
        return Mutation(
            workspace=workspace,
            connection=connection,
            resource=resource,
            operation=operation,
            target_id=target_id,
            idempotency_key=idempotency_key,
            request_id=current_request_id()[:128],
            api_key_prefix=current_api_key_prefix()[:32],
            request=request,
            status=MutationStatus.SENDING if claim else MutationStatus.PENDING,
            attempts=1 if claim else 0,
            lease_expires_at=now + timedelta(seconds=lease_seconds or web_lease_seconds()),
        )

    def record() -> Mutation:
        # One INSERT, its text built once per process (gateway.statements.insert_row), not per request.
        mutation = new_row()
        insert_row(mutation)
        return mutation

    def claimed(mutation: Mutation) -> Mutation:
        # Attempt 1's row is written once it ends, with its outcome (_end_attempt): the mutation row (sending,
        # attempts 1, leased) already says a send may be under way, so a sender that dies leaves a write that is
        # looked up at the vendor before it is sent again, and whoever takes it over records the lost attempt.
        mutation.claimed_attempt = MutationAttempt(mutation=mutation, number=1, started_at=now)
        return mutation

    if not idempotency_key:
        return claimed(record()) if claim else record()
    # The request's own Idempotency-Key, when its handler defers the key's claim to this write (idempotent_write):
    # the key's row and this write's in one statement, one commit. Where that fails (the key or a write with it
    # exists), the key is claimed alone first (it may answer with its earlier answer), then the write as below.
    deferred = deferred_key()
    if deferred is not None and not deferred.claimed:
        mutation = new_row()
        if deferred.claim_with(mutation):
            deferred.write_id = mutation.pk
            return claimed(mutation) if claim else mutation
    # One idempotency implementation (gateway.idempotency): the unique constraint on (workspace, idempotency_key)
    # makes a concurrent request with the same key end on this same mutation.
    claimed_key = idempotency_claim(
        rows=Mutation.objects.filter(workspace=workspace, idempotency_key=idempotency_key),
        create=record,
        same_request=lambda existing: (
            existing.connection_id == connection.pk
            and existing.resource == resource
            and existing.operation == operation
            and existing.target_id == target_id
            and existing.request == request
        ),
    )
    existing = claimed_key.row
    if deferred is not None and deferred.claimed:
        deferred.write_id = existing.pk
    if claimed_key.created:
        return claimed(existing) if claim else existing
    sending = existing.status in (MutationStatus.PENDING, MutationStatus.SENDING)
    if sending and _lease_held(existing, now):
        raise _in_flight(existing, now)
    return existing


def _lease_held(mutation: Mutation, now: datetime) -> bool:
    return mutation.lease_expires_at is not None and mutation.lease_expires_at > now


def _seconds_until(moment: datetime | None, now: datetime) -> int:
    return max(1, int((moment - now).total_seconds() + 0.999)) if moment is not None else 1


def _in_flight(mutation: Mutation, now: datetime) -> MutationConflict:
    return MutationConflict(
        "mutation_in_flight",
        "The write with this Idempotency-Key is being sent by another request or worker.",
        retry_after=_seconds_until(mutation.lease_expires_at, now),
        mutation=mutation,
    )


# ---------------------------------------------------------------------------------------------- execute


def mutation_execute(
    *,
    mutation: Mutation,
    lease_seconds: float | None = None,
    include_remote_data: bool = False,
    outcome_after_answer: bool = False,
) -> WriteOutcome:
    """Send a recorded mutation (outside any transaction) and record the attempt and the outcome.

    The outcome's `body` is the API's answer (the record with its warnings, or the passthrough answer, and
    `mutation_id`); `include_remote_data` adds the vendor's raw object to it (never to the stored outcome).

    Takes the lease first (MutationConflict 409 while another sender holds it, or while an in-doubt write
    settles); an in-doubt write, or one whose sender died, is looked up at the vendor before anything is sent.
    Raises the typed error of a failure (MappingMissing, VendorValidationError, ...) after recording it.

    `outcome_after_answer` (the API's write views): a success's outcome transaction (the attempt ended, its events,
    the Idempotency-Key's answer) runs once the request's answer was sent (gateway/after_response.py), for a
    mutation this request created and claimed, passthrough writes excepted. The answer waits for the vendor's
    answer and the commit of the call-log row, the audit row and the remote id only. A process that dies in
    between leaves the mutation `sending`: once its lease expires, `mutations_reconcile` (or a retry with the same
    key) takes it over as any write whose sender died (`_recover`): a create is read back by its remote id, a
    finalize, conversion or attachment is looked up, an update sends the same values again; events included. A
    passthrough POST could not be looked up, so its outcome is never left for later.
    """
    after_answer = outcome_after_answer and mutation.claimed_attempt is not None
    if mutation.claimed_attempt is not None:
        # Inserted already claimed by this process (mutation_create(claim=True)): attempt 1 is ours to send.
        claimed, attempt, reconcile = mutation, mutation.claimed_attempt, False
        mutation.claimed_attempt = None
    else:
        claim = _claim(mutation, lease_seconds or web_lease_seconds())
        if claim is None:
            mutation.refresh_from_db()
            return _replayed(mutation)
        claimed, attempt, reconcile = claim
    # The connection as the request (or the claim) just read it, with credential and mapping: no second read.
    connection = claimed.connection
    watch: MutationCallContext | None = None
    # Every write request this attempt sends is appended to the audit trail, with the body as sent.
    audit = AuditRecorder(
        WriteContext(
            workspace_id=claimed.workspace_id,
            connection_id=connection.pk,
            connector=connection.connector,
            company_id=connection.company_id,
            resource=claimed.resource,
            operation=claimed.operation,
            target_id=claimed.target_id,
            unified_input=claimed.request,
            mutation_id=claimed.pk,
            attempt=attempt.number,
            api_key_prefix=claimed.api_key_prefix,
            payload_text=_file_payload_text(claimed) if claimed.operation == ATTACH else None,
        )
    )
    try:
        with observe_requests(audit):
            mapping, _ = mapping_get(connection=connection)
            data = _unified_input(claimed)
            watch = MutationCallContext(connection_context(connection, current=True), claimed, audit)
            connector = get_connector(connection.connector)
            recovered = _recover(connector, watch, claimed, data) if reconcile else None
            if recovered is DELETED:
                gone = claimed.remote_id or claimed.target_id
                outcome = WriteOutcome(mutation=claimed, deleted_id=gone, recovered=True)
                audit.recovered(gone, message="Not found at the vendor by reconciliation: the delete counts as done.")
            elif recovered is not None:
                outcome = WriteOutcome(mutation=claimed, record=recovered, recovered=True)
                audit.recovered(str(getattr(recovered, "remote_id", "") or claimed.remote_id))
            else:
                outcome = _send(connector, watch, claimed, data, mapping)
    except BaseException as exc:
        audit.close()
        _record_failure(claimed, attempt, exc, watch=watch, reconciling=reconcile)
        mutation.refresh_from_db()
        raise
    audit.close()
    result = _record_success(
        claimed,
        attempt,
        outcome,
        watch=watch,
        include_remote_data=include_remote_data,
        after_answer=after_answer,
    )
    if result.mutation is not mutation:
        mutation.refresh_from_db()
    return result


@dataclass(frozen=True)
class WritePreview:
    """A dry run's answer: the vendor write requests a real write of the same input sends (none: nothing to send)."""

    resource: str
    operation: str
    vendor_requests: list[PreviewedRequest]


def mutation_write_key(mutation: Mutation) -> str:
    """The write key of a mutation (CallContext.write_key): its workspace, Idempotency-Key and request, so a dry
    run with the same key and body derives the same vendor ids; without a key, the mutation's own id."""
    if not mutation.idempotency_key:
        return f"mutation:{mutation.pk}"
    request = json.dumps(mutation.request, sort_keys=True, separators=(",", ":"), default=str)
    material = f"{mutation.workspace_id}\n{mutation.idempotency_key}\n{request}"
    return "key:" + hashlib.sha256(material.encode()).hexdigest()


def mutation_preview(
    *,
    connection: Connection,
    resource: str,
    operation: str,
    request: dict[str, Any],
    target_id: str = "",
    idempotency_key: str = "",
) -> WritePreview:
    """A dry run of a write: input, mapping and the connector's rules are checked and the vendor payload is built
    by the very code a real write runs, but the first write request is stopped before it leaves (reads such as
    code lookups still go out). Nothing is recorded: no mutation, no audit row, no event.
    """
    if resource != PASSTHROUGH and operation in CHECKED_OPERATIONS:
        connector = get_connector(connection.connector)
        if not connector.supports(resource, Operation(operation)):
            raise OperationNotSupported(resource, operation, connector.name)
    # An unsaved mutation: the same translation path as a real one (input, mapping, connector call).
    draft = Mutation(
        workspace_id=connection.workspace_id,
        connection=connection,
        resource=resource,
        operation=operation,
        target_id=target_id,
        request=request,
        idempotency_key=idempotency_key,
    )
    mapping, _ = mapping_get(connection=connection)
    data = _unified_input(draft)
    ctx = connection_context(connection)
    ctx.write_key = mutation_write_key(draft)
    connector = get_connector(connection.connector)
    try:
        with observe_requests(DryRunObserver()):
            _send(connector, ctx, draft, data, mapping)
    except RequestIntercepted as intercepted:
        return WritePreview(resource=resource, operation=operation, vendor_requests=[previewed(intercepted)])
    return WritePreview(resource=resource, operation=operation, vendor_requests=[])


def mutation_retry(*, mutation: Mutation, lease_seconds: float | None = None) -> WriteOutcome:
    """Try a failed, in-doubt or abandoned (expired lease) mutation again; in-doubt ones are looked up first.

    MutationConflict (409) for one that succeeded (`mutation_not_retryable`), one whose sender still holds its
    lease (`mutation_in_flight`) and an in-doubt one that has not settled yet (`mutation_in_doubt`).
    """
    if mutation.status == MutationStatus.SUCCEEDED:
        raise MutationConflict("mutation_not_retryable", "This write already succeeded.")
    now = timezone.now()
    if mutation.status in (MutationStatus.PENDING, MutationStatus.SENDING) and _lease_held(mutation, now):
        raise _in_flight(mutation, now)
    return mutation_execute(mutation=mutation, lease_seconds=lease_seconds or task_lease_seconds())


def _claim(mutation: Mutation, lease_seconds: float) -> tuple[Mutation, MutationAttempt, bool] | None:
    """Take the lease: (the mutation, its new attempt, whether to reconcile first), or None if it succeeded."""
    with transaction.atomic():
        row = (
            Mutation.objects.select_for_update(of=("self",))
            .select_related("connection__credential", "connection__mapping")
            .get(pk=mutation.pk)
        )
        now = timezone.now()
        if row.status == MutationStatus.SUCCEEDED:
            return None
        if row.status == MutationStatus.SENDING and _lease_held(row, now):
            raise _in_flight(row, now)
        if row.status == MutationStatus.IN_DOUBT and row.reconcile_after is not None and row.reconcile_after > now:
            raise MutationConflict(
                "mutation_in_doubt",
                "The vendor's answer to this write was lost and it may still be applied there; it is looked up "
                "at the vendor once it has settled. Retry with the same Idempotency-Key after Retry-After.",
                retry_after=_seconds_until(row.reconcile_after, now),
            )
        # A sender whose lease expired died somewhere in its attempt: it may have sent the write.
        reconcile = row.status in (MutationStatus.IN_DOUBT, MutationStatus.SENDING)
        if row.status == MutationStatus.SENDING:
            logger.warning("Mutation %s: the lease of attempt %s expired; reconciling", row.pk, row.attempts)
            if row.attempts:
                # Its sender died before writing the attempt's row (a claimed create writes it at the end): keep
                # the attempt in the history, unfinished, as a sender that died mid-attempt leaves it.
                MutationAttempt.objects.get_or_create(
                    mutation=row, number=row.attempts, defaults={"started_at": row.updated_at}
                )
        row.status = MutationStatus.SENDING
        row.attempts += 1
        row.lease_expires_at = now + timedelta(seconds=lease_seconds)
        row.reconcile_after = None
        row.save(update_fields=["status", "attempts", "lease_expires_at", "reconcile_after", "updated_at"])
        attempt = MutationAttempt.objects.create(mutation=row, number=row.attempts, started_at=now)
    return row, attempt, reconcile


def _unified_input(mutation: Mutation) -> UnifiedInput | None:
    """The typed input the stored request stands for (None: passthrough and finalize take none)."""
    if mutation.resource == PASSTHROUGH or mutation.operation in ("finalize", FROM_ORDER, ATTACH, Operation.DELETE):
        return None
    return input_from_data(mutation.resource, mutation.operation, mutation.request)


def _send(connector: Any, ctx: Any, mutation: Mutation, data: Any, mapping: LedgerMapping) -> WriteOutcome:
    if mutation.resource == PASSTHROUGH:
        result: PassthroughResult = connector.passthrough(
            ctx,
            method=mutation.request["method"],
            path=mutation.request["path"],
            query=mutation.request.get("query") or {},
            body=mutation.request.get("body"),
        )
        return WriteOutcome(mutation=mutation, passthrough=result)
    resource = Resource(mutation.resource)
    if mutation.operation == Operation.CREATE:
        written = connector.create_record(ctx, resource, data, mapping=mapping)
    elif mutation.operation == Operation.UPDATE:
        written = connector.update_record(ctx, resource, mutation.target_id, data, mapping=mapping)
    elif mutation.operation == "finalize":
        written = connector.finalize_invoice(ctx, mutation.target_id)
    elif mutation.operation == FROM_ORDER:
        journal_code = mutation.request.get("journal_code") or mapping.default_sales_journal or None
        written = connector.invoice_sales_order(ctx, mutation.target_id, journal_code=journal_code)
    elif mutation.operation == ATTACH:
        written = connector.attachment_create(ctx, resource, mutation.target_id, _attachment_input(mutation))
    elif mutation.operation == Operation.DELETE:
        return WriteOutcome(mutation=mutation, deleted_id=connector.delete_record(ctx, resource, mutation.target_id))
    else:  # pragma: no cover - operations are fixed by the views
        raise ValueError(f"Unknown mutation operation {mutation.operation!r}")
    if isinstance(written, WriteResult):
        return WriteOutcome(mutation=mutation, record=written.record, warnings=list(written.warnings))
    return WriteOutcome(mutation=mutation, record=written)


def _recover(connector: Any, ctx: Any, mutation: Mutation, data: Any) -> Any | None:
    """For a write that may exist at the vendor: the record it produced, if the vendor has it (None: send it)."""
    if mutation.resource == PASSTHROUGH:
        if mutation.request.get("method") == "POST":
            raise MutationConflict(
                "mutation_not_retryable",
                "The answer to this passthrough POST was lost and the gateway cannot tell whether the vendor applied "
                "it; check at the vendor and send a new request if needed.",
            )
        return None  # PUT and DELETE give the same result when repeated
    resource = Resource(mutation.resource)
    if mutation.operation == Operation.CREATE:
        if mutation.remote_id:
            # The vendor answered the create with this id: the record exists (or was deleted since: not resent).
            try:
                return connector.retrieve_record(ctx, resource, mutation.remote_id)
            except VendorNotFound:
                raise RecordGone(
                    "mutation_not_retryable",
                    f"The vendor created this record as {mutation.remote_id} but no longer has it; it was not sent "
                    "again. Send a new request if it is still wanted.",
                ) from None
        return connector.find_existing(ctx, resource, data)
    if mutation.operation == "finalize":
        invoice = connector.retrieve_record(ctx, resource, mutation.target_id)
        return invoice if getattr(invoice, "finalized", None) else None
    if mutation.operation == FROM_ORDER:
        # The invoice the lost conversion made, if any (Exact: found by its lines' sales order).
        return connector.sales_order_invoice(ctx, mutation.target_id)
    if mutation.operation == ATTACH:
        return _attachment_landed(connector, ctx, mutation, resource)
    if mutation.operation == Operation.DELETE:
        # Gone at the vendor: the lost delete landed (or someone else deleted it); still there: send it again.
        try:
            connector.retrieve_record(ctx, resource, mutation.target_id)
        except VendorNotFound:
            return DELETED
    return None  # an update sends the same values again: repeating it is harmless


def _answer(outcome: WriteOutcome, *, include_remote_data: bool) -> dict[str, Any]:
    """The body of a successful write's answer, without `mutation_id`: the passthrough answer, or the record with
    its warnings."""
    if outcome.passthrough is not None:
        return {"status": outcome.passthrough.status, "body": outcome.passthrough.body}
    if outcome.deleted:
        return {"id": outcome.deleted_id, "deleted": True}
    if isinstance(outcome.record, Attachment):
        return record_to_data(outcome.record, include_remote_data=include_remote_data)  # no warnings: a file
    return {
        **record_to_data(outcome.record, include_remote_data=include_remote_data),
        "warnings": [warning.as_dict() for warning in outcome.warnings],
    }


def _record_success(
    mutation: Mutation,
    attempt: MutationAttempt,
    outcome: WriteOutcome,
    *,
    watch: MutationCallContext | None,
    include_remote_data: bool = False,
    after_answer: bool = False,
) -> WriteOutcome:
    now = timezone.now()
    passthrough_status = outcome.passthrough.status if outcome.passthrough is not None else None
    answer = _answer(outcome, include_remote_data=include_remote_data)
    # What the mutation keeps is the answer without the vendor's raw object (asked for by one request only).
    body = {key: value for key, value in answer.items() if key != "remote_data"}
    remote_id = "" if outcome.record is None else str(getattr(outcome.record, "remote_id", "") or "")
    remote_id = remote_id or (watch.remote_id if watch is not None else "") or mutation.remote_id
    if outcome.deleted:
        remote_id = outcome.deleted_id  # the record the vendor no longer has
    fields: dict[str, Any] = {"remote_id": remote_id[:100], "outcome": body, "updated_at": now}
    if passthrough_status is not None and passthrough_status >= 400:
        # A passthrough write the vendor answered with an error: refused, unless a server error leaves it open.
        refused = passthrough_status < 500 or passthrough_status in REFUSING_STATUSES
        status = MutationStatus.FAILED if refused else MutationStatus.IN_DOUBT
        fields.update(error_code="vendor_refused" if refused else "vendor_error", completed_at=None)
        fields.update(reconcile_after=None if refused else now)
        attempt_code = fields["error_code"]
    else:
        status = MutationStatus.SUCCEEDED
        fields.update(error_code="", completed_at=now, reconcile_after=None)
        attempt_code = "recovered" if outcome.recovered else ""
    # The vendor's answer to the write this attempt sent (none when a lookup found the record already there).
    vendor_status = passthrough_status
    if vendor_status is None and watch is not None and watch.write_sent:
        vendor_status = watch.write_status
    # The request's Idempotency-Key gets this answer in the same commit (gateway.idempotency.DeferredKey), sent with
    # the outcome's events when the attempt still holds its lease.
    deferred = deferred_key()
    key_answer = (
        deferred.answer_update({**answer, "mutation_id": str(mutation.pk)})
        if deferred is not None and deferred.write_id == mutation.pk
        else None
    )
    ended = {"finished_at": now, "vendor_status": vendor_status, "error_code": attempt_code}

    def finish() -> bool:
        finished = _finish(
            mutation,
            attempt,
            ended=ended,
            status=status,
            recovered=outcome.recovered,
            also=() if key_answer is None else (key_answer,),
            **fields,
        )
        if finished and status == MutationStatus.SUCCEEDED and mutation.operation == ATTACH:
            MutationFile.objects.filter(mutation_id=mutation.pk).delete()  # landed: the vendor has the bytes
        return finished

    def store() -> None:
        """The local copy as the vendor now has it (a success only)."""
        if outcome.deleted:
            _store_deleted(mutation, outcome.deleted_id)
        elif outcome.record is not None and mutation.operation != ATTACH:
            _store_written(mutation, outcome.record)

    # A success's transaction may follow the answer (see mutation_execute); the key's answer is then the job's.
    later = after_answer and status == MutationStatus.SUCCEEDED and mutation.resource != PASSTHROUGH
    # A write that changes or removes a record the copy may hold is in the copy before the answer, so a read right
    # after it never gets the old record; a new record (create, from_order) can wait, since a read of an id the
    # copy lacks goes to the vendor.
    store_first = later and mutation.operation not in (Operation.CREATE, FROM_ORDER)
    if store_first:
        store()

    def end() -> bool:
        """The outcome's transaction, then (unless done before the answer) the local copy; whether it ended the
        attempt."""
        finished = _finished_in_transaction(mutation, attempt, finish)
        if status == MutationStatus.SUCCEEDED and not store_first:
            store()
        return finished

    def end_later() -> None:
        # Taken over meanwhile (the outcome not written): the key still gets the answer that was sent, as the
        # request itself would have stored it.
        if not end() and key_answer is not None:
            update_rows(key_answer)

    finished = True if later and run_after_answer("write outcome", end_later) else end()
    if finished and deferred is not None and key_answer is not None:
        deferred.answered = True
    if finished:
        # The row holds (or, after the answer, will hold) what _finish writes: set it here instead of reading it.
        mutation.status, mutation.lease_expires_at = status, None
        for name, value in fields.items():
            setattr(mutation, name, value)
    else:
        mutation.refresh_from_db()
    return WriteOutcome(
        mutation=mutation,
        record=outcome.record,
        warnings=outcome.warnings,
        passthrough=outcome.passthrough,
        recovered=outcome.recovered,
        deleted_id=outcome.deleted_id,
        body={**answer, "mutation_id": str(mutation.pk)},
    )


def _finished_in_transaction(mutation: Mutation, attempt: MutationAttempt, finish: Callable[[], bool]) -> bool:
    """Run `finish` (the attempt's end, via `_finish`) in a transaction; its result, or False when another sender
    took the write over first: a claimed create's first attempt row is written with its end, and whoever took over
    wrote that row already, so the unique (mutation, number) refuses ours. Any other conflict is raised."""
    try:
        with transaction.atomic():
            return finish()
    except IntegrityError:
        if not Mutation.objects.filter(pk=mutation.pk, attempts__gt=attempt.number).exists():
            raise
        logger.error("Mutation %s: attempt %s ended after its lease was taken over", mutation.pk, attempt.number)
        return False


def _end_attempt(attempt: MutationAttempt, ended: dict[str, Any], update: Update) -> int:
    """Record how `attempt` ended (`ended`) and make the mutation's `update`; how many mutation rows changed.

    The attempt row a claim inserted is updated; a claimed create's first attempt, whose row is written only now,
    is inserted, in the same statement as the mutation's update (gateway.statements)."""
    if attempt.pk is not None:
        MutationAttempt.objects.filter(pk=attempt.pk).update(**ended)
        return update_rows(update)
    for name, value in ended.items():
        setattr(attempt, name, value)
    return insert_all(attempt, update=update)


def _store_written(mutation: Mutation, record: Any) -> None:
    """The vendor's answer into the local store, so a read right after the write sees it. A failure here costs
    nothing but freshness: the next sync run stores the same record. No record event of the store's own: the write
    announced the record already (source "api")."""
    try:
        store_written_record(
            connection=mutation.connection, resource=Resource(mutation.resource), record=record, events=False
        )
    except Exception:
        logger.exception("Storing the answer of mutation %s in the local store failed", mutation.pk)


def _store_deleted(mutation: Mutation, record_id: str) -> None:
    """A deleted record out of the local store; a failure here costs freshness only (the next sync run, which reads
    these resources whole, sees the record gone)."""
    try:
        store_deleted_record(connection=mutation.connection, resource=Resource(mutation.resource), record_id=record_id)
    except Exception:
        logger.exception("Removing the record of mutation %s from the local store failed", mutation.pk)


def _finish(
    mutation: Mutation,
    attempt: MutationAttempt,
    *,
    ended: dict[str, Any],
    status: str,
    recovered: bool = False,
    also: Sequence[Update] = (),
    **fields: Any,
) -> bool:
    """Record how the attempt ended (`ended`, always) and end the mutation's attempt if it still holds the lease
    (a sender whose lease was taken over changes nothing: False). `also`: UPDATEs made only when it ends the
    attempt (the Idempotency-Key's answer), with its events.

    Called inside a transaction: the events it emits commit with the outcome (the outbox).
    """
    holding = {"pk": mutation.pk, "status": MutationStatus.SENDING, "attempts": attempt.number}
    values = {"status": status, "lease_expires_at": None, **fields}
    updated = _end_attempt(attempt, ended, Update(Mutation, where=holding, values=values))
    if not updated:
        logger.error("Mutation %s: attempt %s ended after its lease was taken over", mutation.pk, attempt.number)
        return False
    mutation_attempt_observe(
        connector=mutation.connection.connector,
        resource=mutation.resource,
        operation=mutation.operation,
        outcome=status,
    )
    _emit_mutation_events(mutation, status=status, fields=fields, recovered=recovered, also=also)
    return True


# The record events a successful write through the API produces (resource -> event type stem).
RECORD_EVENT_STEMS = {Resource.CONTACTS.value: "contact", Resource.INVOICES.value: "invoice"}
# What a successful write did to its record, as the record event names it (every other write updated it).
RECORD_EVENT_ACTIONS = {Operation.CREATE.value: "created", FROM_ORDER: "created", Operation.DELETE.value: "deleted"}
MUTATION_EVENT_TYPES = {
    MutationStatus.SUCCEEDED: EventType.MUTATION_SUCCEEDED,
    MutationStatus.FAILED: EventType.MUTATION_FAILED,
    MutationStatus.IN_DOUBT: EventType.MUTATION_IN_DOUBT,
}


def _emit_mutation_events(
    mutation: Mutation, *, status: str, fields: dict[str, Any], recovered: bool, also: Sequence[Update] = ()
) -> None:
    event_type = MUTATION_EVENT_TYPES.get(MutationStatus(status))
    if event_type is None:
        for update in also:
            update_rows(update)
        return
    outcome = fields.get("outcome") if isinstance(fields.get("outcome"), dict) else {}
    data = {
        "mutation_id": str(mutation.pk),
        "resource": mutation.resource,
        "operation": mutation.operation,
        "target_id": mutation.target_id,
        "idempotency_key": mutation.idempotency_key,
        "status": str(status),
        "remote_id": fields.get("remote_id", mutation.remote_id) or "",
        "error_code": fields.get("error_code", "") or "",
        "error": outcome if status != MutationStatus.SUCCEEDED else None,
    }
    events: list[tuple[str, dict[str, Any]]] = [(event_type, data)]
    stem = RECORD_EVENT_STEMS.get(mutation.resource)
    if status == MutationStatus.SUCCEEDED and stem is not None and mutation.operation != ATTACH:
        record = {key: value for key, value in outcome.items() if key != "warnings"}
        action = RECORD_EVENT_ACTIONS.get(mutation.operation, "updated")
        record_data = {"id": record.get("id", ""), "mutation_id": str(mutation.pk), "recovered": recovered}
        events.append((f"{stem}.{action}", {**record_data, "record": record}))
    # Both in one go (sequence numbers, insert, endpoints), in the transaction that ends the attempt.
    events_emit(
        workspace_id=mutation.workspace_id,
        connection_id=mutation.connection_id,
        source="api",
        events=events,
        also=also,
    )


def failure_status(
    exc: BaseException, *, watch: MutationCallContext | None, reconciling: bool
) -> tuple[str, float | None]:
    """(status, seconds before it may be looked up) for an attempt that ended with `exc`; see the module doc."""
    settle = float(settings.LEDGERBRIDGE_MUTATION_SETTLE_SECONDS)
    if isinstance(exc, RecordGone):
        return MutationStatus.FAILED, None
    if watch is not None and watch.remote_id:
        return MutationStatus.IN_DOUBT, 0.0  # created at the vendor; a retry reads it back by that id
    if watch is None or not watch.write_sent:
        if reconciling:
            return MutationStatus.IN_DOUBT, 0.0  # the lookup failed or cannot tell: the write may still exist
        if isinstance(exc, FAILED_BEFORE_SENDING):
            return MutationStatus.FAILED, None
        return MutationStatus.IN_DOUBT, settle  # unknown: it may have struck while the write was on the wire
    status = watch.write_status
    if status is None:
        return MutationStatus.IN_DOUBT, settle  # no answer: the vendor may still apply it
    if 200 <= status < 300:
        return MutationStatus.IN_DOUBT, 0.0  # applied; what failed came after (the read-back)
    if status < 500 or status in REFUSING_STATUSES or isinstance(exc, VendorValidationError):
        return MutationStatus.FAILED, None  # refused (Exact also refuses invalid references with a 500)
    return MutationStatus.IN_DOUBT, 0.0  # a server error: it may have been applied before it failed


def _record_failure(
    mutation: Mutation,
    attempt: MutationAttempt,
    exc: BaseException,
    *,
    watch: MutationCallContext | None,
    reconciling: bool,
) -> None:
    now = timezone.now()
    try:
        problem = problem_for(exc)  # type: ignore[arg-type]
        code, message = problem.problem_code, problem.problem_detail
    except BaseException:
        code, message = "internal_error", exc.__class__.__name__
    vendor = vendor_part(exc) if isinstance(exc, VendorError) else None
    status, settle = failure_status(exc, watch=watch, reconciling=reconciling)
    outcome: dict[str, Any] = {"code": code, "message": message}
    if vendor is not None:
        outcome["vendor"] = vendor
    vendor_status = getattr(exc, "status", None)
    if not isinstance(vendor_status, int) and watch is not None and watch.write_sent:
        vendor_status = watch.write_status
    if mutation.operation == Operation.DELETE and isinstance(exc, VendorNotFound):
        # The vendor has no such record (deleted there, with no webhook yet): neither should the copy.
        _store_deleted(mutation, mutation.target_id)
    _finished_in_transaction(
        mutation,
        attempt,
        lambda: _finish(
            mutation,
            attempt,
            ended={
                "finished_at": now,
                "vendor_status": vendor_status if isinstance(vendor_status, int) else None,
                "error_code": code[:100],
                "error_message": message[:2000],
            },
            status=status,
            outcome=outcome,
            error_code=code[:100],
            reconcile_after=None if settle is None else now + timedelta(seconds=settle),
            updated_at=now,
        ),
    )
    mutation.refresh_from_db()
    if status == MutationStatus.IN_DOUBT:
        logger.warning("Mutation %s is in doubt after %s", mutation.pk, exc.__class__.__name__)


def _replayed(mutation: Mutation) -> WriteOutcome:
    """A mutation that already succeeded (same Idempotency-Key after the key's own record expired): its answer is
    the outcome stored when it succeeded."""
    body = {**(mutation.outcome or {}), "mutation_id": str(mutation.pk)}
    return WriteOutcome(mutation=mutation, record=None, recovered=True, body=body)


# ---------------------------------------------------------------------------------------------- reconcile


def mutations_due_for_reconciliation(*, now: datetime | None = None) -> Any:
    """Writes nobody is working on that may not stay as they are: expired leases, settled in-doubt writes.

    In-doubt passthrough POSTs are left to a person: the gateway cannot look them up.
    """
    now = now or timezone.now()
    expired = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
    settled = Q(reconcile_after__isnull=True) | Q(reconcile_after__lte=now)
    return (
        Mutation.objects.filter(
            Q(status=MutationStatus.SENDING, pk__in=Mutation.objects.filter(expired).values("pk"))
            | Q(status=MutationStatus.PENDING, lease_expires_at__lt=now)
            | (Q(status=MutationStatus.IN_DOUBT) & settled)
        )
        .exclude(status=MutationStatus.IN_DOUBT, resource=PASSTHROUGH, request__method="POST")
        .order_by("updated_at")
    )


def mutations_reconcile(*, limit: int = 50, lease_seconds: float | None = None) -> dict[str, int]:
    """Take over up to `limit` due writes (oldest first) and finish each: found at the vendor, or sent again.

    Returns how many ended in each status (those still in doubt are taken up by the next run).
    """
    ended: dict[str, int] = {}
    for mutation in list(mutations_due_for_reconciliation()[:limit]):
        try:
            mutation_execute(mutation=mutation, lease_seconds=lease_seconds or task_lease_seconds())
        except MutationConflict as exc:
            if exc.code in ("mutation_in_flight", "mutation_in_doubt"):
                continue  # someone else took it meanwhile
        except FAILED_BEFORE_SENDING as exc:
            logger.info("Reconciling mutation %s ended with %s", mutation.pk, exc.__class__.__name__)
        mutation.refresh_from_db()
        ended[mutation.status] = ended.get(mutation.status, 0) + 1
    return ended


# ---------------------------------------------------------------------------------------------- mapping


def mapping_check(*, connection: Connection, mapping: LedgerMapping) -> None:
    """Raise MappingInvalid naming each field whose code the vendor company does not have (vendor calls)."""
    ctx = connection_context(connection)
    problems = get_connector(connection.connector).check_mapping(ctx, mapping)
    if problems:
        raise MappingInvalid([(str(field), str(reason)) for field, reason in problems])


def mapping_save(*, connection: Connection, mapping: LedgerMapping) -> ConnectionMapping:
    """Check every reference of the mapping in the vendor company, then store it (MappingInvalid otherwise)."""
    mapping_check(connection=connection, mapping=mapping)
    stored = mapping.to_dict()
    with transaction.atomic():
        row, _ = ConnectionMapping.objects.update_or_create(
            connection=connection,
            defaults={
                "tax_rates": stored["tax_rates"],
                "default_revenue_ledger_account": stored["default_revenue_ledger_account"] or "",
                "default_sales_journal": stored["default_sales_journal"] or "",
                "default_purchase_journal": stored["default_purchase_journal"] or "",
                "default_item": stored["default_item"] or "",
                "items_by_code": stored["items_by_code"],
            },
        )
    connection.mapping = row  # type: ignore[attr-defined]  # what this request reads next (mapping_get)
    return row


# ---------------------------------------------------------------------------------------------- attachments

# Leading bytes of the file types vendors take as attachments; the content decides the type, not the client's word.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)
_XML_TYPES = frozenset({"application/xml", "text/xml"})


def file_content_type(content: bytes) -> str | None:
    """The media type the bytes are (PDF, PNG, JPEG, GIF, TIFF, XML), or None for anything else."""
    for signature, media_type in _SIGNATURES:
        if content.startswith(signature):
            return media_type
    if content.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml"):
        return "application/xml"
    return None


def _same_type(a: str, b: str) -> bool:
    return a == b or (a in _XML_TYPES and b in _XML_TYPES)


def attachment_check(*, rules: AttachmentRules, region: str, file_name: str, content: bytes) -> str:
    """The file's media type once it meets the vendor's rules; InvalidInput naming `file` otherwise (no call made)."""
    if not file_name.strip():
        raise InvalidInput("file", "The file needs a name (the multipart part's filename).")
    limit = rules.max_bytes_for(region)
    if not content:
        raise InvalidInput("file", "The file is empty.")
    if len(content) > limit:
        raise InvalidInput("file", f"The file has {len(content)} bytes; the vendor takes at most {limit} bytes.")
    media_type = file_content_type(content)
    accepted = ", ".join(sorted(rules.content_types))
    if media_type is None or media_type not in rules.content_types:
        raise InvalidInput("file", f"The file's content is not a type the vendor takes ({accepted}).")
    by_name, _ = mimetypes.guess_type(file_name, strict=False)
    if by_name is None or not _same_type(by_name, media_type):
        # The vendor may keep only the file name and serve the file by its extension (Exact does).
        raise InvalidInput("file", f"The file name's extension does not match its content ({media_type}).")
    return media_type


def attachment_create(
    *,
    workspace: Workspace,
    connection: Connection,
    resource: Resource,
    record_id: str,
    file_name: str,
    content: bytes,
    idempotency_key: str = "",
) -> Mutation:
    """Record the upload of a file to one record as a mutation (operation `attach`), claimed to be sent at once
    (`mutation_execute`), once the file meets the vendor's size and type rules (InvalidInput naming `file` before
    anything is recorded or sent).

    The mutation's request is the file's name, media type, size and SHA-256; its bytes wait in a MutationFile until
    the upload lands, so a failed or in-doubt upload is replayed like any other write (a retry, reconciliation).
    """
    connector = attachable_connector(connection=connection, resource=resource)
    assert connector.attachment_rules is not None  # attachable_connector checked it
    media_type = attachment_check(
        rules=connector.attachment_rules, region=connection.region, file_name=file_name, content=content
    )
    request = {
        "file_name": file_name,
        "content_type": media_type,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }
    # The mutation and its file commit together: no recorded upload is ever without its bytes.
    with transaction.atomic():
        mutation = mutation_create(
            workspace=workspace,
            connection=connection,
            resource=resource.value,
            operation=ATTACH,
            request=request,
            target_id=record_id,
            idempotency_key=idempotency_key,
            claim=True,
        )
        if mutation.status != MutationStatus.SUCCEEDED:
            # A new upload, or the failed or in-doubt one of this Idempotency-Key (the same bytes: same_request).
            MutationFile.objects.get_or_create(mutation=mutation, defaults={"content": content})
    return mutation


def _attachment_input(mutation: Mutation) -> AttachmentInput:
    """The file of an `attach` mutation, from its request and its kept bytes."""
    try:
        content = bytes(MutationFile.objects.get(mutation_id=mutation.pk).content)
    except MutationFile.DoesNotExist:
        raise MutationConflict(
            "mutation_not_retryable", "The file of this upload is no longer kept; upload it again."
        ) from None
    return AttachmentInput(
        file_name=mutation.request["file_name"],
        content_type=mutation.request["content_type"],
        content=content,
        resend=mutation.attempts > 1,
    )


def _attachment_landed(connector: Any, ctx: Any, mutation: Mutation, resource: Resource) -> Attachment | None:
    """The file of an upload whose answer was lost, if the record has it; None: send it.

    A file of the same name (and size, where the vendor lists one) is downloaded and compared by SHA-256, so an
    earlier file that merely shares the name is never taken for this upload (one read per candidate, on this
    reconciliation path only)."""
    wanted_name = str(mutation.request["file_name"]).strip().lower()
    wanted_size = mutation.request.get("size")
    for attachment in connector.attachment_list(ctx, resource, mutation.target_id):
        if attachment.file_name.strip().lower() != wanted_name:
            continue
        if attachment.size is not None and attachment.size != wanted_size:
            continue
        stored = connector.attachment_content(ctx, resource, mutation.target_id, attachment.remote_id)
        if hashlib.sha256(stored.content).hexdigest() == mutation.request.get("sha256"):
            return attachment
    return None


def _file_payload_text(mutation: Mutation) -> Callable[[bytes], str]:
    """The audit text of an upload's requests: the file's bytes (raw, or as base64 inside JSON) stand as its name,
    size and SHA-256, so the append-only trail never keeps the file."""
    request = mutation.request
    marker = f"<file {request.get('file_name')!r}: {request.get('size')} bytes, sha256 {request.get('sha256')}>"
    digest = str(request.get("sha256") or "")

    def text(body: bytes) -> str:
        if len(body) == request.get("size") and hashlib.sha256(body).hexdigest() == digest:
            return marker
        decoded = body.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(decoded)
        except ValueError:
            return decoded
        if isinstance(parsed, dict):
            for value in parsed.values():
                if isinstance(value, str) and value and _is_file(value, digest):
                    # The rest of the body stays as it was sent; only the file's text is replaced.
                    decoded = decoded.replace(value, marker)
        return decoded

    return text


def _is_file(text: str, digest: str) -> bool:
    try:
        return hashlib.sha256(base64.b64decode(text, validate=True)).hexdigest() == digest
    except ValueError:
        return False
