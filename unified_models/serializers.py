"""API representations of unified records (DESIGN §3), their write inputs, the ledger mapping and passthrough.

Output serializers read the frozen dataclasses of connectors.base.records; input serializers validate the client's
JSON (errors name dotted fields such as `lines.1.quantity`); their `.data` is the plain request dict a write stores,
which unified_models.codec turns into the unified input records (services never see a serializer). Money and
quantities are decimal strings, enums lower-case words, dates ISO-8601.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from connectors.base.mapping import LedgerMapping, TaxRateMapping
from connectors.base.records import (
    AddressType,
    InvoiceStatus,
    InvoiceType,
    JournalType,
    LedgerClassification,
    OrderStatus,
    PaymentStatus,
    RecordStatus,
    TaxType,
    TaxUsage,
)
from gateway.api.fields import (
    NonEmptyQueryFilters,
    StrictBooleanField,
    StrictCharField,
    StrictDateField,
    StrictUUIDField,
)
from gateway.api.schema import SCHEMA_NOT
from gateway.api.serializers import Serializer
from unified_models.models import MutationStatus


def _choices(enum: type) -> list[str]:
    return [member.value for member in enum]  # type: ignore[attr-defined]


class EnumField(serializers.ChoiceField):
    """A ChoiceField over a StrEnum, documented as its own named schema component (`InvoiceStatus`, ...).

    Several resources have a `status` or `type` with different values; named components keep generated clients'
    enums apart and the schema free of drf-spectacular's collision warnings.
    """

    def __init__(self, enum: type[StrEnum], **kwargs: Any) -> None:
        self.enum_class = enum
        super().__init__(choices=_choices(enum), **kwargs)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        enum = self.target.enum_class
        component = ResolvedComponent(
            name=enum.__name__,
            type=ResolvedComponent.SCHEMA,
            object=enum.__name__,
            schema={"type": "string", "enum": _choices(enum), "description": (enum.__doc__ or "").strip()},
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref  # type: ignore[no-any-return]


@extend_schema_field({"type": "string", "format": "decimal", "example": "121.00"})
class DecimalString(serializers.Field):
    """A Decimal as its exact string ("121.00", "3", "9.5"): no float, no re-rounding on the way out."""

    def to_representation(self, value: Decimal) -> str:
        return str(value)

    def to_internal_value(self, data: Any) -> Decimal:  # pragma: no cover - output only
        raise NotImplementedError


class AsciiDecimalField(serializers.DecimalField):
    """A decimal given as a string, exactly as its schema pattern says ("12.5", "-3", ".5").

    No JSON number (a float has lost digits before it arrives, and the schema says string), no exponent, no spaces,
    no plus sign and ASCII digits only (Python's Decimal also reads other scripts' digits: "١٢" is 12). The pattern
    is the one the schema states (AsciiDecimalFieldExtension), so the two cannot disagree.
    """

    default_error_messages = {"invalid": 'A decimal number written as a string, such as "12.50".'}

    @property
    def pattern(self) -> str:
        whole = (self.max_digits or 20) - (self.decimal_places or 0)
        places = self.decimal_places or 0
        # A field with `min_value >= 0` refuses a minus sign, so its pattern does not offer one.
        sign = "" if self.min_value is not None and self.min_value >= 0 else "-?"
        # [0-9], not \d: Python's \d also matches other scripts' digits (JSON Schema's, from ECMA-262, does not).
        fraction = rf"(?:\.[0-9]{{0,{places}}})?|\.[0-9]{{1,{places}}}" if places else ""
        return rf"^{sign}(?:[0-9]{{1,{whole}}}{fraction})$"

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF reads "" (and "  ") as null when the field is nullable; the schema's pattern refuses it.
        return serializers.Field.validate_empty_values(self, data)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not re.fullmatch(self.pattern, data):
            self.fail("invalid")
        return super().to_internal_value(data)


class AsciiDecimalFieldExtension(OpenApiSerializerFieldExtension):
    """The schema of an AsciiDecimalField: drf-spectacular's decimal string with the field's own pattern (its default
    pattern allows "", "-" and "." and always a minus sign, which the field refuses)."""

    target_class = AsciiDecimalField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        schema["pattern"] = self.target.pattern
        return schema


def _decimal_input(*, max_digits: int = 20, decimal_places: int = 6, **kwargs: Any) -> serializers.DecimalField:
    # A decimal string; coerce_to_string keeps it a string in the stored request (serializer.data).
    return AsciiDecimalField(max_digits=max_digits, decimal_places=decimal_places, coerce_to_string=True, **kwargs)


# ---------------------------------------------------------------------------------------------- records


class RecordSerializer(Serializer):
    """Fields every unified record has; `remote_data` only with `?include=remote_data`."""

    id = StrictCharField(read_only=True, help_text="Stable id of the record within this connection.")
    remote_id = StrictCharField(read_only=True, help_text="The vendor's own key of the record.")
    created_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    # Not read_only: that would make it `required` in the response schema, and it is only there on request.
    remote_data = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text="The vendor's raw object, exactly as it returned it. Present only with `?include=remote_data`.",
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("include_remote_data"):
            data.pop("remote_data", None)
        return data


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{2}$"})
class CountryField(StrictCharField):
    """An ISO 3166-1 alpha-2 country code (two ASCII letters; upper-cased by validate_country)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_length=2, max_length=2, **kwargs)


