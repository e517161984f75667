"""Fixtures for the Xero connector's data half (import the `*_fixture` names): a real connection to the first
sandbox organisation through OAuth, its call context, the connector, and the UK default mapping."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import LedgerMapping, TaxRateMapping
from connectors.registry import get_connector
from connectors.xero.provider import XeroConnector
from tenants.models import Connection
from tenants.vendor_calls import ConnectionCallContext, connection_context
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox

# The sandbox's UK defaults (connectors/xero/sandbox/seed.py): tax types OUTPUT2 (20 %), RROUTPUT (5 %),
# ZERORATEDOUTPUT (0 %); sales account 200; items CONSULT, …
UK_MAPPING = LedgerMapping(
    tax_rates=(
        TaxRateMapping(rate=Decimal(20), vendor_code="OUTPUT2"),
        TaxRateMapping(rate=Decimal(5), vendor_code="RROUTPUT"),
        TaxRateMapping(rate=Decimal(0), vendor_code="ZERORATEDOUTPUT"),
        TaxRateMapping(code="zero", vendor_code="ZERORATEDOUTPUT"),
    ),
    default_revenue_ledger_account="200",
)


@dataclass
class Organisation:
    """A connected organisation: the connector, a fresh call context per use, the sandbox."""

    connector: XeroConnector
    connection: Connection
    world: XeroWorld

    @property
    def tenant_id(self) -> str:
        return self.connection.company_id

    def ctx(self) -> ConnectionCallContext:
        return connection_context(self.connection)

    def dump(self, entity: str) -> list[dict[str, Any]]:
        return self.world.dump(entity, self.tenant_id)

    def calls(self) -> dict[str, dict[str, int]]:
        """Xero API calls since the last counter reset, by endpoint and status (token calls left out)."""
        calls: dict[str, dict[str, int]] = self.world.control.counters()["calls"]
        return {endpoint: statuses for endpoint, statuses in calls.items() if endpoint != "connect/token"}


@pytest.fixture(name="organisation")
def organisation_fixture(xero_world: XeroWorld, workspace: Any) -> Organisation:
    """The first organisation connected through the real OAuth flow (the second granted too)."""
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)
    connector = get_connector("xero")
    assert isinstance(connector, XeroConnector)
    return Organisation(connector=connector, connection=connection, world=xero_world)
