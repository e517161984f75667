"""unified_models/admin.py: the retry action queues only writes that may be retried (failed, in doubt, abandoned)
and says how many it skipped; the mapping form refuses a mapping that is not one before asking the vendor; the
write log is read-only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.tenants.factories import ConnectionFactory
from unified_models.admin import ConnectionMappingForm
from unified_models.models import Mutation, MutationStatus


def _write(connection: Any, status: str, **fields: Any) -> Mutation:
    return Mutation.objects.create(
        workspace=connection.workspace,
        connection=connection,
        resource="invoices",
        operation="create",
        request={},
        status=status,
        **fields,
    )


@pytest.mark.django_db
def test_the_retry_action_queues_only_retryable_writes_and_names_the_skipped(
    admin_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    connection = ConnectionFactory()
    soon, ago = timezone.now() + timedelta(minutes=5), timezone.now() - timedelta(minutes=5)
    writes = [
        _write(connection, MutationStatus.FAILED),
        _write(connection, MutationStatus.IN_DOUBT),
        _write(connection, MutationStatus.SENDING, lease_expires_at=ago),  # its sender died
        _write(connection, MutationStatus.SENDING, lease_expires_at=soon),  # still being sent
        _write(connection, MutationStatus.SUCCEEDED),
    ]

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/unified_models/mutation/",
            {"action": "retry_mutations", "_selected_action": [str(w.pk) for w in writes]},
            follow=True,
        )

    assert len([c for c in callbacks if "mutation_retry_enqueue" in c.__qualname__]) == 3
    text = response.content.decode()
    assert "Queued 3 mutation(s) for retry." in text
    assert "Skipped 2 mutation(s) that succeeded or whose sender still holds its lease." in text


@pytest.mark.django_db
def test_the_write_log_cannot_be_added_to_or_edited(admin_client: Client) -> None:
    write = _write(ConnectionFactory(), MutationStatus.FAILED)
    assert admin_client.get("/admin/unified_models/mutation/add/").status_code == 403
    page = admin_client.get(f"/admin/unified_models/mutation/{write.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()


@pytest.mark.django_db
def test_a_mapping_that_is_not_one_is_refused_before_the_vendor_is_asked() -> None:
    connection = ConnectionFactory()
    form = ConnectionMappingForm(
        data={
            "connection": connection.pk,
            "tax_rates": '[{"rate": "21", "vendor_code": "2"}, {"rate": "21.00", "vendor_code": "3"}]',
            "items_by_code": "{}",
        }
    )
    assert not form.is_valid()
    assert any("Not a valid mapping" in error and "twice" in error for error in form.non_field_errors())
