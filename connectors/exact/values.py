"""Exact Online value conventions: `/Date(ms)/` wall-clock dates, padded account codes, Decimal money, JSON bodies.

Rules (each cites the Exact behaviour it follows):

- Dates. Exact sends `"/Date(ms)/"` where the milliseconds encode **Europe/Amsterdam wall-clock time** as if it
  were UTC (KB FAQ: "This is in the CET time and not GMT"; NOTES.md: OData). We read the ms as a naive wall-clock
  time, attach Europe/Amsterdam (zoneinfo, so CET/CEST follow the DST rules) and convert to UTC for timestamps.
  In the autumn hour that happens twice (02:00-03:00 on the last Sunday of October) the wall-clock value is
  ambiguous; we take the first occurrence (CEST, `fold=0`). A wall-clock time in the spring gap (02:00-03:00 on
  the last Sunday of March) does not exist; zoneinfo gives it the pre-gap offset (CET).
- `"/Date(ms+hhmm)/"` follows the .NET JSON convention: the ms are true UTC and the suffix is the local offset
  (ossobv `json_date_to_datetime` adds the offset to get local time), so the moment is the UTC ms as given.
- Date-only fields (InvoiceDate, DueDate, ...) are midnight wall-clock; their calendar date is the wall-clock date.
- On POST/PUT Exact wants ISO-8601 (`"2024-01-31T00:00:00"`; KB FAQ, ossobv `elements/invoice.py`), read as
  Amsterdam wall-clock time, so we send naive Amsterdam wall-clock ISO strings.
- crm/Accounts.Code is "fixed length numeric string with leading spaces, length 18" (reference); `$filter` needs
  the padded value (NOTES.md: OData). Unified codes are stripped; `pad_code` pads them back.
- Money. JSON numbers arrive as Python floats; we go to Decimal through `str()` (shortest round-trip repr, so
  `0.1` stays `Decimal("0.1")`) and never do arithmetic in float. Money amounts are rounded ROUND_HALF_UP to
  2 decimals (cents), per line, the way Exact rounds invoice lines; quantities, unit prices and rates are not.
- Bodies. `exact_json_dumps` writes Decimals as JSON number literals with their exact digits (no float step;
  the shared connectors.base.jsonbody).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base.jsonbody import decimal_json_dumps

# Exact's datetimes are Amsterdam wall-clock time (KB FAQ), whatever the division's country.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
ACCOUNT_CODE_LENGTH = 18  # crm/Accounts.Code: "fixed length ... with leading spaces, length 18"
CENT = Decimal("0.01")

_EPOCH = datetime(1970, 1, 1)
_JSON_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


class UnexpectedExactValue(ValueError):
    """Exact sent a value we do not understand (unknown is an error, never silence)."""

    def __init__(self, field: str, value: Any, expected: str = "") -> None:
        self.field = field
        self.value = value
        suffix = f" (expected {expected})" if expected else ""
        super().__init__(f"Unexpected Exact value for {field}: {value!r}{suffix}")


# ---------------------------------------------------------------------------------------------- dates


def _wall_clock(value: Any, field: str) -> datetime | None:
    """The naive Amsterdam wall-clock time an Exact date value denotes, or None for null/empty."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(AMSTERDAM).replace(tzinfo=None) if value.tzinfo else value
    if not isinstance(value, str):
        raise UnexpectedExactValue(field, value, "/Date(ms)/ or ISO-8601")
    match = _JSON_DATE_RE.match(value)
    if match:
        ms, offset = match.groups()
        if offset is None:
            # Plain /Date(ms)/: the ms *are* the wall-clock time (KB FAQ: "CET time and not GMT").
            return _EPOCH + timedelta(milliseconds=int(ms))
        # .NET form /Date(ms+hhmm)/: ms are true UTC and the suffix only states the sender's local offset.
        moment = (_EPOCH + timedelta(milliseconds=int(ms))).replace(tzinfo=UTC)
        return moment.astimezone(AMSTERDAM).replace(tzinfo=None)
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UnexpectedExactValue(field, value, "/Date(ms)/ or ISO-8601") from None
    # Naive ISO values are Amsterdam wall-clock time, as Exact reads them on writes.
    return parsed.astimezone(AMSTERDAM).replace(tzinfo=None) if parsed.tzinfo else parsed


def parse_exact_datetime(value: Any, field: str = "datetime") -> datetime | None:
    """An Exact timestamp (`/Date(ms)/`, `/Date(ms+hhmm)/` or ISO) as an aware UTC datetime; None for null."""
    if type(value) is str and (moment := _moment_of_json_date(value)) is not None:
        return moment
    wall = _wall_clock(value, field)
    if wall is None:
        return None
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC)


