"""gateway/idempotency.py: the one claim of an Idempotency-Key (insert first, the unique constraint decides), and a key
claimed with the record of its write (DeferredKey)."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from gateway.idempotency import (
    DeferredKey,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    idempotency_claim,
    idempotency_key_check,
)
from gateway.models import IdempotencyKey, IdempotencyStatus
from tenants.models import Tenant


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


def _deferred(workspace, key: str, claim_alone=None) -> DeferredKey:  # type: ignore[no-untyped-def]
    row = IdempotencyKey(workspace=workspace, key=key, method="POST", path="/x", request_fingerprint="a" * 64)

    def refuse() -> IdempotencyKey:
        raise AssertionError("the joint insert should have claimed the key")

    return DeferredKey(row=row, claim_alone=claim_alone or refuse)


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_deferred_key_is_claimed_with_its_record_in_one_statement_and_answered_later(workspace) -> None:  # type: ignore[no-untyped-def]
    deferred = _deferred(workspace, "k-3")
    record = Tenant(workspace=workspace, external_id="t-1", name="Tenant 1")
    with CaptureQueriesContext(db) as captured:
        assert deferred.claim_with(record) is True
    # (Inside the test's transaction the insert is wrapped in a savepoint: a failure must not break the caller's.)
    statements = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 1 and statements[0].startswith("WITH i0 AS (INSERT") and deferred.claimed
    assert Tenant.objects.filter(external_id="t-1").exists()
    assert IdempotencyKey.objects.get(key="k-3").status == IdempotencyStatus.IN_FLIGHT

    deferred.answer_status = 201
    deferred.answer_with({"id": "t-1"})
    stored = IdempotencyKey.objects.get(key="k-3")
    assert (stored.status, stored.response_status, stored.response_body) == (
        IdempotencyStatus.COMPLETED,
        201,
        {"id": "t-1"},
    )
    assert deferred.answered


@pytest.mark.django_db
def test_a_deferred_key_that_exists_is_claimed_alone_and_its_record_left_to_the_caller(workspace) -> None:  # type: ignore[no-untyped-def]
    IdempotencyKey.objects.create(workspace=workspace, key="k-4", method="POST", path="/x", request_fingerprint="b")
    claimed_alone: list[str] = []

    def claim_alone() -> IdempotencyKey:
        claimed_alone.append("k-4")
        return IdempotencyKey.objects.get(key="k-4")

    deferred = _deferred(workspace, "k-4", claim_alone)
    record = Tenant(workspace=workspace, external_id="t-2", name="Tenant 2")
    assert deferred.claim_with(record) is False
    assert claimed_alone == ["k-4"] and deferred.claimed
    assert not Tenant.objects.filter(external_id="t-2").exists(), "nothing of the failed joint insert stays"


@pytest.mark.django_db
def test_an_unclaimed_deferred_key_or_one_without_a_status_is_not_answered(workspace) -> None:  # type: ignore[no-untyped-def]
    deferred = _deferred(workspace, "k-5")
    deferred.answer_status = 201
    deferred.answer_with({"id": "x"})  # not claimed: nothing to answer
    assert not deferred.answered and not IdempotencyKey.objects.filter(key="k-5").exists()