class AddressSerializer(Serializer):
    type = EnumField(AddressType, default=AddressType.MAIN.value)
    line1 = StrictCharField(allow_null=True, required=False, max_length=200)
    line2 = StrictCharField(allow_null=True, required=False, max_length=200)
    postal_code = StrictCharField(allow_null=True, required=False, max_length=20)
    city = StrictCharField(allow_null=True, required=False, max_length=100)
    region = StrictCharField(allow_null=True, required=False, max_length=100)
    country = CountryField(allow_null=True, required=False, help_text="ISO 3166-1 alpha-2, e.g. `NL`.")

    def validate_country(self, value: str | None) -> str | None:
        if value is None:
            return None
        if not (value.isascii() and value.isalpha()):
            raise serializers.ValidationError("An ISO 3166-1 alpha-2 country code such as NL.")
        return value.upper()


class ContactSerializer(RecordSerializer):
    name = StrictCharField()
    code = StrictCharField(allow_null=True)
    is_customer = serializers.BooleanField()
    is_supplier = serializers.BooleanField()
    email = StrictCharField(allow_null=True)
    phone = StrictCharField(allow_null=True)
    website = StrictCharField(allow_null=True)
    vat_number = StrictCharField(allow_null=True)
    chamber_of_commerce_number = StrictCharField(allow_null=True)
    addresses = AddressSerializer(many=True)
    currency = StrictCharField(allow_null=True, help_text="ISO 4217 code.")
    status = EnumField(RecordStatus)


class InvoiceLineSerializer(Serializer):
    id = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    quantity = DecimalString()
    unit_price = DecimalString(allow_null=True)
    item_id = StrictCharField(allow_null=True)
    ledger_account_id = StrictCharField(allow_null=True)
    tax_rate_id = StrictCharField(allow_null=True)
    net_amount = DecimalString(help_text="Line amount excluding tax, in the invoice's currency.")
    tax_amount = DecimalString()


class InvoiceSerializer(RecordSerializer):
    number = StrictCharField(allow_null=True, help_text="Assigned by the vendor.")
    type = EnumField(InvoiceType)
    status = EnumField(InvoiceStatus)
    finalized = serializers.BooleanField(
        allow_null=True,
        help_text="Whether the vendor has processed (booked) the invoice; null when the vendor does not say.",
    )
    contact_id = StrictCharField(allow_null=True)
    issue_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    currency = StrictCharField(allow_null=True)
    reference = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    journal_code = StrictCharField(allow_null=True)
    corrects_invoice_id = StrictCharField(
        allow_null=True, help_text="A credit note's invoice it corrects, where the vendor keeps the link (Xero)."
    )
    lines = InvoiceLineSerializer(many=True)
    net_total = DecimalString()
    tax_total = DecimalString()
    total = DecimalString()


class LedgerAccountSerializer(RecordSerializer):
    code = StrictCharField()
    name = StrictCharField()
    classification = EnumField(LedgerClassification)
    status = EnumField(RecordStatus)


class TaxRateSerializer(RecordSerializer):
    code = StrictCharField()
    name = StrictCharField()
    rate = DecimalString(help_text="Percent: `21` means 21 %.")
    type = EnumField(TaxType)
    usage = EnumField(TaxUsage)


class JournalSerializer(RecordSerializer):
    code = StrictCharField()
    name = StrictCharField()
    type = EnumField(JournalType)
    currency = StrictCharField(allow_null=True)
    status = EnumField(RecordStatus)


class ItemSerializer(RecordSerializer):
    code = StrictCharField()
    name = StrictCharField()
    description = StrictCharField(allow_null=True)
    unit_price = DecimalString(allow_null=True)
    currency = StrictCharField(allow_null=True)
    sales_tax_rate_id = StrictCharField(allow_null=True)
    revenue_ledger_account_id = StrictCharField(allow_null=True)
    is_sales_item = serializers.BooleanField()
    status = EnumField(RecordStatus)


class PaymentSerializer(RecordSerializer):
    """The payment state of one invoice's receivable; amounts signed (negative: owed to the customer)."""

    invoice_id = StrictCharField(allow_null=True)
    invoice_number = StrictCharField(allow_null=True)
    contact_id = StrictCharField(allow_null=True)
    amount = DecimalString()
    open_amount = DecimalString()
    currency = StrictCharField(allow_null=True)
    invoice_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    is_fully_paid = serializers.BooleanField()
    last_payment_date = serializers.DateField(allow_null=True)
    reference = StrictCharField(allow_null=True)
    status = EnumField(PaymentStatus)


class PurchaseInvoiceLineSerializer(Serializer):
    id = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    quantity = DecimalString(allow_null=True)
    ledger_account_id = StrictCharField(allow_null=True)
    tax_rate_id = StrictCharField(allow_null=True)
    net_amount = DecimalString(help_text="Line amount excluding tax, in the invoice's currency.")
    tax_amount = DecimalString()


