"""Typed connector and mapping errors turned into the API's problem details (stable codes, field names, vendor part).

Views just raise: `problem_for_view` is registered with the API's exception handler (apps.py), so one exception
always gives the same status and code wherever it happens. Codes are public API: never rename one.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from connectors.base.data import OperationNotSupported, PassthroughDenied
from connectors.base.errors import (
    CompanyAccessDenied,
    ConnectionNotUsable,
    TokenResponseLost,
    VendorAuthError,
    VendorError,
    VendorNotFound,
    VendorRateLimited,
    VendorUnavailable,
    VendorValidationError,
)
from connectors.base.mapping import MappingMissing
from connectors.base.records import InvalidInput
from gateway.api.problems import Problem, invalid_input_problem
from tenants.credentials.errors import TokenRefreshDeferred
from unified_models.models import MutationStatus

# code -> (HTTP status, title); documented in the OpenAPI description of each operation and in the README.
PROBLEM_CODES: dict[str, tuple[int, str]] = {
    "mapping_missing": (422, "Mapping missing"),
    "mapping_invalid": (422, "Mapping invalid"),
    "invalid_input": (422, "Input not accepted"),
    "vendor_validation_failed": (422, "Vendor refused the request"),
    "not_found": (404, "Not found"),
    "operation_not_supported": (405, "Operation not supported"),
    "connection_needs_reauth": (409, "Connection needs re-authorisation"),
    "connection_disabled": (409, "Connection disabled"),
    "mutation_in_flight": (409, "Write in progress"),
    "mutation_in_doubt": (409, "Write in doubt"),
    "mutation_not_retryable": (409, "Write cannot be retried"),
    "vendor_rate_limited": (429, "Vendor rate limit reached"),
    "passthrough_denied": (403, "Passthrough path denied"),
    "vendor_auth_failed": (502, "Vendor refused the credentials"),
    "vendor_unavailable": (503, "Vendor unavailable"),
    "vendor_error": (502, "Vendor error"),
}


def _problem(code: str, detail: str, **kwargs: object) -> Problem:
    status_code, title = PROBLEM_CODES[code]
    return Problem(status_code=status_code, code=code, title=title, detail=detail, **kwargs)  # type: ignore[arg-type]


def vendor_part(exc: VendorError) -> dict[str, object]:
    """The vendor's own words, one message per entry as the connector split them (each vendor owns its splitting:
    connectors/exact/errors.py for Exact's CRLF-joined messages), or the error's message when it has none."""
    messages = [str(message) for message in exc.vendor_messages] or ([exc.message] if exc.message else [])
    return {"status": exc.status, "messages": messages}


def _retry_after_seconds(reset_at: datetime) -> int:
    return max(1, math.ceil((reset_at - datetime.now(tz=UTC)).total_seconds()))


def problem_for(exc: Exception) -> Problem:
    """The problem details for a typed error raised by a connector, the mapping or the input builders."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, MappingInvalid | MutationConflict):
        return mutation_problem(exc)
    if isinstance(exc, MappingMissing):
        return _problem(
            "mapping_missing",
            f"The connection's ledger mapping cannot translate this write: {exc.message.rstrip('.')}. "
            "Fill it in with PUT /connections/{id}/mapping. Nothing was sent to the vendor.",
            errors=[{"field": f"mapping.{exc.field}", "code": "missing", "message": exc.message}],
        )
    if isinstance(exc, InvalidInput):
        return invalid_input_problem(exc)
    if isinstance(exc, OperationNotSupported):
        return _problem("operation_not_supported", str(exc))
    if isinstance(exc, PassthroughDenied):
        return _problem(
            "passthrough_denied",
            f"The gateway does not pass this path through: {exc.reason}",
            errors=[{"field": "path", "code": "denied", "message": exc.reason}],
        )
    if isinstance(exc, ConnectionNotUsable):
        code = "connection_disabled" if exc.status_code == "disabled" else "connection_needs_reauth"
        detail = exc.message or "The connection cannot be used."
        if code == "connection_needs_reauth":
            detail += " Create a connect link with connection_id to let the user reconnect."
        return _problem(code, detail, reason=exc.reason)
    if isinstance(exc, CompanyAccessDenied):
        return _problem(
            "connection_needs_reauth",
            f"The vendor no longer grants access to this company ({exc.reason}); the user must reconnect.",
            reason=exc.reason,
        )
    if isinstance(exc, VendorValidationError):
        # Includes Exact's HTTP 500 "Ongeldige referentie" (an invalid reference is the caller's input, picqer#249).
        return _problem(
            "vendor_validation_failed",
            "The vendor refused the request: " + "; ".join(vendor_part(exc)["messages"] or ["no reason given"]),  # type: ignore[arg-type]
            vendor=vendor_part(exc),
        )
    if isinstance(exc, VendorNotFound):
        return _problem("not_found", "The vendor has no such record in this company.", vendor=vendor_part(exc))
    if isinstance(exc, VendorRateLimited):
        seconds = _retry_after_seconds(exc.reset_at)
        return _problem(
            "vendor_rate_limited",
            f"The vendor's rate limit for this company is spent; retry after {seconds} s.",
            headers={"Retry-After": str(seconds)},
            retry_after=seconds,
        )
    if isinstance(exc, TokenRefreshDeferred):
        # No usable token until the vendor allows a refresh (e.g. it refused one as too early): say when.
        seconds = _retry_after_seconds(exc.retry_at) if exc.retry_at else 30
        return _problem("vendor_unavailable", exc.message, headers={"Retry-After": str(seconds)}, retry_after=seconds)
    if isinstance(exc, VendorUnavailable | TokenResponseLost):
        return _problem(
            "vendor_unavailable",
            "The vendor did not answer in time or answered with a server error; retry later.",
            headers={"Retry-After": "30"},
            vendor=vendor_part(exc),
        )
    if isinstance(exc, VendorAuthError):
        return _problem(
            "vendor_auth_failed", "The vendor refused the connection's credentials.", vendor=vendor_part(exc)
        )
    if isinstance(exc, VendorError):
        return _problem("vendor_error", "The vendor answered with an unexpected error.", vendor=vendor_part(exc))
    raise exc


