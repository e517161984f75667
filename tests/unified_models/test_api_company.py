"""The connection's company through the API, against both sandboxes: Exact's division (system/Divisions, filtered on
the connection's division, and its first fiscal period: two calls), Xero's organisation (GET Organisation, one call;
the fiscal year start derived from the year end); served from the store once the sync engine copied it and refreshed
by its scheduled runs."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from django.conf import settings

from tests.fixtures.exact import DIVISIONS
from tests.unified_models.conftest import EXACT, Connected
from unified_models.store import services
from unified_models.store.models import StoredRecord, SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

XERO_VAT = "GB 123 4567 89"
XERO_REGISTRATION = "01234567"


def _today() -> date:
    return datetime.now(UTC).date()


def _year_from(day: date, today: date) -> date:
    """The first day of the fiscal year that starts each year on `day`'s day and month and contains today."""
    this_year = day.replace(year=today.year)
    return this_year if today >= this_year else day.replace(year=today.year - 1)


def _prepare(connected: Connected) -> tuple[dict[str, Any], int, tuple[str, Any]]:
    """The company the vendor's sandbox holds as the API should show it, the calls one live read costs, and one
    vendor field of `remote_data` with its value. Xero's organisation gets a VAT and a registration number first (a
    new organisation has none)."""
    if connected.profile is EXACT:
        # The division the test world registered (tests/fixtures/exact.py); the sandbox's divisions are Dutch, in
        # euro, and their fiscal years are calendar years (financial/FinancialPeriods) on the real clock.
        company = {
            "id": "101",
            "remote_id": "101",
            "name": DIVISIONS[101],
            "country": "NL",
            "currency": "EUR",
            "vat_number": "NL000000101B01",
            "fiscal_year_start": f"{date.today().year}-01-01",
        }
        return company, 2, ("Code", 101)
    tenant_id = str(connected.company)
    connected.world.control.organisation_settings(tenant_id, tax_number=XERO_VAT, registration_number=XERO_REGISTRATION)
    # A UK organisation's year ends on 31 March (the sandbox's default): the year starts on 1 April.
    company = {
        "id": tenant_id,
        "remote_id": tenant_id,
        "name": connected.world.names[tenant_id],
        "country": "GB",
        "currency": "GBP",
        "vat_number": XERO_VAT,
        "chamber_of_commerce_number": XERO_REGISTRATION,
        "fiscal_year_start": _year_from(date(2000, 4, 1), _today()).isoformat(),
    }
    return company, 1, ("OrganisationID", tenant_id)


def _calls(connected: Connected) -> int:
    return sum(count for by_status in connected.calls().values() for count in by_status.values())


def test_the_company_is_read_from_the_vendor(any_connected: Connected) -> None:
    expected, calls, (remote_key, remote_value) = _prepare(any_connected)
    any_connected.world.control.reset_counters()

    response = any_connected.client.get(any_connected.url("company"), {"include": "remote_data"})

    assert response.status_code == 200, response.json()
    company = response.json()
    assert {name: company[name] for name in expected} == expected
    assert company["remote_data"][remote_key] == remote_value
    assert _calls(any_connected) == calls
    assert response["X-Data-Source"] == "live"  # no copy yet


def _sync_company(connected: Connected, trigger: str) -> None:
    run = services.sync_run_request(connection=connected.connection, resource="company", trigger=trigger)
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED


def test_the_company_is_served_from_the_store_and_refreshed_by_sync(any_connected: Connected) -> None:
    connected = any_connected
    _, calls, (remote_key, remote_value) = _prepare(connected)
    assert "company" in settings.LEDGERBRIDGE_SYNC_SCHEDULE  # beat runs it like every synced resource
    assert "company" in services.sync_resources(connected.connection)
    live = connected.client.get(connected.url("company")).json()
    _sync_company(connected, "connect")
    connected.world.control.reset_counters()

    stored = connected.client.get(connected.url("company"))
    with_raw = connected.client.get(connected.url("company"), {"include": "remote_data"})

    assert connected.calls() == {}  # from the copy: no vendor call
    assert stored.status_code == 200 and stored.json() == live
    assert stored["X-Data-Source"] == "store" and stored["X-Synced-At"]
    assert with_raw.json()["remote_data"][remote_key] == remote_value and with_raw.json()["vat_number"]
    status = {row["resource"]: row for row in connected.client.get(connected.url("sync")).json()["resources"]}
    assert status["company"]["reads_from_store"] and status["company"]["record_count"] == 1

    # A stale copy (the vendor changed since) is replaced by the next scheduled run with the vendor's values.
    StoredRecord.objects.filter(connection=connected.connection, resource="company").update(
        data={**live, "name": "Old name", "vat_number": None}
    )
    assert connected.client.get(connected.url("company")).json()["name"] == "Old name"
    connected.world.control.reset_counters()
    _sync_company(connected, "schedule")
    # Exact's fiscal periods were read by the first run today (connectors/exact/sync.py: _company): the division only.
    assert _calls(connected) == (1 if connected.profile is EXACT else calls)
    refreshed = connected.client.get(connected.url("company"))
    assert refreshed.json() == live and refreshed["X-Data-Source"] == "store"
    # `?mode=live` still reads the vendor.
    connected.world.control.reset_counters()
    assert connected.client.get(connected.url("company"), {"mode": "live"})["X-Data-Source"] == "live"
    assert connected.calls() != {}


@pytest.fixture
def xero(request: pytest.FixtureRequest, workspace: Any, auth_client: Any) -> Connected:
    from tests.unified_models.conftest import CONNECTORS

    return CONNECTORS["xero"](request, workspace, auth_client)


def test_a_change_in_the_xero_organisation_reaches_the_copy_with_the_next_sync(xero: Connected) -> None:
    _sync_company(xero, "connect")
    before = xero.client.get(xero.url("company")).json()
    assert before["vat_number"] is None and before["chamber_of_commerce_number"] is None

    # The organisation is renamed, registers for VAT and moves its year end to 31 December.
    xero.world.control.organisation_settings(
        str(xero.company), name="Golden Crust Ltd", tax_number=XERO_VAT, financial_year_end=(31, 12)
    )
    assert xero.client.get(xero.url("company")).json() == before  # the copy until the next run
    _sync_company(xero, "schedule")

    after = xero.client.get(xero.url("company"), {"include": "remote_data"}).json()
    assert (after["name"], after["vat_number"]) == ("Golden Crust Ltd", XERO_VAT)
    assert after["fiscal_year_start"] == f"{_today().year}-01-01"
    assert (after["remote_data"]["FinancialYearEndDay"], after["remote_data"]["FinancialYearEndMonth"]) == (31, 12)