class PurchaseInvoiceSerializer(RecordSerializer):
    """A supplier's invoice (bill) or credit note as booked; amounts positive, `type` says which way."""

    number = StrictCharField(allow_null=True, help_text="The supplier's invoice number.")
    booking_number = StrictCharField(allow_null=True, help_text="The number the vendor gave the booking.")
    type = EnumField(InvoiceType)
    status = EnumField(InvoiceStatus, help_text="Payment state: `open`, `partially_paid` or `paid`.")
    finalized = serializers.BooleanField(
        allow_null=True, help_text="Whether the vendor has processed the booking; null when the vendor does not say."
    )
    contact_id = StrictCharField(allow_null=True, help_text="The supplier (a contact `id`).")
    issue_date = serializers.DateField(allow_null=True)
    due_date = serializers.DateField(allow_null=True)
    currency = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    journal_code = StrictCharField(allow_null=True)
    corrects_invoice_id = StrictCharField(
        allow_null=True, help_text="A credit note's bill it corrects, where the vendor keeps the link (Xero)."
    )
    lines = PurchaseInvoiceLineSerializer(many=True)
    net_total = DecimalString()
    tax_total = DecimalString()
    total = DecimalString()


class SalesOrderLineSerializer(Serializer):
    id = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    quantity = DecimalString()
    unit_price = DecimalString(allow_null=True)
    item_id = StrictCharField(allow_null=True)
    tax_rate_id = StrictCharField(allow_null=True)
    net_amount = DecimalString(help_text="Line amount excluding tax, in the order's currency.")
    tax_amount = DecimalString()


class SalesOrderSerializer(RecordSerializer):
    """A customer's order: items to deliver and invoice later."""

    number = StrictCharField(allow_null=True, help_text="The vendor's order number.")
    status = EnumField(OrderStatus)
    delivery_status = EnumField(OrderStatus)
    invoice_status = EnumField(OrderStatus)
    contact_id = StrictCharField(allow_null=True, help_text="The customer who ordered (a contact `id`).")
    order_date = serializers.DateField(allow_null=True)
    delivery_date = serializers.DateField(allow_null=True)
    currency = StrictCharField(allow_null=True)
    reference = StrictCharField(allow_null=True, help_text="The customer's reference.")
    description = StrictCharField(allow_null=True)
    lines = SalesOrderLineSerializer(many=True)
    net_total = DecimalString()
    tax_total = DecimalString()
    total = DecimalString()


class JournalEntryLineSerializer(Serializer):
    id = StrictCharField(allow_null=True)
    ledger_account_id = StrictCharField(allow_null=True)
    contact_id = StrictCharField(allow_null=True)
    description = StrictCharField(allow_null=True)
    debit = DecimalString(help_text="Excluding tax.")
    credit = DecimalString(help_text="Excluding tax.")
    tax_rate_id = StrictCharField(allow_null=True, help_text="The tax rate booked on this line; null: none.")
    tax_amount = DecimalString(help_text="The tax booked on the line's side (in the totals).")


class JournalEntrySerializer(RecordSerializer):
    """A general (memorial) journal entry: lines whose debits equal their credits, tax included."""

    number = StrictCharField(allow_null=True, help_text="Assigned by the vendor.")
    journal_code = StrictCharField(allow_null=True)
    date = serializers.DateField(allow_null=True)
    currency = StrictCharField(allow_null=True)
    finalized = serializers.BooleanField(
        allow_null=True, help_text="Whether the vendor has processed the entry; null when the vendor does not say."
    )
    lines = JournalEntryLineSerializer(many=True)
    total_debit = DecimalString()
    total_credit = DecimalString()


class CompanyInfoSerializer(RecordSerializer):
    """The vendor company the connection books in (Exact: the administration, i.e. the division)."""

    name = StrictCharField()
    country = StrictCharField(allow_null=True, help_text="ISO 3166-1 alpha-2.")
    currency = StrictCharField(allow_null=True, help_text="The base currency (ISO 4217).")
    vat_number = StrictCharField(allow_null=True)
    chamber_of_commerce_number = StrictCharField(allow_null=True)
    fiscal_year_start = serializers.DateField(
        allow_null=True, help_text="First day of the current fiscal year; null when the vendor does not say."
    )


class WarningSerializer(Serializer):
    code = StrictCharField(help_text="Stable machine code, e.g. `exact_assigns_invoice_number`.")
    field = StrictCharField(help_text="The input field it concerns, e.g. `lines[0].unit_price`.")
    message = StrictCharField()


class WriteMetaSerializer(Serializer):
    """Added to every write response: what the vendor could not store, and the durable record of the write."""

    warnings = WarningSerializer(
        many=True, help_text="Input the vendor could not store or changed (never silently dropped)."
    )
    mutation_id = serializers.UUIDField(help_text="The stored write (request, attempts, outcome).")


class DeleteResponseSerializer(Serializer):
    """A delete's answer (200): which record the vendor no longer has, and the durable record of the write."""

    id = serializers.CharField(help_text="The deleted record's `id`.")
    deleted = serializers.BooleanField(help_text="Always true: the vendor no longer has the record.")
    mutation_id = serializers.UUIDField(help_text="The stored write (request, attempts, outcome).")