def parse_exact_date(value: Any, field: str = "date") -> date | None:
    """An Exact date-only field (InvoiceDate, DueDate): the Amsterdam wall-clock calendar date; None for null."""
    if type(value) is str and (day := _date_of_json_date(value)) is not None:
        return day
    wall = _wall_clock(value, field)
    return wall.date() if wall is not None else None


# The same `/Date(ms)/` text comes again and again (an invoice's Created and Modified, a page's invoice and due
# dates): each is worked out once per process. Bounded; the values are immutable; None (not that form) is the caller's.
@lru_cache(maxsize=4096)
def _moment_of_json_date(text: str) -> datetime | None:
    if not _JSON_DATE_RE.match(text):
        return None
    wall = _wall_clock(text, "date")
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC) if wall is not None else None


@lru_cache(maxsize=4096)
def _date_of_json_date(text: str) -> date | None:
    if not _JSON_DATE_RE.match(text):
        return None
    wall = _wall_clock(text, "date")
    return wall.date() if wall is not None else None


def format_exact_date(value: date) -> str:
    """A date as Exact wants it on POST/PUT: ISO-8601 midnight, no offset (`2024-01-31T00:00:00`)."""
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.isoformat()}T00:00:00"


def format_exact_datetime(value: datetime) -> str:
    """An aware moment as naive Amsterdam wall-clock ISO-8601, which is how Exact reads datetimes on writes."""
    if value.tzinfo is None:
        raise ValueError("format_exact_datetime needs an aware datetime; naive values are ambiguous")
    return value.astimezone(AMSTERDAM).replace(tzinfo=None, microsecond=0).isoformat()


def format_json_date(value: datetime | date) -> str:
    """`/Date(ms)/` as Exact sends it (ms = Amsterdam wall-clock); for recorded fixtures and tests."""
    if isinstance(value, datetime):
        wall = value.astimezone(AMSTERDAM).replace(tzinfo=None) if value.tzinfo else value
    else:
        wall = datetime(value.year, value.month, value.day)
    return f"/Date({(wall - _EPOCH) // timedelta(milliseconds=1)})/"


# ---------------------------------------------------------------------------------------------- codes


def pad_code(code: str, length: int = ACCOUNT_CODE_LENGTH) -> str:
    """An account code left-padded with spaces to Exact's fixed 18 characters (needed for `$filter` and writes)."""
    stripped = code.strip()
    if not stripped:
        raise ValueError("An Exact account code cannot be empty")
    if len(stripped) > length:
        raise ValueError(f"Exact account codes are at most {length} characters: {stripped!r}")
    return stripped.rjust(length)


def strip_code(code: str | None) -> str | None:
    """A padded Exact code as the unified code (no padding); None stays None, blank becomes None."""
    if code is None:
        return None
    stripped = str(code).strip()
    return stripped or None


def clean_text(value: Any) -> str | None:
    """An Exact string field as a unified value: surrounding whitespace removed, blank as None."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# ---------------------------------------------------------------------------------------------- numbers


def to_decimal(value: Any, field: str = "number") -> Decimal | None:
    """An Exact number as Decimal without float arithmetic (floats go through their shortest repr)."""
    # Exact's JSON numbers arrive as floats: a finite one (x - x is 0.0 only then) needs none of the checks below.
    if type(value) is float and value - value == 0.0:
        return Decimal(repr(value))
    if value is None or value == "":
        return None
    if isinstance(value, bool):  # bool is an int subclass; an amount is never a flag
        raise UnexpectedExactValue(field, value, "a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise UnexpectedExactValue(field, value, "a number") from None
    else:
        raise UnexpectedExactValue(field, value, "a number")
    if not result.is_finite():
        raise UnexpectedExactValue(field, value, "a finite number")
    return result


def round_money(amount: Decimal) -> Decimal:
    """Cents, ROUND_HALF_UP: the rule applied per line (2.675 -> 2.68, -2.675 -> -2.68)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_money(value: Any, field: str = "amount") -> Decimal | None:
    """An Exact amount as Decimal rounded to cents (ROUND_HALF_UP); None for null."""
    amount = to_decimal(value, field)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP) if amount is not None else None  # round_money, inlined


def plain_decimal(value: Decimal) -> Decimal:
    """A Decimal without trailing zeros or exponent notation (`21.00` -> `21`, `9.50` -> `9.5`)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def percent_from_fraction(value: Any, field: str = "Percentage") -> Decimal | None:
    """Exact stores VAT percentages as fractions (0.21); the unified rate is a percent (21)."""
    fraction = to_decimal(value, field)
    return plain_decimal(fraction * 100) if fraction is not None else None


# ---------------------------------------------------------------------------------------------- bodies


def exact_json_dumps(payload: Any) -> str:
    """JSON text for an Exact POST/PUT body; Decimals become number literals with their exact digits."""
    return decimal_json_dumps(payload, vendor="Exact")
