"""Webhooks received by a local HTTP server: intent to receive, signed event batches, sequences, retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl, SandboxControlError
from tests.connectors.xero.sandbox.conftest import Tenant, authorize, exchange_code


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook endpoint as Xero requires it: 200 with an empty body to a good signature, 401 otherwise."""

    url: str = ""
    key: str = ""
    requests: list[Received] = field(default_factory=list)
    mode: str = "correct"  # "correct", "always_200", "slow", "events_fail", "chatty"
    delay: float = 0.0

    def events(self) -> list[dict]:
        return [json.loads(r.body) for r in self.requests if json.loads(r.body)["events"]]


def _signature(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.requests.append(Received(dict(self.headers.items()), body))
            valid = hmac.compare_digest(self.headers.get("x-xero-signature", ""), _signature(body, state.key))
            status = 200 if valid else 401
            if state.mode == "always_200":
                status = 200
            if state.mode == "slow":
                time.sleep(state.delay)
            if state.mode == "events_fail" and json.loads(body)["events"]:
                status = 500
            reply = b"thanks!" if state.mode == "chatty" and status == 200 else b""
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{httpd.server_port}/xero/webhook"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _subscribe(control: SandboxControl, tenant: Tenant, receiver: Receiver) -> dict:
    receiver.key = tenant.app["webhook_key"]
    control.set_webhook(tenant.app["client_id"], receiver.url)
    control.webhook_deliveries()  # waits for the intent-to-receive probes
    return control.webhook(tenant.app["client_id"])


def test_intent_to_receive_sends_good_and_bad_signatures(
    connected: Tenant, control: SandboxControl, receiver: Receiver
) -> None:
    state = _subscribe(control, connected, receiver)
    assert state["status"] == "OK"
    assert len(receiver.requests) == 4
    probes = [json.loads(r.body) for r in receiver.requests]
    assert all(p["events"] == [] and p["firstEventSequence"] == 0 and p["lastEventSequence"] == 0 for p in probes)
    assert all(p["entropy"] for p in probes)
    good = [
        hmac.compare_digest(r.headers["x-xero-signature"], _signature(r.body, receiver.key)) for r in receiver.requests
    ]
    assert sorted(good) == [False, False, True, True]
    deliveries = control.webhook_deliveries()
    assert [d["ok"] for d in deliveries] == [True] * 4


def test_a_receiver_that_accepts_bad_signatures_fails_the_check_and_gets_no_events(
    connected: Tenant, http: httpx.Client, control: SandboxControl, receiver: Receiver
) -> None:
    receiver.mode = "always_200"
    state = _subscribe(control, connected, receiver)
    assert state["status"] == "FAILED"
    assert state["detail"] == "expected 401 to a wrong signature, got 200"
    before = len(receiver.requests)
    http.put(connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Quiet Ltd"}]})
    control.webhook_deliveries()
    assert len(receiver.requests) == before
    assert control.counters()["webhooks"]["not_sent_unverified"] == 1


def test_a_slow_receiver_fails_the_check(connected: Tenant, control: SandboxControl, receiver: Receiver) -> None:
    receiver.mode = "slow"
    receiver.delay = 0.25
    control.set_webhook_config(response_timeout_seconds=0.1)  # Xero's limit is 5 s; compressed here
    state = _subscribe(control, connected, receiver)
    assert state["status"] == "FAILED"
    assert state["detail"].startswith("answered after")


def test_a_200_with_a_body_fails_the_check(connected: Tenant, control: SandboxControl, receiver: Receiver) -> None:
    receiver.mode = "chatty"
    state = _subscribe(control, connected, receiver)
    assert (state["status"], state["detail"]) == ("FAILED", "the 200 answer must have an empty body")


def test_events_are_signed_batched_and_sequenced(
    connected: Tenant, http: httpx.Client, control: SandboxControl, receiver: Receiver
) -> None:
    _subscribe(control, connected, receiver)
    control.set_webhook_config(batch_delay_seconds=0.3)
    contact = http.put(
        connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Eventful Ltd"}]}
    ).json()["Contacts"][0]
    invoice = http.put(
        connected.api("Invoices"),
        headers=connected.headers(),
        json={
            "Invoices": [
                {
                    "Type": "ACCREC",
                    "Contact": {"ContactID": contact["ContactID"]},
                    "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 5, "AccountCode": "200"}],
                }
            ]
        },
    ).json()
    control.webhook_deliveries()
    batches = receiver.events()
    assert len(batches) == 1
    batch = batches[0]
    request = next(r for r in receiver.requests if json.loads(r.body)["events"])
    assert hmac.compare_digest(request.headers["x-xero-signature"], _signature(request.body, receiver.key))
    assert (batch["firstEventSequence"], batch["lastEventSequence"]) == (1, 2)
    first, second = batch["events"]
    assert set(first) == {
        "resourceUrl",
        "resourceId",
        "eventDateUtc",
        "eventType",
        "eventCategory",
        "tenantId",
        "tenantType",
    }
    assert (first["eventCategory"], first["eventType"], first["resourceId"]) == (
        "CONTACT",
        "CREATE",
        contact["ContactID"],
    )
    assert first["resourceUrl"] == connected.api(f"Contacts/{contact['ContactID']}")
    assert (first["tenantId"], first["tenantType"]) == (connected.tenant_id, "ORGANISATION")
    assert (second["eventCategory"], second["resourceId"]) == ("INVOICE", invoice["Invoices"][0]["InvoiceID"])
    # Writes that Xero does not publish (payments, accounts) send nothing; an update is UPDATE.
    http.post(connected.api(f"Contacts/{contact['ContactID']}"), headers=connected.headers(), json={"LastName": "L"})
    control.webhook_deliveries()
    later = receiver.events()[-1]
    assert (later["firstEventSequence"], later["events"][0]["eventType"]) == (3, "UPDATE")


def test_every_app_connected_to_the_organisation_hears_of_it(
    connected: Tenant, http: httpx.Client, control: SandboxControl, receiver: Receiver
) -> None:
    other_app = control.register_app(redirect_uris=[connected.app["redirect_uris"][0]], name="Other app")
    control.set_auto_consent(other_app["client_id"], user_id=connected.user["user_id"])
    other = Tenant(server=connected.server, app=other_app, user=connected.user, organisations=connected.organisations)
    exchange_code(http, other, authorize(http, other))
    _subscribe(control, connected, receiver)
    # The second app's key differs: the receiver checks with the first app's key, so point it elsewhere.
    control.set_webhook(other_app["client_id"], receiver.url)
    control.webhook_deliveries()
    assert control.webhook(other_app["client_id"])["status"] == "FAILED"  # wrong key for this receiver
    receiver.key = other_app["webhook_key"]
    control.set_webhook(other_app["client_id"], receiver.url)
    control.webhook_deliveries()
    receiver.key = ""  # accept nothing from now on: we only count what arrives
    receiver.mode = "always_200"
    http.put(connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Shared Ltd"}]})
    control.webhook_deliveries()
    event_posts = [r for r in receiver.requests if json.loads(r.body)["events"]]
    keys = {connected.app["webhook_key"], other_app["webhook_key"]}
    signed_with = {
        k
        for r in event_posts
        for k in keys
        if hmac.compare_digest(r.headers["x-xero-signature"], _signature(r.body, k))
    }
    assert signed_with == keys


def test_a_failed_delivery_is_retried_once_and_counted(
    connected: Tenant, http: httpx.Client, control: SandboxControl, receiver: Receiver
) -> None:
    _subscribe(control, connected, receiver)
    receiver.mode = "events_fail"
    http.put(connected.api("Contacts"), headers=connected.headers(), json={"Contacts": [{"Name": "Failing Ltd"}]})
    deliveries = [d for d in control.webhook_deliveries() if d["kind"] == "events"]
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in deliveries] == [(1, 500, False), (2, 500, False)]
    assert control.counters()["webhooks"]["failed"] == 1


def test_webhook_urls_must_be_https_except_loopback(tenant: Tenant, control: SandboxControl) -> None:
    with pytest.raises(SandboxControlError) as refused:
        control.set_webhook(tenant.app["client_id"], "http://example.com/hook")
    assert refused.value.status == 400