def write_response_serializer(record_serializer: type[RecordSerializer], name: str) -> type[serializers.Serializer]:
    """A write's answer: the record plus WriteMetaSerializer's fields (one class per resource, for the schema)."""
    return type(name, (record_serializer, WriteMetaSerializer), {"__module__": __name__})


def page_serializer(
    record_serializer: type[serializers.Serializer], name: str, *, freshness: bool = True
) -> type[serializers.Serializer]:
    """`{"results": [...], "next": url|null}` for one record type (for the schema); with `freshness`, a ledger
    record page's `source` and `synced_at` (pages of the gateway's own objects have neither)."""
    fields: dict[str, Any] = {
        "__module__": __name__,
        "results": record_serializer(many=True),
        "next": serializers.URLField(
            allow_null=True, help_text="URL of the next page (same filters), or null on the last page."
        ),
    }
    if freshness:
        fields.update(_freshness_fields())
    return type(name, (serializers.Serializer,), fields)


def _freshness_fields() -> dict[str, serializers.Field]:
    return {
        "source": serializers.ChoiceField(
            choices=["store", "live"],
            help_text="Where the page came from: the gateway's synced copy (`store`) or the vendor (`live`). "
            "Also in the `X-Data-Source` header.",
        ),
        "synced_at": serializers.DateTimeField(
            allow_null=True,
            help_text="From the store: when the last sync of this resource completed (also the `X-Synced-At` "
            "header). Null for a live read.",
        ),
    }


# ---------------------------------------------------------------------------------------------- inputs


@extend_schema_field({"type": "string", "pattern": "^[A-Za-z]{3}$", "description": "ISO 4217 code, e.g. EUR."})
class CurrencyField(StrictCharField):
    """An ISO 4217 currency code as input (three letters; upper-cased by `_currency`)."""


def _currency(value: str | None) -> str | None:
    if value is None:
        return None
    if not (len(value) == 3 and value.isascii() and value.isalpha()):
        raise serializers.ValidationError("An ISO 4217 currency code such as EUR.")
    return value.upper()


class ContactCreateSerializer(Serializer):
    name = StrictCharField(max_length=200)
    code = StrictCharField(max_length=50, required=False, allow_null=True)
    is_customer = StrictBooleanField(required=False, allow_null=True)
    is_supplier = StrictBooleanField(required=False, allow_null=True)
    # No trimming: " a@example.com" is not an email address by the schema's `format: email`.
    email = serializers.EmailField(required=False, allow_null=True, max_length=254, trim_whitespace=False)
    phone = StrictCharField(required=False, allow_null=True, max_length=50)
    website = StrictCharField(required=False, allow_null=True, max_length=200)
    vat_number = StrictCharField(required=False, allow_null=True, max_length=50)
    chamber_of_commerce_number = StrictCharField(required=False, allow_null=True, max_length=50)
    # A ListField, not many=True: DRF hands a list serializer's allow_null to its items too, and `[null]` is not an
    # address (the schema's items are objects).
    addresses = serializers.ListField(child=AddressSerializer(), required=False, allow_null=True)
    currency = CurrencyField(required=False, allow_null=True)
    status = EnumField(RecordStatus, required=False, allow_null=True)

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


class ContactUpdateSerializer(ContactCreateSerializer):
    """Only the fields given change; `addresses: []` clears the stored address."""

    name = StrictCharField(max_length=200, required=False)


class ItemCreateSerializer(Serializer):
    code = StrictCharField(max_length=50, help_text="The item code; unique within the company.")
    name = StrictCharField(max_length=60, help_text="Exact: the item's Description (at most 60 characters).")
    description = StrictCharField(
        required=False, allow_null=True, max_length=255, help_text="A longer text (Exact: ExtraDescription)."
    )
    unit_price = _decimal_input(
        required=False,
        allow_null=True,
        help_text="Standard sales price. Exact cannot take it through its API: it is reported in `warnings`.",
    )
    sales_tax_rate_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="A tax rate `id` of this connection."
    )
    revenue_ledger_account_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="A ledger account `id` of this connection."
    )
    is_sales_item = StrictBooleanField(default=True)


def _given(*names: str) -> dict[str, Any]:
    """JSON Schema: all these members present and not null."""
    return {"required": list(names), "properties": {name: {"type": "string"} for name in names}}


def _at_most_one_of(*groups: tuple[str, str]) -> dict[str, Any]:
    return {"anyOf": [_given(*pair) for pair in groups]}


MAX_LINES = 500

# What validate() refuses, stated in the schema too: two ways to give the same thing, and a zero quantity.
_LINE_RULES = {
    SCHEMA_NOT: {
        "anyOf": [
            *_at_most_one_of(
                ("tax_rate_id", "tax_code"),
                ("tax_rate_id", "tax_rate"),
                ("tax_code", "tax_rate"),
                ("item_id", "item_code"),
            )["anyOf"],
            {"required": ["quantity"], "properties": {"quantity": {"type": "string", "pattern": "^-?0*\\.?0*$"}}},
        ]
    }
}


