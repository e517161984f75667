"""Exact's inbound webhooks: subscriptions per division and topic, the delivery format and its HashCode.

Facts followed (NOTES.md: Webhooks):
- `webhooks/WebhookSubscriptions` takes GET, POST and DELETE; a subscription is per app, division and topic, with a
  `CallbackURL`; about a second after the POST Exact sends an empty POST (content-length 0) to validate it, and
  only a 2xx answer makes it live.
- An event is `{"Content":{"Topic","ClientId","Division","Action","Key","ExactOnlineEndpoint","EventCreatedOn"},
  "HashCode":"…"}`; HashCode = upper-case hex HMAC-SHA256 of the raw Content text (exactly the characters between
  `{"Content":` and `,"HashCode":`) with the app's webhook secret. Only the key is sent: the record is fetched.
- Actions Create, Update, Delete; retries and delivery guarantees are not documented, so the incremental sync
  catches whatever a webhook missed.
- The Key is the primary key of the topic's entity (OrderID, EntryID, ID), which each unified record keeps as its
  remote id; a header topic also covers its lines, whose changes may name the line (NOTES.md: Webhooks, topics and
  keys, lines).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from types import MappingProxyType

from connectors.base.data import Resource
from connectors.base.errors import VendorError
from connectors.base.inbound import InboundAction, InboundDelivery, InboundEvent, InboundRejected, InboundSubscription
from connectors.exact.calls import DivisionApi
from connectors.exact.odata import ODataQuery
from connectors.exact.resources import parse_guid

SUBSCRIPTIONS_PATH = "webhooks/WebhookSubscriptions"

# Topic -> the unified resource whose record the event's Key names (NOTES.md: Webhooks, topics and keys). Payments
# (Receivables), projects, the VAT codes and journals have no topic: the sync alone keeps them. The topic names
# after Items are UNCONFIRMED (no authoritative list; NOTES.md: Webhooks).
TOPICS: Mapping[str, Resource] = MappingProxyType(
    {
        "Accounts": Resource.CONTACTS,
        "SalesInvoices": Resource.INVOICES,
        "GLAccounts": Resource.LEDGER_ACCOUNTS,
        "Items": Resource.ITEMS,
        "SalesOrders": Resource.SALES_ORDERS,  # Key: OrderID
        # Key: EntryID, a purchase invoice (Type 30) or a purchase credit note (31); both are purchase-invoices.
        "PurchaseEntries": Resource.PURCHASE_INVOICES,
        "GeneralJournalEntries": Resource.JOURNAL_ENTRIES,  # Key: EntryID
        "TimeTransactions": Resource.TIME_ENTRIES,  # Key: ID
        "CostTransactions": Resource.COST_ENTRIES,  # Key: ID
    }
)

ACTIONS: Mapping[str, InboundAction] = MappingProxyType(
    {"create": InboundAction.CREATED, "update": InboundAction.UPDATED, "delete": InboundAction.DELETED}
)
# Topics that also cover a line set whose line changes Exact may report under the header's Key (undocumented:
# NOTES.md: Webhooks, lines): a Delete there is read back, and only a header the read no longer finds is removed.
DELETES_READ_BACK = frozenset({"SalesInvoices", "SalesOrders", "PurchaseEntries", "GeneralJournalEntries"})

# picqer's Authenticatable: the body is exactly {"Content":<content>,"HashCode":"<hash>"} (NOTES.md: Webhooks).
_BODY = re.compile(rb'^\{"Content":(?P<content>.*),"HashCode":"(?P<hash>[^"]*)"\}\s*$', re.DOTALL)


def subscribe(api: DivisionApi, callback_url: str) -> list[InboundSubscription]:
    """One GET, plus a POST per topic that has no subscription to `callback_url` yet (a dropped one included)."""
    existing: dict[str, str] = {}
    for row in api.records(SUBSCRIPTIONS_PATH, ODataQuery(select=["ID", "CallbackURL", "Topic"])):
        topic = str(row.get("Topic") or "")
        if row.get("CallbackURL") == callback_url and topic in TOPICS:
            existing.setdefault(topic, str(row.get("ID") or ""))
    subscriptions = [InboundSubscription(topic=topic, remote_id=remote_id) for topic, remote_id in existing.items()]
    for topic in TOPICS:
        if topic in existing:
            continue
        created = api.post(SUBSCRIPTIONS_PATH, {"CallbackURL": callback_url, "Topic": topic})
        remote_id = parse_guid(str(created.get("ID") or ""))
        if remote_id is None:
            raise VendorError("Exact created the webhook subscription but did not return its ID.")
        subscriptions.append(InboundSubscription(topic=topic, remote_id=remote_id))
    return subscriptions


def unsubscribe(api: DivisionApi, remote_ids: list[str]) -> None:
    """DELETE each subscription; one Exact no longer has (404) is already gone."""
    for remote_id in remote_ids:
        guid = parse_guid(remote_id)
        if guid is None:
            continue
        response = api.raw("DELETE", f"{SUBSCRIPTIONS_PATH}(guid'{guid}')", params=None, body=None)
        if response.status_code not in (200, 204, 404):
            raise VendorError(f"Exact refused to delete webhook subscription {guid} ({response.status_code}).")


def parse(body: bytes) -> InboundDelivery:
    """The delivery in an Exact POST (not yet verified). An empty body is Exact's validation POST."""
    if not body.strip():
        return InboundDelivery(handshake=True, signed=False)
    match = _BODY.match(body)
    if match is None:
        raise InboundRejected("The body is not an Exact webhook with a HashCode.", status=401, code="invalid_signature")
    try:
        content = json.loads(match.group("content"))
    except ValueError as exc:
        raise InboundRejected("The webhook's Content is not JSON.") from exc
    if not isinstance(content, dict):
        raise InboundRejected("The webhook's Content is not an object.")
    division = content.get("Division")
    if isinstance(division, bool) or not isinstance(division, int | str) or not str(division).isdigit():
        raise InboundRejected("The webhook names no Division.")
    company_id = str(int(division))
    events: list[InboundEvent] = []
    topic = str(content.get("Topic") or "")
    resource = TOPICS.get(topic)
    action = ACTIONS.get(str(content.get("Action") or "").lower())
    if action is InboundAction.DELETED and topic in DELETES_READ_BACK:
        action = InboundAction.UPDATED  # the targeted fetch removes the record if Exact no longer has it
    key = parse_guid(str(content.get("Key") or ""))
    if resource is not None and action is not None and key is not None:
        events.append(
            InboundEvent(
                company_id=company_id,
                resource=resource,
                remote_id=key,
                action=action,
                # A redelivery repeats the Content byte for byte (EventCreatedOn included).
                dedupe_key=hashlib.sha256(match.group("content")).hexdigest(),
            )
        )
    client_id = content.get("ClientId")
    return InboundDelivery(
        handshake=False,
        signed=True,
        app_client_id=str(client_id).strip("{}").lower() if client_id else None,
        company_ids=frozenset({company_id}),
        events=events,
    )


def verify(body: bytes, secret: str) -> bool:
    """HashCode == upper-case hex HMAC-SHA256(secret, raw Content), compared in constant time."""
    match = _BODY.match(body)
    if match is None or not secret:
        return False
    expected = hmac.new(secret.encode("utf-8"), match.group("content"), hashlib.sha256).hexdigest().upper()
    return hmac.compare_digest(expected.encode("ascii"), match.group("hash"))
