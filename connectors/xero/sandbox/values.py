"""Xero's wire values: `/Date(ms+0000)/` dates, money with 2 (or 4) decimals, both GUID spellings."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from uuid import UUID

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
CENT = Decimal("0.01")


def ms_date(value: date | datetime) -> str:
    """`/Date(1539993600000+0000)/`: epoch milliseconds, always with +0000 (NOTES.md "Dates")."""
    if isinstance(value, datetime):
        moment = value.astimezone(UTC)
    else:
        moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
    return f"/Date({int(moment.timestamp() * 1000)}+0000)/"


def date_string(value: date | datetime) -> str:
    """The ISO twin (`DateString`, `DueDateString`): `2018-10-20T00:00:00`, no zone."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return value.strftime("%Y-%m-%dT00:00:00")


def iso_utc(value: datetime) -> str:
    """ISO with 7 fractional digits and no zone, as in GET /connections (NOTES.md "Connections")."""
    moment = value.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0"


def parse_date(value: Any) -> date:
    """A date sent by a client: `/Date(ms[±hhmm])/`, `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ss` (time ignored)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    match = _MS_DATE.match(text)
    if match:
        moment = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        if match.group(2):
            sign = 1 if match.group(2)[0] == "+" else -1
            moment += sign * timedelta(hours=int(match.group(2)[1:3]), minutes=int(match.group(2)[3:5]))
        return moment.date()
    match = _ISO_DATE.match(text)
    if match:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    raise ValueError(text)


def parse_if_modified_since(text: str) -> datetime | None:
    """ISO (with or without zone, UTC assumed), RFC 1123, or either in quotes (NOTES.md "If-Modified-Since")."""
    text = text.strip().strip('"').strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def decimal(value: Any) -> Decimal:
    """A number sent as JSON number or (XML) text; ValueError when it is not one."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, Decimal):
        return value
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(value) from None
    if not result.is_finite():
        raise ValueError(value)
    return result


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def boolean(value: Any) -> bool:
    """JSON booleans, or XML's `true`/`false`."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise ValueError(value)


def guid(value: Any) -> str | None:
    """The canonical (lower-case, hyphenated) form of a GUID in either spelling, or None."""
    try:
        return str(UUID(str(value).strip().strip("{}")))
    except ValueError:
        return None
