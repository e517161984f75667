"""connectors/exact/inbound.py: which resource each topic's Key names, and how a Delete is taken (NOTES.md:
Webhooks, topics and keys)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from connectors.base.data import Resource
from connectors.base.inbound import InboundAction
from connectors.exact import inbound
from connectors.exact.sandbox.webhooks import event_body

SECRET = "whsec-unit"


def _body(topic: str, action: str, key: str) -> bytes:
    content = {
        "Topic": topic,
        "ClientId": "{0A1B2C3D-0000-0000-0000-000000000001}",
        "Division": 101,
        "Action": action,
        "Key": key,
        "ExactOnlineEndpoint": f"https://start.exactonline.nl/api/v1/101/x(guid'{key}')",
        "EventCreatedOn": "2026-12-05T10:00:00.000000Z",
    }
    return event_body(content, SECRET)


@pytest.mark.parametrize(
    ("topic", "resource"),
    [
        ("SalesOrders", Resource.SALES_ORDERS),
        ("PurchaseEntries", Resource.PURCHASE_INVOICES),
        ("GeneralJournalEntries", Resource.JOURNAL_ENTRIES),
        ("TimeTransactions", Resource.TIME_ENTRIES),
        ("CostTransactions", Resource.COST_ENTRIES),
    ],
)
def test_the_later_topics_route_their_key_to_one_resource(topic: str, resource: Resource) -> None:
    key = str(uuid4())
    for action, expected in (("Create", InboundAction.CREATED), ("Update", InboundAction.UPDATED)):
        body = _body(topic, action, key)
        assert inbound.verify(body, SECRET)
        [event] = inbound.parse(body).events
        assert (event.company_id, event.resource, event.remote_id, event.action) == ("101", resource, key, expected)


def test_a_delete_is_read_back_on_topics_that_cover_lines() -> None:
    """A line's removal may come as its header's Delete (undocumented): those topics fetch before removing."""
    key = str(uuid4())
    actions = {topic: inbound.parse(_body(topic, "Delete", key)).events[0].action for topic in inbound.TOPICS}
    assert {topic for topic, action in actions.items() if action is InboundAction.UPDATED} == {
        "SalesInvoices",
        "SalesOrders",
        "PurchaseEntries",
        "GeneralJournalEntries",
    }
    assert actions["TimeTransactions"] is actions["CostTransactions"] is actions["Accounts"] is InboundAction.DELETED


def test_topics_without_a_resource_carry_no_event() -> None:
    for topic in ("Projects", "SalesEntries", "BankEntries", "Documents", "Receivables"):
        delivery = inbound.parse(_body(topic, "Update", str(uuid4())))
        assert delivery.events == [] and delivery.company_ids == frozenset({"101"})
