"""The unified records and the ledger mapping values: immutability, Decimal-only money, enums, mapping rules."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.base.mapping import LedgerMapping, MappingMissing, TaxRateMapping
from connectors.base.records import (
    Address,
    AddressType,
    Contact,
    InvalidInput,
    Invoice,
    InvoiceLine,
    InvoiceLineInput,
    InvoiceStatus,
    InvoiceType,
    LedgerClassification,
    Payment,
    RecordStatus,
    TaxRate,
    TaxType,
    TaxUsage,
    Warning,
)


def contact(**values: object) -> Contact:
    return Contact(**{"id": "c1", "remote_id": "c1", "name": "Bakkerij", **values})  # type: ignore[arg-type]


class TestRecords:
    def test_frozen(self) -> None:
        record = contact()
        with pytest.raises(dataclasses.FrozenInstanceError):
            record.name = "Other"  # type: ignore[misc]

    def test_enums_are_lower_case_words(self) -> None:
        assert [s.value for s in InvoiceStatus] == ["draft", "open", "paid", "partially_paid", "void"]
        assert [t.value for t in InvoiceType] == ["invoice", "credit_note"]
        assert [s.value for s in RecordStatus] == ["active", "archived"]
        assert [c.value for c in LedgerClassification] == ["asset", "liability", "equity", "revenue", "expense"]
        assert [t.value for t in TaxType] == ["exclusive", "inclusive", "none"]
        assert [u.value for u in TaxUsage] == ["sales", "purchase", "both"]
        assert json.dumps({"status": InvoiceStatus.PARTIALLY_PAID}) == '{"status": "partially_paid"}'

    def test_remote_data_is_not_part_of_equality(self) -> None:
        with_raw = contact(remote_data={"ID": "c1", "Name": "Bakkerij"})
        assert with_raw == contact()
        assert hash(with_raw) == hash(contact())
        assert with_raw.without_remote_data().remote_data is None
        assert "remote_data" not in repr(with_raw)
        # The record without it is a copy with every other value; the original keeps its remote_data.
        plain = with_raw.without_remote_data()
        assert plain is not with_raw and plain.__dict__ == {**with_raw.__dict__, "remote_data": None}
        assert with_raw.remote_data == {"ID": "c1", "Name": "Bakkerij"}
        assert plain.without_remote_data() is plain
        with pytest.raises(dataclasses.FrozenInstanceError):
            plain.name = "changed"  # type: ignore[misc]

    def test_timestamps_must_be_aware(self) -> None:
        contact(created_at=datetime(2024, 1, 1, tzinfo=UTC))
        with pytest.raises(ValueError, match="aware"):
            contact(created_at=datetime(2024, 1, 1))

    def test_money_must_be_decimal(self) -> None:
        with pytest.raises(TypeError, match="Decimal"):
            InvoiceLine(net_amount=0.1)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Decimal"):
            Invoice(id="i", remote_id="i", total=121.32)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Decimal"):
            TaxRate(
                id="2", remote_id="g", code="2", name="21%", rate=21.0, type=TaxType.EXCLUSIVE, usage=TaxUsage.SALES
            )  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Decimal"):
            InvoiceLineInput(unit_price=33.33)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Decimal"):
            Payment(id="p", remote_id="p", amount=Decimal(1), open_amount=1)  # type: ignore[arg-type]

    def test_dates_are_dates_not_datetimes(self) -> None:
        Invoice(id="i", remote_id="i", issue_date=date(2024, 3, 31))
        with pytest.raises(TypeError, match="date"):
            Invoice(id="i", remote_id="i", due_date=datetime(2024, 3, 31, tzinfo=UTC))  # type: ignore[arg-type]

    @pytest.mark.parametrize("country", ["nl", "NLD", "N1", "Nederland"])
    def test_country_is_iso_alpha_2(self, country: str) -> None:
        with pytest.raises(ValueError, match="alpha-2"):
            Address(country=country)

    def test_address_defaults_to_main(self) -> None:
        assert Address(city="Utrecht", country="NL").type is AddressType.MAIN

    def test_warning_as_dict(self) -> None:
        warning = Warning("exact_stores_one_address", "addresses[1]", "only one")
        assert warning.as_dict() == {"code": "exact_stores_one_address", "field": "addresses[1]", "message": "only one"}

    def test_invalid_input_names_the_field(self) -> None:
        error = InvalidInput("lines", "at least one")
        assert error.field == "lines"
        assert isinstance(error, ValueError)


class TestLedgerMapping:
    mapping = LedgerMapping(
        tax_rates=(
            TaxRateMapping(code="standard", vendor_code="2"),
            TaxRateMapping(code="reduced", vendor_code="1"),
            TaxRateMapping(rate=Decimal("21"), vendor_code="2"),
            TaxRateMapping(rate=Decimal("9.0"), vendor_code="1"),
            TaxRateMapping(rate=Decimal("0"), vendor_code="0"),
        ),
        default_revenue_ledger_account="8000",
        default_sales_journal="70",
        default_item="DIVERS",
        items_by_code={"consulting-hour": "CONSULT"},
    )

    def test_tax_by_code_then_by_rate(self) -> None:
        assert self.mapping.vendor_tax_code(code="standard") == "2"
        assert self.mapping.vendor_tax_code(code="zero") is None  # a code never falls through to a rate
        assert self.mapping.vendor_tax_code(rate=Decimal("21.00")) == "2"
        assert self.mapping.vendor_tax_code(rate=Decimal("9")) == "1"
        assert self.mapping.vendor_tax_code(rate=Decimal("0.00")) == "0"
        assert self.mapping.vendor_tax_code(rate=Decimal("6")) is None
        assert self.mapping.vendor_tax_code() is None

    def test_items_by_code_with_identity_fallback(self) -> None:
        assert self.mapping.vendor_item_code("consulting-hour") == "CONSULT"
        assert self.mapping.vendor_item_code("BOOK") == "BOOK"

    def test_rule_matches_by_one_thing(self) -> None:
        with pytest.raises(ValueError, match="either"):
            TaxRateMapping(vendor_code="2")
        with pytest.raises(ValueError, match="either"):
            TaxRateMapping(vendor_code="2", code="standard", rate=Decimal(21))
        with pytest.raises(ValueError, match="vendor tax code"):
            TaxRateMapping(vendor_code=" ", code="standard")

    def test_duplicates_refused(self) -> None:
        with pytest.raises(ValueError, match="code is mapped twice"):
            LedgerMapping(
                tax_rates=(TaxRateMapping(code="s", vendor_code="2"), TaxRateMapping(code="s", vendor_code="1"))
            )
        with pytest.raises(ValueError, match="percentage is mapped twice"):
            LedgerMapping(
                tax_rates=(
                    TaxRateMapping(rate=Decimal(21), vendor_code="2"),
                    TaxRateMapping(rate=Decimal("21.0"), vendor_code="7"),
                )
            )

    def test_dict_round_trip(self) -> None:
        stored = json.loads(json.dumps(self.mapping.to_dict()))
        assert stored["tax_rates"][3] == {"rate": "9", "vendor_code": "1"}
        assert LedgerMapping.from_dict(stored) == self.mapping

    def test_from_dict_reads_rates_without_float_maths(self) -> None:
        mapping = LedgerMapping.from_dict(
            {"tax_rates": [{"rate": 5.5, "vendor_code": "X"}, {"rate": "9", "vendor_code": "1"}]}
        )
        assert mapping.tax_rates[0].rate == Decimal("5.5")
        assert mapping.vendor_tax_code(rate=Decimal("5.50")) == "X"
        assert mapping.default_item is None and dict(mapping.items_by_code) == {}

    @pytest.mark.parametrize(
        "data",
        [
            {"default_itme": "X"},
            {"tax_rates": [{"code": "s", "vendor": "2"}]},
            {"tax_rates": [{"rate": "abc", "vendor_code": "2"}]},
            {"tax_rates": [{"rate": -1, "vendor_code": "2"}]},
            {"tax_rates": [{"rate": True, "vendor_code": "2"}]},
        ],
    )
    def test_from_dict_refuses_typos_and_bad_rates(self, data: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            LedgerMapping.from_dict(data)

    def test_mapping_missing_names_the_field(self) -> None:
        error = MappingMissing("default_item", "no default item")
        assert error.field == "default_item"
        assert error.message == "no default item"
        assert str(error) == "default_item: no default item"
