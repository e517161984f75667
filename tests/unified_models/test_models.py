"""unified_models/models.py: what the database guarantees behind the write rules: one write per Idempotency-Key
in a workspace (writes without a key are not constrained), one row per attempt number, one mapping per
connection."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.tenants.factories import ConnectionFactory
from tests.unified_models.conftest import mapping_store
from unified_models.models import ConnectionMapping, Mutation, MutationAttempt


def _write(connection, key: str = "") -> Mutation:  # type: ignore[no-untyped-def]
    return Mutation.objects.create(
        workspace=connection.workspace,
        connection=connection,
        resource="invoices",
        operation="create",
        idempotency_key=key,
        request={"reference": "ORDER-1"},
    )


@pytest.mark.django_db
def test_one_write_per_idempotency_key_in_a_workspace() -> None:
    connection = ConnectionFactory()
    _write(connection, "order-1")
    _write(connection)
    _write(connection)  # writes without a key: no constraint
    _write(ConnectionFactory(), "order-1")  # another workspace
    with pytest.raises(IntegrityError), transaction.atomic():
        _write(ConnectionFactory(tenant=connection.tenant, company_id="102"), "order-1")  # same workspace


@pytest.mark.django_db
def test_one_row_per_attempt_number_and_one_mapping_per_connection() -> None:
    connection = ConnectionFactory()
    mutation = _write(connection)
    MutationAttempt.objects.create(mutation=mutation, number=1, started_at=timezone.now())
    MutationAttempt.objects.create(mutation=mutation, number=2, started_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        MutationAttempt.objects.create(mutation=mutation, number=2, started_at=timezone.now())
    assert [attempt.number for attempt in mutation.attempt_log.all()] == [1, 2]

    mapping_store(connection)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConnectionMapping.objects.create(connection=connection)