@extend_schema_serializer(extensions=_LINE_RULES)
class InvoiceLineInputSerializer(Serializer):
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    quantity = _decimal_input(
        default=Decimal(1),
        help_text="Not 0. Negative for a credit line on an invoice (a return or a correction); a credit note "
        "(`type: credit_note`) takes positive quantities.",
    )
    unit_price = _decimal_input(
        required=False,
        allow_null=True,
        help_text="Excluding tax, unless the tax is inclusive. Negative for a discount line.",
    )
    item_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="An item `id` of this connection."
    )
    item_code = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Your item code; translated through the mapping's `items_by_code` (else taken as the vendor's).",
    )
    ledger_account_id = StrictCharField(required=False, allow_null=True, max_length=100)
    tax_rate_id = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="A tax rate `id` of this connection."
    )
    tax_code = StrictCharField(
        required=False, allow_null=True, max_length=50, help_text="Your tax code; translated by the mapping."
    )
    tax_rate = _decimal_input(
        max_digits=7,
        decimal_places=4,
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        help_text="A percentage such as `21`; translated by the mapping.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("tax_rate_id", "tax_code", "tax_rate") if attrs.get(name) is not None]
        if len(given) > 1:
            raise serializers.ValidationError(
                {given[1]: f"Give one of tax_rate_id, tax_code, tax_rate (also {given[0]})."}
            )
        if attrs.get("item_id") is not None and attrs.get("item_code") is not None:
            raise serializers.ValidationError({"item_code": "Give item_id or item_code, not both."})
        if attrs.get("quantity") is not None and attrs["quantity"] == 0:
            raise serializers.ValidationError({"quantity": "A line needs a quantity other than 0."})
        return attrs


def _lines(**kwargs: Any) -> serializers.ListField:
    """An invoice's lines: 1 to 500 (a ListField, so the schema states minItems and maxItems as the code checks
    them; drf-spectacular leaves a list serializer's lengths out)."""
    return serializers.ListField(child=InvoiceLineInputSerializer(), min_length=1, max_length=MAX_LINES, **kwargs)


class InvoiceCreateSerializer(Serializer):
    contact_id = StrictCharField(max_length=100, help_text="A contact `id` of this connection.")
    lines = _lines()
    type = EnumField(InvoiceType, default=InvoiceType.INVOICE.value)
    status = EnumField(InvoiceStatus, required=False, allow_null=True, help_text="`draft` or `open` (default).")
    number = StrictCharField(required=False, allow_null=True, max_length=50)
    issue_date = StrictDateField(required=False, allow_null=True)
    due_date = StrictDateField(required=False, allow_null=True)
    currency = CurrencyField(required=False, allow_null=True)
    reference = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="Your own reference, e.g. your order number."
    )
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    journal_code = StrictCharField(
        required=False, allow_null=True, max_length=50, help_text="Defaults to the mapping's sales journal."
    )
    corrects_invoice_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text=(
            "For `type: credit_note`: the `id` of the invoice it corrects. Xero allocates the credit to it (same "
            "contact, both approved, at most the invoice's amount due); Exact keeps no such link: 422 naming the field."
        ),
    )

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


class PurchaseInvoiceLineInputSerializer(Serializer):
    ledger_account_id = StrictCharField(max_length=100, help_text="A ledger account `id` of this connection.")
    net_amount = _decimal_input(decimal_places=2, help_text="Excluding tax; negative for a correction line.")
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    quantity = _decimal_input(required=False, allow_null=True)
    tax_rate_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text="A tax rate `id` of this connection (a purchase tax code); default: the ledger account's.",
    )
    tax_amount = _decimal_input(
        decimal_places=2, required=False, allow_null=True, help_text="Default: computed by the vendor."
    )


class PurchaseInvoiceCreateSerializer(Serializer):
    contact_id = StrictCharField(max_length=100, help_text="The supplier: a contact `id` of this connection.")
    lines = PurchaseInvoiceLineInputSerializer(many=True, allow_empty=False, max_length=500)
    type = EnumField(
        InvoiceType,
        default=InvoiceType.INVOICE.value,
        help_text="`credit_note` for a supplier's credit note; its amounts stay positive like an invoice's.",
    )
    number = StrictCharField(
        required=False, allow_null=True, max_length=100, help_text="The supplier's invoice number."
    )
    issue_date = serializers.DateField(required=False, allow_null=True)
    due_date = serializers.DateField(required=False, allow_null=True)
    currency = CurrencyField(required=False, allow_null=True)
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    journal_code = StrictCharField(
        required=False, allow_null=True, max_length=50, help_text="Defaults to the mapping's purchase journal."
    )
    corrects_invoice_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=100,
        help_text=(
            "For `type: credit_note`: the `id` of the bill it corrects. Xero allocates the credit to it (same "
            "contact, both approved, at most the bill's amount due); Exact keeps no such link: 422 naming the field."
        ),
    )

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


class SalesOrderLineInputSerializer(Serializer):
    item_id = StrictCharField(max_length=100, help_text="An item `id` of this connection.")
    quantity = _decimal_input(required=False, default=Decimal(1), min_value=Decimal("0.000001"))
    unit_price = _decimal_input(required=False, allow_null=True, help_text="Default: the item's price.")
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    tax_rate_id = StrictCharField(
        required=False, allow_null=True, max_length=20, help_text="A tax rate `id`; default: the item's."
    )


