"""Sync runs against the Exact sandbox over HTTP: a backfill copies the division exactly, changes and deletions
follow, a run resumes from its checkpoint, one run at a time."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from connectors.base.data import ListQuery, Resource
from connectors.registry import get_connector
from tenants.vendor_calls import connection_context
from tests.unified_models.conftest import Connected
from unified_models.store import hooks, services
from unified_models.store.models import StoredRecord, SyncMode, SyncRunState, SyncState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _sync(connected: Connected, resource: str, mode: str = SyncMode.INCREMENTAL) -> Any:
    run = services.sync_run_request(connection=connected.connection, resource=resource, mode=mode, trigger="test")
    return services.sync_run_execute(run_id=run.pk)


def _stored(connected: Connected, resource: str) -> dict[str, StoredRecord]:
    rows = StoredRecord.objects.filter(connection=connected.connection, resource=resource, deleted_at__isnull=True)
    return {row.record_id: row for row in rows}


def _live(connected: Connected, resource: str) -> dict[str, dict[str, Any]]:
    """Every record as a live read through the connector shows it (the API's shape, without remote_data)."""
    from unified_models.specs import record_data

    connector = get_connector("exact")
    ctx = connection_context(connected.connection)
    records: dict[str, dict[str, Any]] = {}
    cursor = None
    while True:
        page = connector.list_records(ctx, Resource(resource), ListQuery(page_size=200, cursor=cursor))
        for record in page.records:
            assert record.id not in records
            records[record.id] = record_data(Resource(resource), record)
        if page.next_cursor is None:
            return records
        cursor = page.next_cursor


def test_a_backfill_copies_the_division_exactly(connected: Connected) -> None:
    connected.world.control.seed(
        connected.division, accounts=40, invoices=2300, lines_per_invoice=3, seed=11, processed=30
    )
    for resource in services.sync_resources(connected.connection):
        run = _sync(connected, resource)
        assert run.state == SyncRunState.SUCCEEDED, (resource, run.error)

    dump = connected.world.control.dump(connected.division)
    stored = _stored(connected, "invoices")
    # Row by row against the sandbox's own records: no missing, no extra, no stale value.
    assert set(stored) == {row["InvoiceID"] for row in dump["SalesInvoices"]}
    lines_by_invoice: dict[str, set[str]] = {}
    for line in dump["SalesInvoiceLines"]:
        lines_by_invoice.setdefault(line["InvoiceID"], set()).add(line["ID"])
    for row in dump["SalesInvoices"]:
        data = stored[row["InvoiceID"]].data
        assert data["number"] == (str(row["InvoiceNumber"]) if row.get("InvoiceNumber") else data["number"])
        assert data["reference"] == (row.get("YourRef") or None)
        assert {line["id"] for line in data["lines"]} == lines_by_invoice[row["InvoiceID"]]
    assert set(_stored(connected, "contacts")) == {row["ID"] for row in dump["Accounts"]}
    assert set(_stored(connected, "ledger-accounts")) == {row["ID"] for row in dump["GLAccounts"]}
    assert set(_stored(connected, "items")) == {row["ID"] for row in dump["Items"]}
    assert {row.remote_id for row in _stored(connected, "payments").values()} == {r["ID"] for r in dump["Receivables"]}
    # And every stored record is exactly what a live read returns, field by field.
    for resource in ("invoices", "contacts", "ledger-accounts", "tax-rates", "journals", "items", "payments"):
        live = _live(connected, resource)
        copy = {record_id: row.data for record_id, row in _stored(connected, resource).items()}
        assert copy == live, resource


def test_the_backfill_reads_1000_invoices_a_call(connected: Connected) -> None:
    connected.world.control.seed(connected.division, invoices=2500, lines_per_invoice=3, seed=2)
    connected.world.control.reset_counters()
    run = _sync(connected, "invoices")
    assert run.state == SyncRunState.SUCCEEDED and run.rows == 2500
    calls = connected.calls()
    assert sum(calls["bulk/SalesInvoice/SalesInvoices"].values()) == 3
    # Besides the pages: the epoch, the change-feed start, one changes page and one deleted-log page.
    assert run.calls == 3 + 4


def test_changes_and_deletions_follow_in_an_incremental_run(connected: Connected) -> None:
    control = connected.world.control
    control.seed(connected.division, accounts=5, invoices=30, seed=4)
    for resource in ("contacts", "invoices"):
        _sync(connected, resource)
    seen: list[hooks.RecordChanges] = []
    hooks.on_records_changed(seen.append)
    try:
        invoice_id, deleted_id = sorted(_stored(connected, "invoices"))[:2]
        _put(connected, f"salesinvoice/SalesInvoices(guid'{invoice_id}')", {"YourRef": "CHANGED-1"})
        _delete(connected, f"salesinvoice/SalesInvoices(guid'{deleted_id}')")
        control.reset_counters()
        run = _sync(connected, "invoices")
    finally:
        hooks.remove_listener(seen.append)
    assert run.state == SyncRunState.SUCCEEDED
    stored = StoredRecord.objects.get(connection=connected.connection, resource="invoices", record_id=invoice_id)
    assert stored.data["reference"] == "CHANGED-1"
    gone = StoredRecord.objects.get(connection=connected.connection, resource="invoices", record_id=deleted_id)
    assert gone.deleted_at is not None
    assert [(c.resource, [r["id"] for r in c.changed], c.deleted) for c in seen] == [
        ("invoices", [invoice_id], [deleted_id])
    ]
    # Nothing changed since: one call, to the change feed (the deleted log was just read).
    control.reset_counters()
    idle = _sync(connected, "invoices")
    assert idle.calls == 1 and idle.rows == 0
    assert list(connected.calls()) == ["sync/SalesInvoice/SalesInvoices"]


def test_an_idle_incremental_run_costs_one_call_per_resource(connected: Connected) -> None:
    connected.world.control.seed(connected.division, accounts=30, invoices=200, seed=9, processed=20)
    resources = services.sync_resources(connected.connection)
    for resource in resources:
        assert _sync(connected, resource).state == SyncRunState.SUCCEEDED
    # The company too: its division every run; its fiscal periods were read by the first run today.
    expected = dict.fromkeys(resources, 1)
    for cycle in range(2):
        connected.world.control.reset_counters()
        runs = {resource: _sync(connected, resource) for resource in resources}
        assert {resource: run.calls for resource, run in runs.items()} == expected, cycle
        # The sandbox saw exactly those: one call per resource, nothing else.
        assert sum(sum(by_status.values()) for by_status in connected.calls().values()) == sum(expected.values())


def test_the_company_reads_its_fiscal_periods_on_the_first_run_of_a_day(connected: Connected) -> None:
    first = _sync(connected, "company")
    assert first.calls == 3  # the epoch before the copy, then system/Divisions and financial/FinancialPeriods
    stored = _stored(connected, "company")
    (company,) = stored.values()
    assert company.data["fiscal_year_start"]
    assert _sync(connected, "company").calls == 1  # the same day: the division only, the start as read
    (again,) = _stored(connected, "company").values()
    assert again.data == company.data
    # A checkpoint from yesterday (or written before the read date was kept): the periods are read again.
    state = SyncState.objects.get(connection=connected.connection, resource="company")
    checkpoint = json.loads(state.checkpoint)
    assert checkpoint["fys"] == company.data["fiscal_year_start"]
    state.checkpoint = json.dumps({**checkpoint, "fys": "1999-01-01", "fyr": "1999-12-31"})
    state.save(update_fields=["checkpoint"])
    connected.world.control.reset_counters()
    assert _sync(connected, "company").calls == 2
    assert sum(connected.calls()["financial/FinancialPeriods"].values()) == 1
    (fresh,) = _stored(connected, "company").values()
    assert fresh.data == company.data


def test_a_lone_deletion_waits_for_the_deleted_log_interval(connected: Connected, settings: Any) -> None:
    """Between reads of the deleted log a deletion arrives by webhook; an idle run reads the log once it is due."""
    connected.world.control.seed(connected.division, accounts=5, invoices=10, seed=3)
    assert _sync(connected, "invoices").state == SyncRunState.SUCCEEDED
    deleted_id = sorted(_stored(connected, "invoices"))[0]
    _delete(connected, f"salesinvoice/SalesInvoices(guid'{deleted_id}')")
    idle = _sync(connected, "invoices")
    assert idle.calls == 1 and deleted_id in _stored(connected, "invoices")
    settings.EXACT_SYNC_DELETED_SECONDS = 0  # the interval has passed
    due = _sync(connected, "invoices")
    assert due.calls == 2 and due.deleted == 1
    assert deleted_id not in _stored(connected, "invoices")


def _put(connected: Connected, path: str, body: dict[str, Any]) -> None:
    response = connected.client.post(
        connected.url("passthrough"), {"method": "PUT", "path": path, "body": body}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == 204


def _delete(connected: Connected, path: str) -> None:
    response = connected.client.post(connected.url("passthrough"), {"method": "DELETE", "path": path}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == 204


def test_a_run_resumes_from_its_last_committed_checkpoint(connected: Connected) -> None:
    connected.world.control.seed(connected.division, invoices=2500, seed=6)
    run = services.sync_run_request(connection=connected.connection, resource="invoices", trigger="test")
    # One batch, then the worker "dies": the lease is left to expire.
    connector = get_connector("exact")
    original = connector.sync_next
    calls = {"n": 0}

    def one_batch_then_die(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 2:
            raise KeyboardInterrupt("worker killed")
        return original(*args, **kwargs)

    connector.sync_next = one_batch_then_die  # type: ignore[method-assign]
    try:
        with pytest.raises(KeyboardInterrupt):
            services.sync_run_execute(run_id=run.pk)
    finally:
        del connector.sync_next  # type: ignore[attr-defined]
    state = SyncState.objects.get(connection=connected.connection, resource="invoices")
    assert StoredRecord.objects.filter(connection=connected.connection, resource="invoices").count() == 2000
    assert '"phase":"bulk"' in state.checkpoint

    with pytest.raises(services.SyncAlreadyRunning):
        services.sync_run_request(connection=connected.connection, resource="invoices", trigger="test")
    SyncState.objects.filter(pk=state.pk).update(lease_expires_at=None)
    connected.world.control.reset_counters()
    resumed = _sync(connected, "invoices")
    assert resumed.state == SyncRunState.SUCCEEDED and resumed.rows == 500
    assert sum(connected.calls()["bulk/SalesInvoice/SalesInvoices"].values()) == 1
    assert len(_stored(connected, "invoices")) == 2500


def test_a_connections_backfill_reads_its_epoch_once_not_once_per_resource(connected: Connected) -> None:
    # The copies of a new connection begin within seconds of each other: one system/Divisions read serves them.
    connected.world.control.reset_counters()
    for resource in ("contacts", "invoices", "ledger-accounts", "items"):
        assert _sync(connected, resource).state == SyncRunState.SUCCEEDED
    assert sum(connected.calls()["system/Divisions"].values()) == 1
    # Past the reuse window the next copy reads it again.
    services._recent_epochs[str(connected.connection.pk)] = ("old", time.monotonic() - services.EPOCH_REUSE_SECONDS)
    connected.world.control.reset_counters()
    assert _sync(connected, "contacts", SyncMode.FULL).state == SyncRunState.SUCCEEDED
    assert sum(connected.calls()["system/Divisions"].values()) == 1
    state = SyncState.objects.get(connection=connected.connection, resource="contacts")
    assert (
        state.epoch != "old"
        and state.epoch == SyncState.objects.get(connection=connected.connection, resource="invoices").epoch
    )


def test_a_division_move_makes_the_next_run_copy_everything_again(connected: Connected) -> None:
    control = connected.world.control
    control.seed(connected.division, invoices=40, seed=8)
    assert _sync(connected, "invoices").state == SyncRunState.SUCCEEDED
    ids = sorted(_stored(connected, "invoices"))
    for number in range(30):  # push the stored Timestamp well above where a regenerated counter restarts
        _put(connected, f"salesinvoice/SalesInvoices(guid'{ids[number % 5]}')", {"YourRef": f"R{number}"})
    assert _sync(connected, "invoices").state == SyncRunState.SUCCEEDED
    assert services.sync_epoch_check(connection=connected.connection) == []  # nothing moved: no run

    control.move_division(connected.division)
    _put(connected, f"salesinvoice/SalesInvoices(guid'{ids[20]}')", {"YourRef": "AFTER-MOVE"})
    # With the old checkpoint the change is invisible: its new Timestamp is below the stored one.
    missed = _sync(connected, "invoices")
    assert missed.rows == 0
    assert _stored(connected, "invoices")[ids[20]].data["reference"] != "AFTER-MOVE"

    (run,) = services.sync_epoch_check(connection=connected.connection)
    assert run.mode == SyncMode.FULL and run.resource == "invoices"
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    assert _stored(connected, "invoices")[ids[20]].data["reference"] == "AFTER-MOVE"
    assert set(_stored(connected, "invoices")) == {row["InvoiceID"] for row in connected.dump("SalesInvoices")}


def test_a_record_deleted_through_the_api_leaves_the_copy_and_tells_the_listeners(connected: Connected) -> None:
    connected.world.control.seed(connected.division, accounts=3, seed=13)
    assert _sync(connected, "contacts").state == SyncRunState.SUCCEEDED
    record_id, row = next(iter(_stored(connected, "contacts").items()))
    told: list[hooks.RecordChanges] = []
    hooks.on_records_changed(told.append)
    try:
        services.store_deleted_record(connection=connected.connection, resource=Resource.CONTACTS, record_id=record_id)
        assert record_id not in _stored(connected, "contacts")
        assert StoredRecord.objects.get(pk=row.pk).deleted_at is not None
        assert [(change.resource, change.deleted) for change in told] == [("contacts", [record_id])]
        # Gone already, or never stored: nothing changes and nobody is told.
        for again in (record_id, "unknown"):
            services.store_deleted_record(connection=connected.connection, resource=Resource.CONTACTS, record_id=again)
    finally:
        hooks.remove_listener(told.append)
    assert len(told) == 1
