"""`Idempotency-Key` for writes (DESIGN.md §2, Stripe semantics, IETF httpapi draft).

The same key and body replay the first response with `Idempotent-Replayed: true`; the same key with another
body is 422; a key whose first request is still running is 409. Keys live 24 hours. An answer that says "not
now" (5xx, 409, 429: the write is in flight, in doubt, or the vendor is busy) frees the key so the client can
retry; a request that died without answering (killed worker) leaves its key in flight, and a retry takes it over
once it is older than any request can run (the web server's timeout, `stale_after`). The key is claimed through
gateway.idempotency (the one implementation, shared with the mutation record that prevents vendor-side duplicates).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.problems import Problem, problem_from
from gateway.idempotency import (
    HEADER,
    DeferredKey,
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    IdempotentReplay,
    deferred_key_reset,
    deferred_key_set,
    idempotency_claim,
    idempotency_key_check,
)
from gateway.models import IdempotencyKey, IdempotencyStatus

REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
# Statuses that are no final answer: retrying with the same key must run the request again, not replay them.
TRANSIENT_STATUSES = frozenset({409, 423, 425, 429})


def stale_after() -> timedelta:
    """Longer than any request may run: the web server kills a request after LEDGERBRIDGE_WEB_TIMEOUT."""
    return timedelta(seconds=settings.LEDGERBRIDGE_WEB_TIMEOUT + 5)


def _canonical_value(value: Any) -> Any:
    """A multipart body's uploaded file stands for its name and the SHA-256 of its bytes (another file with the same
    name is another request); anything else JSON cannot encode stands for its text."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file_name": value.name, "sha256": digest.hexdigest()}
    return str(value)


def request_fingerprint(request: Request) -> str:
    # A body that does not parse (or is too large) is refused here with its own problem, before any claim.
    body: Any = request.data
    if isinstance(body, QueryDict):
        body = {name: body.getlist(name) for name in body}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=_canonical_value)
    # The query string too: `?include=remote_data` changes the answer, so it is another request.
    return hashlib.sha256(f"{request.method} {request.get_full_path()}\n{canonical}".encode()).hexdigest()


def idempotency_problem(
    exc: IdempotencyKeyInvalid | IdempotencyKeyReused | IdempotencyKeyInFlight, view: Any = None
) -> Problem:
    """The problem of each idempotency refusal, wherever it is raised (this decorator or a service)."""
    if isinstance(exc, IdempotencyKeyInvalid):
        return Problem(
            status_code=400,
            code="invalid_idempotency_key",
            title="Invalid Idempotency-Key",
            detail="Idempotency-Key must be 1 to 255 visible ASCII characters.",
            errors=[{"field": HEADER, "code": "invalid", "message": "1 to 255 visible ASCII characters."}],
        )
    if isinstance(exc, IdempotencyKeyReused):
        return Problem(
            status_code=422,
            code="idempotency_key_reused",
            title="Idempotency-Key reused",
            detail="This Idempotency-Key was first used with a different request; use a new key for a new request.",
            errors=[{"field": HEADER, "code": "reused", "message": "Used before with another method, path or body."}],
        )
    return Problem(
        status_code=409,
        code="idempotency_key_in_flight",
        title="Request in progress",
        detail="A request with this Idempotency-Key is still being processed; retry later.",
        headers={"Retry-After": str(exc.retry_after)},
        retry_after=exc.retry_after,
    )


def _claim(request: Request, key: str, fingerprint: str) -> IdempotencyKey | Response:
    """Insert the key as in flight, or answer from the existing record (one past the retention is replaced)."""
    workspace = request.user.workspace  # type: ignore[union-attr]
    cutoff = timezone.now() - RETENTION
    rows = IdempotencyKey.objects.filter(workspace=workspace, key=key)
    for _ in range(2):
        claim = idempotency_claim(
            rows=rows,
            create=lambda: IdempotencyKey.objects.create(
                workspace=workspace,
                key=key,
                method=request.method or "",
                path=request.path,
                request_fingerprint=fingerprint,
            ),
            same_request=lambda existing: existing.created_at < cutoff or existing.request_fingerprint == fingerprint,
        )
        if claim.created:
            return claim.row
        if claim.row.created_at >= cutoff:
            return _answer_from(claim.row)
        # Past the retention and not yet swept by the cleanup task: forgotten, and the key is claimed afresh. Done
        # here, on a conflict, so the common path is one INSERT instead of a DELETE before every claim.
        rows.filter(pk=claim.row.pk, created_at__lt=cutoff).delete()
    raise IdempotencyKeyInFlight(1)


def _answer_from(existing: IdempotencyKey) -> IdempotencyKey | Response:
    if existing.status == IdempotencyStatus.IN_FLIGHT:
        now = timezone.now()
        taken_over = IdempotencyKey.objects.filter(
            pk=existing.pk, status=IdempotencyStatus.IN_FLIGHT, created_at__lt=now - stale_after()
        ).update(created_at=now)
        if taken_over:
            existing.created_at = now
            return existing
        left = existing.created_at + stale_after() - now
        raise IdempotencyKeyInFlight(max(1, min(int(left.total_seconds()) + 1, 30)))
    response = Response(existing.response_body, status=existing.response_status)
    if existing.response_content_type:
        response.content_type = existing.response_content_type
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF write handler (post/put/patch) to honour `Idempotency-Key`: the key is claimed (a commit of
    its own) before the handler runs."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key_of(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        claimed = _claim(request, key, request_fingerprint(request))
        if isinstance(claimed, Response):
            return claimed
        return _run_claimed(self, request, view_method, claimed.pk, args, kwargs)

    return wrapper