class SalesOrderCreateSerializer(Serializer):
    contact_id = StrictCharField(max_length=100, help_text="The customer who orders: a contact `id`.")
    lines = SalesOrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    order_date = serializers.DateField(required=False, allow_null=True)
    delivery_date = serializers.DateField(required=False, allow_null=True)
    currency = CurrencyField(required=False, allow_null=True)
    reference = StrictCharField(required=False, allow_null=True, max_length=100)
    description = StrictCharField(required=False, allow_null=True, max_length=500)

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


class SalesOrderInvoiceSerializer(Serializer):
    journal_code = StrictCharField(
        required=False, allow_null=True, max_length=50, help_text="Defaults to the mapping's sales journal."
    )


class JournalEntryLineInputSerializer(Serializer):
    ledger_account_id = StrictCharField(max_length=100, help_text="A ledger account `id` of this connection.")
    debit = _decimal_input(
        decimal_places=2, required=False, allow_null=True, min_value=Decimal("0.01"), help_text="Give debit or credit."
    )
    credit = _decimal_input(decimal_places=2, required=False, allow_null=True, min_value=Decimal("0.01"))
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    contact_id = StrictCharField(required=False, allow_null=True, max_length=100, help_text="A contact `id`.")
    tax_rate_id = StrictCharField(
        required=False,
        allow_null=True,
        max_length=20,
        help_text="A tax rate `id`: tax on the line's side, in a journal that allows VAT.",
    )
    tax_amount = _decimal_input(
        decimal_places=2,
        required=False,
        allow_null=True,
        min_value=Decimal("0"),
        help_text="The tax (positive, on the line's side); default: the amount at the rate's percent in the mapping.",
    )


class JournalEntryCreateSerializer(Serializer):
    """Debits must equal credits: an unbalanced entry is 422 `invalid_input` naming `lines`, nothing is sent."""

    journal_code = StrictCharField(max_length=50, help_text="A general journal's code (Exact: e.g. `90`).")
    lines = JournalEntryLineInputSerializer(many=True, allow_empty=False, max_length=500)
    date = serializers.DateField(required=False, allow_null=True)
    currency = CurrencyField(required=False, allow_null=True)
    description = StrictCharField(
        required=False, allow_null=True, max_length=500, help_text="For lines without their own description."
    )

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


class InvoiceUpdateSerializer(Serializer):
    """Fields of an existing invoice to change. What the vendor fixes once the invoice exists (Exact: customer,
    journal, type, currency, lines) is refused with 422 `invalid_input` naming the field, never ignored."""

    reference = StrictCharField(required=False, allow_null=True, max_length=100)
    description = StrictCharField(required=False, allow_null=True, max_length=500)
    due_date = StrictDateField(required=False, allow_null=True)
    contact_id = StrictCharField(required=False, max_length=100)
    journal_code = StrictCharField(required=False, max_length=50)
    type = EnumField(InvoiceType, required=False)
    currency = CurrencyField(required=False)
    number = StrictCharField(required=False, max_length=50)
    issue_date = StrictDateField(required=False)
    status = EnumField(InvoiceStatus, required=False)
    lines = _lines(
        required=False,
        help_text="Replaces every line (1 to 500; an invoice without lines is no invoice). Exact refuses new lines "
        "on an existing invoice: 422 `invalid_input` naming `lines`.",
    )

    def validate_currency(self, value: str | None) -> str | None:
        return _currency(value)


# ---------------------------------------------------------------------------------------------- mapping


