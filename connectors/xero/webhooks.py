"""Inbound Xero webhooks: the signature check, the intent-to-receive answer, and the events of a delivery.

Xero's rules (NOTES.md: Webhooks): `x-xero-signature` is the base64 HMAC-SHA256 of the raw body with the app's
webhook key; the receiver answers 200 with an empty body to a correctly signed delivery and 401 to any other,
within 5 seconds (the "intent to receive" check sends both kinds, with an empty event list, and a receiver that
accepts a bad signature gets no events). Events name `resourceUrl`, `resourceId`, `tenantId`, `eventCategory`,
`eventType` and `eventDateUtc`; delivery is at least once, so handlers must be idempotent, and a missed event is
caught up by an `If-Modified-Since` read.

A receiving view calls `webhook_answer(raw_body, signature_header, key)` first and only then
`events_of(raw_body)`; nothing here touches the database. The gateway's own receiver is the core's
`/inbound/xero` route (unified_models/store/inbound.py): `inbound_delivery` turns a POST into the vendor-neutral
InboundDelivery it verifies with `inbound_signature_valid` before anything is recorded or fetched.

What an event means for the unified copy: CONTACT names a contact; INVOICE a sales invoice and its payment state or
a bill, so `invoices`, `payments` and `purchase-invoices` are fetched (each finds only its own kind); CREDITNOTE a
sales or purchase credit note, fetched as `invoices` and `purchase-invoices`; SUBSCRIPTION names nothing the
unified model keeps.
Xero's events carry no id of their own, so a redelivery is recognised by what it says (category, type, resource,
tenant and moment).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from connectors.base.data import Resource
from connectors.base.inbound import InboundAction, InboundDelivery, InboundEvent, InboundRejected
from connectors.xero.values import parse_guid, parse_xero_datetime

SIGNATURE_HEADER = "x-xero-signature"
# Categories Xero sends (OAS xero-webhooks.yaml); anything else is an error, never silently dropped.
EVENT_CATEGORIES = frozenset({"CONTACT", "INVOICE", "CREDITNOTE", "SUBSCRIPTION"})
EVENT_TYPES = frozenset({"CREATE", "UPDATE"})


class UnexpectedWebhookEvent(ValueError):
    """A correctly signed delivery with an event this code does not know (logged and surfaced, not dropped)."""


@dataclass(frozen=True)
class XeroEvent:
    resource_url: str
    resource_id: str
    tenant_id: str
    tenant_type: str
    category: str  # CONTACT, INVOICE, CREDITNOTE, SUBSCRIPTION
    type: str  # CREATE, UPDATE
    occurred_at: datetime | None


def signature_of(raw_body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), raw_body, hashlib.sha256).digest()).decode("ascii")


def signature_valid(raw_body: bytes, signature: str | None, key: str) -> bool:
    """Whether `signature` is Xero's signature of exactly these bytes with `key` (constant-time compare)."""
    if not key or not signature:
        return False
    return hmac.compare_digest(signature_of(raw_body, key).encode(), signature.strip().encode())


def webhook_answer(raw_body: bytes, signature: str | None, key: str) -> int:
    """The status to answer a delivery with: 200 when correctly signed, else 401 (intent to receive needs both)."""
    return 200 if signature_valid(raw_body, signature, key) else 401


def events_of(raw_body: bytes) -> list[XeroEvent]:
    """The events of a correctly signed delivery (empty for the intent-to-receive probes)."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise UnexpectedWebhookEvent("The delivery is not JSON.") from None
    raw_events = payload.get("events") if isinstance(payload, dict) else None
    if not isinstance(raw_events, list):
        raise UnexpectedWebhookEvent("The delivery has no events list.")
    events = []
    for raw in raw_events:
        if not isinstance(raw, dict):
            raise UnexpectedWebhookEvent(f"An event is not an object: {raw!r}")
        category, kind = raw.get("eventCategory"), raw.get("eventType")
        if category not in EVENT_CATEGORIES or kind not in EVENT_TYPES:
            raise UnexpectedWebhookEvent(f"Unknown Xero event {category!r}/{kind!r}.")
        resource_id, tenant_id = parse_guid(raw.get("resourceId")), parse_guid(raw.get("tenantId"))
        if resource_id is None or tenant_id is None:
            raise UnexpectedWebhookEvent("An event without a resourceId or tenantId GUID.")
        events.append(
            XeroEvent(
                resource_url=str(raw.get("resourceUrl") or ""),
                resource_id=resource_id,
                tenant_id=tenant_id,
                tenant_type=str(raw.get("tenantType") or ""),
                category=str(category),
                type=str(kind),
                occurred_at=parse_xero_datetime(raw.get("eventDateUtc"), "eventDateUtc"),
            )
        )
    return events


# Unified resources an event's record belongs to (an invoice carries its own payment state: NOTES.md).
EVENT_RESOURCES: Mapping[str, tuple[Resource, ...]] = {
    "CONTACT": (Resource.CONTACTS,),
    "INVOICE": (Resource.INVOICES, Resource.PAYMENTS, Resource.PURCHASE_INVOICES),
    "CREDITNOTE": (Resource.INVOICES, Resource.PURCHASE_INVOICES),
    "SUBSCRIPTION": (),
}
EVENT_ACTIONS: Mapping[str, InboundAction] = {"CREATE": InboundAction.CREATED, "UPDATE": InboundAction.UPDATED}


def inbound_delivery(raw_body: bytes) -> InboundDelivery:
    """A POST to /inbound/xero as the core's InboundDelivery, before any trust (InboundRejected 400 when it cannot
    be a Xero delivery). Always `signed`: Xero signs every delivery, the intent-to-receive probes included, and a
    receiver must answer 401 to a bad or missing signature, so nothing is answered without the check."""
    try:
        events = events_of(raw_body)
    except UnexpectedWebhookEvent as exc:
        raise InboundRejected(str(exc), status=400, code="malformed_request") from None
    inbound_events = [
        InboundEvent(
            company_id=event.tenant_id,
            resource=resource,
            remote_id=event.resource_id,
            action=EVENT_ACTIONS[event.type],
            dedupe_key=_dedupe_key(event, resource),
        )
        for event in events
        for resource in EVENT_RESOURCES[event.category]
    ]
    return InboundDelivery(
        handshake=not events,
        signed=True,
        company_ids=frozenset(event.tenant_id for event in events),
        events=inbound_events,
    )


def inbound_signature_valid(raw_body: bytes, headers: Mapping[str, str], key: str) -> bool:
    """The `x-xero-signature` header (any case) checked against the raw body with one webhook key."""
    signature = next((value for name, value in headers.items() if name.lower() == SIGNATURE_HEADER), None)
    return signature_valid(raw_body, signature, key)


def _dedupe_key(event: XeroEvent, resource: Resource) -> str:
    moment = event.occurred_at.isoformat() if event.occurred_at else ""
    text = f"{event.tenant_id}|{event.category}|{event.type}|{event.resource_id}|{moment}|{resource.value}"
    return "xero:" + hashlib.sha256(text.encode()).hexdigest()[:40]