def idempotent_write(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """`idempotent` for a handler whose first effect is recording one write (`mutation_create`): the key's row is
    inserted in the same statement as the write's record and its answer stored in the transaction that records the
    outcome (gateway.idempotency.DeferredKey), two commits fewer per request than a claim of its own.

    Why the semantics stay the same: nothing happens before the write is recorded, and the key and the write are
    claimed together, so a second request with the key ends on the first one's row as before (in flight: 409; done:
    its answer replayed; another body: 422). A failure before the write is recorded (invalid input, an unknown
    connection) first claims the key alone and is answered as a claim made up front would answer it: the key's
    earlier answer if it has one, else the failure (a definitive refusal kept as the key's answer, anything else,
    invalid input included, leaving the key free).
    """

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = _key_of(request)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        fingerprint = request_fingerprint(request)
        workspace = request.user.workspace  # type: ignore[union-attr]

        def claim_alone() -> IdempotencyKey:
            claimed = _claim(request, key, fingerprint)
            if isinstance(claimed, Response):
                raise IdempotentReplay(claimed)
            return claimed

        deferred = DeferredKey(
            row=IdempotencyKey(
                workspace=workspace,
                key=key,
                method=request.method or "",
                path=request.path,
                request_fingerprint=fingerprint,
                created_at=timezone.now(),
            ),
            claim_alone=claim_alone,
        )
        token = deferred_key_set(deferred)
        try:
            response = view_method(self, request, *args, **kwargs)
        except IdempotentReplay as replay:
            return replay.answer  # type: ignore[no-any-return]
        except Throttled:
            # The API throttle decided inside the handler (gateway/api/overlapped_throttle.py), before anything was
            # recorded: a 429 as DRF gives it before the handler, the key not even looked at.
            raise
        except BaseException as exc:
            if deferred.claimed:
                response = _failed_claimed(self, exc, deferred.rows())
            else:
                response = _refused_unclaimed(self, exc, claim_alone)
            return response
        finally:
            deferred_key_reset(token)
        if deferred.answered and response.status_code == deferred.answer_status:
            response[REPLAYED_HEADER] = "false"
            return response
        if not deferred.claimed:
            try:
                claimed = claim_alone()
            except IdempotentReplay as replay:
                return replay.answer  # type: ignore[no-any-return]
            return _completed(response, IdempotencyKey.objects.filter(pk=claimed.pk))
        return _completed(response, deferred.rows())

    return wrapper


def _key_of(request: Request) -> str | None:
    """The request's key, checked; None without one, or for a dry run (it writes nothing, so the key is not claimed:
    the real write may use it)."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    idempotency_key_check(key)
    if request.query_params.get("dry_run") == "true":
        return None
    return key


def _run_claimed(
    view: Any, request: Request, view_method: Callable[..., Response], pk: Any, args: Any, kwargs: Any
) -> Response:
    rows = IdempotencyKey.objects.filter(pk=pk)
    try:
        response = view_method(view, request, *args, **kwargs)
    except BaseException as exc:
        return _failed_claimed(view, exc, rows)
    return _completed(response, rows)


def _failed_claimed(view: Any, exc: BaseException, rows: Any) -> Response:
    """A claimed key's request raised: a transient failure frees the key (raised again), a definitive refusal (4xx)
    is part of the key's history, kept for replays."""
    problem = problem_from(exc, view)
    if problem is None or _transient(problem.status_code):
        rows.delete()
        raise exc
    return _completed(view.handle_exception(exc), rows)


def _refused_unclaimed(view: Any, exc: BaseException, claim_alone: Callable[[], IdempotencyKey]) -> Response:
    """A deferred key's request failed before its write was recorded. Answered as if the key had been claimed up
    front: a key with an answer gives that answer (or 409 in flight, 422 used with another request); otherwise a
    definitive refusal becomes the key's answer and anything else frees it again (raised)."""
    try:
        claimed = claim_alone()
    except IdempotentReplay as replay:
        return replay.answer  # type: ignore[no-any-return]
    return _failed_claimed(view, exc, IdempotencyKey.objects.filter(pk=claimed.pk))


def _completed(response: Response, rows: Any) -> Response:
    """Store `response` as the key's answer (a transient one frees the key instead) and mark it a first answer."""
    if _transient(response.status_code):
        rows.delete()
        return response
    rows.update(
        status=IdempotencyStatus.COMPLETED,
        response_status=response.status_code,
        response_body=response.data,
        response_content_type=response.content_type or "",
        completed_at=timezone.now(),
    )
    response[REPLAYED_HEADER] = "false"
    return response


def _transient(status_code: int) -> bool:
    return status_code >= 500 or status_code in TRANSIENT_STATUSES


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    # Visible ASCII, "!" to "~", as _VALID_KEY checks.
    type={"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"},
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the write safe to retry: the same key and body replay the first response "
        "(`Idempotent-Replayed: true`); the same key with another body is 422; a key still in flight is 409. "
        "Answers that are no final result (409, 429, 5xx) are not kept: retry them with the same key. "
        "Keys are kept 24 hours."
    ),
    examples=[OpenApiExample("UUID", value="7c1e0c1a-3b5e-4d8a-9f61-2d1f6f3a9b10")],
)


def idempotency_keys_purge() -> int:
    """Delete keys past their 24-hour retention; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