@extend_schema_serializer(
    extensions={SCHEMA_NOT: {"anyOf": [_given("code", "rate"), {"not": {"anyOf": [_given("code"), _given("rate")]}}]}}
)
class TaxRateRuleSerializer(Serializer):
    code = StrictCharField(
        required=False, allow_null=True, max_length=50, help_text="Your tax code (lines' `tax_code`)."
    )
    rate = _decimal_input(
        max_digits=7,
        decimal_places=4,
        required=False,
        allow_null=True,
        min_value=Decimal(0),
        help_text="A percentage (lines' `tax_rate`).",
    )
    vendor_code = StrictCharField(max_length=50, help_text="The vendor's tax code (Exact: VAT code, e.g. `2`).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("code") is None) == (attrs.get("rate") is None):
            raise serializers.ValidationError({"code": "Match either by code or by rate (exactly one of them)."})
        return attrs

    def to_representation(self, instance: Any) -> dict[str, Any]:
        rule = instance if isinstance(instance, TaxRateMapping) else None
        if rule is None:
            return super().to_representation(instance)
        match = {"code": rule.code} if rule.code is not None else {"rate": str(rule.rate)}
        return {**match, "vendor_code": rule.vendor_code}


class LedgerMappingSerializer(Serializer):
    """A connection's ledger mapping; every right-hand side is a vendor *code* (not an id)."""

    tax_rates = TaxRateRuleSerializer(
        many=True, required=False, help_text="Lines' tax_code or tax_rate -> the vendor's tax code; checked in order."
    )
    default_revenue_ledger_account = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Vendor ledger account code for lines without item (Exact: G/L account code, e.g. `8000`).",
    )
    default_sales_journal = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Vendor journal code for invoices without `journal_code` (Exact: e.g. `70`).",
    )
    default_purchase_journal = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Vendor journal code for purchase invoices without `journal_code` (Exact: a purchase journal, "
        "e.g. `60`).",
    )
    default_item = StrictCharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=100,
        help_text="Vendor item code for lines without an item (Exact requires an item on every line).",
    )
    items_by_code = serializers.DictField(
        child=StrictCharField(min_length=1, max_length=100),
        required=False,
        help_text="Your item codes -> vendor item codes (lines' `item_code`).",
    )

    def validate_tax_rates(self, rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: dict[str, int] = {}
        for index, rule in enumerate(rules):
            key = f"code:{rule['code']}" if rule.get("code") is not None else f"rate:{rule['rate'].normalize()}"
            if key in seen:
                raise serializers.ValidationError(
                    {index: {"code" if key.startswith("code") else "rate": f"Already mapped by rule {seen[key]}."}}
                )
            seen[key] = index
        return rules

    def to_mapping(self) -> LedgerMapping:
        data = self.validated_data
        return LedgerMapping(
            tax_rates=tuple(
                TaxRateMapping(vendor_code=rule["vendor_code"], code=rule.get("code"), rate=rule.get("rate"))
                for rule in data.get("tax_rates") or []
            ),
            default_revenue_ledger_account=data.get("default_revenue_ledger_account") or None,
            default_sales_journal=data.get("default_sales_journal") or None,
            default_purchase_journal=data.get("default_purchase_journal") or None,
            default_item=data.get("default_item") or None,
            items_by_code=dict(data.get("items_by_code") or {}),
        )


class LedgerMappingOutputSerializer(LedgerMappingSerializer):
    updated_at = serializers.DateTimeField(allow_null=True, read_only=True)


def mapping_data(mapping: LedgerMapping, *, updated_at: Any = None) -> dict[str, Any]:
    return {
        "tax_rates": [TaxRateRuleSerializer().to_representation(rule) for rule in mapping.tax_rates],
        "default_revenue_ledger_account": mapping.default_revenue_ledger_account,
        "default_sales_journal": mapping.default_sales_journal,
        "default_purchase_journal": mapping.default_purchase_journal,
        "default_item": mapping.default_item,
        "items_by_code": dict(mapping.items_by_code),
        "updated_at": serializers.DateTimeField().to_representation(updated_at) if updated_at else None,
    }


# ---------------------------------------------------------------------------------------------- passthrough


class PassthroughRequestSerializer(Serializer):
    method = serializers.ChoiceField(choices=["GET", "POST", "PUT", "DELETE"])
    path = StrictCharField(
        max_length=2000,
        help_text="Relative to the connection's company (Exact: after /api/v1/{division}/), e.g. `crm/Accounts`.",
    )
    query = serializers.DictField(child=StrictCharField(allow_blank=True), required=False, default=dict)
    body = serializers.JSONField(required=False, allow_null=True, default=None)

    def validate_path(self, value: str) -> str:
        if "://" in value or value.startswith("//"):
            raise serializers.ValidationError("A path relative to the company, not a URL.")
        return value


class PassthroughResponseSerializer(Serializer):
    status = serializers.IntegerField(help_text="The vendor's HTTP status.")
    body = serializers.JSONField(allow_null=True, help_text="The vendor's response body (JSON when it sent JSON).")
    mutation_id = serializers.UUIDField(required=False, help_text="For writes (POST, PUT, DELETE): the stored write.")


class DryRunVendorRequestSerializer(Serializer):
    method = serializers.CharField(help_text="POST, PUT, DELETE …")
    path = serializers.CharField(help_text="Relative to the company (Exact: after `/api/v1/{division}/`).")
    body = serializers.JSONField(allow_null=True, help_text="The payload, parsed.")
    body_text = serializers.CharField(
        allow_blank=True, help_text="The payload exactly as a real write of the same input sends it (byte for byte)."
    )


class DryRunResponseSerializer(Serializer):
    dry_run = serializers.BooleanField(help_text="Always true: nothing was recorded or written.")
    resource = serializers.CharField()
    operation = serializers.CharField()
    vendor_requests = DryRunVendorRequestSerializer(
        many=True,
        help_text="The first write request the vendor would get (empty: the write needs none, e.g. nothing "
        "changes). Reads a write needs (code lookups) are made; writes are not.",
    )


class ReconciliationCreateSerializer(Serializer):
    period_start = StrictDateField(help_text="First day of the period (UTC).")
    period_end = StrictDateField(help_text="Last day of the period (inclusive).")
    reference_prefixes = serializers.ListField(
        child=StrictCharField(min_length=1, max_length=100),
        required=False,
        max_length=20,
        help_text="Your reference format (e.g. `ORDER-`): ledger invoices carrying it that no write of ours made "
        "are orphans. Default: taken from the references of the invoices written in the period.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["period_end"] < attrs["period_start"]:
            raise serializers.ValidationError({"period_end": ["Must not be before period_start."]})
        if attrs["period_end"] - attrs["period_start"] > timedelta(days=366):
            raise serializers.ValidationError({"period_end": ["A period is at most a year."]})
        return attrs


class ReconciliationDifferenceSerializer(Serializer):
    field = serializers.CharField(help_text="Dotted path: `description`, `lines.1.unit_price`, `lines.count`.")
    written = serializers.JSONField(allow_null=True, help_text="What our last write left.")
    ledger = serializers.JSONField(allow_null=True, help_text="What the ledger has now.")


class ReconciliationItemSerializer(Serializer):
    resource = serializers.CharField()
    record_id = serializers.CharField()
    remote_id = serializers.CharField(allow_blank=True)
    reference = serializers.CharField(allow_blank=True)
    outcome = serializers.ChoiceField(choices=["matched", "changed", "missing", "orphan"])
    mutation_id = serializers.UUIDField(allow_null=True, help_text="Our last write of the record (null: orphan).")
    differences = ReconciliationDifferenceSerializer(many=True)


class ReconciliationSummarySerializer(Serializer):
    matched = serializers.IntegerField()
    changed = serializers.IntegerField()
    missing = serializers.IntegerField()
    orphan = serializers.IntegerField()


class ReconciliationSerializer(Serializer):
    id = serializers.UUIDField()
    connection_id = serializers.UUIDField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    reference_prefixes = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=["completed", "failed"])
    error = serializers.CharField(allow_blank=True)
    summary = ReconciliationSummarySerializer()
    items = ReconciliationItemSerializer(many=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


# ---------------------------------------------------------------------------------------------- mutations


class MutationAttemptSerializer(Serializer):
    number = serializers.IntegerField(help_text="1 for the first send; retries and reconciliations count on.")
    started_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    vendor_status = serializers.IntegerField(
        allow_null=True, help_text="The vendor's HTTP status of the write; null when no answer came."
    )
    error_code = serializers.CharField(allow_blank=True, help_text="The problem code it ended with; empty on success.")
    error_message = serializers.CharField(allow_blank=True, help_text="The vendor's or the gateway's words.")


class MutationSerializer(Serializer):
    """A write recorded before it was sent: its request, state, attempts and outcome (never a token)."""

    id = serializers.UUIDField()
    connection_id = serializers.UUIDField()
    resource = serializers.CharField(help_text="`contacts`, `invoices`, `items`, … or `passthrough`.")
    operation = serializers.CharField(
        help_text="`create`, `update`, `delete`, `finalize`, `from_order`, `attach` (a file uploaded to the record "
        "`target_id`; `request` is its `file_name`, `content_type`, `size` and `sha256`, never its bytes) "
        "(passthrough: the HTTP method's write)."
    )
    target_id = serializers.CharField(
        allow_blank=True, help_text="The record updated, deleted, finalized, invoiced or given a file."
    )
    status = serializers.ChoiceField(
        choices=MutationStatus.choices,
        help_text=(
            "`pending`, `sending`, `succeeded`, `failed` (refused or not sent: safe to retry), `in_doubt` (sent "
            "without a clear answer: looked up at the vendor before any resend)."
        ),
    )
    attempts = serializers.IntegerField()
    remote_id = serializers.CharField(allow_blank=True, help_text="The vendor's id of the record written.")
    error_code = serializers.CharField(allow_blank=True)
    idempotency_key = serializers.CharField(allow_blank=True)
    request_id = serializers.CharField(allow_blank=True, help_text="The X-Request-Id of the request that recorded it.")
    api_key_prefix = serializers.CharField(allow_blank=True)
    request = serializers.JSONField(help_text="The unified input as validated (what a retry sends again).")
    outcome = serializers.JSONField(
        allow_null=True, help_text="The unified answer on success; `{code, message, vendor}` after a failure."
    )
    reconcile_after = serializers.DateTimeField(
        allow_null=True, help_text="In doubt: when it is looked up at the vendor (a retry before then is 409)."
    )
    attempt_log = MutationAttemptSerializer(many=True, source="attempt_log.all")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class MutationListFilterSerializer(NonEmptyQueryFilters):
    status = serializers.ChoiceField(choices=MutationStatus.choices, required=False)
    connection_id = StrictUUIDField(required=False, help_text="Only this connection's writes.")


# --- attachments ----------------------------------------------------------------------------------------------


class AttachmentSerializer(RecordSerializer):
    """A file attached to an invoice or purchase invoice (its bytes: GET .../attachments/{attachment_id})."""

    record_id = StrictCharField(help_text="The `id` of the invoice the file is attached to.")
    file_name = StrictCharField()
    content_type = StrictCharField(help_text="Media type, e.g. `application/pdf`.")
    size = serializers.IntegerField(allow_null=True, help_text="Bytes; null when the vendor does not say.")


class AttachedSerializer(AttachmentSerializer):
    """The answer to an upload: the attachment as the list shows it, and the write that attached it."""

    mutation_id = StrictCharField(help_text="The recorded write (GET /mutations/{id}), as every write answers.")


class AttachmentUploadSerializer(Serializer):
    """The multipart upload of one file (for the schema; the view checks the file against the vendor's rules)."""

    file = serializers.FileField(
        help_text="The file, with its name. PDF, JPEG, PNG, GIF, TIFF or XML; Exact takes at most 10 MB "
        "(about 7 MB outside the Netherlands and Belgium)."
    )
