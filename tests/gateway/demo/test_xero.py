"""gateway/demo/xero.py against the Xero sandbox: the demo's organisations registered once (safe to repeat), the
demo tenant connected to Gouden Korst Ltd with no region step, and the default UK mapping accepted by the
organisation."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.registry import reset_registry
from connectors.xero.ratelimit import budget_key, xero_rate_limiter
from connectors.xero.sandbox.server import SandboxServer
from gateway.demo import xero
from tenants.models import ConnectionStatus, Workspace
from tests.fixtures.xero import TEST_LIMITS
from tests.tenants.factories import TenantFactory


@pytest.fixture
def demo_xero(xero_sandbox: SandboxServer, settings: Any) -> Any:
    control = xero_sandbox.control
    control.reset()
    for key, value in xero.xero_sandbox_env(sandbox_url=xero_sandbox.root_url).items():
        setattr(settings, key, value)
    settings.LEDGERBRIDGE_PUBLIC_URL = "http://testserver"
    settings.XERO_MINUTE_LIMIT = TEST_LIMITS["minute_limit"]
    settings.XERO_DAY_LIMIT = TEST_LIMITS["day_limit"]
    settings.XERO_APP_MINUTE_LIMIT = TEST_LIMITS["app_minute_limit"]
    reset_registry()
    for tenant_id in xero.XERO_DEMO_ORGANISATIONS:
        xero_rate_limiter().forget(budget_key(xero.XERO_DEMO_CLIENT_ID, tenant_id))
    yield control
    reset_registry()


@pytest.mark.django_db(transaction=True)
def test_the_demo_tenant_is_connected_to_gouden_korst_with_the_uk_mapping(demo_xero: Any, workspace: Workspace) -> None:
    xero.xero_world_ensure(demo_xero, public_url="http://testserver")
    xero.xero_world_ensure(demo_xero, public_url="http://testserver")  # safe to repeat
    assert demo_xero.health()["organisations"] == len(xero.XERO_DEMO_ORGANISATIONS)
    demo_xero.set_limits(**TEST_LIMITS)

    connection = xero.xero_connection_ensure(demo_xero, tenant=TenantFactory(workspace=workspace))

    assert (connection.connector, connection.region, connection.company_id) == ("xero", "", xero.XERO_DEMO_TENANT_ID)
    assert connection.company_name == "Gouden Korst Ltd" and connection.status == ConnectionStatus.ACTIVE
    assert xero.xero_mapping_ensure(connection) == ""
