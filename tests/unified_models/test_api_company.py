"""The connection's company through the API: Exact's division (system/Divisions, filtered on the connection's
division, and its first fiscal period: two calls), served from the store once the sync engine copied it and
refreshed by its scheduled runs; Xero answers 405 operation_not_supported."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.conf import settings

from tests.fixtures.exact import DIVISIONS
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import StoredRecord, SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_company_is_the_connections_division(connected: Connected) -> None:
    connected.world.control.reset_counters()

    response = connected.client.get(connected.url("company"), {"include": "remote_data"})

    assert response.status_code == 200, response.json()
    company = response.json()
    # The division the test world registered (tests/fixtures/exact.py); the sandbox's divisions are Dutch, in euro.
    assert (company["id"], company["remote_id"], company["name"]) == ("101", "101", DIVISIONS[101])
    assert (company["country"], company["currency"], company["vat_number"]) == ("NL", "EUR", "NL000000101B01")
    # The sandbox's fiscal years are calendar years (financial/FinancialPeriods); its clock is the real one.
    assert company["fiscal_year_start"] == f"{date.today().year}-01-01"
    assert company["remote_data"]["Code"] == 101
    assert sum(count for by_status in connected.calls().values() for count in by_status.values()) == 2
    assert response["X-Data-Source"] == "live"  # no copy yet


def _sync_company(connected: Connected, trigger: str) -> None:
    run = services.sync_run_request(connection=connected.connection, resource="company", trigger=trigger)
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED


def test_the_company_is_served_from_the_store_and_refreshed_by_sync(connected: Connected) -> None:
    assert "company" in settings.LEDGERBRIDGE_SYNC_SCHEDULE  # beat runs it like every synced resource
    live = connected.client.get(connected.url("company")).json()
    _sync_company(connected, "connect")
    connected.world.control.reset_counters()

    stored = connected.client.get(connected.url("company"))
    with_raw = connected.client.get(connected.url("company"), {"include": "remote_data"})

    assert connected.calls() == {}  # from the copy: no vendor call
    assert stored.status_code == 200 and stored.json() == live
    assert stored["X-Data-Source"] == "store" and stored["X-Synced-At"]
    assert with_raw.json()["remote_data"]["Code"] == 101 and with_raw.json()["remote_data"]["VATNumber"]
    status = {row["resource"]: row for row in connected.client.get(connected.url("sync")).json()["resources"]}
    assert status["company"]["reads_from_store"] and status["company"]["record_count"] == 1

    # A stale copy (the vendor changed since) is replaced by the next scheduled run: two calls, the vendor's values.
    StoredRecord.objects.filter(connection=connected.connection, resource="company").update(
        data={**live, "name": "Old name", "vat_number": None}
    )
    assert connected.client.get(connected.url("company")).json()["name"] == "Old name"
    connected.world.control.reset_counters()
    _sync_company(connected, "schedule")
    assert sum(count for by_status in connected.calls().values() for count in by_status.values()) == 2
    refreshed = connected.client.get(connected.url("company"))
    assert refreshed.json() == live and refreshed["X-Data-Source"] == "store"
    # `?mode=live` still reads the vendor.
    connected.world.control.reset_counters()
    assert connected.client.get(connected.url("company"), {"mode": "live"})["X-Data-Source"] == "live"
    assert connected.calls() != {}


def test_xero_declares_company_info_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/company")

    assert response.status_code == 405, response.json()
    assert response.json()["code"] == "operation_not_supported"
