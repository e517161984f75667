"""unified_models/codec.py: a write's stored request (the validated serializer data, a plain dict) <-> the unified
input records, with no serializer involved."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.renderers import JSONRenderer
from rest_framework.serializers import ListSerializer

from connectors.base import records
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
from connectors.exact.mappers import (
    contact_from_exact,
    invoice_from_exact,
    item_from_exact,
    journal_from_exact,
    ledger_account_from_exact,
    payment_from_exact,
    tax_rate_from_exact,
)
from unified_models import codec
from unified_models.serializers import (
    ContactCreateSerializer,
    ContactUpdateSerializer,
    InvoiceCreateSerializer,
    InvoiceUpdateSerializer,
    ItemCreateSerializer,
)
from unified_models.specs import RECORD_SERIALIZERS, SPECS

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
    assert refused.value.field == field and refused.value.problem == "validation_error"


# ---------------------------------------------------------------------------------------------- record -> API dict

# The output side: `record_to_data` must give, byte for byte, what each resource's record serializer (the schema's
# description of a record) gives, with and without remote_data. Checked over the recorded Exact responses the
# mapper tests use and over generated records of every resource in the specs table (every field set or null).

EXACT_FIXTURES = Path(__file__).parents[1] / "connectors" / "exact" / "fixtures"
RECORDED: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("accounts.json", lambda row: contact_from_exact(row, today=date(2024, 6, 1))),
    ("gl_accounts.json", ledger_account_from_exact),
    ("vat_codes.json", tax_rate_from_exact),
    ("journals.json", journal_from_exact),
    ("items.json", lambda row: item_from_exact(row, today=date(2024, 6, 1))),
    ("receivables.json", payment_from_exact),
    ("sales_invoices.json", invoice_from_exact),
]
# Each resource's record type and its record serializer (ContactSerializer renders records.Contact).
SERIALIZER_BY_RECORD_TYPE = {
    getattr(records, serializer.__name__.removesuffix("Serializer")): serializer
    for serializer in RECORD_SERIALIZERS.values()
}
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)), ZoneInfo("Europe/Amsterdam")]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _serialized(record: Any, *, include_remote_data: bool) -> bytes:
    """The record as its spec's record serializer renders it (what the API answered before the codec did)."""
    serializer = SERIALIZER_BY_RECORD_TYPE[type(record)]
    return JSONRenderer().render(serializer(record, context={"include_remote_data": include_remote_data}).data)


def _encoded(record: Any, *, include_remote_data: bool) -> bytes:
    data = codec.record_to_data(record, include_remote_data=include_remote_data)
    json.dumps(data)  # plain JSON values only: no Decimal, date or enum left for a renderer to convert
    return JSONRenderer().render(data)


def _values(hint: Any) -> st.SearchStrategy[Any]:
    """Any value of a record field's type that the record accepts (aware datetimes, Decimal money, ISO countries)."""
    if isinstance(hint, types.UnionType):
        (given,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return st.none() | _values(given)
    if typing.get_origin(hint) is tuple:
        return st.lists(_values(typing.get_args(hint)[0]), max_size=3).map(tuple)
    if typing.get_origin(hint) is dict:
        return st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=3)
    if dataclasses.is_dataclass(hint):
        return _records(hint)
    if hint is datetime:
        return st.datetimes(timezones=st.sampled_from(ZONES))
    if hint is Decimal:
        return st.decimals(allow_nan=False, allow_infinity=False)
    return st.from_type(hint)


def _records(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {field.name: _values(hints[field.name]) for field in dataclasses.fields(cls)}
    if "country" in fields:
        fields["country"] = st.none() | st.sampled_from(["NL", "GB", "BE"])
    return st.builds(cls, **fields)


def test_every_record_serializer_has_exactly_its_record_types_fields_in_order() -> None:
    """The encoder walks the record's fields; the serializer (the schema) must name the same ones, in the same order."""

    def same_fields(serializer: Any, record_type: type[Any]) -> None:
        assert list(serializer.fields) == codec._api_field_names(record_type), record_type
        assert set(serializer.fields) == {field.name for field in dataclasses.fields(record_type)}, record_type
        hints = typing.get_type_hints(record_type)
        for name, field in serializer.fields.items():
            if isinstance(field, ListSerializer):  # lines, addresses: their own fields, in the same order
                same_fields(field.child, typing.get_args(hints[name])[0])

    for record_type, serializer in SERIALIZER_BY_RECORD_TYPE.items():
        same_fields(serializer(), record_type)
    assert set(SERIALIZER_BY_RECORD_TYPE) >= {records.Contact, records.PurchaseInvoice, records.JournalEntry}
    assert len(SERIALIZER_BY_RECORD_TYPE) == len(RECORD_SERIALIZERS) > len(SPECS)


@pytest.mark.parametrize(("fixture", "from_exact"), RECORDED, ids=[name for name, _ in RECORDED])
@pytest.mark.parametrize("include_remote_data", [False, True])
def test_recorded_records_encode_as_their_serializer_renders_them(
    fixture: str, from_exact: Callable[[dict[str, Any]], Any], include_remote_data: bool
) -> None:
    rows = json.loads((EXACT_FIXTURES / fixture).read_text())["d"]["results"]
    # Rows whose lines were not expanded do not map (the mapper refuses to guess "no lines").
    rows = [row for row in rows if "__deferred" not in (row.get("SalesInvoiceLines") or {})]
    assert rows
    for row in rows:
        record = from_exact(row)
        assert _encoded(record, include_remote_data=include_remote_data) == _serialized(
            record, include_remote_data=include_remote_data
        )


@pytest.mark.parametrize("record_type", SERIALIZER_BY_RECORD_TYPE, ids=lambda record_type: record_type.__name__)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), include_remote_data=st.booleans())
def test_any_record_of_every_resource_encodes_as_its_serializer_renders_it(
    record_type: type[Any], data: st.DataObject, include_remote_data: bool
) -> None:
    record = data.draw(_records(record_type))
    assert _encoded(record, include_remote_data=include_remote_data) == _serialized(
        record, include_remote_data=include_remote_data
    )


def test_a_datetime_is_written_in_utc_with_z_and_remote_data_only_on_request() -> None:
    contact = records.Contact(
        id="c-1",
        remote_id="c-1",
        name="Bakkerij",
        updated_at=datetime(2025, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=1))),
        remote_data={"ID": "c-1"},
    )
    data = codec.record_to_data(contact)
    assert data["updated_at"] == "2025-03-01T13:30:00Z" and "remote_data" not in data
    assert codec.record_to_data(contact, include_remote_data=True)["remote_data"] == {"ID": "c-1"}
