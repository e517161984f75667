"""JSON request bodies for vendor writes: Decimals as number literals with their exact digits (no float step).

Both vendors read JSON numbers as decimals, so money must go on the wire as the digits we computed: `Decimal("0.1")`
becomes `0.1`, never `0.1000000000000000055…`, and a non-finite number is refused before anything is sent.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def decimal_json_dumps(payload: Any, *, vendor: str, dates: bool = False) -> str:
    """JSON text for a `vendor` write body. Decimals become number literals with their exact digits; with
    `dates`, a `date` becomes its ISO string and a `datetime` is refused (the vendor wants calendar dates);
    without it a date is not JSON and raises TypeError like any other unknown type."""
    nonce = uuid.uuid4().hex
    literals: dict[str, str] = {}

    def swap(value: Any) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError(f"Cannot send a non-finite number to {vendor}: {value}")
            token = f"{nonce}:{len(literals)}"
            literals[token] = format(value, "f")
            return token
        if dates and isinstance(value, datetime):
            raise TypeError(f"Send {vendor} dates, not datetimes")
        if dates and isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(payload), ensure_ascii=False, separators=(",", ":"))
    for token, literal in literals.items():
        text = text.replace(json.dumps(token), literal)
    return text
