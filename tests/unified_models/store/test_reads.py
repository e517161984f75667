"""Reads from the local store through the API: same shapes and filters as live reads, zero vendor calls (the
sandbox's counters say so), freshness in body and headers, `?mode=live`, writes visible at once. Every test runs for
every connector (`any_connected`); where a sandbox differs (how it seeds, how a record is deleted) the test says so."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory
from tests.unified_models.conftest import Connected, mapping_store
from unified_models.store import services
from unified_models.store.models import StoredRecord, SyncRunState, SyncState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _sync(connected: Connected, *resources: str) -> None:
    for resource in resources:
        run = services.sync_run_request(connection=connected.connection, resource=resource, trigger="test")
        assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED


def _all(connected: Connected, resource: str, **params: Any) -> tuple[list[dict[str, Any]], list[Any]]:
    results: list[dict[str, Any]] = []
    responses = []
    response = connected.client.get(connected.url(resource), params)
    while True:
        assert response.status_code == 200, response.json()
        responses.append(response)
        results.extend(response.json()["results"])
        if not response.json()["next"]:
            return results, responses
        response = connected.client.get(response.json()["next"])


def _pages(total: int, size: int) -> list[int]:
    """The lengths of the pages of `total` records `size` at a time."""
    return [size] * (total // size) + ([total % size] if total % size else [])


# The customers the company starts with (Exact's division: three; the Xero fixture's organisation: five).
STARTING_CONTACTS = {"exact": 3, "xero": 5}


def test_reads_come_from_the_store_without_a_vendor_call(any_connected: Connected) -> None:
    connected = any_connected
    if connected.connector_id == "exact":
        connected.world.control.seed(
            connected.division, accounts=6, invoices=450, lines_per_invoice=2, seed=9, processed=5
        )
    else:
        # Xero's seed makes about a quarter of its invoices bills (ACCPAY, not unified invoices): 600 for ~450 sales.
        connected.seed_contacts(6, seed=9)
        connected.seed_invoices(600, seed=9, lines_per_invoice=2)
    sales = len(connected.sales_invoices())
    if connected.connector_id == "exact":
        assert sales == 450
    assert sales > 400, "more than two pages of 200"
    before, responses = _all(connected, "invoices", page_size=200)
    assert {r.json()["source"] for r in responses} == {"live"} and responses[0]["X-Data-Source"] == "live"
    _sync(connected, "invoices", "contacts")

    connected.world.control.reset_counters()
    stored, responses = _all(connected, "invoices", page_size=200)
    contact_id = stored[0]["contact_id"]
    by_contact, _ = _all(connected, "invoices", contact_id=contact_id, page_size=50)
    one = connected.client.get(connected.url(f"invoices/{stored[7]['id']}"), {"include": "remote_data"})
    contacts, _ = _all(connected, "contacts")
    assert connected.calls() == {}  # not one vendor call for any of it

    assert [len(r.json()["results"]) for r in responses] == _pages(sales, 200)
    assert all(r.json()["source"] == "store" and r.json()["synced_at"] for r in responses)
    assert responses[0]["X-Data-Source"] == "store" and responses[0]["X-Synced-At"]
    assert sorted(stored, key=lambda r: r["id"]) == sorted(before, key=lambda r: r["id"])
    assert len({r["id"] for r in stored}) == sales
    assert by_contact and {r["id"] for r in by_contact} == {r["id"] for r in stored if r["contact_id"] == contact_id}
    assert one.status_code == 200 and one.json()["id"] == stored[7]["id"]
    assert one.json()["remote_data"]["InvoiceID"] == stored[7]["id"]
    assert len(contacts) == STARTING_CONTACTS[connected.connector_id] + 6  # the seeded defaults and six more

    live = connected.client.get(connected.url("invoices"), {"mode": "live", "page_size": 5})
    assert live.json()["source"] == "live" and live.json()["synced_at"] is None
    assert sum(sum(v.values()) for v in connected.calls().values()) >= 1


def test_updated_after_and_cursors_of_the_store(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_invoices(80, seed=3)
    _sync(connected, "invoices")
    rows = StoredRecord.objects.filter(connection=connected.connection, resource="invoices").order_by("updated_at")
    cut = rows[40].updated_at
    expected = {row.record_id for row in rows if row.updated_at > cut}
    found, _ = _all(connected, "invoices", updated_after=cut.isoformat(), page_size=7)
    assert {r["id"] for r in found} == expected

    first = connected.client.get(connected.url("invoices"), {"page_size": 10}).json()
    cursor = first["next"].split("cursor=")[1].split("&")[0]
    live = connected.client.get(connected.url("invoices"), {"page_size": 10, "cursor": cursor, "mode": "live"})
    assert live.status_code == 400 and live.json()["code"] == "invalid_cursor"
    other = connected.client.get(connected.url("invoices"), {"page_size": 10, "cursor": cursor, "contact_id": "x"})
    assert other.status_code == 400 and other.json()["code"] == "invalid_cursor"
    bad_mode = connected.client.get(connected.url("invoices"), {"mode": "cache"})
    assert bad_mode.status_code == 400 and bad_mode.json()["errors"][0]["field"] == "mode"


def test_a_write_is_in_the_store_at_once_and_a_deletion_is_a_404(any_connected: Connected, settings: Any) -> None:
    connected = any_connected
    mapping_store(connected.connection)
    _sync(connected, "contacts", "invoices")
    created = connected.client.post(connected.url("contacts"), {"name": "Nieuwe Klant BV"}, format="json")
    assert created.status_code == 201, created.json()
    contact_id = created.json()["id"]
    connected.world.control.reset_counters()
    read = connected.client.get(connected.url(f"contacts/{contact_id}"))
    assert read.status_code == 200 and read.json()["name"] == "Nieuwe Klant BV"
    assert read["X-Data-Source"] == "store" and connected.calls() == {}

    if connected.connector_id == "exact":
        resource, record_id = "contacts", contact_id
        response = connected.client.post(
            connected.url("passthrough"),
            {"method": "DELETE", "path": f"crm/Accounts(guid'{contact_id}')"},
            format="json",
        )
        assert response.json()["status"] == 204, response.json()
    else:
        # Xero deletes no contact (it archives one, and the copy keeps it as archived: connectors/xero/sync.py) and
        # its passthrough takes no DELETE; a draft manual journal is deleted (Status DELETED) and the journal
        # entries run reports it deleted.
        lines = [{"LineAmount": 100, "AccountCode": "429"}, {"LineAmount": -100, "AccountCode": "800"}]
        journal = {"Narration": "To be deleted", "Status": "DRAFT", "JournalLines": lines}
        put = connected.client.post(
            connected.url("passthrough"),
            {"method": "PUT", "path": "ManualJournals", "body": {"ManualJournals": [journal]}},
            format="json",
        )
        assert put.json()["status"] == 200, put.json()
        remote_id = put.json()["body"]["ManualJournals"][0]["ManualJournalID"]
        resource = "journal-entries"
        _sync(connected, resource)
        record_id = StoredRecord.objects.get(
            connection=connected.connection, resource=resource, remote_id=remote_id
        ).record_id
        assert connected.client.get(connected.url(f"{resource}/{record_id}")).status_code == 200
        response = connected.client.post(
            connected.url("passthrough"),
            {
                "method": "POST",
                "path": f"ManualJournals/{remote_id}",
                "body": {"ManualJournals": [{"Status": "DELETED"}]},
            },
            format="json",
        )
        assert response.json()["status"] == 200, response.json()
    # A lone deletion reaches the store by webhook or by the deleted log once it is due (an idle run skips it for
    # EXACT_SYNC_DELETED_SECONDS: connectors/exact/sync.py); here it is due.
    settings.EXACT_SYNC_DELETED_SECONDS = 0
    _sync(connected, resource)
    connected.world.control.reset_counters()
    gone = connected.client.get(connected.url(f"{resource}/{record_id}"))
    assert gone.status_code == 404 and connected.calls() == {}
    listed, _ = _all(connected, resource)
    assert record_id not in {r["id"] for r in listed}


def test_a_store_page_is_the_stored_json_and_only_the_callers(any_connected: Connected) -> None:
    connected = any_connected
    connected.seed_invoices(12, seed=4)
    _sync(connected, "invoices", "company")
    url = connected.url("invoices")
    plain = connected.client.get(url, {"page_size": 5})
    raw = connected.client.get(url, {"page_size": 5, "include": "remote_data"})
    assert plain.status_code == raw.status_code == 200 and plain["Content-Type"] == "application/json"
    assert plain["X-Data-Source"] == "store" and plain.json()["source"] == "store"
    assert plain["X-Synced-At"] == plain.json()["synced_at"] is not None
    rows = {row.record_id: row for row in StoredRecord.objects.filter(connection=connected.connection)}
    shown = plain.json()["results"]
    assert [r["id"] for r in shown] == sorted(r.record_id for r in rows.values() if r.resource == "invoices")[:5]
    assert shown == [rows[r["id"]].data for r in shown]
    assert raw.json()["results"] == [{**rows[r["id"]].data, "remote_data": rows[r["id"]].remote_data} for r in shown]
    assert "include=remote_data" in raw.json()["next"]

    # A member whose text JavaScript would end a line at is escaped as DRF's renderer escapes it.
    first = StoredRecord.objects.get(connection=connected.connection, resource="invoices", record_id=shown[0]["id"])
    first.data = {**first.data, "description": "line\u2028separator"}
    first.save()
    escaped = connected.client.get(url, {"page_size": 1})
    assert b"line\\u2028separator" in escaped.content
    assert escaped.json()["results"][0]["description"] == "line\u2028separator"

    # Another workspace's key, a connection whose tenant is another workspace's, an id that is none: 404, even
    # though each has a ready copy (the copy is found through the same workspace scoping as the connection).
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(workspace=WorkspaceFactory()).secret}")
    crossed = ConnectionFactory(workspace=connected.connection.workspace, tenant=TenantFactory())
    for resource in ("invoices", "company"):
        state = SyncState.objects.get(connection=connected.connection, resource=resource)
        SyncState.objects.create(
            connection=crossed, resource=resource, first_completed_at=state.first_completed_at, last_success_at=None
        )
    for client, path in (
        (stranger, url),
        (stranger, connected.url(f"invoices/{shown[0]['id']}")),
        (stranger, connected.url("company")),
        (connected.client, f"/api/v1/connections/{crossed.pk}/invoices"),
        (connected.client, f"/api/v1/connections/{crossed.pk}/company"),
        (connected.client, "/api/v1/connections/not-a-connection/invoices"),
    ):
        response = client.get(path)
        assert response.status_code == 404 and response.json()["code"] == "not_found", (path, response.content)
