"""Sales orders as Exact's salesorder/SalesOrders with SalesOrderLines.

Facts followed (NOTES.md: Entities, salesorder/SalesOrders; reference 2022 meta-data):
- GET, POST, PUT, DELETE. POST takes the header with its lines: OrderedBy (an account GUID; InvoiceTo and DeliverTo
  follow it and cannot change afterwards), OrderDate, DeliveryDate, Currency, Description, YourRef; a line names
  its Item (a GUID) with Quantity and optionally UnitPrice, Description and VATCode (else the item's defaults).
- Status, DeliveryStatus and InvoiceStatus are GET-only: 12 open, 20 partial, 21 complete, 45 cancelled.
  AmountFCExclVat and AmountFC are GET-only totals; a line's AmountFC excludes VAT, VATAmount is its VAT.
- No sync/ set exists for sales orders (endpoint index 2025): the local copy reads the regular endpoint with its
  lines expanded every run (sync.py: a snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from connectors.base.records import OrderStatus, SalesOrder, SalesOrderInput, SalesOrderLine
from connectors.exact.mappers import UnexpectedExactValue, _base, _expanded_lines, _int, _optional
from connectors.exact.values import clean_text, format_exact_date, parse_exact_date, strip_code, to_decimal, to_money

ExactObject = Mapping[str, Any]

PATH = "salesorder/SalesOrders"
# POST only: SalesOrderIDs, CreateMode, InvoiceMode, JournalCode in; NumberOfCreatedInvoices, Errors out (NOTES.md).
INVOICE_PATH = "salesinvoice/InvoiceSalesOrders"
LINES = "SalesOrderLines"
FIELDS = (
    "OrderID",
    "Created",
    "Modified",
    "OrderNumber",
    "OrderedBy",
    "OrderDate",
    "DeliveryDate",
    "Currency",
    "YourRef",
    "Description",
    "Status",
    "DeliveryStatus",
    "InvoiceStatus",
    "AmountFCExclVat",
    "AmountFC",
)
LINE_FIELDS = ("ID", "LineNumber", "Item", "Description", "Quantity", "UnitPrice", "VATCode", "AmountFC", "VATAmount")
STATUSES = {
    12: OrderStatus.OPEN,
    20: OrderStatus.PARTIAL,
    21: OrderStatus.COMPLETE,
    45: OrderStatus.CANCELLED,
}


def _status(order: ExactObject, name: str) -> OrderStatus:
    value = _int(order, name)
    if value not in STATUSES:
        raise UnexpectedExactValue(name, value, "12, 20, 21 or 45")
    return STATUSES[value]


def sales_order_from_exact(order: ExactObject) -> SalesOrder:
    raw_lines = _expanded_lines(order.get(LINES))
    ordered = [line for _, line in sorted(enumerate(raw_lines), key=lambda p: (_int(p[1], "LineNumber") or 0, p[0]))]
    lines = tuple(_line_from_exact(line) for line in ordered)
    net_total = to_money(order.get("AmountFCExclVat"), "AmountFCExclVat") or Decimal("0.00")
    total = to_money(order.get("AmountFC"), "AmountFC") or Decimal("0.00")
    number = _int(order, "OrderNumber")
    return SalesOrder(
        **_base(order, "OrderID"),
        number=str(number) if number else None,
        status=_status(order, "Status"),
        delivery_status=_status(order, "DeliveryStatus"),
        invoice_status=_status(order, "InvoiceStatus"),
        contact_id=clean_text(order.get("OrderedBy")),
        order_date=parse_exact_date(order.get("OrderDate"), "OrderDate"),
        delivery_date=parse_exact_date(order.get("DeliveryDate"), "DeliveryDate"),
        currency=clean_text(order.get("Currency")),
        reference=clean_text(order.get("YourRef")),
        description=clean_text(order.get("Description")),
        lines=lines,
        net_total=net_total,
        tax_total=total - net_total,
        total=total,
    )


def _line_from_exact(line: ExactObject) -> SalesOrderLine:
    return SalesOrderLine(
        id=clean_text(line.get("ID")),
        description=clean_text(line.get("Description")),
        quantity=to_decimal(line.get("Quantity"), "Quantity") or Decimal(0),
        unit_price=to_decimal(line.get("UnitPrice"), "UnitPrice"),
        item_id=clean_text(line.get("Item")),
        tax_rate_id=strip_code(line.get("VATCode")),
        net_amount=to_money(line.get("AmountFC"), "AmountFC") or Decimal("0.00"),
        tax_amount=to_money(line.get("VATAmount"), "VATAmount") or Decimal("0.00"),
    )


def sales_order_to_exact(order: SalesOrderInput) -> dict[str, Any]:
    """SalesOrderInput -> the POST body (ids already checked to be GUIDs). Amounts stay Decimal."""
    payload: dict[str, Any] = {
        "OrderedBy": order.contact_id,
        **_optional(order, {"currency": "Currency", "reference": "YourRef", "description": "Description"}),
    }
    if order.order_date is not None:
        payload["OrderDate"] = format_exact_date(order.order_date)
    if order.delivery_date is not None:
        payload["DeliveryDate"] = format_exact_date(order.delivery_date)
    lines = []
    for line in order.lines:
        values: dict[str, Any] = {"Item": line.item_id, "Quantity": line.quantity}
        if line.unit_price is not None:
            values["UnitPrice"] = line.unit_price
        if line.description is not None:
            values["Description"] = line.description
        if line.tax_rate_id is not None:
            values["VATCode"] = line.tax_rate_id.strip()
        lines.append(values)
    payload[LINES] = lines
    return payload
