"""Plain dicts <-> the unified input records (connectors.base.records): how a write's request is stored and read back.

The API layer validates the client's JSON with its serializers and stores the validated request as a plain
JSON-safe dict on the Mutation (decimals as strings, dates ISO-8601, enums as their values). Services never see a
serializer: they turn that dict into the typed input with `input_from_data`, and `input_to_data` is the way back
(the same dict shape). Both sides of the codec live here, without DRF, so the two cannot drift apart.

The output side is here too: `record_to_data` is a unified record as the API shows it (the body of a read, the
record part of a write's answer, a mutation's stored outcome, a store row). It gives exactly what the record
serializers of unified_models.serializers give (those stay as the schema's description of it; a test holds the two
equal for every resource), without building a serializer per record.
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any, TypeVar

from django.utils import timezone

from connectors.base.records import (
    Address,
    AddressType,
    ContactInput,
    CostEntryInput,
    CostEntryUpdate,
    InvalidInput,
    InvoiceInput,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    InvoiceUpdate,
    ItemInput,
    JournalEntryInput,
    JournalEntryLineInput,
    ProjectInput,
    ProjectType,
    PurchaseInvoiceInput,
    PurchaseInvoiceLineInput,
    RecordStatus,
    SalesOrderInput,
    SalesOrderLineInput,
    TaxedLine,
    TimeEntryInput,
    TimeEntryStatus,
    TimeEntryUpdate,
)

UnifiedInput = (
    ContactInput
    | InvoiceInput
    | InvoiceUpdate
    | ItemInput
    | PurchaseInvoiceInput
    | JournalEntryInput
    | SalesOrderInput
    | ProjectInput
    | TimeEntryInput
    | CostEntryInput
    | TimeEntryUpdate
    | CostEntryUpdate
)


def plain_decimal(value: Decimal) -> Decimal:
    """The same value without padding: 2.000000 -> 2, 39.950000 -> 39.95 (what vendors are sent)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _decimal(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidInput(field, "A decimal number written as a string.", problem="validation_error")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(field, "A decimal number written as a string.", problem="validation_error") from None
    if not number.is_finite():
        raise InvalidInput(field, "A finite decimal number.", problem="validation_error")
    return plain_decimal(number)


def _date(value: Any, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidInput(field, "A date as YYYY-MM-DD.", problem="validation_error") from None


def _enum(enum: type[Any], value: Any, field: str) -> Any:
    if value is None or value == "":
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(field, f"One of {allowed}.", problem="validation_error") from None


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(field, "An object.", problem="validation_error")
    return value


def _known(data: Mapping[str, Any], cls: type[Any], field: str = "") -> None:
    """A key the record has no field for is an error, never silently dropped."""
    unknown = sorted(set(data) - set(cls.__dataclass_fields__))
    if unknown:
        name = f"{field}.{unknown[0]}" if field else unknown[0]
        raise InvalidInput(name, "Not a field of this input.", problem="validation_error")


# ---------------------------------------------------------------------------------------------- dict -> record


def _address(data: Any, field: str) -> Address:
    address = dict(_mapping(data, field))
    _known(address, Address, field)
    address["type"] = _enum(AddressType, address.get("type"), f"{field}.type") or AddressType.MAIN
    return Address(**address)


def _require(given: Mapping[str, Any], *names: str, field: str = "") -> None:
    """InvalidInput naming the first of `names` not given."""
    for name in names:
        if name not in given:
            raise InvalidInput(f"{field}.{name}" if field else name, "Required.", problem="validation_error")


L = TypeVar("L")


def _line_reader(
    line_type: type[L], *, required: tuple[str, ...] = (), decimals: tuple[str, ...] = ()
) -> Callable[[Any, str], L]:
    """The reader of one kind of line: the fields given (null is "not given"), the required ones present, the
    decimal ones as Decimal; errors name the line's field (`lines.1.quantity`)."""

    def read(data: Any, field: str) -> L:
        given = {name: value for name, value in _mapping(data, field).items() if value is not None}
        _known(given, line_type, field)
        _require(given, *required, field=field)
        for name in decimals:
            if name in given:
                given[name] = _decimal(given[name], f"{field}.{name}")
        return line_type(**given)

    return read


_invoice_line = _line_reader(InvoiceLineInput, decimals=("quantity", "unit_price", "tax_rate"))
_purchase_line = _line_reader(
    PurchaseInvoiceLineInput,
    required=("ledger_account_id", "net_amount"),
    decimals=("net_amount", "quantity", "tax_amount"),
)
_journal_line = _line_reader(
    JournalEntryLineInput, required=("ledger_account_id",), decimals=("debit", "credit", "tax_amount")
)
_sales_order_line = _line_reader(SalesOrderLineInput, required=("item_id",), decimals=("quantity", "unit_price"))


def _lines(value: Any, read: Callable[[Any, str], L]) -> tuple[L, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("lines", "A list of lines.", problem="validation_error")
    return tuple(read(line, f"lines.{index}") for index, line in enumerate(value))


def contact_input_from_data(data: Mapping[str, Any]) -> ContactInput:
    given = dict(data)
    _known(given, ContactInput)
    addresses = given.pop("addresses", None)
    if addresses is not None and not isinstance(addresses, list | tuple):
        raise InvalidInput("addresses", "A list of addresses.", problem="validation_error")
    return ContactInput(
        **{name: value for name, value in given.items() if name != "status"},
        addresses=None if addresses is None else tuple(_address(a, f"addresses.{i}") for i, a in enumerate(addresses)),
        status=_enum(RecordStatus, given.get("status"), "status"),
    )


def invoice_input_from_data(data: Mapping[str, Any]) -> InvoiceInput:
    given = dict(data)
    _known(given, InvoiceInput)
    _require(given, "contact_id", "lines")
    return InvoiceInput(
        **{name: value for name, value in given.items() if name not in ("lines", "type", "status", *_DATES)},
        lines=_lines(given["lines"], _invoice_line),
        type=_enum(InvoiceType, given.get("type"), "type") or InvoiceType.INVOICE,
        status=_enum(InvoiceStatus, given.get("status"), "status"),
        **{name: _date(given.get(name), name) for name in _DATES},
    )


def invoice_update_from_data(data: Mapping[str, Any]) -> InvoiceUpdate:
    # None means "leave it" in an update: a field given as null changes nothing.
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, InvoiceUpdate)
    if "lines" in given:
        given["lines"] = _lines(given["lines"], _invoice_line)
    for name in _DATES:
        if name in given:
            given[name] = _date(given[name], name)
    if "type" in given:
        given["type"] = _enum(InvoiceType, given["type"], "type")
    if "status" in given:
        given["status"] = _enum(InvoiceStatus, given["status"], "status")
    return InvoiceUpdate(**given)


def item_input_from_data(data: Mapping[str, Any]) -> ItemInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, ItemInput)
    if "unit_price" in given:
        given["unit_price"] = _decimal(given["unit_price"], "unit_price")
    return ItemInput(**given)


def purchase_invoice_input_from_data(data: Mapping[str, Any]) -> PurchaseInvoiceInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, PurchaseInvoiceInput)
    _require(given, "contact_id", "lines")
    lines = given.pop("lines")
    return PurchaseInvoiceInput(
        **{name: value for name, value in given.items() if name not in ("type", *_DATES)},
        lines=_lines(lines, _purchase_line),
        type=_enum(InvoiceType, given.get("type"), "type") or InvoiceType.INVOICE,
        **{name: _date(given.get(name), name) for name in _DATES},
    )


