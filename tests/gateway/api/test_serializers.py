"""The API's serializer base copies leaf fields shallowly and nested ones deeply: each instance still has fields of
its own, bound to it, and validating one instance leaves no trace on another or on the declared fields."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from gateway.api.fields import StrictCharField
from gateway.api.serializers import Serializer


class LineSerializer(Serializer):
    description = StrictCharField(max_length=5)
    quantity = serializers.DecimalField(max_digits=6, decimal_places=2, default=Decimal(1))


class OrderSerializer(Serializer):
    reference = StrictCharField(max_length=10)
    lines = serializers.ListField(child=LineSerializer(), min_length=1)
    note = LineSerializer(required=False)


def test_each_instance_has_its_own_fields_bound_to_it() -> None:
    first, second = OrderSerializer(), OrderSerializer()
    for name in ("reference", "lines", "note"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
    # Nested fields are copied deeply: the child and its fields belong to this instance's list.
    assert first.fields["lines"].child is not second.fields["lines"].child
    assert first.fields["lines"].child.parent is first.fields["lines"]
    assert first.fields["note"].fields["description"].parent is first.fields["note"]
    # The declared fields stay unbound templates.
    assert OrderSerializer._declared_fields["reference"].parent is None  # type: ignore[attr-defined]
    # A leaf field is a copy of its template, not rebuilt from its arguments (DRF's deepcopy builds new validators).
    declared = OrderSerializer._declared_fields["reference"]  # type: ignore[attr-defined]
    assert first.fields["reference"].validators is declared.validators


def test_validating_one_instance_leaves_nothing_on_another() -> None:
    bad = OrderSerializer(data={"reference": "r" * 11, "lines": [{"description": "toolong"}]})
    good = OrderSerializer(data={"reference": "R-1", "lines": [{"description": "ok"}]})

    assert not bad.is_valid()
    assert good.is_valid(), good.errors

    assert set(bad.errors) == {"reference", "lines"}
    assert bad.errors["lines"][0]["description"][0].code == "max_length"
    assert good.validated_data == {"reference": "R-1", "lines": [{"description": "ok", "quantity": Decimal(1)}]}
    # The other way round too, and repeatedly: the shared validators hold no state of a run.
    assert OrderSerializer(data={"reference": "R-2", "lines": [{"description": "fine"}]}).is_valid()
    assert not OrderSerializer(data={"reference": 5, "lines": []}).is_valid()


def test_output_is_what_drfs_own_copies_give() -> None:
    class PlainLine(serializers.Serializer):
        description = StrictCharField(max_length=5)
        quantity = serializers.DecimalField(max_digits=6, decimal_places=2, default=Decimal(1))

    record = {"description": "Chair", "quantity": Decimal("2.50")}
    assert LineSerializer(record).data == PlainLine(record).data
    assert LineSerializer([record, record], many=True).data == PlainLine([record, record], many=True).data
