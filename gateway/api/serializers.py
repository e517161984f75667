"""The serializer base of the API's request and record serializers: DRF's, with fields copied cheaply per instance.

DRF gives every serializer instance its own fields by deep-copying the declared ones, and a field's deep copy
builds the field again from its arguments (`Field.__deepcopy__`: `__init__` with deep-copied arguments,
validators and all). An invoice create validated 40 fields that way per request, more than half of the
validation's time (bench/README.md, round 6). A field with no fields of its own only needs a shallow copy: what
`bind()` then sets (its name, parent, source) lands on the copy; what the copy shares with the declared field
(validators, error messages, choices, default) is read, never changed, while validating or rendering. A field that
holds other fields (a nested serializer, a ListField's or DictField's child, a many-related field) is deep-copied
as before, since its children are bound to it.
"""

from __future__ import annotations

import copy

from rest_framework import serializers
from rest_framework.fields import Field


def _holds_fields(field: Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or any(
        getattr(field, name, None) is not None for name in ("child", "child_relation")
    )


class Serializer(serializers.Serializer):
    def get_fields(self) -> dict[str, Field]:
        return {
            name: copy.deepcopy(field) if _holds_fields(field) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }
