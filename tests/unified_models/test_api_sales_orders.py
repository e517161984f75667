"""Sales orders through the API against the Exact sandbox: created open with the item's price and VAT, checked in the
sandbox dump, read back from the store after a sync; turned into an invoice (Exact's InvoiceSalesOrders); a missing
or unknown customer or item is refused naming the field before the order is sent; Xero declares the resource
unsupported."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.xero import XeroWorld, connect_xero_via_sandbox
from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import SyncRunState

pytestmark = pytest.mark.django_db(transaction=True)

NOWHERE = "2f9e8d7c-6b5a-4e3d-8c2b-1a0f9e8d7c6b"


def _items(connected: Connected) -> dict[str, str]:
    response = connected.client.get(connected.url("items"), {"page_size": 200})
    assert response.status_code == 200, response.json()
    return {row["code"]: row["id"] for row in response.json()["results"]}


def _order(customer: str, items: dict[str, str]) -> dict[str, Any]:
    return {
        "contact_id": customer,
        "order_date": "2025-03-03",
        "delivery_date": "2025-03-10",
        "reference": "PO-2291",
        "lines": [
            {"item_id": items["CONSULT"], "quantity": "2"},
            {"item_id": items["BOOK"], "quantity": "1", "unit_price": "45.00", "description": "Handboek, gesigneerd"},
        ],
    }


def _order_posts(connected: Connected) -> int:
    return sum(
        count
        for endpoint, by_status in connected.calls().items()
        if "salesorder" in endpoint.lower()
        for count in by_status.values()
    )


def test_an_order_round_trips_through_the_sandbox_and_the_store(mapped: Connected, first_customer_id: str) -> None:
    items = _items(mapped)

    response = mapped.client.post(mapped.url("sales-orders"), _order(first_customer_id, items), format="json")

    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["status"], order["delivery_status"], order["invoice_status"]) == ("open", "open", "open")
    assert (order["contact_id"], order["order_date"], order["delivery_date"], order["reference"]) == (
        first_customer_id,
        "2025-03-03",
        "2025-03-10",
        "PO-2291",
    )
    # CONSULT: 2 x 95.00 at 21 % (the item's VAT code 2); BOOK: 45.00 at 9 % (code 1).
    assert [
        (
            line["item_id"],
            line["quantity"],
            line["unit_price"],
            line["tax_rate_id"],
            line["net_amount"],
            line["tax_amount"],
        )
        for line in order["lines"]
    ] == [
        (items["CONSULT"], "2.0", "95.0", "2", "190.00", "39.90"),
        (items["BOOK"], "1.0", "45.0", "1", "45.00", "4.05"),
    ]
    assert (order["net_total"], order["tax_total"], order["total"]) == ("235.00", "43.95", "278.95")

    (header,) = mapped.dump("SalesOrders")
    assert (header["OrderID"], header["OrderedBy"], header["InvoiceTo"], header["YourRef"], header["Status"]) == (
        order["remote_id"],
        first_customer_id,
        first_customer_id,
        "PO-2291",
        12,
    )
    lines = sorted(mapped.dump("SalesOrderLines"), key=lambda line: line["LineNumber"])
    assert [(line["Item"], line["Quantity"], line["UnitPrice"], line["Description"]) for line in lines] == [
        (items["CONSULT"], 2.0, 95.0, None),
        (items["BOOK"], 1.0, 45.0, "Handboek, gesigneerd"),
    ]

    run = services.sync_run_request(connection=mapped.connection, resource="sales-orders", trigger="test")
    assert services.sync_run_execute(run_id=run.pk).state == SyncRunState.SUCCEEDED
    mapped.world.control.reset_counters()
    page = mapped.client.get(mapped.url("sales-orders"), {"contact_id": first_customer_id})
    one = mapped.client.get(mapped.url(f"sales-orders/{order['id']}"))
    assert mapped.calls() == {}

    expected = {name: value for name, value in order.items() if name not in ("warnings", "mutation_id")}
    assert page.status_code == 200 and page.json()["source"] == "store" and page.json()["results"] == [expected]
    assert one.status_code == 200 and one.json() == expected


def test_an_order_becomes_an_invoice(mapped: Connected, first_customer_id: str) -> None:
    order = mapped.client.post(
        mapped.url("sales-orders"), _order(first_customer_id, _items(mapped)), format="json"
    ).json()

    response = mapped.client.post(mapped.url(f"sales-orders/{order['id']}/invoice"), {}, format="json")

    assert response.status_code == 201, response.json()
    invoice = response.json()
    assert (invoice["contact_id"], invoice["reference"], invoice["journal_code"], invoice["status"]) == (
        first_customer_id,
        "PO-2291",
        "70",  # the mapping's sales journal
        "open",
    )
    assert [(line["item_id"], line["net_amount"], line["tax_amount"]) for line in invoice["lines"]] == [
        (line["item_id"], line["net_amount"], line["tax_amount"]) for line in order["lines"]
    ]
    assert (invoice["net_total"], invoice["total"]) == (order["net_total"], order["total"])
    (stored,) = mapped.dump("SalesInvoices")
    assert stored["InvoiceID"] == invoice["remote_id"]
    assert {line["SalesOrder"] for line in mapped.dump("SalesInvoiceLines")} == {order["remote_id"]}
    (header,) = mapped.dump("SalesOrders")
    assert header["InvoiceStatus"] == 21
    assert mapped.client.get(mapped.url(f"sales-orders/{order['id']}")).json()["invoice_status"] == "complete"

    # Nothing left to invoice: Exact creates no invoice, which is its refusal.
    again = mapped.client.post(mapped.url(f"sales-orders/{order['id']}/invoice"), {}, format="json")
    assert again.status_code == 422, again.json()
    assert len(mapped.dump("SalesInvoices")) == 1


REQUEST = "validation_error"  # the body refused by the request's own validation, before any connector work
VENDOR_RULES = None  # a 422 of the vendor's rules (`invalid_input`, ...), found out before the order is sent


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (lambda body: body.pop("contact_id"), REQUEST, "contact_id"),
        (lambda body: body["lines"][1].pop("item_id"), REQUEST, "lines.1.item_id"),
        (lambda body: body.update(lines=[]), REQUEST, "lines"),
        (lambda body: body.update(contact_id=NOWHERE), VENDOR_RULES, "contact_id"),
        (lambda body: body["lines"][1].update(item_id=NOWHERE), VENDOR_RULES, "lines[1].item_id"),
        (lambda body: body["lines"][0].update(item_id="CONSULT"), VENDOR_RULES, "lines[0].item_id"),
    ],
    ids=["no-customer", "line-without-item", "no-lines", "unknown-customer", "unknown-item", "item-not-an-id"],
)
def test_bad_input_is_refused_naming_the_field_before_the_order_is_sent(
    mapped: Connected, first_customer_id: str, change: Any, code: str | None, field: str
) -> None:
    body = _order(first_customer_id, _items(mapped))
    change(body)
    mapped.world.control.reset_counters()

    response = mapped.client.post(mapped.url("sales-orders"), body, format="json")

    # The request's own validation (422 `validation_error`) or the vendor's rules (another 422 code).
    assert response.status_code == 422, response.json()
    assert response.headers["Content-Type"] == "application/problem+json"
    assert (response.json()["code"] == REQUEST) == (code == REQUEST), response.json()
    assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    assert _order_posts(mapped) == 0
    if code == REQUEST or field == "lines[0].item_id":
        assert mapped.calls() == {}  # refused before the connector read anything
    assert mapped.dump("SalesOrders") == []


def test_xero_declares_sales_orders_unsupported(xero_world: XeroWorld, workspace: Any, auth_client: Any) -> None:
    _, (connection,) = connect_xero_via_sandbox(xero_world, workspace=workspace)

    listed = auth_client.get(f"/api/v1/connections/{connection.pk}/sales-orders")
    created = auth_client.post(f"/api/v1/connections/{connection.pk}/sales-orders", {}, format="json")

    assert listed.status_code == 405, listed.json()
    assert listed.json()["code"] == "operation_not_supported"
    assert created.status_code in (405, 422), created.json()
    invoiced = auth_client.post(f"/api/v1/connections/{connection.pk}/sales-orders/any/invoice", {}, format="json")
    assert invoiced.status_code == 405, invoiced.json()
