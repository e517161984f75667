"""gateway/idempotency.py: the one claim of an Idempotency-Key (insert first, the unique constraint decides)."""

from __future__ import annotations

import pytest

from gateway.idempotency import IdempotencyKeyInvalid, IdempotencyKeyReused, idempotency_claim, idempotency_key_check
from gateway.models import IdempotencyKey


def _claim(workspace, key: str, fingerprint: str):  # type: ignore[no-untyped-def]
    return idempotency_claim(
        rows=IdempotencyKey.objects.filter(workspace=workspace, key=key),
        create=lambda: IdempotencyKey.objects.create(
            workspace=workspace, key=key, method="POST", path="/x", request_fingerprint=fingerprint
        ),
        same_request=lambda existing: existing.request_fingerprint == fingerprint,
    )


@pytest.mark.django_db
def test_the_first_claim_inserts_and_the_second_reads_the_same_row(workspace) -> None:  # type: ignore[no-untyped-def]
    first = _claim(workspace, "k-1", "a" * 64)
    second = _claim(workspace, "k-1", "a" * 64)
    assert first.created and not second.created
    assert second.row.pk == first.row.pk
    assert IdempotencyKey.objects.filter(key="k-1").count() == 1


@pytest.mark.django_db
def test_a_claim_for_another_request_is_refused(workspace) -> None:  # type: ignore[no-untyped-def]
    _claim(workspace, "k-2", "a" * 64)
    with pytest.raises(IdempotencyKeyReused):
        _claim(workspace, "k-2", "b" * 64)


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "tab\tkey", "ü"])
def test_keys_are_1_to_255_visible_ascii_characters(key: str) -> None:
    with pytest.raises(IdempotencyKeyInvalid):
        idempotency_key_check(key)
    assert idempotency_key_check("!~" + "x" * 253) == "!~" + "x" * 253
