"""RFC 9457 problem details for every error the API returns, with a stable machine-readable `code`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from connectors.base.records import InvalidInput
from gateway.api.parsers import PayloadTooLarge
from gateway.request_context import current_request_id

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:ledgerbridge:problem:"
# Failures of what the gateway stands on (Redis, the Celery broker), answered 503 `service_unavailable`.
DEPENDENCY_ERRORS: tuple[type[BaseException], ...] = (RedisError, KombuOperationalError)
DEPENDENCY_RETRY_AFTER = 5


class Problem(exceptions.APIException):
    """An error raised by our own code: status, stable code, human detail, optional field errors and extras."""

    def __init__(
        self,
        *,
        status_code: int,
        code: str,
        title: str,
        detail: str,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.problem_code = code
        self.title = title
        self.problem_detail = detail
        self.errors = errors
        self.headers = dict(headers or {})
        self.extra = extra


class InvalidQueryParameters(exceptions.ValidationError):
    """Query parameters a filter serializer refused: 400 `validation_error` (the request's target, not content).

    A plain DRF ValidationError comes from an input serializer reading a parsed body: 422 `validation_error`
    (RFC 9110: the content was understood and refused). Query filters raise this subclass instead
    (gateway.api.fields.NonEmptyQueryFilters), so the two never need telling apart by message.
    """


# Exceptions of the apps' own (typed connector errors, service refusals) -> their problem; see register_problems.
ProblemMapper = Callable[[Any, Any], Problem]
_REGISTERED: list[tuple[tuple[type[BaseException], ...], ProblemMapper]] = []


def register_problems(exception_types: tuple[type[BaseException], ...], to_problem: ProblemMapper) -> None:
    """Make these exceptions problems wherever a view raises them: `to_problem(exc, view)` builds the problem.

    Apps register their typed errors once (AppConfig.ready), so handlers just raise: one error path.
    """
    _REGISTERED.append((tuple(exception_types), to_problem))


def problem_from(exc: BaseException, view: Any = None) -> Problem | None:
    """The problem for a Problem or a registered exception (the view that raised it, if any); None otherwise."""
    if isinstance(exc, Problem):
        return exc
    for exception_types, to_problem in _REGISTERED:
        if isinstance(exc, exception_types):
            return to_problem(exc, view)
    if isinstance(exc, InvalidInput):
        return invalid_input_problem(exc)
    return None


# InvalidInput codes that are problem codes of their own (not plain validation errors): public API, never rename.
_OWN_INPUT_CODES = {"redirect_url_not_allowed": "Redirect URL not allowed"}


def invalid_input_problem(exc: InvalidInput) -> Problem:
    """422 `invalid_input` (input no vendor write can take), or 422 `validation_error` (refused by a service)."""
    errors = [{"field": exc.field, "code": exc.code, "message": exc.message}]
    if exc.problem == "invalid_input":
        return Problem(
            status_code=422,
            code="invalid_input",
            title="Input not accepted",
            detail=f"{exc.field}: {exc.message}",
            errors=errors,
        )
    code = exc.code if exc.code in _OWN_INPUT_CODES else "validation_error"
    title = _OWN_INPUT_CODES.get(code, "Validation failed")
    return Problem(status_code=422, code=code, title=title, detail=exc.message, errors=errors)


def problem_body(
    *,
    status_code: int,
    code: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_PREFIX}{code}",
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body["request_id"] = current_request_id()
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


def problem_json_response(
    request: HttpRequest, *, status_code: int, code: str, title: str, detail: str
) -> JsonResponse:
    """A problem response for plain Django views and handlers (404/500 outside DRF)."""
    return JsonResponse(
        problem_body(status_code=status_code, code=code, title=title, detail=detail, instance=request.path),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def flatten_validation_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested error dicts/lists become a flat list of {field, code, message}; fields use dotted paths."""
    if isinstance(detail, Mapping):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            # DRF reports list items by integer index (0 included): stringify before testing for emptiness.
            field = "" if key == "non_field_errors" else str(key)
            out.extend(flatten_validation_errors(value, f"{prefix}.{field}" if prefix and field else prefix or field))
        return out
    if isinstance(detail, list):
        out = []
        for index, value in enumerate(detail):
            if isinstance(value, Mapping | list):
                out.extend(flatten_validation_errors(value, f"{prefix}.{index}" if prefix else str(index)))
            else:
                out.extend(flatten_validation_errors(value, prefix))
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": prefix or "", "code": str(code), "message": str(detail)}]


# DRF exception class -> (stable code, title). Codes are public API: never rename one.
_DRF_PROBLEMS: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.NotAuthenticated, "missing_api_key", "Authentication required"),
    (exceptions.AuthenticationFailed, "invalid_api_key", "Authentication failed"),
    (exceptions.PermissionDenied, "permission_denied", "Permission denied"),
    (exceptions.NotFound, "not_found", "Not found"),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not_acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Unsupported media type"),
    (exceptions.ParseError, "malformed_request", "Malformed request body"),
    (PayloadTooLarge, "payload_too_large", "Payload too large"),
    (exceptions.Throttled, "rate_limited", "Too many requests"),
]


