"""Idempotency keys, one implementation (Stripe's semantics, the IETF httpapi idempotency draft).

Two records carry a client's `Idempotency-Key`, each with a unique constraint on (workspace, key): the first HTTP
answer (gateway.models.IdempotencyKey, replayed for 24 hours by gateway/api/idempotency.py) and the write itself
(unified_models.models.Mutation, kept as long as the mutation). Both claim their key through `idempotency_claim`:
the insert goes first and the database's unique constraint decides a race, so two concurrent requests with one key
end on one row; a key first used with another request is refused with the same problem in both.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import nullcontext
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from gateway.models import IdempotencyStatus
from gateway.statements import Update, insert_all, update_rows

HEADER = "Idempotency-Key"
# Visible ASCII, as the IETF draft's examples; the OpenAPI parameter states the same pattern.
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# How often a claim is tried again when the row that blocked it vanished meanwhile (its request failed).
CLAIM_ATTEMPTS = 3

Row = TypeVar("Row", bound=models.Model)


class IdempotencyKeyInvalid(Exception):
    """The header is not 1 to 255 visible ASCII characters (400)."""


class IdempotencyKeyReused(Exception):
    """The key was first used with another request (another method, path, body or write): 422."""


class IdempotencyKeyInFlight(Exception):
    """The request that holds the key has not finished yet (409 with Retry-After)."""

    def __init__(self, retry_after: int = 1) -> None:
        super().__init__("A request with this Idempotency-Key is still being processed.")
        self.retry_after = retry_after


def idempotency_key_check(key: str) -> str:
    """The key as sent, or IdempotencyKeyInvalid."""
    if not _VALID_KEY.match(key):
        raise IdempotencyKeyInvalid(key)
    return key


@dataclass(frozen=True)
class IdempotencyClaim(Generic[Row]):
    row: Row
    created: bool  # False: an earlier or concurrent request with the same key and request holds `row`


def idempotency_claim(
    *,
    rows: models.QuerySet[Row],
    create: Callable[[], Row],
    same_request: Callable[[Row], bool],
) -> IdempotencyClaim[Row]:
    """The row of a key: inserted now by `create`, or the one an earlier or concurrent request inserted.

    `rows` selects the key's row (workspace and key); `create` inserts it, and the table's unique constraint on
    (workspace, key) makes the insert of a concurrent second request fail, which then reads the winner's row.
    Raises IdempotencyKeyReused when that row records another request (`same_request` is false).
    """
    for _ in range(CLAIM_ATTEMPTS):
        try:
            if transaction.get_autocommit():
                # One INSERT commits on its own: a transaction around it would only add BEGIN and COMMIT.
                return IdempotencyClaim(row=create(), created=True)
            with transaction.atomic():  # a savepoint: the failed insert must not break the caller's transaction
                return IdempotencyClaim(row=create(), created=True)
        except IntegrityError:
            existing = rows.first()
        if existing is not None:
            if not same_request(existing):
                raise IdempotencyKeyReused()
            return IdempotencyClaim(row=existing, created=False)
        # The request that held the key failed and freed it between our insert and our read: claim again.
    raise IdempotencyKeyInFlight(1)


# ---------------------------------------------------------------------------------------------- deferred claims


class IdempotentReplay(Exception):
    """The key already has an answer (or was used with another request): `answer` is what to send back."""

    def __init__(self, answer: Any) -> None:
        super().__init__("This Idempotency-Key already has an answer.")
        self.answer = answer


@dataclass
class DeferredKey:
    """An `Idempotency-Key` whose row is inserted in the same statement as the write's own record (a mutation)
    instead of in a commit of its own before the request is even read, and whose answer is stored in the
    transaction that records the write's outcome (gateway/api/idempotency.py sets it up for the request).

    `row` is the key's unsaved row (in flight); `claim_alone` is the one-statement claim used when the joint
    insert fails (the key or the write exists already): it inserts the row, or raises IdempotentReplay with the
    key's earlier answer, IdempotencyKeyInFlight or IdempotencyKeyReused.
    """

    row: models.Model
    claim_alone: Callable[[], models.Model]
    claimed: bool = False
    write_id: Any = None  # the mutation the claimed key belongs to
    answer_status: int | None = None  # the status a successful write answers with (the view's)
    answered: bool = False

    def claim_with(self, record: models.Model) -> bool:
        """Insert the key's row and the unsaved `record` in one statement (one commit): True. Where that fails (the
        key or the record exists already) the key is claimed alone, which may raise the key's earlier answer, and
        False says `record` was not inserted: the caller claims it its usual way."""
        try:
            with nullcontext() if transaction.get_autocommit() else transaction.atomic():
                insert_all(self.row, record)
        except IntegrityError:
            self.row = self.claim_alone()
            self.claimed = True
            return False
        self.claimed = True
        return True

    def answer_with(self, body: Any) -> None:
        """Store a successful write's answer as the key's (inside the transaction that records the outcome, so
        the two commit together); nothing when the key is not this request's or the answer's status is unknown."""
        update = self.answer_update(body)
        if update is not None:
            update_rows(update)
            self.answered = True

    def answer_update(self, body: Any) -> Update | None:
        """The UPDATE that stores `body` as the key's answer, for a caller that sends it with other statements of
        the outcome's transaction (then it sets `answered`); None when `answer_with` would store nothing."""
        if not self.claimed or self.answer_status is None:
            return None
        row: Any = self.row
        values = {
            "status": IdempotencyStatus.COMPLETED,
            "response_status": self.answer_status,
            "response_body": body,
            "response_content_type": "",
            "completed_at": timezone.now(),
        }
        return Update(type(self.row), where={"workspace_id": row.workspace_id, "key": row.key}, values=values)

    def rows(self) -> models.QuerySet[Any]:
        """The key's row, by its unique (workspace, key): a row inserted with another one has no id read back."""
        row: Any = self.row
        return type(self.row)._default_manager.filter(workspace_id=row.workspace_id, key=row.key)


_deferred_key: ContextVar[DeferredKey | None] = ContextVar("deferred_idempotency_key", default=None)


def deferred_key() -> DeferredKey | None:
    """The request's Idempotency-Key still to be claimed with its write, if the handler defers it."""
    return _deferred_key.get()


def deferred_key_set(key: DeferredKey | None) -> Token[DeferredKey | None]:
    return _deferred_key.set(key)


def deferred_key_reset(token: Token[DeferredKey | None]) -> None:
    _deferred_key.reset(token)
