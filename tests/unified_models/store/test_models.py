"""unified_models/store/models.py: what the database guarantees for the stored copy: one row per record of a
resource and connection, one sync state per resource, one subscription per topic, one seen event per key."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.tenants.factories import ConnectionFactory
from unified_models.store.models import (
    InboundEventSeen,
    InboundSubscription,
    StoredRecord,
    SyncMode,
    SyncRun,
    SyncRunState,
    SyncState,
)


@pytest.mark.django_db
def test_one_stored_row_per_record_resource_and_connection() -> None:
    connection = ConnectionFactory()
    StoredRecord.objects.create(connection=connection, resource="invoices", record_id="a", remote_id="a", data={})
    StoredRecord.objects.create(connection=connection, resource="contacts", record_id="a", remote_id="a", data={})
    StoredRecord.objects.create(
        connection=ConnectionFactory(), resource="invoices", record_id="a", remote_id="a", data={}
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        StoredRecord.objects.create(connection=connection, resource="invoices", record_id="a", remote_id="b", data={})


@pytest.mark.django_db
def test_one_sync_state_per_resource_and_runs_start_queued_and_incremental() -> None:
    connection = ConnectionFactory()
    SyncState.objects.create(connection=connection, resource="invoices")
    with pytest.raises(IntegrityError), transaction.atomic():
        SyncState.objects.create(connection=connection, resource="invoices")
    run = SyncRun.objects.create(connection=connection, resource="invoices")
    assert (run.state, run.mode, run.rows, run.calls) == (SyncRunState.QUEUED, SyncMode.INCREMENTAL, 0, 0)
    assert str(run) == "incremental sync of invoices (queued)"


@pytest.mark.django_db
def test_one_subscription_per_topic_and_one_seen_event_per_key() -> None:
    connection = ConnectionFactory()
    now = timezone.now()
    InboundSubscription.objects.create(
        connection=connection, topic="SalesInvoices", remote_id="s-1", callback_url="https://gw/in", checked_at=now
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundSubscription.objects.create(
            connection=connection, topic="SalesInvoices", remote_id="s-2", callback_url="https://gw/in", checked_at=now
        )
    InboundEventSeen.objects.create(connection=connection, key="evt-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        InboundEventSeen.objects.create(connection=connection, key="evt-1")
