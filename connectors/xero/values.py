"""Xero value conventions: `/Date(ms+0000)/` dates, Decimal money, JSON bodies with exact decimals.

- Xero's JSON dates are `/Date(<epoch ms>+0000)/`: the milliseconds are UTC (NOTES.md: Dates). Date-only fields
  (Date, DueDate, FullyPaidOnDate) are midnight UTC, so their calendar date is the UTC date. Connection dates
  (`/connections`) are ISO without a zone and are UTC too (NOTES.md: Connections).
- Writes send dates as `YYYY-MM-DD`, which Xero accepts (NOTES.md: Dates).
- Money: JSON numbers arrive as floats; they become Decimal through `str()` (shortest repr) and are rounded to
  cents ROUND_HALF_UP, the way Xero rounds line tax (NOTES.md: Line items).
- `xero_json_dumps` writes Decimals as number literals with their exact digits (no float step; the shared
  connectors.base.jsonbody) and dates as `YYYY-MM-DD`.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from connectors.base.jsonbody import decimal_json_dumps

CENT = Decimal("0.01")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_JSON_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class UnexpectedXeroValue(ValueError):
    """Xero sent a value we do not understand (unknown is an error, never silence)."""

    def __init__(self, field: str, value: Any, expected: str = "") -> None:
        self.field = field
        self.value = value
        suffix = f" (expected {expected})" if expected else ""
        super().__init__(f"Unexpected Xero value for {field}: {value!r}{suffix}")


def parse_xero_datetime(value: Any, field: str = "datetime") -> datetime | None:
    """`/Date(ms+0000)/` or ISO (zone-less means UTC) -> aware UTC datetime; None for null or empty."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise UnexpectedXeroValue(field, value, "/Date(ms+0000)/ or ISO 8601")
    match = _JSON_DATE_RE.match(value.strip())
    if match:
        # The .NET convention: the ms are UTC whatever the offset suffix says about local time.
        return _EPOCH + timedelta(milliseconds=int(match.group(1)))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UnexpectedXeroValue(field, value, "/Date(ms+0000)/ or ISO 8601") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_xero_date(value: Any, field: str = "date") -> date | None:
    moment = parse_xero_datetime(value, field)
    return moment.date() if moment is not None else None


def format_xero_date(value: date) -> str:
    return value.isoformat()


def format_if_modified_since(moment: datetime) -> str:
    """The `If-Modified-Since` value: UTC ISO 8601 to the second (the form Xero's own SDK sends)."""
    if moment.tzinfo is None:
        raise ValueError("If-Modified-Since needs an aware datetime")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")


def clean_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def to_decimal(value: Any, field: str = "number") -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise UnexpectedXeroValue(field, value, "a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise UnexpectedXeroValue(field, value, "a number") from None
    if not number.is_finite():
        raise UnexpectedXeroValue(field, value, "a finite number")
    return number


def round_money(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_money(value: Any, field: str = "amount") -> Decimal | None:
    number = to_decimal(value, field)
    return round_money(number) if number is not None else None


def parse_guid(value: str | None) -> str | None:
    """A Xero id (a GUID, with or without hyphens) in its canonical form, or None for anything else."""
    if not value or len(value) > 40:
        return None
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        return None


def xero_json_dumps(payload: Any) -> str:
    """JSON text for a Xero write: Decimals become number literals with their exact digits, dates ISO strings."""
    return decimal_json_dumps(payload, vendor="Xero", dates=True)
