"""Inbound Xero webhooks: the signature check, the intent-to-receive answer, and the events of a delivery.

Xero's rules (NOTES.md: Webhooks): `x-xero-signature` is the base64 HMAC-SHA256 of the raw body with the app's
webhook key; the receiver answers 200 with an empty body to a correctly signed delivery and 401 to any other,
within 5 seconds (the "intent to receive" check sends both kinds, with an empty event list, and a receiver that
accepts a bad signature gets no events). Events name `resourceUrl`, `resourceId`, `tenantId`, `eventCategory`,
`eventType` and `eventDateUtc`; delivery is at least once, so handlers must be idempotent, and a missed event is
caught up by an `If-Modified-Since` read.

A receiving view calls `webhook_answer(raw_body, signature_header, key)` first and only then
`events_of(raw_body)`; nothing here touches the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

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
