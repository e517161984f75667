"""connectors/base/connector.py: what a connector inherits from the contract (capabilities, regions, attachment
limits, auth kinds) and that every data call it does not implement is refused naming the vendor, never a no-op."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from connectors.base.connector import (
    ApiKeyConnector,
    AttachmentRules,
    AuthKind,
    CompanyNoun,
    Connector,
    ConnectorInfo,
    Operation,
    Region,
)
from connectors.base.data import ListQuery, OperationNotSupported, Resource
from connectors.base.types import Company, VendorUser


class Ledgerless(ApiKeyConnector):
    """A connector that implements nothing but the abstract minimum and declares a few things."""

    info = ConnectorInfo(
        id="ledgerless", display_name="Ledgerless", company_noun=CompanyNoun("book", "books"), auth=AuthKind.API_KEY
    )
    capabilities = {Resource.CONTACTS.value: frozenset({Operation.LIST, Operation.CREATE})}
    attachment_resources = frozenset({Resource.INVOICES.value})

    def regions(self) -> Mapping[str, Region]:
        return {"eu": Region("eu", "Europe", "https://eu.ledgerless.example")}

    def list_companies(self, *, region: str, access_token: str, hint_company_id: str | None) -> list[Company]:
        return []

    def check_api_key(self, *, region: str, api_key: str) -> VendorUser:
        raise NotImplementedError


CONNECTOR = Ledgerless()


def test_it_supports_exactly_what_it_declares() -> None:
    assert CONNECTOR.id == "ledgerless" and CONNECTOR.name == "Ledgerless"
    assert CONNECTOR.supports("contacts", Operation.CREATE)
    assert not CONNECTOR.supports("contacts", Operation.UPDATE)
    assert not CONNECTOR.supports("invoices", Operation.LIST)
    # Attachment resources without the vendor's limits are no attachments at all.
    assert not CONNECTOR.supports_attachments("invoices")


def test_a_region_it_does_not_have_is_an_error_naming_it() -> None:
    assert CONNECTOR.region("eu").base_url == "https://eu.ledgerless.example"
    with pytest.raises(ValueError, match="Unknown region 'us' for Ledgerless"):
        CONNECTOR.region("us")


def test_attachment_limits_differ_by_region_only_where_the_vendor_says_so() -> None:
    rules = AttachmentRules(max_bytes=100, content_types=frozenset({"application/pdf"}), max_bytes_by_region={"uk": 50})
    assert rules.max_bytes_for("uk") == 50 and rules.max_bytes_for("nl") == 100


def test_only_the_oauth_kinds_are_oauth() -> None:
    assert AuthKind.OAUTH2_ROTATING.is_oauth and AuthKind.OAUTH2.is_oauth and not AuthKind.API_KEY.is_oauth


@pytest.mark.parametrize(
    ("call", "operation"),
    [
        (lambda c: c.list_records(None, Resource.CONTACTS, ListQuery(page_size=10)), "list"),
        (lambda c: c.retrieve_record(None, Resource.CONTACTS, "c-1"), "retrieve"),
        (lambda c: c.finalize_invoice(None, "i-1"), "finalize"),
        (lambda c: c.company_info(None), "retrieve"),
        (lambda c: c.passthrough(None, method="GET", path="x", query={}, body=None), "GET"),
        (lambda c: c.sync_begin(None, Resource.CONTACTS), "sync"),
        (lambda c: c.inbound_parse(b"{}", {}), "webhooks"),
    ],
)
def test_a_call_it_does_not_implement_is_refused_naming_the_vendor(call: Any, operation: str) -> None:
    with pytest.raises(OperationNotSupported) as refused:
        call(CONNECTOR)
    assert refused.value.vendor == "Ledgerless" and refused.value.operation == operation


def test_what_it_cannot_tell_is_said_as_nothing_found() -> None:
    """Lookups a vendor cannot do answer "not there", so a lost write is sent again rather than stuck."""
    assert CONNECTOR.find_existing(None, Resource.CONTACTS, None) is None  # type: ignore[arg-type]
    assert CONNECTOR.inbound_verify(b"{}", {}, "secret") is False
    assert CONNECTOR.check_mapping(None, None) == []  # type: ignore[arg-type]
    assert issubclass(Ledgerless, Connector)
