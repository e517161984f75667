"""connectors/base/inbound.py: the vendor-neutral shape of a parsed webhook delivery and its refusals."""

from __future__ import annotations

from connectors.base.data import Resource
from connectors.base.inbound import InboundAction, InboundDelivery, InboundEvent, InboundRejected


def test_a_delivery_is_signed_and_carries_nothing_unless_told() -> None:
    delivery = InboundDelivery()
    assert (delivery.handshake, delivery.signed, delivery.app_client_id) == (False, True, None)
    assert delivery.company_ids == frozenset() and delivery.events == []
    assert InboundDelivery().events is not delivery.events  # each delivery its own list


def test_a_redelivered_event_is_equal_and_hashes_alike() -> None:
    first = InboundEvent("101", Resource.INVOICES, "guid-1", InboundAction.UPDATED, "Invoices:guid-1:2025-03-01")
    again = InboundEvent("101", Resource.INVOICES, "guid-1", InboundAction("updated"), "Invoices:guid-1:2025-03-01")
    assert first == again and len({first, again}) == 1
    assert InboundAction.DELETED == "deleted"


def test_a_refusal_is_400_malformed_unless_it_says_otherwise() -> None:
    malformed = InboundRejected("Not JSON.")
    assert (malformed.status, malformed.code, str(malformed)) == (400, "malformed_request", "Not JSON.")
    unsigned = InboundRejected("No signature.", status=401, code="missing_signature")
    assert (unsigned.status, unsigned.code, unsigned.message) == (401, "missing_signature", "No signature.")
