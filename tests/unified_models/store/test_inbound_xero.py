"""Inbound Xero webhooks through the core's /inbound/xero route against the Xero sandbox over real HTTP: the
sandbox's intent-to-receive check passes (200 to good signatures, 401 to bad ones), a forged or unsigned delivery is
refused with nothing recorded, queued or fetched, a genuine one queues one targeted fetch (a redelivery is dropped)
and the fetch brings the record as Xero has it now; a write in Xero reaches the gateway as a signed delivery.
connectors/xero/NOTES.md: Webhooks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from connectors.xero.webhooks import signature_of
from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import XERO, Connected
from unified_models.store import services, tasks
from unified_models.store.models import InboundEventSeen, StoredRecord, SyncRunState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

HEADER = "HTTP_X_XERO_SIGNATURE"  # Django's name for the x-xero-signature request header


def _connect(world: XeroWorld, workspace: Any, auth_client: Any) -> Connected:
    _, (connection,) = connect_xero_via_sandbox(world, workspace=workspace)
    return Connected(client=auth_client, connection=connection, world=world, profile=XERO)


@pytest.fixture
def xero(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> Connected:
    return _connect(xero_world, workspace, auth_client)


def _delivery(connected: Connected, remote_id: str, *, category: str = "CONTACT", kind: str = "UPDATE") -> bytes:
    """A delivery as Xero sends it (OAS xero-webhooks.yaml; sequences and entropy are required)."""
    event = {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{remote_id}",
        "resourceId": remote_id,
        "eventDateUtc": "2026-12-05T10:00:00.123",
        "eventType": kind,
        "eventCategory": category,
        "tenantId": connected.connection.company_id,
        "tenantType": "ORGANISATION",
    }
    payload = {"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "S0m3r4Nd0mt3xt"}
    return json.dumps(payload, separators=(",", ":")).encode()


def _a_contact(connected: Connected) -> StoredRecord:
    run = services.sync_run_request(connection=connected.connection, resource="contacts", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    return StoredRecord.objects.filter(connection=connected.connection, resource="contacts").order_by("record_id")[0]


def _rename(connected: Connected, remote_id: str, name: str) -> None:
    """Change the contact in Xero (through the passthrough, which does not touch the store)."""
    body = {"method": "POST", "path": f"Contacts/{remote_id}", "body": {"Contacts": [{"Name": name}]}}
    response = connected.client.post(connected.url("passthrough"), body, format="json")
    assert response.status_code == 200 and response.json()["status"] == 200, response.json()


def test_a_forged_delivery_is_refused_and_a_genuine_one_queues_one_fetch(
    xero: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    contact = _a_contact(xero)
    _rename(xero, contact.remote_id, "Changed In Xero Ltd")
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    xero.world.control.reset_counters()
    web = Client()
    genuine = _delivery(xero, contact.remote_id)
    signature = signature_of(genuine, xero.world.webhook_secret)

    refused = [
        (genuine, {HEADER: signature_of(genuine, "not-the-key")}),
        (genuine, {}),
        (genuine, {HEADER: signature.lower()}),
        (genuine.replace(b'"UPDATE"', b'"CREATE"'), {HEADER: signature}),
    ]
    for body, headers in refused:
        response = web.post("/inbound/xero", data=body, content_type="application/json", **headers)
        assert response.status_code == 401, (body, headers, response.status_code)
        assert response.json()["code"] == "invalid_signature"
    for body in (b"not json", b'{"events":"none"}', _delivery(xero, contact.remote_id, category="PAYROLL")):
        response = web.post("/inbound/xero", data=body, content_type="application/json", **{HEADER: "x"})
        assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    assert queued == [] and not InboundEventSeen.objects.exists()
    assert xero.calls() == {}
    assert StoredRecord.objects.get(pk=contact.pk).data == contact.data

    # A genuine delivery is answered 200 with an empty body, once: the redelivery is dropped.
    for _ in range(2):
        response = web.post("/inbound/xero", data=genuine, content_type="application/json", **{HEADER: signature})
        assert response.status_code == 200 and response.content == b""
    assert queued == [[str(xero.connection.pk), "contacts", [contact.remote_id], []]]
    assert xero.calls() == {}

    # The queued fetch: the record as Xero has it now.
    assert tasks.inbound_fetch(*queued[0]) == 1
    assert StoredRecord.objects.get(pk=contact.pk).data["name"] == "Changed In Xero Ltd"
    assert sum(sum(by_status.values()) for by_status in xero.calls().values()) == 1


def test_invoice_and_credit_note_events_fetch_every_copy_the_document_may_belong_to(
    xero: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    invoice_id = xero.sales_invoices()[0]["InvoiceID"]
    web = Client()
    for category in ("INVOICE", "CREDITNOTE"):
        body = _delivery(xero, invoice_id, category=category)
        headers = {HEADER: signature_of(body, xero.world.webhook_secret)}
        assert web.post("/inbound/xero", data=body, content_type="application/json", **headers).status_code == 200
    connection_id = str(xero.connection.pk)
    assert sorted(queued) == [
        [connection_id, "invoices", [invoice_id], []],
        [connection_id, "invoices", [invoice_id], []],
        [connection_id, "payments", [invoice_id], []],
        [connection_id, "purchase-invoices", [invoice_id], []],
        [connection_id, "purchase-invoices", [invoice_id], []],
    ]


def test_the_sandboxs_intent_to_receive_check_passes(
    live_server: Any, xero_world_factory: Callable[..., XeroWorld]
) -> None:
    world = xero_world_factory(public_url=live_server.url)
    world.control.set_webhook(world.client_id, f"{live_server.url}/inbound/xero")
    world.control.webhook_deliveries()

    assert world.control.webhook(world.client_id)["status"] == "OK"
    assert not InboundEventSeen.objects.exists()


def test_a_write_in_xero_reaches_the_gateway_as_a_signed_delivery(
    live_server: Any,
    xero_world_factory: Callable[..., XeroWorld],
    workspace: Any,
    auth_client: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connected = _connect(xero_world_factory(public_url=live_server.url), workspace, auth_client)
    connected.world.control.set_webhook(connected.world.client_id, f"{live_server.url}/inbound/xero")
    connected.world.control.webhook_deliveries()
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))

    created = connected.client.post(connected.url("contacts"), {"name": "Webhook Ltd"}, format="json")
    assert created.status_code == 201, created.json()
    connected.world.control.webhook_deliveries()
    deadline = time.monotonic() + 5
    while not queued and time.monotonic() < deadline:
        time.sleep(0.05)

    assert queued == [[str(connected.connection.pk), "contacts", [created.json()["remote_id"]], []]]
