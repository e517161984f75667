"""Writes of the unified API: durable mutations (recorded, then sent), their retries, ledger mapping saves.

Every create, update, finalize and passthrough write is a Mutation row committed with status `pending` before
anything goes to the vendor; the vendor call then runs outside any transaction (the token manager refuses to
refresh inside one, and a rollback must never erase the record of a write that was sent). Each try is a
MutationAttempt. An answer that never came (timeout after sending, lost token response) leaves the mutation
`in_doubt`: a retry first asks the connector whether the write exists (`find_existing`) and never resends blindly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors.base.connector import Operation
from connectors.base.data import OperationNotSupported, PassthroughResult, Resource, WriteResult
from connectors.base.errors import TokenResponseLost, VendorUnavailable
from connectors.registry import get_connector
from gateway.request_context import current_request_id
from tenants.credentials.errors import TokenRefreshDeferred
from tenants.models import Connection, Workspace
from tenants.vendor_calls import connection_context
from unified_models.errors import TYPED_ERRORS, MappingInvalid, MutationConflict, problem_for, vendor_part
from unified_models.mapping import LedgerMapping
from unified_models.models import ConnectionMapping, Mutation, MutationAttempt, MutationStatus
from unified_models.records import Warning
from unified_models.selectors import mapping_get
from unified_models.serializers import input_from_request, record_data

logger = logging.getLogger(__name__)

PASSTHROUGH = "passthrough"
RETRYABLE_STATUSES = (MutationStatus.FAILED, MutationStatus.IN_DOUBT)


@dataclass(frozen=True)
class WriteOutcome:
    """What one successful mutation produced: a unified record with warnings, or a passthrough answer."""

    mutation: Mutation
    record: Any = None
    warnings: list[Warning] = field(default_factory=list)
    passthrough: PassthroughResult | None = None
    recovered: bool = False  # the write was found at the vendor after a lost answer, not sent again


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
) -> Mutation:
    """Record a write before it is sent (committed at once, status pending).

    With an Idempotency-Key the earlier mutation of that key is reused: a failed or in-doubt one is tried again
    (never duplicated), one still sending is 409, and the same key with another request is refused.
    """
    if resource != PASSTHROUGH and operation in (Operation.CREATE, Operation.UPDATE):
        connector = get_connector(connection.connector)
        if not connector.supports(resource, Operation(operation)):
            raise OperationNotSupported(resource, operation, connector.name)
    if idempotency_key:
        existing = Mutation.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
        if existing is not None:
            same = (
                existing.connection_id == connection.pk
                and existing.resource == resource
                and existing.operation == operation
                and existing.target_id == target_id
                and existing.request == request
            )
            if not same:
                raise MutationConflict(
                    "idempotency_key_reused",
                    "This Idempotency-Key was first used for another write; use a new key for a new request.",
                )
            if existing.status in (MutationStatus.PENDING, MutationStatus.SENDING):
                raise MutationConflict("mutation_in_flight", "The write with this Idempotency-Key is still being sent.")
            return existing
    return Mutation.objects.create(
        workspace=workspace,
        connection=connection,
        resource=resource,
        operation=operation,
        target_id=target_id,
        idempotency_key=idempotency_key,
        request_id=current_request_id()[:128],
        request=request,
        status=MutationStatus.PENDING,
    )


# ---------------------------------------------------------------------------------------------- execute


def mutation_execute(*, mutation: Mutation) -> WriteOutcome:
    """Send a recorded mutation (outside any transaction) and record the attempt and the outcome.

    Raises the typed error of a failure (MappingMissing, VendorValidationError, ...) after recording it.
    """
    if mutation.status == MutationStatus.SUCCEEDED:
        return _replayed(mutation)
    previous_status = mutation.status
    now = timezone.now()
    # One sender at a time: only the process that moves the row to `sending` may call the vendor.
    claimed = Mutation.objects.filter(pk=mutation.pk, status__in=[MutationStatus.PENDING, *RETRYABLE_STATUSES]).update(
        status=MutationStatus.SENDING, attempts=F("attempts") + 1, updated_at=now
    )
    if not claimed:
        raise MutationConflict("mutation_in_flight", "This write is being sent by another request or worker.")
    mutation.refresh_from_db()
    attempt = MutationAttempt.objects.create(mutation=mutation, number=mutation.attempts, started_at=now)
    connection = mutation.connection
    try:
        mapping, _ = mapping_get(connection=connection)
        data = _unified_input(mutation)
        ctx = connection_context(connection)
        connector = get_connector(connection.connector)
        recovered = None
        if previous_status == MutationStatus.IN_DOUBT:
            recovered = _recover(connector, ctx, mutation, data)
        if recovered is not None:
            outcome = WriteOutcome(mutation=mutation, record=recovered, recovered=True)
        else:
            outcome = _send(connector, ctx, mutation, data, mapping)
    except TYPED_ERRORS as exc:
        _record_failure(mutation, attempt, exc, in_doubt=_answer_lost(exc))
        raise
    except Exception as exc:
        # Unknown failure after the vendor may have been called: assume the worst, never resend blindly.
        _record_failure(mutation, attempt, exc, in_doubt=True)
        raise
    return _record_success(mutation, attempt, outcome)


def mutation_retry(*, mutation: Mutation) -> WriteOutcome:
    """Try a failed or in-doubt mutation again (in-doubt ones are looked up at the vendor first)."""
    if mutation.status not in RETRYABLE_STATUSES:
        raise MutationConflict(
            "mutation_not_retryable", f"Only failed or in-doubt writes can be retried; this one is {mutation.status}."
        )
    return mutation_execute(mutation=mutation)


def _unified_input(mutation: Mutation) -> Any:
    if mutation.resource == PASSTHROUGH or mutation.operation == "finalize":
        return None
    return input_from_request(mutation.resource, mutation.operation, mutation.request)


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
    else:  # pragma: no cover - operations are fixed by the views
        raise ValueError(f"Unknown mutation operation {mutation.operation!r}")
    if isinstance(written, WriteResult):
        return WriteOutcome(mutation=mutation, record=written.record, warnings=list(written.warnings))
    return WriteOutcome(mutation=mutation, record=written)


def _recover(connector: Any, ctx: Any, mutation: Mutation, data: Any) -> Any | None:
    """After a lost answer: the record the write produced, if the vendor has it (None: safe to send again)."""
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
        return connector.find_existing(ctx, resource, data)
    if mutation.operation == "finalize":
        invoice = connector.retrieve_record(ctx, resource, mutation.target_id)
        return invoice if getattr(invoice, "finalized", None) else None
    return None  # an update sends the same values again: repeating it is harmless


def _answer_lost(exc: BaseException) -> bool:
    """Whether the write may have reached the vendor although we got no answer."""
    if isinstance(exc, TokenResponseLost):
        return True
    # No HTTP status: a timeout or a dropped connection, possibly after the vendor applied the write.
    return isinstance(exc, VendorUnavailable) and exc.status is None and not isinstance(exc, TokenRefreshDeferred)


def _outcome_body(outcome: WriteOutcome) -> dict[str, Any]:
    if outcome.passthrough is not None:
        return {"status": outcome.passthrough.status, "body": outcome.passthrough.body}
    return {
        **record_data(Resource(outcome.mutation.resource), outcome.record),
        "warnings": [warning.as_dict() for warning in outcome.warnings],
    }


def _record_success(mutation: Mutation, attempt: MutationAttempt, outcome: WriteOutcome) -> WriteOutcome:
    now = timezone.now()
    passthrough_refused = outcome.passthrough is not None and outcome.passthrough.status >= 400
    body = _outcome_body(outcome)
    remote_id = "" if outcome.record is None else str(getattr(outcome.record, "remote_id", "") or "")
    vendor_status = outcome.passthrough.status if outcome.passthrough is not None else None
    with transaction.atomic():
        MutationAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            vendor_status=vendor_status,
            error_code="vendor_refused" if passthrough_refused else ("recovered" if outcome.recovered else ""),
        )
        Mutation.objects.filter(pk=mutation.pk).update(
            status=MutationStatus.FAILED if passthrough_refused else MutationStatus.SUCCEEDED,
            remote_id=remote_id[:100],
            outcome=body,
            error_code="vendor_refused" if passthrough_refused else "",
            completed_at=now,
            updated_at=now,
        )
    mutation.refresh_from_db()
    return WriteOutcome(
        mutation=mutation,
        record=outcome.record,
        warnings=outcome.warnings,
        passthrough=outcome.passthrough,
        recovered=outcome.recovered,
    )


def _record_failure(mutation: Mutation, attempt: MutationAttempt, exc: BaseException, *, in_doubt: bool) -> None:
    now = timezone.now()
    try:
        problem = problem_for(exc)  # type: ignore[arg-type]
        code, message = problem.problem_code, problem.problem_detail
    except Exception:
        code, message = "internal_error", exc.__class__.__name__
    vendor = vendor_part(exc) if hasattr(exc, "vendor_messages") else None  # type: ignore[arg-type]
    status = MutationStatus.IN_DOUBT if in_doubt else MutationStatus.FAILED
    outcome: dict[str, Any] = {"code": code, "message": message}
    if vendor is not None:
        outcome["vendor"] = vendor
    with transaction.atomic():
        MutationAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now,
            vendor_status=getattr(exc, "status", None) if isinstance(getattr(exc, "status", None), int) else None,
            error_code=code[:100],
            error_message=message[:2000],
        )
        Mutation.objects.filter(pk=mutation.pk).update(
            status=status, outcome=outcome, error_code=code[:100], updated_at=now
        )
    mutation.refresh_from_db()
    if in_doubt:
        logger.warning("Mutation %s is in doubt after %s", mutation.pk, exc.__class__.__name__)


def _replayed(mutation: Mutation) -> WriteOutcome:
    """A mutation that already succeeded (same Idempotency-Key after the key's own record expired)."""
    return WriteOutcome(mutation=mutation, record=None, recovered=True)


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
                "default_item": stored["default_item"] or "",
                "items_by_code": stored["items_by_code"],
            },
        )
    return row