def journal_entry_input_from_data(data: Mapping[str, Any]) -> JournalEntryInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, JournalEntryInput)
    _require(given, "journal_code", "lines")
    lines = given.pop("lines")
    return JournalEntryInput(
        **{name: value for name, value in given.items() if name != "date"},
        lines=_lines(lines, _journal_line),
        date=_date(given.get("date"), "date"),
    )


def sales_order_input_from_data(data: Mapping[str, Any]) -> SalesOrderInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, SalesOrderInput)
    _require(given, "contact_id", "lines")
    lines = given.pop("lines")
    dates = ("order_date", "delivery_date")
    return SalesOrderInput(
        **{name: value for name, value in given.items() if name not in dates},
        lines=_lines(lines, _sales_order_line),
        **{name: _date(given.get(name), name) for name in dates},
    )


def project_input_from_data(data: Mapping[str, Any]) -> ProjectInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, ProjectInput)
    _require(given, "code", "name", "type")
    dates = ("start_date", "end_date")
    if "budgeted_hours" in given:
        given["budgeted_hours"] = _decimal(given["budgeted_hours"], "budgeted_hours")
    return ProjectInput(
        **{name: value for name, value in given.items() if name not in ("type", *dates)},
        type=_enum(ProjectType, given["type"], "type"),
        **{name: _date(given.get(name), name) for name in dates},
    )


def time_entry_input_from_data(data: Mapping[str, Any]) -> TimeEntryInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, TimeEntryInput)
    _require(given, "project_id", "item_id", "hours")
    return TimeEntryInput(
        **{name: value for name, value in given.items() if name not in ("hours", "date", "status")},
        hours=_decimal(given["hours"], "hours"),
        date=_date(given.get("date"), "date"),
        status=_enum(TimeEntryStatus, given.get("status"), "status"),
    )


