"""Serializer fields that take exactly what the OpenAPI schema says: no numbers for strings, no lenient UUIDs."""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api.problems import InvalidQueryParameters

_CANONICAL_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class StrictCharField(serializers.CharField):
    """A string field that refuses JSON numbers (DRF's CharField turns `0` into `"0"`) and keeps the string as
    given (no trimming: " " is a string of length 1, as the schema's minLength counts it)."""

    default_error_messages = {"invalid": "Not a valid string."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """Only JSON true or false, as the schema's `boolean` says (DRF would also take 1, 0, "yes" or "false")."""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean)."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, as the schema's `integer` says: no string ("5") and no boolean (DRF takes both); a number
    with an integral value (5.0) is an integer to JSON Schema too."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not (isinstance(data, int) or (isinstance(data, float) and data.is_integer())):
            self.fail("invalid")
        return super().to_internal_value(data)  # type: ignore[no-any-return]


_FULL_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class StrictDateField(serializers.DateField):
    """A date as the schema's `format: date` says: `YYYY-MM-DD` only (Django's parser also takes "2025-1-5",
    "20250105", "2025-W01-1" and other scripts' digits)."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not _FULL_DATE.match(value):
            self.fail("invalid", format="YYYY-MM-DD")
        return super().to_internal_value(value)


# RFC 3339 date-time, the schema's `format: date-time`: a full date, "T", a time and a zone (Z or an offset).
_DATE_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


class StrictDateTimeField(serializers.DateTimeField):
    """A moment as the schema's `format: date-time` says (RFC 3339, with its zone); Django's parser also takes a
    bare date, a time without zone (read in the server's zone) and other scripts' digits."""

    def to_internal_value(self, value: Any) -> Any:
        if not isinstance(value, str) or not _DATE_TIME.match(value):
            self.fail("invalid", format="YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)")
        return super().to_internal_value(value)


@extend_schema_field({"type": "string", "format": "uuid"})
class StrictUUIDField(serializers.UUIDField):
    """A UUID in its canonical 36-character form only (Python also takes braces, `urn:uuid:` and bare hex)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str) or not _CANONICAL_UUID.match(data):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class NonEmptyQueryFilters(serializers.Serializer):
    """Base for list filters in the query string: a filter given empty (`?status=`) is an error, not "no filter".

    Refusals raise InvalidQueryParameters: a bad query parameter is a 400, where a refused body is a 422.
    """

    def is_valid(self, *, raise_exception: bool = False) -> bool:
        valid = super().is_valid(raise_exception=False)
        if not valid and raise_exception:
            raise InvalidQueryParameters(self.errors)
        return valid

    def to_internal_value(self, data: Any) -> Any:
        empty = sorted(name for name in self.fields if name in data and data.get(name) == "")
        if empty:
            raise serializers.ValidationError({name: ["Must not be empty; leave the parameter out."] for name in empty})
        return super().to_internal_value(data)


# An absolute http(s) URL of plain ASCII URI characters (RFC 3986 without percent-escapes): what `HttpUrlField`
# takes, and the pattern the schema states.
_PCHAR = r"[A-Za-z0-9._~!$&'()*+,;=:@/-]"
HTTP_URL_PATTERN = (
    r"^https?://(?:[A-Za-z0-9._~!$&'()*+,;=:-]*@)?[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    rf"(?:/{_PCHAR}*)?(?:\?(?:{_PCHAR}|\?)*)?(?:#(?:{_PCHAR}|\?)*)?$"
)


@extend_schema_field({"type": "string", "format": "uri", "pattern": HTTP_URL_PATTERN})
class HttpUrlField(StrictCharField):
    """An absolute http(s) URL, checked by the pattern the schema documents (Django's URLValidator refuses some
    URIs the schema's `uri` format allows, and the other way round)."""

    default_error_messages = {"invalid": "An absolute http(s) URL."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not re.match(HTTP_URL_PATTERN, value):
            self.fail("invalid")
        return value
