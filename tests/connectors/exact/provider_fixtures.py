"""Fixtures for the Exact connector's data half (import the `*_fixture` names): a real connection to sandbox
division 101 through OAuth, its call context, the connector, and the Dutch default mapping."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import LedgerMapping, TaxRateMapping
from connectors.exact.provider import ExactConnector
from connectors.registry import get_connector
from tenants.models import Connection
from tenants.vendor_calls import ConnectionCallContext, connection_context
from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import connect_via_sandbox

DIVISION = 101

# The sandbox's Dutch defaults (connectors/exact/sandbox/seed.py): VAT codes 2 (21 %), 1 (9 %), 0 (0 %), G/L 8000
# (and 8010 for books), sales journal 70, items CONSULT/HOSTING/LICENSE/BOOK.
DUTCH_MAPPING = LedgerMapping(
    tax_rates=(
        TaxRateMapping(rate=Decimal(21), vendor_code="2"),
        TaxRateMapping(rate=Decimal(9), vendor_code="1"),
        TaxRateMapping(rate=Decimal(0), vendor_code="0"),
        TaxRateMapping(code="zero", vendor_code="0"),
    ),
    default_revenue_ledger_account="8000",
    default_sales_journal="70",
    default_item="CONSULT",
    items_by_code={"hosting-monthly": "HOSTING", "handbook": "BOOK"},
)


@dataclass
class Division:
    """A connected division: the connector, a fresh call context per use, the sandbox."""

    connector: ExactConnector
    connection: Connection
    world: ExactWorld
    code: int = DIVISION

    def ctx(self) -> ConnectionCallContext:
        return connection_context(self.connection)

    def dump(self, entity: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.world.control.dump(self.code).get(entity, [])
        return rows

    def calls(self) -> dict[str, dict[str, int]]:
        """Exact API calls since the last counter reset, by endpoint and status (token calls left out)."""
        calls: dict[str, dict[str, int]] = self.world.control.counters()["calls"]
        return {endpoint: statuses for endpoint, statuses in calls.items() if not endpoint.startswith("oauth2")}

    def first_customer_id(self) -> str:
        return next(str(row["ID"]) for row in self.dump("Accounts") if row.get("Status") == "C")


@pytest.fixture(name="division")
def division_fixture(exact_world: ExactWorld, workspace: Any) -> Division:
    """Division 101 connected through the real OAuth flow (102 granted too); the minutely limit raised."""
    exact_world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[101, 102], connect=(101,))
    connector = get_connector("exact")
    assert isinstance(connector, ExactConnector)
    return Division(connector=connector, connection=connection, world=exact_world)
