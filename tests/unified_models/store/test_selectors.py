"""unified_models/store/selectors.py: pages of the stored copy in record-id order (filters, deletions, the
store's own cursor), one stored record or the knowledge it was deleted, freshness, and the sync status shown
per resource."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from connectors.base.data import Resource
from connectors.registry import get_connector
from gateway.api.problems import Problem
from tenants.models import Connection
from tests.tenants.factories import ConnectionFactory, TenantFactory, WorkspaceFactory
from unified_models.store import selectors
from unified_models.store.models import StoredRecord, SyncRun, SyncRunState, SyncState

MARCH = datetime(2025, 3, 1, tzinfo=UTC)


def _store(connection: Connection, record_id: str, **fields: Any) -> StoredRecord:
    values: dict[str, Any] = {
        "resource": "invoices",
        "remote_id": f"remote-{record_id}",
        "data": {"id": record_id},
        "remote_data": {"ID": f"remote-{record_id}"},
        "updated_at": MARCH,
        **fields,
    }
    return StoredRecord.objects.create(connection=connection, record_id=record_id, **values)


def _page(connection: Connection, **arguments: Any) -> selectors.StoredPage:
    return selectors.stored_page(connection_id=connection.pk, resource=Resource.INVOICES, **arguments)


@pytest.mark.django_db
def test_pages_follow_record_id_order_without_deleted_records_until_the_last() -> None:
    connection = ConnectionFactory()
    for record_id in ("c", "a", "e", "b"):
        _store(connection, record_id)
    _store(connection, "d", deleted_at=timezone.now())
    _store(connection, "a", resource="contacts")  # another resource
    _store(ConnectionFactory(company_id="102"), "a0")  # another connection

    first = _page(connection, page_size=2)
    assert [r["id"] for r in first.results] == ["a", "b"]
    after = selectors.store_cursor_position(first.next_cursor or "", {})
    second = _page(connection, page_size=2, after=after)
    assert [r["id"] for r in second.results] == ["c", "e"] and second.next_cursor is None


@pytest.mark.django_db
def test_filters_travel_in_the_cursor_and_another_filter_cannot_continue_it() -> None:
    connection = ConnectionFactory()
    for record_id, contact in (("a", "acme"), ("b", "globex"), ("c", "acme"), ("d", "acme")):
        _store(connection, record_id, contact_id=contact)

    page = _page(connection, page_size=1, filters={"contact_id": "acme"})
    assert [r["id"] for r in page.results] == ["a"]
    assert selectors.store_cursor_position(page.next_cursor or "", {"contact_id": "acme"}) == "a"
    for cursor, filters in (
        (page.next_cursor, {"contact_id": "globex"}),
        (page.next_cursor, {}),
        ("skip=100", {}),  # a live cursor
        ("store:not json", {}),
        ('store:{"f": {}}', {}),  # no position
    ):
        with pytest.raises(Problem) as refused:
            selectors.store_cursor_position(cursor or "", filters)
        assert refused.value.problem_code == "invalid_cursor"


@pytest.mark.django_db
def test_updated_after_is_strict_and_remote_data_comes_only_when_asked() -> None:
    connection = ConnectionFactory()
    _store(connection, "old", updated_at=MARCH)
    _store(connection, "new", updated_at=MARCH + timedelta(seconds=1))
    _store(connection, "unknown", updated_at=None)

    page = _page(connection, page_size=10, updated_after=MARCH)
    assert page.results == [{"id": "new"}]
    with_remote = _page(connection, page_size=10, updated_after=MARCH, include_remote_data=True)
    assert with_remote.results == [{"id": "new", "remote_data": {"ID": "remote-new"}}]


@pytest.mark.django_db
def test_one_stored_record_or_whether_the_store_knows_it_was_deleted() -> None:
    connection = ConnectionFactory()
    _store(connection, "here")
    _store(connection, "gone", deleted_at=timezone.now())
    find = {"connection_id": connection.pk, "resource": Resource.INVOICES}

    assert selectors.stored_record(**find, record_id="here") == ({"id": "here"}, False)
    assert selectors.stored_record(**find, record_id="here", include_remote_data=True) == (
        {"id": "here", "remote_data": {"ID": "remote-here"}},
        False,
    )
    assert selectors.stored_record(**find, record_id="gone") == (None, True)
    assert selectors.stored_record(**find, record_id="never") == (None, False)


@pytest.mark.django_db
def test_reads_come_from_the_store_only_once_a_first_run_completed_and_only_the_workspaces() -> None:
    connection = ConnectionFactory()
    workspace = connection.workspace

    def copy(resource: Resource, *, of: Any = workspace, connection_id: Any = connection.pk) -> Any:
        return selectors.store_copy(workspace=of, connection_id=str(connection_id), resource=resource)

    state = SyncState.objects.create(connection=connection, resource="invoices")
    assert copy(Resource.INVOICES) is None

    state.first_completed_at = state.last_success_at = MARCH
    state.save()
    assert copy(Resource.INVOICES) == selectors.StoreCopy(connection.pk, selectors.Freshness(MARCH))
    assert copy(Resource.INVOICES, connection_id=str(connection.pk).upper()).connection_id == connection.pk
    assert copy(Resource.CONTACTS) is None
    assert copy(Resource.INVOICES, of=WorkspaceFactory()) is None  # another workspace's connection
    assert copy(Resource.INVOICES, connection_id="not-a-connection") is None
    # A connection whose tenant belongs to another workspace is shown to nobody (as connection_get shows it).
    crossed = ConnectionFactory(workspace=workspace, tenant=TenantFactory())
    SyncState.objects.create(connection=crossed, resource="invoices", first_completed_at=MARCH)
    assert copy(Resource.INVOICES, connection_id=crossed.pk) is None


@pytest.mark.django_db
def test_sync_status_shows_each_synced_resource_never_running_failed_or_idle() -> None:
    connection = ConnectionFactory()
    now = timezone.now()
    running = SyncRun.objects.create(
        connection=connection,
        resource="contacts",
        state=SyncRunState.RUNNING,
        started_at=now - timedelta(seconds=10),
        rows=100,
        rows_expected=300,
        calls=2,
    )
    SyncState.objects.create(connection=connection, resource="contacts", current_run=running)
    SyncState.objects.create(
        connection=connection,
        resource="invoices",
        first_completed_at=MARCH,
        last_success_at=MARCH,
        last_error="VendorUnavailable: 503",
        last_error_at=MARCH + timedelta(hours=1),
    )
    SyncState.objects.create(
        connection=connection,
        resource="items",
        first_completed_at=MARCH,
        last_success_at=MARCH + timedelta(hours=2),
        last_error="VendorUnavailable: 503",
        last_error_at=MARCH + timedelta(hours=1),
    )
    _store(connection, "a")
    _store(connection, "b", deleted_at=now)

    status = {row["resource"]: row for row in selectors.sync_status(connection=connection)}

    assert status["contacts"]["state"] == "running" and status["contacts"]["reads_from_store"] is False
    progress = status["contacts"]["running"]
    assert (progress["rows_done"], progress["rows_expected"], progress["calls_used"]) == (100, 300, 2)
    assert 19 <= progress["estimated_seconds_left"] <= 22  # 10 s for 100 rows, 200 to go
    assert status["invoices"]["state"] == "failed" and status["invoices"]["record_count"] == 1
    assert status["items"]["state"] == "idle" and status["items"]["reads_from_store"] is True
    assert status["payments"]["state"] == "never" and status["payments"]["record_count"] == 0
    assert set(status) == set(get_connector("exact").sync_resources)  # every resource the connector copies, only those