# ---------------------------------------------------------------------------------------------- mutations


class MappingInvalid(Exception):
    """A ledger mapping that names things the vendor company does not have: (field, reason) per problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


class MutationConflict(Exception):
    """A write that cannot run now: `code` is mutation_in_flight, mutation_in_doubt or mutation_not_retryable;
    `retry_after` (seconds) when waiting helps. (A reused Idempotency-Key is gateway.idempotency's refusal.)"""

    def __init__(self, code: str, message: str, *, retry_after: int | None = None, mutation: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after = retry_after
        # The mutation that holds the write (a concurrent request with the same key): its problem names it.
        self.mutation = mutation


def mutation_problem(exc: MappingInvalid | MutationConflict) -> Problem:
    if isinstance(exc, MappingInvalid):
        return _problem(
            "mapping_invalid",
            "The mapping names things this company does not have: " + str(exc),
            errors=[{"field": field, "code": "not_found", "message": reason} for field, reason in exc.problems],
        )
    if exc.code in ("mutation_in_flight", "mutation_in_doubt"):
        seconds = exc.retry_after or 1
        return _problem(exc.code, exc.message, headers={"Retry-After": str(seconds)}, retry_after=seconds)
    return Problem(status_code=409, code=exc.code, title="Write cannot be retried", detail=exc.message)


TYPED_ERRORS = (
    VendorError,
    MappingMissing,
    InvalidInput,
    OperationNotSupported,
    PassthroughDenied,
    MappingInvalid,
    MutationConflict,
)


def write_problem(problem: Problem, mutation: Any) -> Problem:
    """A failed write's problem, naming the mutation and its state; an in-doubt one says when to retry."""
    problem.extra.setdefault("mutation_id", str(mutation.pk))
    problem.extra.setdefault("mutation_status", str(mutation.status))
    if mutation.status == MutationStatus.IN_DOUBT and mutation.reconcile_after is not None:
        wait = max(1, int((mutation.reconcile_after - datetime.now(tz=UTC)).total_seconds() + 0.999))
        problem.headers["Retry-After"] = str(max(wait, int(problem.headers.get("Retry-After", "0") or 0)))
    return problem


def problem_for_view(exc: Exception, view: Any) -> Problem:
    """The problem for a typed error raised in a view (registered with the API's exception handler in apps.py).

    Once the view recorded a write (`view.mutation`), or the write belongs to another request with the same key
    (`MutationConflict.mutation`), the problem names that mutation and its state.
    """
    problem = problem_for(exc)
    mutation = getattr(view, "mutation", None) or getattr(exc, "mutation", None)
    return write_problem(problem, mutation) if mutation is not None else problem
