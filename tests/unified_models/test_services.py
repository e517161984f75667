"""unified_models/services.py: recording a write with an Idempotency-Key (the unique constraint behind it)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from gateway.idempotency import IdempotencyKeyReused
from tests.tenants.factories import ConnectionFactory
from tests.unified_models.conftest import Connected
from unified_models import services
from unified_models.errors import MutationConflict
from unified_models.models import Mutation

CONTACT = {"name": "Bakkerij De Gouden Korst", "email": "info@goudenkorst.example"}


def _record(division: Any, key: str, request: dict[str, Any] | None = None) -> Mutation:
    return services.mutation_create(
        workspace=division.workspace,
        connection=division,
        resource="contacts",
        operation="create",
        request=request or CONTACT,
        idempotency_key=key,
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_end_on_one_mutation() -> None:
    division = ConnectionFactory()
    start = threading.Barrier(2)
    ended: list[tuple[str, str]] = []  # (how, mutation id) per thread
    failures: list[BaseException] = []

    def request() -> None:
        try:
            start.wait(timeout=10)
            try:
                ended.append(("recorded", str(_record(division, "order-4711").pk)))
            except MutationConflict as exc:  # the other thread's write holds its lease: in flight, naming it
                assert exc.code == "mutation_in_flight"
                ended.append(("in_flight", str(exc.mutation.pk)))
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()  # this thread's own connection; left open it blocks dropping the test database

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not failures, failures
    assert sorted(how for how, _ in ended) == ["in_flight", "recorded"]
    (mutation,) = Mutation.objects.filter(workspace=division.workspace, idempotency_key="order-4711")
    assert {mutation_id for _, mutation_id in ended} == {str(mutation.pk)}


@pytest.mark.django_db
def test_the_database_refuses_a_second_mutation_with_the_same_key() -> None:
    first = _record(ConnectionFactory(), "k-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Mutation.objects.create(
            workspace=first.workspace,
            connection=first.connection,
            resource="contacts",
            operation="create",
            request=CONTACT,
            idempotency_key="k-1",
        )


@pytest.mark.django_db
def test_writes_without_a_key_are_not_constrained() -> None:
    division = ConnectionFactory()
    assert _record(division, "").pk != _record(division, "").pk


@pytest.mark.django_db
def test_a_key_reused_for_another_write_is_refused_and_records_nothing() -> None:
    division = ConnectionFactory()
    _record(division, "k-2")
    with pytest.raises(IdempotencyKeyReused):
        _record(division, "k-2", {**CONTACT, "name": "Another"})
    assert Mutation.objects.filter(idempotency_key="k-2").count() == 1


@pytest.mark.django_db
def test_the_same_key_in_another_workspace_is_another_write() -> None:
    assert _record(ConnectionFactory(), "shared").pk != _record(ConnectionFactory(), "shared").pk


@pytest.mark.django_db(transaction=True)
def test_a_write_answers_with_one_body_and_stores_it_without_remote_data(mapped: Connected) -> None:
    mutation = services.mutation_create(
        workspace=mapped.connection.workspace,
        connection=mapped.connection,
        resource="contacts",
        operation="create",
        request=CONTACT,
    )

    outcome = services.mutation_execute(mutation=mutation, include_remote_data=True)

    body = outcome.body
    assert body["name"] == CONTACT["name"] and body["warnings"] == []
    assert body["mutation_id"] == str(mutation.pk) and body["remote_data"]["ID"] == body["remote_id"]
    mutation.refresh_from_db()
    # The stored outcome is the same answer without the vendor's raw object (asked for by that request only).
    assert mutation.outcome == {key: value for key, value in body.items() if key not in ("remote_data", "mutation_id")}
    # A later execution of the succeeded write answers with that stored outcome.
    assert services.mutation_execute(mutation=mutation).body == {**mutation.outcome, "mutation_id": str(mutation.pk)}
