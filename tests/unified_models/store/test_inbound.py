"""Inbound Exact webhooks against the sandbox over real HTTP: subscriptions follow the connection, a change made in
Exact reaches the API through a webhook within 2 seconds (a live gateway and a real Celery worker), a forged
delivery is refused and changes nothing, a missed one is caught by the next incremental run."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client

from connectors.exact.sandbox.webhooks import event_body
from gateway.celery import app as celery_app
from tenants.signals import connection_lifecycle_send
from tests.fixtures.exact import ExactWorld
from tests.gateway.test_celery import start_worker
from tests.tenants.factories import connect_via_sandbox
from tests.unified_models.conftest import Connected
from unified_models.store import inbound, services, tasks
from unified_models.store.models import InboundEventSeen, InboundSubscription, StoredRecord, SyncRunState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

TOPICS = {
    "Accounts",
    "SalesInvoices",
    "GLAccounts",
    "Items",
    "SalesOrders",
    "PurchaseEntries",
    "GeneralJournalEntries",
    "TimeTransactions",
    "CostTransactions",
}


def _connect(world: ExactWorld, workspace: Any, auth_client: Any) -> Connected:
    world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(world, workspace=workspace, divisions=[101, 102], connect=(101,))
    return Connected(client=auth_client, connection=connection, world=world)


@pytest.fixture
def loopback(exact_world_factory: Callable[..., ExactWorld], workspace: Any, auth_client: Any) -> Connected:
    """Connected, with a public URL on the loopback host nobody answers (the sandbox accepts http there)."""
    return _connect(exact_world_factory(public_url="http://127.0.0.1:9"), workspace, auth_client)


@pytest.fixture
def live(
    live_server: Any, exact_world_factory: Callable[..., ExactWorld], workspace: Any, auth_client: Any
) -> Connected:
    """Connected, the gateway served over HTTP at its public URL (Exact's callbacks reach it)."""
    return _connect(exact_world_factory(public_url=live_server.url), workspace, auth_client)


def _backfill(connected: Connected, *resources: str) -> None:
    for resource in resources:
        run = services.sync_run_request(connection=connected.connection, resource=resource, trigger="test")
        assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED


def _sandbox_subscriptions(connected: Connected) -> dict[str, dict[str, Any]]:
    return {row["topic"]: row for row in connected.world.control.webhook_subscriptions()}


def _subscription_posts(connected: Connected) -> int:
    return sum(
        1
        for request in connected.world.control.requests(path="webhooks/WebhookSubscriptions")
        if request["method"] == "POST"
    )


def _a_contact(connected: Connected) -> StoredRecord:
    return StoredRecord.objects.filter(connection=connected.connection, resource="contacts").order_by("record_id")[0]


def _rename(connected: Connected, remote_id: str, name: str) -> None:
    """Change the account in Exact (through the passthrough, which does not touch the store)."""
    response = connected.client.post(
        connected.url("passthrough"),
        {"method": "PUT", "path": f"crm/Accounts(guid'{remote_id}')", "body": {"Name": name}},
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == 204, response.json()


def _name_through_api(connected: Connected, record_id: str) -> str:
    response = connected.client.get(connected.url(f"contacts/{record_id}"))
    assert response.status_code == 200, response.json()
    return str(response.json()["name"])


# ---------------------------------------------------------------------------------------------- subscriptions


def test_subscriptions_per_topic_are_kept_and_removed_at_disconnect(loopback: Connected) -> None:
    connection = loopback.connection
    rows = inbound.inbound_subscriptions_ensure(connection=connection)
    assert {row.topic for row in rows} == TOPICS
    remote = _sandbox_subscriptions(loopback)
    assert set(remote) == TOPICS
    assert {row["callback_url"] for row in remote.values()} == {"http://127.0.0.1:9/inbound/exact"}
    assert {row.remote_id for row in rows} == {row["subscription_id"] for row in remote.values()}
    assert _subscription_posts(loopback) == len(TOPICS)

    # Checking again creates nothing: one GET, no POST.
    loopback.world.control.clear_requests()
    inbound.inbound_subscriptions_ensure(connection=connection)
    assert _subscription_posts(loopback) == 0

    # Exact drops one on its side; the check schedule notices and subscribes again.
    dropped = remote["Items"]["subscription_id"]
    loopback.world.control.drop_webhook_subscription(dropped)
    assert tasks.inbound_subscriptions_check() == 1
    again = _sandbox_subscriptions(loopback)
    assert set(again) == TOPICS and again["Items"]["subscription_id"] != dropped
    assert (
        InboundSubscription.objects.get(connection=connection, topic="Items").remote_id
        == again["Items"]["subscription_id"]
    )
    assert _subscription_posts(loopback) == 1

    # Disconnecting removes them at Exact.
    response = loopback.client.delete(f"/api/v1/connections/{connection.pk}")
    assert response.status_code == 204, response.content
    assert _sandbox_subscriptions(loopback) == {}
    assert not InboundSubscription.objects.exists()


def test_the_connect_signal_queues_the_subscriptions(loopback: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_subscribe, "apply_async", lambda args, queue: sent.append([args, queue]))
    with transaction.atomic():
        connection_lifecycle_send("created", [loopback.connection])
        assert sent == []  # not before the connection is committed
    assert sent == [[[str(loopback.connection.pk)], "sync"]]
    # What the worker then does.
    assert tasks.inbound_subscribe(str(loopback.connection.pk)) == len(TOPICS)
    assert set(_sandbox_subscriptions(loopback)) == TOPICS


# ---------------------------------------------------------------------------------------------- receiving


def _event(
    connected: Connected,
    key: str,
    *,
    secret: str | None = None,
    action: str = "Update",
    topic: str = "Accounts",
    created_on: str = "2026-12-05T10:00:00.000000Z",
) -> bytes:
    content = {
        "Topic": topic,
        "ClientId": connected.world.client_id,
        "Division": connected.division,
        "Action": action,
        "Key": key,
        "ExactOnlineEndpoint": f"{connected.world.server.root_url}/nl/api/v1/101/crm/Accounts(guid'{key}')",
        "EventCreatedOn": created_on,
    }
    return event_body(content, connected.world.webhook_secret if secret is None else secret)


def test_a_forged_webhook_is_refused_and_changes_nothing(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    _backfill(connected, "contacts")
    contact = _a_contact(connected)
    _rename(connected, contact.remote_id, "Changed In Exact BV")
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    connected.world.control.reset_counters()
    web = Client()

    genuine = _event(connected, contact.remote_id)
    forged = _event(connected, contact.remote_id, secret="not-the-secret")
    unsigned = genuine[: genuine.index(b',"HashCode"')] + b"}"
    lower = genuine.replace(genuine[-66:-2], genuine[-66:-2].lower())
    tampered = genuine.replace(b'"Action":"Update"', b'"Action":"Delete"')
    for body in (forged, unsigned, lower, tampered, b'{"Content":{},"HashCode":"00"}', b"not json"):
        response = web.post("/inbound/exact", data=body, content_type="application/json")
        assert response.status_code in (400, 401), (body, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    assert web.post("/inbound/exact", data=forged, content_type="application/json").json()["code"] == (
        "invalid_signature"
    )
    assert queued == [] and not InboundEventSeen.objects.exists()
    assert connected.calls() == {}
    assert StoredRecord.objects.get(pk=contact.pk).data == contact.data

    # Exact's empty validation POST is answered; so is a genuine event, once (a redelivery is dropped).
    assert web.post("/inbound/exact", data=b"", content_type="").status_code == 200
    assert web.post("/inbound/exact", data=genuine, content_type="application/json").status_code == 200
    assert web.post("/inbound/exact", data=genuine, content_type="application/json").status_code == 200
    assert queued == [[str(connected.connection.pk), "contacts", [contact.remote_id], []]]
    assert web.get("/inbound/exact").status_code == 405
    assert web.post("/inbound/nobody", data=genuine, content_type="application/json").status_code == 404

    # The queued fetch: one call, the record as Exact has it now.
    assert connected.calls() == {}
    assert tasks.inbound_fetch(*queued[0]) == 1
    assert StoredRecord.objects.get(pk=contact.pk).data["name"] == "Changed In Exact BV"
    assert sum(sum(by_status.values()) for by_status in connected.calls().values()) == 1


def test_a_delete_event_soft_deletes_without_a_call(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    _backfill(connected, "contacts")
    contact = _a_contact(connected)
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    body = _event(connected, contact.remote_id, action="Delete")
    assert Client().post("/inbound/exact", data=body, content_type="application/json").status_code == 200
    connected.world.control.reset_counters()
    tasks.inbound_fetch(*queued[0])
    assert StoredRecord.objects.get(pk=contact.pk).deleted_at is not None
    assert connected.calls() == {}


def test_an_invoice_line_event_refreshes_its_invoice(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SalesInvoices topic also covers the lines: a key that is a line's brings its invoice."""
    connected.world.control.seed(connected.division, accounts=3, invoices=4, seed=5)
    _backfill(connected, "invoices")
    line = connected.dump("SalesInvoiceLines")[0]
    response = connected.client.post(
        connected.url("passthrough"),
        {
            "method": "PUT",
            "path": f"salesinvoice/SalesInvoiceLines(guid'{line['ID']}')",
            "body": {"Description": "Via webhook"},
        },
        format="json",
    )
    assert response.json()["status"] == 204, response.json()
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    body = _event(connected, line["ID"], topic="SalesInvoices")
    assert Client().post("/inbound/exact", data=body, content_type="application/json").status_code == 200
    assert tasks.inbound_fetch(*queued[0]) == 1
    stored = StoredRecord.objects.get(connection=connected.connection, resource="invoices", remote_id=line["InvoiceID"])
    assert "Via webhook" in [item["description"] for item in stored.data["lines"]]
    assert stored.deleted_at is None


def _passthrough(connected: Connected, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A write in Exact that does not touch the store (the passthrough); the answer's OData body."""
    request = {"method": method, "path": path, **({"body": body} if body is not None else {})}
    response = connected.client.post(connected.url("passthrough"), request, format="json")
    assert response.status_code == 200 and response.json()["status"] in (201, 204), response.json()
    return response.json()["body"]


def _stored(connected: Connected, resource: str, remote_id: str) -> StoredRecord | None:
    return StoredRecord.objects.filter(connection=connected.connection, resource=resource, remote_id=remote_id).first()


def _purchase_entry(connected: Connected, *amounts: int) -> dict[str, Any]:
    costs = next(row["ID"] for row in connected.dump("GLAccounts") if str(row["Code"]).strip() == "4000")
    supplier = next(row["ID"] for row in connected.dump("Accounts") if str(row["Code"]).strip() == "1")
    lines = [{"AmountFC": amount, "GLAccount": costs, "Description": f"Line {amount}"} for amount in amounts]
    body = {"Supplier": supplier, "Journal": "60", "PurchaseEntryLines": lines}
    return dict(_passthrough(connected, "POST", "purchaseentry/PurchaseEntries", body)["d"])


def test_a_purchase_entry_line_event_refreshes_its_entry(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    """PurchaseEntries also covers the lines (NOTES.md: Webhooks): a key that is a line's brings its entry."""
    _backfill(connected, "purchase-invoices")
    entry = _purchase_entry(connected, 10, 20)
    _backfill(connected, "purchase-invoices")
    line = next(row for row in connected.dump("PurchaseEntryLines") if row["EntryID"] == entry["EntryID"])
    _passthrough(connected, "PUT", f"purchaseentry/PurchaseEntryLines(guid'{line['ID']}')", {"Description": "Hook"})
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))
    body = _event(connected, line["ID"], topic="PurchaseEntries")
    assert Client().post("/inbound/exact", data=body, content_type="application/json").status_code == 200
    assert queued == [[str(connected.connection.pk), "purchase-invoices", [line["ID"]], []]]
    assert tasks.inbound_fetch(*queued[0]) == 1
    stored = _stored(connected, "purchase-invoices", entry["EntryID"])
    assert stored is not None and stored.deleted_at is None
    assert "Hook" in [item["description"] for item in stored.data["lines"]]


def _delete_read_back(
    connected: Connected, monkeypatch: pytest.MonkeyPatch, *, topic: str, resource: str, key: str, entity_path: str
) -> None:
    """A Delete on `topic` for the record `key`: read back at Exact and kept while Exact still has it; once Exact
    has deleted it (`entity_path`, through the passthrough), the same event removes it."""
    queued: list[list[Any]] = []
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))

    def delivered(created_on: str) -> StoredRecord:
        body = _event(connected, key, topic=topic, action="Delete", created_on=created_on)
        assert Client().post("/inbound/exact", data=body, content_type="application/json").status_code == 200
        assert queued == [[str(connected.connection.pk), resource, [key], []]]
        connected.world.control.reset_counters()
        tasks.inbound_fetch(*queued.pop())
        assert connected.calls(), "read back at Exact before anything is removed"
        stored = _stored(connected, resource, key)
        assert stored is not None
        return stored

    assert delivered("2026-12-05T10:00:00.000000Z").deleted_at is None, "Exact still has it: kept"
    _passthrough(connected, "DELETE", entity_path)
    assert delivered("2026-12-05T10:00:01.000000Z").deleted_at is not None, "gone at Exact: removed"


def test_a_delete_of_a_header_topic_is_read_back(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Delete on PurchaseEntries may stand for a line's removal (undocumented)."""
    _backfill(connected, "purchase-invoices")
    entry = _purchase_entry(connected, 10)
    _backfill(connected, "purchase-invoices")
    key = entry["EntryID"]
    path = f"purchaseentry/PurchaseEntries(guid'{key}')"
    _delete_read_back(
        connected, monkeypatch, topic="PurchaseEntries", resource="purchase-invoices", key=key, entity_path=path
    )


def test_a_sales_invoice_delete_is_read_back(connected: Connected, monkeypatch: pytest.MonkeyPatch) -> None:
    """SalesInvoices also covers its lines, so its Delete is read back too."""
    connected.world.control.seed(connected.division, accounts=3, invoices=2, seed=7)
    _backfill(connected, "invoices")
    key = connected.dump("SalesInvoices")[0]["InvoiceID"]
    path = f"salesinvoice/SalesInvoices(guid'{key}')"
    _delete_read_back(connected, monkeypatch, topic="SalesInvoices", resource="invoices", key=key, entity_path=path)


# ---------------------------------------------------------------------------------------------- end to end


@pytest.fixture
def worker(live: Connected, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in live.world.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LEDGERBRIDGE_CREDENTIAL_KEYS", ",".join(settings.LEDGERBRIDGE_CREDENTIAL_KEYS))
    celery_app.control.purge()  # nothing left over from other tests in this Redis database
    process = start_worker("sync")
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.redis
@pytest.mark.celery_worker
def test_a_change_in_exact_reaches_the_api_by_webhook_within_2_seconds(live: Connected, worker: Any) -> None:
    _backfill(live, "contacts")
    # Connect time: the lifecycle signal queues the subscriptions; the worker creates them, Exact validates the
    # callback with its empty POST against the live gateway.
    with transaction.atomic():
        connection_lifecycle_send("created", [live.connection])
    _wait(
        lambda: (
            len(_sandbox_subscriptions(live)) == len(TOPICS)
            and all(row["validated"] for row in _sandbox_subscriptions(live).values())
        ),
        60,
        "the subscriptions (worker start included)",
    )
    contact = _a_contact(live)
    assert _name_through_api(live, contact.record_id) != "Renamed By Webhook BV"

    started = time.monotonic()
    _rename(live, contact.remote_id, "Renamed By Webhook BV")
    _wait(lambda: _name_through_api(live, contact.record_id) == "Renamed By Webhook BV", 5, "the webhook")
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    # It came by webhook (a signed event answered 200), not by a sync run. The sandbox records a delivery only
    # once the gateway's answer is back, which can be after the store already shows the change: wait for it.
    assert live.world.server.sandbox.webhooks.wait_idle()
    events = [d for d in live.world.control.webhook_deliveries() if d["kind"] == "event"]
    assert events and events[-1]["ok"] and events[-1]["status_code"] == 200
    assert InboundEventSeen.objects.filter(connection=live.connection).count() == 1
    assert live.connection.sync_runs.filter(resource="contacts").count() == 1  # the backfill only


@pytest.mark.redis
def test_a_missed_webhook_is_caught_by_the_next_incremental_run(live: Connected) -> None:
    _backfill(live, "contacts")
    inbound.inbound_subscriptions_ensure(connection=live.connection)
    _wait(lambda: all(row["validated"] for row in _sandbox_subscriptions(live).values()), 10, "the validation POSTs")
    live.world.control.set_webhook_delivery(False)  # Exact loses the event
    contact = _a_contact(live)
    _rename(live, contact.remote_id, "Missed By Webhook BV")
    assert live.world.server.sandbox.webhooks.wait_idle()
    assert live.world.control.counters()["webhooks"]["missed"] == 1
    assert not InboundEventSeen.objects.exists()
    assert _name_through_api(live, contact.record_id) != "Missed By Webhook BV"

    _backfill(live, "contacts")  # the next incremental run
    assert _name_through_api(live, contact.record_id) == "Missed By Webhook BV"


def _written_in_exact(live: Connected) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(resource, entity set, key property, POST body) of one record per later topic (NOTES.md: Webhooks)."""
    code = {name: {str(row["Code"]).strip(): row["ID"] for row in live.dump(name)} for name in ("Accounts", "Items")}
    gl = {str(row["Code"]).strip(): row["ID"] for row in live.dump("GLAccounts")}
    employee = {str(row["Code"]).strip(): row["ID"] for row in live.dump("Employees")}["1"]
    customer, item = code["Accounts"]["1"], code["Items"]["CONSULT"]
    project = _passthrough(
        live, "POST", "project/Projects", {"Code": "P-HOOK", "Description": "Hooks", "Type": 3, "Account": customer}
    )["d"]["ID"]
    entry = {"Project": project, "Item": item, "Quantity": 2, "Employee": employee}
    return [
        ("sales-orders", "salesorder/SalesOrders", "OrderID", {"OrderedBy": customer, "SalesOrderLines": [
            {"Item": item, "Quantity": 1}]}),
        ("purchase-invoices", "purchaseentry/PurchaseEntries", "EntryID", {"Supplier": customer, "Journal": "60",
            "PurchaseEntryLines": [{"AmountFC": 10, "GLAccount": gl["4000"]}]}),
        # A purchase credit note (Type 31): the same topic and Key, the same resource.
        ("purchase-invoices", "purchaseentry/PurchaseEntries", "EntryID", {"Supplier": customer, "Journal": "60",
            "PurchaseEntryLines": [{"AmountFC": -10, "GLAccount": gl["4000"]}]}),
        ("journal-entries", "generaljournalentry/GeneralJournalEntries", "EntryID", {"JournalCode": "90",
            "GeneralJournalEntryLines": [{"GLAccount": gl["4000"], "AmountFC": 5},
                                         {"GLAccount": gl["1100"], "AmountFC": -5}]}),
        ("time-entries", "project/TimeTransactions", "ID", entry),
        ("cost-entries", "project/CostTransactions", "ID", entry),
    ]  # fmt: skip


@pytest.mark.redis
def test_orders_entries_and_project_transactions_reach_the_store_by_webhook(
    live: Connected, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written (and then deleted) in Exact: the sandbox's signed event reaches the live gateway over HTTP and the
    targeted fetch it queues puts the record in the store (or removes it), without a sync run."""
    resources = ["sales-orders", "purchase-invoices", "journal-entries", "time-entries", "cost-entries"]
    _backfill(live, *resources)
    inbound.inbound_subscriptions_ensure(connection=live.connection)
    _wait(
        lambda: (
            set(_sandbox_subscriptions(live)) == TOPICS
            and all(row["validated"] for row in _sandbox_subscriptions(live).values())
        ),
        10,
        "the validation POSTs",
    )
    queued: list[list[Any]] = []  # filled by the live server's thread once each event is committed
    monkeypatch.setattr(tasks.inbound_fetch, "apply_async", lambda args, queue: queued.append(args))

    def fetch_queued(resource: str) -> None:
        _wait(lambda: bool(queued), 5, f"the webhook for {resource}")
        args = queued.pop(0)
        assert args[:2] == [str(live.connection.pk), resource], args
        assert tasks.inbound_fetch(*args) == 1

    for resource, path, key_name, body in _written_in_exact(live):
        key = str(_passthrough(live, "POST", path, body)["d"][key_name])
        fetch_queued(resource)
        stored = _stored(live, resource, key)
        assert stored is not None and stored.deleted_at is None, (resource, key)
        if resource == "purchase-invoices":
            assert stored.data["type"] in ("invoice", "credit_note")
        _passthrough(live, "DELETE", f"{path}(guid'{key}')")
        fetch_queued(resource)
        stored = _stored(live, resource, key)
        assert stored is not None and stored.deleted_at is not None, (resource, key)

    assert live.world.server.sandbox.webhooks.wait_idle()
    assert queued == []
    types = {row.data["type"] for row in StoredRecord.objects.filter(resource="purchase-invoices")}
    assert types == {"invoice", "credit_note"}
    for resource in resources:
        assert live.connection.sync_runs.filter(resource=resource).count() == 1, resource  # the backfill only
