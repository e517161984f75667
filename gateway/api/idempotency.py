"""`Idempotency-Key` for writes (DESIGN.md §2, Stripe semantics, IETF httpapi draft).

The same key and body replay the first response with `Idempotent-Replayed: true`; the same key with another
body is 422; a key whose first request is still running is 409. Keys live 24 hours. A 5xx frees the key so the
client can retry; a request that died without answering (killed worker) leaves its key in flight, and a retry
takes it over once it is older than any request can run (STALE_AFTER). Vendor-side duplicates are prevented by
the mutation record, not here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.problems import Problem
from gateway.models import IdempotencyKey, IdempotencyStatus

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
RETENTION = timedelta(hours=24)
# Longer than any request may run (web timeout plus vendor timeouts): an older in-flight key was abandoned.
STALE_AFTER = timedelta(minutes=10)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as the IETF draft's examples


def request_fingerprint(request: Request) -> str:
    try:
        body: Any = request.data
    except Exception:  # unparsable bodies fail later with their own problem; fingerprint the raw bytes
        body = request.body.decode(errors="replace")
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _invalid_key() -> Problem:
    return Problem(
        status_code=400,
        code="invalid_idempotency_key",
        title="Invalid Idempotency-Key",
        detail="Idempotency-Key must be 1 to 255 visible ASCII characters.",
        errors=[{"field": HEADER, "code": "invalid", "message": "1 to 255 visible ASCII characters."}],
    )


def _claim(request: Request, key: str, fingerprint: str) -> IdempotencyKey | Response:
    """Insert the key as in flight, or answer from the existing record."""
    workspace = request.user.workspace  # type: ignore[union-attr]
    IdempotencyKey.objects.filter(workspace=workspace, key=key, created_at__lt=timezone.now() - RETENTION).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                workspace=workspace, key=key, method=request.method or "", path=request.path,
                request_fingerprint=fingerprint,
            )
    except IntegrityError:
        existing = IdempotencyKey.objects.get(workspace=workspace, key=key)
    if existing.request_fingerprint != fingerprint:
        raise Problem(
            status_code=422,
            code="idempotency_key_reused",
            title="Idempotency-Key reused",
            detail="This Idempotency-Key was first used with a different request; use a new key for a new request.",
            errors=[{"field": HEADER, "code": "reused", "message": "Used before with another method, path or body."}],
        )
    if existing.status == IdempotencyStatus.IN_FLIGHT:
        now = timezone.now()
        taken_over = IdempotencyKey.objects.filter(
            pk=existing.pk, status=IdempotencyStatus.IN_FLIGHT, created_at__lt=now - STALE_AFTER
        ).update(created_at=now)
        if taken_over:
            existing.created_at = now
            return existing
        raise Problem(
            status_code=409,
            code="idempotency_key_in_flight",
            title="Request in progress",
            detail="A request with this Idempotency-Key is still being processed; retry later.",
            headers={"Retry-After": "1"},
        )
    response = Response(existing.response_body, status=existing.response_status)
    if existing.response_content_type:
        response.content_type = existing.response_content_type
    response[REPLAYED_HEADER] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF write handler (post/put/patch) to honour `Idempotency-Key`."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(self, request, *args, **kwargs)
        if not _VALID_KEY.match(key):
            raise _invalid_key()
        claimed = _claim(request, key, request_fingerprint(request))
        if isinstance(claimed, Response):
            return claimed
        try:
            response = view_method(self, request, *args, **kwargs)
        except Problem as problem:
            if problem.status_code >= 500:
                claimed.delete()
                raise
            # A definitive refusal (4xx) is part of the key's history: a replay must give the same answer.
            response = self.handle_exception(problem)
        except Exception:
            claimed.delete()
            raise
        if response.status_code >= 500:
            claimed.delete()
            return response
        claimed.status = IdempotencyStatus.COMPLETED
        claimed.response_status = response.status_code
        claimed.response_body = response.data
        claimed.response_content_type = response.content_type or ""
        claimed.completed_at = timezone.now()
        claimed.save()
        response[REPLAYED_HEADER] = "false"
        return response

    return wrapper


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Makes the write safe to retry: the same key and body replay the first response "
        "(`Idempotent-Replayed: true`); the same key with another body is 422; a key still in flight is 409. "
        "Keys are kept 24 hours."
    ),
    examples=[OpenApiExample("UUID", value="7c1e0c1a-3b5e-4d8a-9f61-2d1f6f3a9b10")],
)


def idempotency_keys_purge() -> int:
    """Delete keys past their 24-hour retention; returns how many."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - RETENTION).delete()
    return deleted