def cost_entry_input_from_data(data: Mapping[str, Any]) -> CostEntryInput:
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, CostEntryInput)
    _require(given, "project_id", "item_id", "quantity")
    return CostEntryInput(
        **{name: value for name, value in given.items() if name not in ("quantity", "unit_price", "date", "status")},
        quantity=_decimal(given["quantity"], "quantity"),
        unit_price=_decimal(given["unit_price"], "unit_price") if "unit_price" in given else None,
        date=_date(given.get("date"), "date"),
        status=_enum(TimeEntryStatus, given.get("status"), "status"),
    )


def _entry_update_from_data(
    kind: type[TimeEntryUpdate] | type[CostEntryUpdate], decimals: tuple[str, ...], data: Mapping[str, Any]
) -> TimeEntryUpdate | CostEntryUpdate:
    # None means "leave it" in an update: a field given as null changes nothing.
    given = {name: value for name, value in data.items() if value is not None}
    _known(given, kind)
    return kind(
        **{name: _decimal(given[name], name) if name in given else None for name in decimals},
        date=_date(given.get("date"), "date"),
        description=given.get("description"),
        status=_enum(TimeEntryStatus, given.get("status"), "status"),
    )


def time_entry_update_from_data(data: Mapping[str, Any]) -> TimeEntryUpdate | CostEntryUpdate:
    return _entry_update_from_data(TimeEntryUpdate, ("hours",), data)


def cost_entry_update_from_data(data: Mapping[str, Any]) -> TimeEntryUpdate | CostEntryUpdate:
    return _entry_update_from_data(CostEntryUpdate, ("quantity", "unit_price"), data)


_DATES = ("issue_date", "due_date")

_READERS: Mapping[tuple[str, str], Callable[[Mapping[str, Any]], UnifiedInput]] = {
    ("contacts", "create"): contact_input_from_data,
    ("contacts", "update"): contact_input_from_data,
    ("invoices", "create"): invoice_input_from_data,
    ("invoices", "update"): invoice_update_from_data,
    ("items", "create"): item_input_from_data,
    ("purchase-invoices", "create"): purchase_invoice_input_from_data,
    ("journal-entries", "create"): journal_entry_input_from_data,
    ("sales-orders", "create"): sales_order_input_from_data,
    ("projects", "create"): project_input_from_data,
    ("time-entries", "create"): time_entry_input_from_data,
    ("time-entries", "update"): time_entry_update_from_data,
    ("cost-entries", "create"): cost_entry_input_from_data,
    ("cost-entries", "update"): cost_entry_update_from_data,
}


def input_from_data(resource: str, operation: str, data: Mapping[str, Any]) -> UnifiedInput:
    """The typed input a stored request stands for; InvalidInput (422 `validation_error`) naming the field if it
    cannot be one."""
    reader = _READERS.get((resource, operation))
    if reader is None:
        raise InvalidInput("operation", f"No {operation} input for {resource}.", problem="validation_error")
    return reader(_mapping(data, "request"))


# ---------------------------------------------------------------------------------------------- record -> dict


