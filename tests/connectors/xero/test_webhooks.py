"""The webhook helper against real deliveries from the Xero sandbox: intent to receive passes, events parse."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.xero import auth
from connectors.xero.client import XeroClient, XeroHosts
from connectors.xero.provider import XeroConnector
from connectors.xero.webhooks import (
    SIGNATURE_HEADER,
    UnexpectedWebhookEvent,
    XeroEvent,
    events_of,
    signature_of,
    signature_valid,
    webhook_answer,
)
from tests.fixtures.xero import XeroWorld, sandbox_code


class Endpoint:
    """A receiver built on the helper only: answer first (200/401), then parse what was correctly signed."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.answers: list[int] = []
        self.events: list[XeroEvent] = []
        handler = self._handler()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/xero/webhooks"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = webhook_answer(raw, self.headers.get(SIGNATURE_HEADER), endpoint.key)
                endpoint.answers.append(status)
                if status == 200:
                    endpoint.events.extend(events_of(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def endpoint(xero_world: XeroWorld) -> Iterator[Endpoint]:
    receiver = Endpoint(xero_world.webhook_secret)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_the_helper_passes_xeros_intent_to_receive_check(xero_world: XeroWorld, endpoint: Endpoint) -> None:
    xero_world.control.set_webhook(xero_world.client_id, endpoint.url)
    xero_world.control.webhook_deliveries()

    assert xero_world.control.webhook(xero_world.client_id)["status"] == "OK"
    assert 200 in endpoint.answers and 401 in endpoint.answers and endpoint.events == []


def test_events_of_a_write_arrive_signed_and_parsed(xero_world: XeroWorld, endpoint: Endpoint) -> None:
    xero_world.control.set_webhook(xero_world.client_id, endpoint.url)
    xero_world.control.webhook_deliveries()
    connector = XeroConnector()
    app = connector.default_app()
    assert app is not None
    token = auth.exchange_code(
        hosts=XeroHosts.from_settings(), app=app, code=sandbox_code(xero_world), redirect_uri=xero_world.redirect_uri
    ).access_token

    answer = XeroClient().tenant_request(
        "PUT",
        "Contacts",
        tenant_id=xero_world.tenant_id,
        token_provider=lambda: token,
        json={"Contacts": [{"Name": "Webhook Test Ltd"}]},
    )
    xero_world.control.webhook_deliveries()

    contact_id = answer["Contacts"][0]["ContactID"]
    assert [(e.category, e.type, e.resource_id, e.tenant_id) for e in endpoint.events] == [
        ("CONTACT", "CREATE", contact_id, xero_world.tenant_id)
    ]
    assert endpoint.events[0].occurred_at is not None and contact_id in endpoint.events[0].resource_url


def test_signatures_are_checked_on_the_raw_bytes() -> None:
    body = b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"X"}'
    good = signature_of(body, "key")
    assert signature_valid(body, good, "key") and webhook_answer(body, good, "key") == 200
    assert webhook_answer(body + b" ", good, "key") == 401
    assert webhook_answer(body, good, "other-key") == 401
    assert webhook_answer(body, None, "key") == 401 and webhook_answer(body, good, "") == 401


def test_an_unknown_event_is_an_error_not_silence() -> None:
    body = (
        b'{"events":[{"resourceUrl":"u","resourceId":"7cb59f93-1c1a-4b58-b6f1-2b1c5a0a9b1e",'
        b'"tenantId":"fe79f7dd-1c1a-4b58-b6f1-2b1c5a0a9b1e","eventCategory":"PAYSLIP","eventType":"CREATE"}]}'
    )
    with pytest.raises(UnexpectedWebhookEvent):
        events_of(body)


def test_a_delivery_becomes_inbound_events_per_unified_resource() -> None:
    from connectors.base.inbound import InboundAction, InboundRejected
    from connectors.xero.webhooks import inbound_delivery, inbound_signature_valid

    tenant, contact, invoice = (
        "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f",
        "717f2bfc-c6d4-41fd-b238-3f2f0c0cf777",
        "a1b2c3d4-0000-4000-8000-000000000001",
    )

    def event(category: str, kind: str, resource_id: str) -> dict[str, str]:
        return {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/X/{resource_id}",
            "resourceId": resource_id,
            "eventDateUtc": "2024-06-21T01:15:39.902",
            "eventType": kind,
            "eventCategory": category,
            "tenantId": tenant,
            "tenantType": "ORGANISATION",
        }

    events = [
        event("CONTACT", "CREATE", contact),
        event("INVOICE", "UPDATE", invoice),
        event("CREDITNOTE", "UPDATE", invoice),
    ]
    body = json.dumps({"events": events, "firstEventSequence": 1, "lastEventSequence": 3, "entropy": "x"}).encode()

    delivery = inbound_delivery(body)

    assert delivery.signed is True and delivery.company_ids == frozenset({tenant})
    assert [(e.resource.value, e.remote_id, e.action, e.company_id) for e in delivery.events] == [
        ("contacts", contact, InboundAction.CREATED, tenant),
        ("invoices", invoice, InboundAction.UPDATED, tenant),
        ("payments", invoice, InboundAction.UPDATED, tenant),
        ("purchase-invoices", invoice, InboundAction.UPDATED, tenant),
        # A credit note may be a sales or a purchase one: both copies look for it.
        ("invoices", invoice, InboundAction.UPDATED, tenant),
        ("purchase-invoices", invoice, InboundAction.UPDATED, tenant),
    ]
    assert len({e.dedupe_key for e in delivery.events}) == 6
    assert [e.dedupe_key for e in inbound_delivery(body).events] == [e.dedupe_key for e in delivery.events]
    # Intent to receive: no events, still signed (a bad signature must be answered 401).
    probe = inbound_delivery(b'{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"e"}')
    assert probe.signed is True and probe.events == [] and probe.company_ids == frozenset()
    for bad in (b"[]", b"{", json.dumps({"events": [event("PAYROLL", "UPDATE", invoice)]}).encode()):
        with pytest.raises(InboundRejected) as refused:
            inbound_delivery(bad)
        assert refused.value.status == 400
    signature = signature_of(body, "key")
    assert inbound_signature_valid(body, {"X-Xero-Signature": signature}, "key")
    assert not inbound_signature_valid(body, {"x-xero-signature": signature}, "other-key")
    assert not inbound_signature_valid(body, {}, "key")
