"""connectors/base/mapping.py: the ledger mapping a connector translates unified writes with."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base.mapping import LedgerMapping, TaxRateMapping

MAPPING = LedgerMapping(
    tax_rates=(
        TaxRateMapping(code="zero", vendor_code="0"),
        TaxRateMapping(rate=Decimal("21.00"), vendor_code="2"),
        TaxRateMapping(rate="9.5", vendor_code="1"),  # type: ignore[arg-type]
    ),
    default_revenue_ledger_account="8000",
    default_sales_journal="70",
    default_item="DIVERS",
    items_by_code={"consulting-hour": "CONSULT"},
)


def test_a_rate_matches_whatever_its_padding_and_a_code_matches_before_a_rate() -> None:
    assert MAPPING.vendor_tax_code(rate=Decimal(21)) == "2"
    assert MAPPING.vendor_tax_code(rate=Decimal("21.000")) == "2"
    assert MAPPING.vendor_tax_code(rate=Decimal("9.50")) == "1"
    assert MAPPING.vendor_tax_code(code="zero", rate=Decimal(21)) == "0"
    assert MAPPING.vendor_tax_code(code="reduced") is None  # an unknown code does not fall back to the rate
    assert MAPPING.vendor_tax_code(rate=Decimal(6)) is None
    assert MAPPING.vendor_tax_code() is None


def test_an_unmapped_item_code_is_taken_as_the_vendors_own() -> None:
    assert MAPPING.vendor_item_code("consulting-hour") == "CONSULT"
    assert MAPPING.vendor_item_code("BOOK") == "BOOK"


def test_the_stored_form_reads_back_to_an_equal_mapping() -> None:
    stored = MAPPING.to_dict()
    assert stored["tax_rates"] == [
        {"code": "zero", "vendor_code": "0"},
        {"rate": "21", "vendor_code": "2"},
        {"rate": "9.5", "vendor_code": "1"},
    ]
    assert LedgerMapping.from_dict(stored) == MAPPING
    assert LedgerMapping.from_dict({"default_item": ""}).default_item is None  # "" is "not set"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TaxRateMapping(vendor_code=" ", code="zero"), "needs the vendor tax code"),
        (lambda: TaxRateMapping(vendor_code="2", code="high", rate=Decimal(21)), "not both"),
        (lambda: TaxRateMapping(vendor_code="2"), "not both"),
        (lambda: TaxRateMapping(vendor_code="2", rate=Decimal(-1)), "non-negative"),
        (lambda: TaxRateMapping(vendor_code="2", rate=True), "percent such as 21"),  # type: ignore[arg-type]
        (lambda: TaxRateMapping(vendor_code="2", rate="NaN"), "non-negative"),  # type: ignore[arg-type]
        (
            lambda: LedgerMapping(
                tax_rates=(
                    TaxRateMapping(rate=Decimal(21), vendor_code="2"),
                    TaxRateMapping(rate="21.0", vendor_code="3"),
                )  # type: ignore[arg-type]
            ),
            "percentage is mapped twice",
        ),
        (
            lambda: LedgerMapping(
                tax_rates=(TaxRateMapping(code="z", vendor_code="0"), TaxRateMapping(code="z", vendor_code="1"))
            ),
            "code is mapped twice",
        ),
        (lambda: LedgerMapping.from_dict({"default_itme": "X"}), "Unknown mapping fields: default_itme"),
        (
            lambda: LedgerMapping.from_dict({"tax_rates": [{"rate": "21", "vendor_code": "2", "vat": "x"}]}),
            "Unknown tax rate mapping fields: vat",
        ),
    ],
)
def test_an_ambiguous_or_malformed_mapping_is_refused(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        build()
