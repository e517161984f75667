"""Contract tests every connector passes: subclass ConnectorContract in the connector's tests and give it fixtures.

The subclass provides:
- `connector`: the connector as the registry loads it;
- `grant`: a Grant (region, access token or API key, the vendor user) obtained the connector's way;
- `refuse`: a callable that presents a credential the vendor refuses (a bad API key, a bad code);
- `ctx`: a CallContext for one company of a connection.

What is checked is only what the core relies on: the declarations (info, regions, capabilities, token timing)
are coherent, auth works and is refused with a VendorAuthError, the grant lists its companies, and what the
connector declares it can list and retrieve works, with cursors that move forward, while what it does not
declare is refused before any call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from connectors.base.connector import (
    ApiKeyConnector,
    AuthKind,
    CompanyNoun,
    Connector,
    ConnectorInfo,
    OAuth2Connector,
    Operation,
    TokenTiming,
)
from connectors.base.data import CallContext, ListQuery, OperationNotSupported, Resource
from connectors.base.errors import VendorAuthError
from connectors.base.types import VendorUser
from connectors.registry import get_connector

# Pages a cursor test follows at most: enough to show the cursor moves, few enough for a rate-limited vendor.
MAX_PAGES = 3


@dataclass(frozen=True)
class Grant:
    """What a user's authorisation gave: where, the token (or API key) and who granted it."""

    region: str
    access_token: str
    vendor_user: VendorUser


def _listable(connector: Connector) -> list[Resource]:
    return [Resource(name) for name, operations in connector.capabilities.items() if Operation.LIST in operations]


class ConnectorContract:
    # ------------------------------------------------------------------ declarations

    def test_it_declares_what_it_is(self, connector: Connector) -> None:
        info = connector.info
        assert isinstance(info, ConnectorInfo) and get_connector(info.id) is connector
        assert (connector.id, connector.name) == (info.id, info.display_name) and info.display_name.strip()
        assert isinstance(info.company_noun, CompanyNoun)
        assert info.company_noun.singular.strip() and info.company_noun.plural.strip()
        assert isinstance(info.auth, AuthKind)

    def test_its_auth_kind_is_the_auth_it_implements(self, connector: Connector) -> None:
        implements = OAuth2Connector if connector.info.auth.is_oauth else ApiKeyConnector
        assert isinstance(connector, implements)
        timing = connector.token_timing()
        assert isinstance(timing, TokenTiming) and timing.min_refresh_interval >= 0 and timing.token_call_timeout > 0

    def test_its_regions_are_keyed_by_code(self, connector: Connector) -> None:
        for code, region in connector.regions().items():
            assert region.code == code and region.name.strip() and region.base_url.startswith(("http://", "https://"))
            assert connector.region(code) == region
        with pytest.raises(ValueError):
            connector.region("no-such-region")

    def test_its_capabilities_name_unified_resources(self, connector: Connector) -> None:
        assert connector.capabilities, "a connector that can do nothing is no connector"
        for name, operations in connector.capabilities.items():
            Resource(name)  # raises for a name the unified API does not have
            assert operations and all(isinstance(operation, Operation) for operation in operations)
        for name in connector.list_filters:
            assert connector.supports(name, Operation.LIST), f"{name} has list filters but no list"

    # ------------------------------------------------------------------ auth and companies

    def test_a_refused_credential_is_a_vendor_auth_error(self, refuse: Callable[[], object]) -> None:
        with pytest.raises(VendorAuthError):
            refuse()

    def test_the_grant_lists_its_companies(self, connector: Connector, grant: Grant) -> None:
        companies = connector.list_companies(
            region=grant.region, access_token=grant.access_token, hint_company_id=grant.vendor_user.default_company_id
        )
        assert companies and all(company.company_id and company.name for company in companies)
        assert len({company.company_id for company in companies}) == len(companies)
        assert grant.vendor_user.user_id

    # ------------------------------------------------------------------ data

    def test_what_it_lists_it_retrieves(self, connector: Connector, ctx: CallContext) -> None:
        for resource in _listable(connector):
            page = connector.list_records(ctx, resource, ListQuery(page_size=2))
            assert len(page.records) <= 2
            if not page.records or not connector.supports(resource, Operation.RETRIEVE):
                continue
            first = page.records[0]
            retrieved = connector.retrieve_record(ctx, resource, first.id)
            assert retrieved.id == first.id
            assert getattr(retrieved, "remote_data", None) is None, "remote_data only when asked for"

    def test_its_cursors_move_forward(self, connector: Connector, ctx: CallContext) -> None:
        resource = _listable(connector)[0]
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = connector.list_records(ctx, resource, ListQuery(page_size=1, cursor=cursor))
            seen.extend(record.id for record in page.records)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen and len(seen) == len(set(seen)), "no record twice"

    def test_what_it_does_not_declare_is_refused(self, connector: Connector, ctx: CallContext) -> None:
        for name in Resource:
            if not connector.supports(name.value, Operation.CREATE):
                with pytest.raises(OperationNotSupported):
                    connector.create_record(ctx, name, object(), mapping=None)
            if not connector.supports(name.value, Operation.UPDATE):
                with pytest.raises(OperationNotSupported):
                    connector.update_record(ctx, name, "any-id", object(), mapping=None)