def _value(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_value(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return _fields(value)
    return value


def _fields(record: Any) -> dict[str, Any]:
    """The fields given (not None), JSON-safe."""
    return {
        name: _value(getattr(record, name)) for name in record.__dataclass_fields__ if getattr(record, name) is not None
    }


def input_to_data(value: UnifiedInput) -> dict[str, Any]:
    """The plain JSON-safe dict of an input record: the fields given (None is "not given"), decimals as strings,
    dates ISO-8601, enums as their values. `input_from_data` reads it back to an equal record."""
    return _fields(value)


# ---------------------------------------------------------------------------------------------- record -> API dict

# How the API writes one (non-None) value of a field; `zone` is the current time zone, looked up once per record.
Encode = Callable[[Any, tzinfo], Any]


def _api_datetime(value: datetime, zone: tzinfo) -> str:
    """ISO-8601 in the current time zone, UTC written as `Z` (as DRF's DateTimeField writes it)."""
    value = value.astimezone(zone) if timezone.is_aware(value) else timezone.make_aware(value, zone)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _api_enum(value: Any, zone: tzinfo) -> Any:
    return value.value if isinstance(value, Enum) else value


def _api_text(value: Any, zone: tzinfo) -> str:
    return str(value)


def _api_bool(value: Any, zone: tzinfo) -> bool:
    return bool(value)


def _api_date(value: date, zone: tzinfo) -> str:
    return date.isoformat(value)


def _api_record(value: Any, zone: tzinfo) -> dict[str, Any]:
    return _record_fields(type(value))(value, zone)


def _as_is(value: Any, zone: tzinfo) -> Any:
    return value  # remote_data: the vendor's JSON as it came


def _encoder_for(annotation: Any) -> Encode:
    """How the API writes a value of this (non-None) field type: the same as the record serializers' field."""
    if typing.get_origin(annotation) is tuple:
        (item, *_) = typing.get_args(annotation)
        encode_item = _encoder_for(item)
        return lambda values, zone: [encode_item(value, zone) for value in values]
    if isinstance(annotation, type):
        if dataclasses.is_dataclass(annotation):
            return _api_record
        if issubclass(annotation, Enum):
            return _api_enum
        if issubclass(annotation, bool):
            return _api_bool
        if issubclass(annotation, str | Decimal):
            return _api_text
        if issubclass(annotation, datetime):
            return _api_datetime
        if issubclass(annotation, date):
            return _api_date
    return _as_is


def _field_type(annotation: Any) -> Any:
    """`X | None` -> X."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (given,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return given
    return annotation


# A booked line's tax and amounts close it in the API (`id`, `description`, what the line is, then these), although
# they are declared first, on the TaxedLine every line type extends.
_LINE_CLOSING = ("tax_rate_id", "net_amount", "tax_amount")
# The types a text field's value is written as it is in (str(value) of a str is the value itself).
_PLAIN_TEXT = frozenset({str, type(None)})


def _api_field_names(cls: type[Any]) -> list[str]:
    """The fields of a record type in the order the API writes them: declaration order, a line's closing last."""
    names = [field.name for field in dataclasses.fields(cls)]
    if issubclass(cls, TaxedLine):
        names = [name for name in names if name not in _LINE_CLOSING] + list(_LINE_CLOSING)
    return names


def _getter(indices_or_names: list[Any], get: Callable[..., Callable[[Any], Any]]) -> Callable[[Any], tuple[Any, ...]]:
    """operator.attrgetter / itemgetter that always answers a tuple (they answer the bare value for one name)."""
    if not indices_or_names:
        return lambda _: ()
    if len(indices_or_names) == 1:
        single = get(indices_or_names[0])
        return lambda source: (single(source),)
    return get(*indices_or_names)


@cache
def _record_fields(cls: type[Any]) -> Callable[[Any, tzinfo], dict[str, Any]]:
    """The encoder of one record type: its fields in the API's order, None as null.

    What one loop of `getattr` and an encoder per field gives, in fewer steps (a page of 60 invoices with 180 lines
    is about 3,000 fields): every value read in one call and put in the dict as it is, then only the values that
    need writing differently replaced in place (the keys keep their order). Text fields holding a str, almost all
    of them, need nothing: their types are checked together.
    """
    hints = typing.get_type_hints(cls)
    names = _api_field_names(cls)
    values_of = _getter(names, operator.attrgetter)
    texts: list[int] = []
    decimals: list[tuple[int, str]] = []
    others: list[tuple[int, str, Encode]] = []
    for index, name in enumerate(names):
        annotation = _field_type(hints[name])
        if annotation is str:
            texts.append(index)
        elif annotation is Decimal:
            decimals.append((index, name))
        elif (encode_value := _encoder_for(annotation)) is not _as_is:
            others.append((index, name, encode_value))
    texts_of = _getter(texts, operator.itemgetter)
    text_fields = [(index, names[index]) for index in texts]

    def encode(record: Any, zone: tzinfo) -> dict[str, Any]:
        values = values_of(record)
        data = dict(zip(names, values, strict=True))
        if not _PLAIN_TEXT.issuperset(map(type, texts_of(values))):
            for index, name in text_fields:
                if (value := values[index]) is not None:
                    data[name] = str(value)
        for index, name in decimals:
            if (value := values[index]) is not None:
                data[name] = str(value)
        for index, name, encode_value in others:
            if (value := values[index]) is not None:
                data[name] = encode_value(value, zone)
        return data

    return encode


def record_to_data(record: Any, *, include_remote_data: bool = False) -> dict[str, Any]:
    """A unified record (connectors.base.records) as the API shows it: every field, decimals as strings, dates
    ISO-8601, datetimes ISO-8601 with `Z`, enums as their values; `remote_data` only when asked for."""
    data = _record_fields(type(record))(record, timezone.get_current_timezone())
    if not include_remote_data:
        data.pop("remote_data", None)
    return data


def records_to_data(records: Iterable[Any], *, include_remote_data: bool = False) -> list[dict[str, Any]]:
    """`record_to_data` of each record (a page), the current time zone looked up once."""
    zone = timezone.get_current_timezone()
    page = []
    for record in records:
        data = _record_fields(type(record))(record, zone)
        if not include_remote_data:
            data.pop("remote_data", None)
        page.append(data)
    return page
