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
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import IntegrityError, models, transaction

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
