"""The connection's company through the API: Exact's division (system/Divisions, filtered on the connection's
division, and its first fiscal period: two calls); Xero answers 405 operation_not_supported."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from tests.fixtures.exact import DIVISIONS
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected

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


def test_xero_declares_company_info_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/company")

    assert response.status_code == 405, response.json()
    assert response.json()["code"] == "operation_not_supported"
