"""A connection's ledger mapping values (how a unified invoice becomes vendor lines) and the error naming a gap.

Vendor-neutral: every right-hand side is a *vendor code* (Exact: VAT code "2", G/L account code "8000", journal
code "70", item code "CONSULT"); connectors resolve codes to their own keys. Stored as JSON per connection
(`to_dict`/`from_dict`), edited through `GET/PUT /connections/{id}/mapping`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any


class MappingMissing(Exception):  # the name for it; the API answers 422 naming `field`
    """A write the connection's mapping cannot translate; raised before anything is sent to the vendor."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field  # the mapping field to fill in: "tax_rates", "default_item", ...
        self.message = message
        super().__init__(f"{field}: {message}")


def _plain(value: Decimal) -> Decimal:
    """21.00 -> 21 and 9.50 -> 9.5, so equal rates compare and serialise alike."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _percent(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"A tax rate is a percent such as 21 or '9.5', got {value!r}")
    try:
        rate = Decimal(str(value))  # str() keeps 9.5 as 9.5, never float arithmetic
    except InvalidOperation:
        raise ValueError(f"A tax rate is a percent such as 21 or '9.5', got {value!r}") from None
    if not rate.is_finite() or rate < 0:
        raise ValueError(f"A tax rate is a non-negative percent, got {value!r}")
    return _plain(rate)


@dataclass(frozen=True, kw_only=True)
class TaxRateMapping:
    """One rule: lines with unified tax `code`, or with percent `rate`, use the vendor tax code `vendor_code`."""

    vendor_code: str
    code: str | None = None
    rate: Decimal | None = None

    def __post_init__(self) -> None:
        if not self.vendor_code or not self.vendor_code.strip():
            raise ValueError("A tax rate mapping needs the vendor tax code")
        if (self.code is None) == (self.rate is None):
            raise ValueError("A tax rate mapping matches either by unified code or by percentage, not both")
        if self.rate is not None:
            object.__setattr__(self, "rate", _percent(self.rate))

    def to_dict(self) -> dict[str, str]:
        match = {"code": self.code} if self.code is not None else {"rate": str(self.rate)}
        return {**match, "vendor_code": self.vendor_code}


@dataclass(frozen=True, kw_only=True)
class LedgerMapping:
    """The ledger mapping of one connection. Every field is optional; a write needing a missing one is refused."""

    tax_rates: tuple[TaxRateMapping, ...] = ()
    default_revenue_ledger_account: str | None = None  # vendor G/L account code for free-text lines
    default_sales_journal: str | None = None  # vendor journal code
    default_purchase_journal: str | None = None  # vendor journal code for purchase invoices
    default_item: str | None = None  # vendor item code for lines without an item (Exact requires one per line)
    items_by_code: Mapping[str, str] = field(default_factory=dict, hash=False)  # unified code -> vendor code

    def __post_init__(self) -> None:
        object.__setattr__(self, "tax_rates", tuple(self.tax_rates))
        codes = [rule.code for rule in self.tax_rates if rule.code is not None]
        rates = [rule.rate for rule in self.tax_rates if rule.rate is not None]
        # Two rules for one code or one rate would make the translation depend on list order.
        if len(codes) != len(set(codes)):
            raise ValueError("tax_rates: a unified tax code is mapped twice")
        if len(rates) != len(set(rates)):
            raise ValueError("tax_rates: a percentage is mapped twice")

    def vendor_tax_code(self, *, code: str | None = None, rate: Decimal | None = None) -> str | None:
        """The vendor tax code for a unified tax code, else for a percentage; None when no rule matches."""
        if code is not None:
            for rule in self.tax_rates:
                if rule.code == code:
                    return rule.vendor_code
            return None
        if rate is not None:
            wanted = _percent(rate)  # 21 == 21.00 == 21.0
            for rule in self.tax_rates:
                if rule.rate is not None and rule.rate == wanted:
                    return rule.vendor_code
        return None

    def vendor_item_code(self, code: str) -> str:
        """The vendor item code for a unified item code; unmapped codes are taken to be vendor codes already."""
        return self.items_by_code.get(code, code)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tax_rates": [rule.to_dict() for rule in self.tax_rates],
            "default_revenue_ledger_account": self.default_revenue_ledger_account,
            "default_sales_journal": self.default_sales_journal,
            "default_purchase_journal": self.default_purchase_journal,
            "default_item": self.default_item,
            "items_by_code": dict(self.items_by_code),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LedgerMapping:
        """Read the stored JSON form (unknown keys are an error, so typos do not pass silently)."""
        unknown = set(data) - {known.name for known in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"Unknown mapping fields: {', '.join(sorted(unknown))}")
        rules = []
        for rule in data.get("tax_rates") or []:
            extra = set(rule) - {"code", "rate", "vendor_code"}
            if extra:
                raise ValueError(f"Unknown tax rate mapping fields: {', '.join(sorted(extra))}")
            rate = rule.get("rate")
            rules.append(
                TaxRateMapping(
                    vendor_code=rule.get("vendor_code", ""),
                    code=rule.get("code"),
                    rate=_percent(rate) if rate is not None else None,
                )
            )
        return cls(
            tax_rates=tuple(rules),
            default_revenue_ledger_account=data.get("default_revenue_ledger_account") or None,
            default_sales_journal=data.get("default_sales_journal") or None,
            default_purchase_journal=data.get("default_purchase_journal") or None,
            default_item=data.get("default_item") or None,
            items_by_code=dict(data.get("items_by_code") or {}),
        )
