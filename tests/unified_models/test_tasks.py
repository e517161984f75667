"""unified_models/tasks.py: what the worker does with a queued retry (gone, refused, busy: come back later) and
when the retry message leaves (after the commit). A retry that reaches the vendor is tested end to end in
test_mutations.py (a vendor outage, then the admin's retry)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from tests.tenants.factories import ConnectionFactory
from unified_models import tasks
from unified_models.models import Mutation, MutationStatus


def _mutation(**fields: Any) -> Mutation:
    connection = ConnectionFactory()
    return Mutation.objects.create(
        workspace=connection.workspace,
        connection=connection,
        resource="contacts",
        operation="create",
        request={"name": "Acme"},
        **fields,
    )


@pytest.mark.django_db
def test_a_retry_of_a_mutation_that_is_gone_or_already_succeeded_changes_nothing() -> None:
    assert tasks.mutation_retry("00000000-0000-4000-8000-000000000000") == "gone"
    done = _mutation(status=MutationStatus.SUCCEEDED, attempts=1, remote_id="remote-1")

    assert tasks.mutation_retry(str(done.pk)) == MutationStatus.SUCCEEDED

    done.refresh_from_db()
    assert done.attempts == 1 and not done.attempt_log.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "earliest"),
    [
        ({"status": MutationStatus.SENDING, "attempts": 1}, "lease_expires_at"),
        ({"status": MutationStatus.IN_DOUBT, "attempts": 1}, "reconcile_after"),
    ],
)
def test_a_retry_while_the_sender_holds_the_write_or_it_settles_comes_back_later(
    fields: dict[str, Any], earliest: str
) -> None:
    mutation = _mutation(**fields, **{earliest: timezone.now() + timedelta(seconds=40)})

    with pytest.raises(Retry):  # called directly, the task raises the retry it would schedule in a worker
        tasks.mutation_retry(str(mutation.pk))

    mutation.refresh_from_db()
    assert mutation.status == fields["status"] and mutation.attempts == 1


@pytest.mark.django_db
def test_the_retry_message_leaves_after_the_commit_on_the_vendor_queue(django_capture_on_commit_callbacks: Any) -> None:
    mutation = _mutation(status=MutationStatus.FAILED, attempts=1)
    with django_capture_on_commit_callbacks() as callbacks:
        tasks.mutation_retry_enqueue(str(mutation.pk))
        assert callbacks == []  # nothing leaves before the commit
    assert len(callbacks) == 1 and tasks.VENDOR_QUEUE == "vendor"


@pytest.mark.django_db
def test_reconciliation_with_nothing_abandoned_reports_nothing_done() -> None:
    _mutation(status=MutationStatus.SUCCEEDED, attempts=1)
    result = tasks.mutations_reconcile()
    assert isinstance(result, dict) and not any(result.values())
