"""Fixtures for the unified API against the Exact sandbox: a connection made through the real OAuth flow, a mapping.

Everything Exact-facing is the sandbox over HTTP; nothing is mocked. The sandbox's minutely limit (60) is raised
so tests that make many calls are not throttled, and put back by the world's reset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from rest_framework.test import APIClient

from tenants.models import Connection
from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import connect_via_sandbox
from unified_models.models import ConnectionMapping

# The sandbox's Dutch defaults (connectors/exact/sandbox/seed.py): VAT codes 2 (21 %), 1 (9 %), 0 (0 %), G/L 8000,
# sales journal 70, items CONSULT/HOSTING/LICENSE/BOOK.
DEFAULT_MAPPING: dict[str, Any] = {
    "tax_rates": [
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9", "vendor_code": "1"},
        {"rate": "0", "vendor_code": "0"},
        {"code": "zero", "vendor_code": "0"},
    ],
    "default_revenue_ledger_account": "8000",
    "default_sales_journal": "70",
    "default_item": "CONSULT",
    "items_by_code": {"hosting-monthly": "HOSTING", "handbook": "BOOK"},
}


@dataclass
class Connected:
    """A workspace's API client, its Exact connection to sandbox division 101, and the sandbox."""

    client: APIClient
    connection: Connection
    world: ExactWorld
    division: int = 101

    @property
    def base(self) -> str:
        return f"/api/v1/connections/{self.connection.pk}"

    def url(self, suffix: str) -> str:
        return f"{self.base}/{suffix.lstrip('/')}"

    def dump(self, entity: str) -> list[dict[str, Any]]:
        return self.world.control.dump(self.division).get(entity, [])

    def calls(self) -> dict[str, dict[str, int]]:
        """Vendor API calls since the last counter reset, by endpoint and status (token calls excluded)."""
        calls: dict[str, dict[str, int]] = self.world.control.counters()["calls"]
        return {endpoint: by_status for endpoint, by_status in calls.items() if not endpoint.startswith("oauth2")}


def mapping_store(connection: Connection, mapping: dict[str, Any] | None = None) -> ConnectionMapping:
    """Save a mapping without the vendor check (tests of the check go through the API)."""
    values = {**DEFAULT_MAPPING, **(mapping or {})}
    row, _ = ConnectionMapping.objects.update_or_create(
        connection=connection,
        defaults={
            "tax_rates": values["tax_rates"],
            "default_revenue_ledger_account": values["default_revenue_ledger_account"] or "",
            "default_sales_journal": values["default_sales_journal"] or "",
            "default_item": values["default_item"] or "",
            "items_by_code": values["items_by_code"],
        },
    )
    return row


@pytest.fixture
def connected(exact_world: ExactWorld, workspace, auth_client: APIClient) -> Connected:  # type: ignore[no-untyped-def]
    """A connection to division 101 through the real OAuth flow (auto-consent), without a mapping."""
    exact_world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[101, 102], connect=(101,))
    return Connected(client=auth_client, connection=connection, world=exact_world)


@pytest.fixture
def mapped(connected: Connected) -> Connected:
    """`connected` with the default Dutch mapping saved."""
    mapping_store(connected.connection)
    return connected


@pytest.fixture
def first_customer_id(mapped: Connected) -> str:
    """The id of one of the division's seeded customers."""
    response = mapped.client.get(mapped.url("contacts"), {"page_size": 1})
    assert response.status_code == 200, response.json()
    return str(response.json()["results"][0]["id"])


def invoice_body(contact_id: str, **overrides: Any) -> dict[str, Any]:
    """An invoice with three lines at three VAT rates (21 %, 9 %, 0 %)."""
    body: dict[str, Any] = {
        "contact_id": contact_id,
        "reference": "ORDER-4711",
        "description": "March services",
        "lines": [
            {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
            {
                "description": "Handbook",
                "quantity": "3",
                "unit_price": "39.95",
                "tax_rate": "9",
                "item_code": "handbook",
            },
            {"description": "Export service", "quantity": "1", "unit_price": "50.00", "tax_code": "zero"},
        ],
    }
    body.update(overrides)
    return body


Poster = Callable[..., Any]