def _response(body: dict[str, Any], status_code: int, headers: Mapping[str, str] | None = None) -> Response:
    response = Response(body, status=status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception, known or not, becomes problem details."""
    request = context.get("request")
    instance = request.path if request is not None else None
    set_rollback()
    if request is not None:
        # Problems are JSON whatever the view renders otherwise (the schema view: YAML, the docs: HTML).
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = PROBLEM_CONTENT_TYPE

    if (registered := problem_from(exc, context.get("view"))) is not None:
        exc = registered
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, DEPENDENCY_ERRORS):
        # Redis (locks, budgets) or the broker is down: nothing the client did, and it passes; say when to retry.
        logger.warning("Dependency unavailable while serving %s: %s", instance, exc.__class__.__name__)
        exc = Problem(
            status_code=503,
            code="service_unavailable",
            title="Service unavailable",
            detail="A service the gateway depends on is unavailable; nothing was changed by this request unless "
            "`mutation_status` says otherwise. Retry after Retry-After (writes: with the same Idempotency-Key).",
            headers={"Retry-After": str(DEPENDENCY_RETRY_AFTER)},
            retry_after=DEPENDENCY_RETRY_AFTER,
        )

    if isinstance(exc, Problem):
        body = problem_body(
            status_code=exc.status_code,
            code=exc.problem_code,
            title=exc.title,
            detail=exc.problem_detail,
            instance=instance,
            errors=exc.errors,
            **exc.extra,
        )
        return _response(body, exc.status_code, exc.headers)

    if isinstance(exc, exceptions.ValidationError):
        # 400 for query parameters (the request cannot be read as meant), 422 for a parsed body refused.
        validation_status = 400 if isinstance(exc, InvalidQueryParameters) else 422
        errors = flatten_validation_errors(exc.detail)
        fields = sorted({e["field"] for e in errors if e["field"]})
        detail = f"Invalid input in: {', '.join(fields)}." if fields else "The request is invalid."
        body = problem_body(
            status_code=validation_status,
            code="validation_error",
            title="Validation failed",
            detail=detail,
            instance=instance,
            errors=errors,
        )
        return _response(body, validation_status)

    if isinstance(exc, exceptions.APIException):
        code, title = "error", "Error"
        for exc_class, problem_code, problem_title in _DRF_PROBLEMS:
            if isinstance(exc, exc_class):
                code, title = problem_code, problem_title
                break
        # Authentication classes may set a more specific code (malformed, unknown, revoked key).
        detail_code = getattr(exc.detail, "code", None)
        if isinstance(exc, exceptions.AuthenticationFailed) and detail_code not in (None, "authentication_failed"):
            code = str(detail_code)
        headers: dict[str, str] = {}
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            headers["WWW-Authenticate"] = 'Bearer realm="ledgerbridge"'
        extra: dict[str, Any] = {}
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait + 0.999))
            extra["retry_after"] = int(exc.wait + 0.999)
        if isinstance(exc, exceptions.MethodNotAllowed) and request is not None:
            view = context.get("view")
            if view is not None:
                headers["Allow"] = ", ".join(view.allowed_methods)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        body = problem_body(
            status_code=exc.status_code, code=code, title=title, detail=str(detail), instance=instance, **extra
        )
        return _response(body, exc.status_code, headers)

    # Anything else is a bug: log it with the request id, tell the client nothing internal.
    logger.exception("Unhandled exception while serving %s", instance)
    body = problem_body(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR,
        code="internal_error",
        title="Internal server error",
        detail="The gateway failed to handle this request. Quote the request_id when reporting it.",
        instance=instance,
    )
    return _response(body, 500)


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json_response(
        request, status_code=404, code="not_found", title="Not found", detail=f"No resource at {request.path}."
    )


def handler500(request: HttpRequest) -> JsonResponse:
    return problem_json_response(
        request,
        status_code=500,
        code="internal_error",
        title="Internal server error",
        detail="The gateway failed to handle this request. Quote the request_id when reporting it.",
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json_response(
        request, status_code=400, code="bad_request", title="Bad request", detail="The request could not be understood."
    )


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return problem_json_response(
        request, status_code=403, code="permission_denied", title="Permission denied", detail="Access is not allowed."
    )
