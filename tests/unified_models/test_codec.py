"""unified_models/codec.py: a write's stored request (the validated serializer data, a plain dict) <-> the unified
input records, with no serializer involved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.records import (
    Address,
    AddressType,
    ContactInput,
    InvalidInput,
    InvoiceInput,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    InvoiceUpdate,
    ItemInput,
    PurchaseInvoiceInput,
    PurchaseInvoiceLineInput,
    RecordStatus,
)
from unified_models import codec
from unified_models.serializers import (
    ContactCreateSerializer,
    ContactUpdateSerializer,
    InvoiceCreateSerializer,
    InvoiceUpdateSerializer,
    ItemCreateSerializer,
)

INVOICE = {
    "contact_id": "c-1",
    "issue_date": "2025-03-01",
    "currency": "eur",
    "lines": [
        {"description": "Consultancy", "quantity": "2", "unit_price": "100.00", "tax_rate": "21"},
        {"item_code": "handbook", "quantity": "-1.50", "unit_price": "39.95", "tax_code": "low"},
    ],
}


def _stored(serializer_class: type[Any], data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """What the API layer stores on the mutation: the serializer's data, as JSON would keep it."""
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.data)


def test_a_stored_invoice_request_reads_back_as_its_typed_input() -> None:
    stored = _stored(InvoiceCreateSerializer, INVOICE)
    assert stored["lines"][0]["quantity"] == "2.000000"  # the serializer pads; the input does not
    assert codec.input_from_data("invoices", "create", stored) == InvoiceInput(
        contact_id="c-1",
        issue_date=date(2025, 3, 1),
        currency="EUR",
        type=InvoiceType.INVOICE,
        lines=(
            InvoiceLineInput(
                description="Consultancy", quantity=Decimal(2), unit_price=Decimal("100"), tax_rate=Decimal(21)
            ),
            InvoiceLineInput(
                item_code="handbook", quantity=Decimal("-1.5"), unit_price=Decimal("39.95"), tax_code="low"
            ),
        ),
    )
    line = codec.input_from_data("invoices", "create", stored).lines[1]  # type: ignore[union-attr]
    assert str(line.quantity) == "-1.5" and str(line.unit_price) == "39.95"  # no padding reaches a vendor


def test_an_update_leaves_out_what_was_not_given_or_given_as_null() -> None:
    stored = _stored(InvoiceUpdateSerializer, {"reference": "R-2", "due_date": None, "status": "draft"}, partial=True)
    assert codec.input_from_data("invoices", "update", stored) == InvoiceUpdate(
        reference="R-2", status=InvoiceStatus.DRAFT
    )


def test_contacts_and_items() -> None:
    stored = _stored(
        ContactCreateSerializer,
        {"name": "Bakkerij", "is_customer": True, "addresses": [{"city": "Delft", "country": "nl"}], "status": None},
    )
    contact = codec.input_from_data("contacts", "create", stored)
    assert contact == ContactInput(
        name="Bakkerij", is_customer=True, addresses=(Address(type=AddressType.MAIN, city="Delft", country="NL"),)
    )
    cleared = codec.input_from_data(
        "contacts", "update", _stored(ContactUpdateSerializer, {"addresses": []}, partial=True)
    )
    assert cleared == ContactInput(addresses=())  # () clears; None would leave the address alone
    item = codec.input_from_data(
        "items", "create", _stored(ItemCreateSerializer, {"code": "B", "name": "Book", "unit_price": "9.50"})
    )
    assert item == ItemInput(code="B", name="Book", unit_price=Decimal("9.5"), is_sales_item=True)


@pytest.mark.parametrize(
    "value",
    [
        InvoiceInput(
            contact_id="c-1",
            lines=(InvoiceLineInput(quantity=Decimal("3"), unit_price=Decimal("0.5"), tax_rate=Decimal(9)),),
            type=InvoiceType.CREDIT_NOTE,
            status=InvoiceStatus.DRAFT,
            due_date=date(2025, 4, 1),
        ),
        InvoiceUpdate(description="April", lines=(InvoiceLineInput(item_id="i-1"),)),
        ContactInput(
            name="A", is_supplier=False, addresses=(Address(city="Gent", country="BE"),), status=RecordStatus.ARCHIVED
        ),
        ItemInput(code="X", name="Y", unit_price=Decimal("12.25"), is_sales_item=False),
        PurchaseInvoiceInput(
            contact_id="s-1",
            number="INV-1",
            issue_date=date(2025, 3, 3),
            lines=(
                PurchaseInvoiceLineInput(ledger_account_id="g-1", net_amount=Decimal("120")),
                PurchaseInvoiceLineInput(
                    ledger_account_id="g-2", net_amount=Decimal("-4.5"), tax_rate_id="6", tax_amount=Decimal("0.41")
                ),
            ),
        ),
    ],
)
def test_the_codec_round_trips_every_input(value: Any) -> None:
    resource, operation = {
        InvoiceInput: ("invoices", "create"),
        InvoiceUpdate: ("invoices", "update"),
        ContactInput: ("contacts", "create"),
        ItemInput: ("items", "create"),
        PurchaseInvoiceInput: ("purchase-invoices", "create"),
    }[type(value)]
    data = codec.input_to_data(value)
    assert all(isinstance(v, str | bool | list | dict) for v in data.values()), data  # JSON-safe, no None
    assert codec.input_from_data(resource, operation, data) == value


@pytest.mark.parametrize(
    ("resource", "operation", "data", "field"),
    [
        ("invoices", "create", {"contact_id": "c", "lines": [{"unit_price": "abc"}]}, "lines.0.unit_price"),
        ("invoices", "create", {"contact_id": "c", "lines": [{"quantity": 1.5}]}, "lines.0.quantity"),
        ("invoices", "create", {"contact_id": "c", "lines": [{"colour": "red"}]}, "lines.0.colour"),
        ("invoices", "create", {"lines": []}, "contact_id"),
        ("invoices", "create", {"contact_id": "c", "lines": [], "issue_date": "1 March"}, "issue_date"),
        ("invoices", "update", {"type": "receipt"}, "type"),
        ("contacts", "create", {"name": "A", "addresses": [None]}, "addresses.0"),
        ("items", "create", {"code": "X", "unit_price": "NaN"}, "unit_price"),
        ("journals", "create", {}, "operation"),
        (
            "purchase-invoices",
            "create",
            {"contact_id": "s", "lines": [{"net_amount": "1"}]},
            "lines.0.ledger_account_id",
        ),
        ("purchase-invoices", "create", {"lines": []}, "contact_id"),
        ("journal-entries", "create", {"journal_code": "90", "lines": [{"debit": "1"}]}, "lines.0.ledger_account_id"),
        ("journal-entries", "create", {"lines": []}, "journal_code"),
    ],
)
def test_data_that_is_no_such_input_is_refused_naming_the_field(
    resource: str, operation: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        codec.input_from_data(resource, operation, data)
    assert refused.value.field == field and refused.value.status == 400
