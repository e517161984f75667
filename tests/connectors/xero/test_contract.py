"""The Xero connector passes the connector contract tests, against the Xero sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.base.data import CallContext
from connectors.registry import get_connector
from connectors.xero.provider import XeroConnector
from tests.connectors.base.contract import ConnectorContract, Grant
from tests.connectors.xero.provider_fixtures import Organisation, organisation_fixture  # noqa: F401  (pytest fixture)
from tests.fixtures.xero import XeroWorld, sandbox_code


@pytest.mark.django_db
class TestXeroFulfilsTheContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> XeroConnector:
        connector = get_connector("xero")
        assert isinstance(connector, XeroConnector)
        return connector

    @pytest.fixture
    def grant(self, connector: XeroConnector, xero_world: XeroWorld) -> Grant:
        app = connector.default_app()
        assert app is not None
        code = sandbox_code(xero_world)
        token = connector.exchange_code(region="", app=app, code=code, redirect_uri=xero_world.redirect_uri)
        vendor_user = connector.current_user(region="", access_token=token.access_token)
        return Grant(region="", access_token=token.access_token, vendor_user=vendor_user)

    @pytest.fixture
    def refuse(self, connector: XeroConnector, xero_world: XeroWorld) -> Callable[[], object]:
        app = connector.default_app()
        assert app is not None
        # A code Xero never issued: its token endpoint refuses it (400 invalid_grant).
        return lambda: connector.exchange_code(
            region="", app=app, code="not-a-code", redirect_uri=xero_world.redirect_uri
        )

    @pytest.fixture
    def ctx(self, organisation: Organisation) -> CallContext:
        return organisation.ctx()
