"""The connector registry: exactly the classes settings list, each checked for what it declares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.base.connector import ApiKeyConnector, AuthKind, CompanyNoun, ConnectorInfo
from connectors.base.types import Company, VendorUser
from connectors.registry import UnknownConnector, get_connector, registered_connectors, reset_registry

HERE = "tests.connectors.test_registry"


class KeyBooks(ApiKeyConnector):
    info = ConnectorInfo(
        id="keybooks", display_name="Key Books", company_noun=CompanyNoun("book", "books"), auth=AuthKind.API_KEY
    )

    def check_api_key(self, *, region: str, api_key: str) -> VendorUser:
        return VendorUser(user_id="u", name="U", email="", default_company_id=None)

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        return []


class ClaimsOAuth(KeyBooks):
    """Declares OAuth 2 but implements only the API-key half: the registry refuses it."""

    info = ConnectorInfo(
        id="claims", display_name="Claims", company_noun=CompanyNoun("book", "books"), auth=AuthKind.OAUTH2_ROTATING
    )


class SameId(KeyBooks):
    pass


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    reset_registry()
    yield
    reset_registry()


def test_it_loads_the_listed_connectors_in_order(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_CONNECTORS = [*settings.LEDGERBRIDGE_CONNECTORS, f"{HERE}.KeyBooks"]
    assert [connector.id for connector in registered_connectors()] == ["exact", "xero", "keybooks"]
    assert get_connector("keybooks") is registered_connectors()[2]
    with pytest.raises(UnknownConnector):
        get_connector("sage")  # not listed, not loaded


@pytest.mark.parametrize(
    ("listed", "error", "message"),
    [
        ([f"{HERE}.ClaimsOAuth"], TypeError, "declares oauth2_rotating auth but is not an OAuth2Connector"),
        ([f"{HERE}.KeyBooks", f"{HERE}.SameId"], ValueError, "Two connectors claim the id 'keybooks'"),
        ([f"{HERE}.fresh_registry"], TypeError, "is not a Connector subclass"),
    ],
    ids=["auth-kind-not-implemented", "duplicate-id", "not-a-connector"],
)
def test_it_refuses_a_connector_that_is_not_what_it_declares(settings, listed, error, message) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_CONNECTORS = listed
    with pytest.raises(error, match=message):
        registered_connectors()
