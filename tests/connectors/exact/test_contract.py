"""The Exact connector passes the connector contract tests, against the sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.base.data import CallContext
from connectors.exact.provider import ExactConnector
from connectors.registry import get_connector
from tests.connectors.base.contract import ConnectorContract, Grant
from tests.connectors.exact.client_fixtures import sandbox_access_token
from tests.connectors.exact.provider_fixtures import Division, division_fixture  # noqa: F401  (pytest fixture)
from tests.fixtures.exact import ExactWorld


@pytest.mark.django_db
class TestExactFulfilsTheContract(ConnectorContract):
    @pytest.fixture
    def connector(self) -> ExactConnector:
        connector = get_connector("exact")
        assert isinstance(connector, ExactConnector)
        return connector

    @pytest.fixture
    def grant(self, connector: ExactConnector, exact_world: ExactWorld) -> Grant:
        token = sandbox_access_token(exact_world)
        vendor_user = connector.current_user(region="nl", access_token=token)
        return Grant(region="nl", access_token=token, vendor_user=vendor_user)

    @pytest.fixture
    def refuse(self, connector: ExactConnector, exact_world: ExactWorld) -> Callable[[], object]:
        app = connector.default_app()
        assert app is not None
        # A code Exact never issued: its token endpoint refuses it (400 invalid_grant).
        return lambda: connector.exchange_code(
            region="nl", app=app, code="not-a-code", redirect_uri=exact_world.redirect_uri
        )

    @pytest.fixture
    def ctx(self, division: Division) -> CallContext:
        return division.ctx()
