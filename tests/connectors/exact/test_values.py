"""Exact value conventions: wall-clock `/Date(ms)/` across DST, ISO on writes, padded codes, Decimal money."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from connectors.exact.values import (
    AMSTERDAM,
    UnexpectedExactValue,
    exact_json_dumps,
    format_exact_date,
    format_exact_datetime,
    format_json_date,
    pad_code,
    parse_exact_date,
    parse_exact_datetime,
    percent_from_fraction,
    plain_decimal,
    round_money,
    strip_code,
    to_decimal,
    to_money,
)


def wall_ms(*parts: int) -> str:
    """`/Date(ms)/` whose ms encode the given Amsterdam wall-clock time as if it were UTC (what Exact sends)."""
    return f"/Date({int(datetime(*parts, tzinfo=UTC).timestamp() * 1000)})/"


class TestDates:
    @pytest.mark.parametrize(
        ("wall", "utc"),
        [
            # Winter (CET, +01:00)
            ((2024, 1, 15, 10, 30), datetime(2024, 1, 15, 9, 30, tzinfo=UTC)),
            # Summer (CEST, +02:00)
            ((2024, 7, 1, 14, 0), datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),
            # Spring forward on 2024-03-31: 01:59 is still CET, 03:00 already CEST.
            ((2024, 3, 31, 1, 59), datetime(2024, 3, 31, 0, 59, tzinfo=UTC)),
            ((2024, 3, 31, 3, 0), datetime(2024, 3, 31, 1, 0, tzinfo=UTC)),
            # Fall back on 2024-10-27: 02:30 happens twice; the first (CEST) is taken. 03:00 is CET again.
            ((2024, 10, 27, 2, 30), datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),
            ((2024, 10, 27, 3, 0), datetime(2024, 10, 27, 2, 0, tzinfo=UTC)),
            # Midnight around New Year stays on the right UTC day.
            ((2024, 1, 1, 0, 0), datetime(2023, 12, 31, 23, 0, tzinfo=UTC)),
        ],
    )
    def test_wall_clock_ms_become_utc(self, wall: tuple[int, ...], utc: datetime) -> None:
        parsed = parse_exact_datetime(wall_ms(*wall))
        assert parsed == utc
        assert parsed is not None and parsed.utcoffset() is not None and parsed.tzinfo is UTC

    def test_ms_are_not_treated_as_utc(self) -> None:
        # 1705314600000 is 2024-01-15T10:30Z as true UTC, but Exact means 10:30 in Amsterdam.
        assert parse_exact_datetime("/Date(1705314600000)/") == datetime(2024, 1, 15, 9, 30, tzinfo=UTC)

    def test_spring_gap_takes_the_pre_gap_offset(self) -> None:
        # 02:30 on 2024-03-31 does not exist in Amsterdam; zoneinfo reads it with CET (+01:00).
        assert parse_exact_datetime(wall_ms(2024, 3, 31, 2, 30)) == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)

    def test_offset_suffix_means_true_utc_ms(self) -> None:
        # .NET form: the ms are UTC and +0200 only states the local offset.
        true_utc_ms = int(datetime(2024, 7, 1, 12, 0, tzinfo=UTC).timestamp() * 1000)
        assert parse_exact_datetime(f"/Date({true_utc_ms}+0200)/") == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
        assert parse_exact_date(f"/Date({true_utc_ms - 13 * 3600_000}+0200)/") == date(2024, 7, 1)

    def test_date_only_fields_keep_the_wall_clock_date(self) -> None:
        # Midnight wall-clock; read as true UTC it would be the previous evening and the wrong day.
        assert parse_exact_date(wall_ms(2024, 3, 31)) == date(2024, 3, 31)
        assert parse_exact_date(wall_ms(2024, 10, 27)) == date(2024, 10, 27)
        assert parse_exact_date(wall_ms(2024, 1, 1)) == date(2024, 1, 1)

    def test_negative_ms_before_1970(self) -> None:
        assert parse_exact_date(wall_ms(1965, 6, 1)) == date(1965, 6, 1)

    def test_iso_strings_are_wall_clock(self) -> None:
        assert parse_exact_datetime("2024-07-01T14:00:00") == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
        assert parse_exact_datetime("2024-07-01T12:00:00Z") == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)

    @pytest.mark.parametrize("empty", [None, ""])
    def test_null_is_none(self, empty: str | None) -> None:
        assert parse_exact_datetime(empty) is None
        assert parse_exact_date(empty) is None

    @pytest.mark.parametrize("garbage", ["/Date(abc)/", "31-01-2024", 1705314600000])
    def test_garbage_is_an_error(self, garbage: object) -> None:
        with pytest.raises(UnexpectedExactValue):
            parse_exact_datetime(garbage, "Created")

    def test_writes_send_iso_8601(self) -> None:
        assert format_exact_date(date(2024, 1, 31)) == "2024-01-31T00:00:00"
        assert format_exact_datetime(datetime(2024, 7, 1, 12, 0, tzinfo=UTC)) == "2024-07-01T14:00:00"
        assert format_exact_datetime(datetime(2024, 1, 15, 9, 30, 15, 999, tzinfo=UTC)) == "2024-01-15T10:30:15"

    def test_naive_datetimes_are_refused_on_writes(self) -> None:
        with pytest.raises(ValueError, match="aware"):
            format_exact_datetime(datetime(2024, 7, 1, 12, 0))

    @pytest.mark.parametrize(
        "moment",
        [
            datetime(2024, 1, 15, 9, 30, tzinfo=UTC),
            datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
            datetime(2024, 10, 27, 0, 30, tzinfo=UTC),  # first 02:30 of the fall-back night
        ],
    )
    def test_round_trip_through_json_date(self, moment: datetime) -> None:
        assert parse_exact_datetime(format_json_date(moment)) == moment
        assert parse_exact_datetime(format_exact_datetime(moment)) == moment

    def test_format_json_date_is_wall_clock(self) -> None:
        assert format_json_date(datetime(2024, 1, 15, 10, 30, tzinfo=AMSTERDAM)) == wall_ms(2024, 1, 15, 10, 30)
        assert format_json_date(date(2024, 3, 31)) == wall_ms(2024, 3, 31)


class TestCodes:
    def test_pad_to_eighteen(self) -> None:
        assert pad_code("25") == " " * 16 + "25"
        assert len(pad_code("1001")) == 18
        assert pad_code("  1001 ") == "1001".rjust(18)
        assert pad_code("X" * 18) == "X" * 18

    @pytest.mark.parametrize("bad", ["", "   ", "1" * 19])
    def test_pad_refuses_empty_and_long(self, bad: str) -> None:
        with pytest.raises(ValueError):
            pad_code(bad)

    def test_strip(self) -> None:
        assert strip_code("                1001") == "1001"
        assert strip_code("2  ") == "2"
        assert strip_code("   ") is None
        assert strip_code(None) is None

    def test_strip_then_pad_round_trips(self) -> None:
        padded = "1001".rjust(18)
        assert pad_code(strip_code(padded) or "") == padded


class TestMoney:
    def test_json_floats_become_exact_decimals(self) -> None:
        body = json.loads('{"a": 0.1, "b": 0.2, "c": 33.33}')
        assert to_decimal(body["a"]) + to_decimal(body["b"]) == Decimal("0.3")  # type: ignore[operator]
        assert body["a"] + body["b"] != 0.3  # the float trap this avoids
        assert to_decimal(body["c"]) * 3 == Decimal("99.99")  # type: ignore[operator]

    def test_float_noise_rounds_to_cents(self) -> None:
        assert to_money(0.30000000000000004) == Decimal("0.30")
        assert to_money(99.99000000000001) == Decimal("99.99")

    @pytest.mark.parametrize(
        ("amount", "cents"),
        [
            ("2.675", "2.68"),  # float(2.675) is 2.67499999..., half-up on the decimal digits gives 2.68
            ("-2.675", "-2.68"),  # half-up is away from zero for credit notes too
            ("0.005", "0.01"),
            ("0.004", "0.00"),
            ("20.9979", "21.00"),  # 21 % of 99.99
        ],
    )
    def test_round_half_up(self, amount: str, cents: str) -> None:
        assert round_money(Decimal(amount)) == Decimal(cents)
        assert str(round_money(Decimal(amount))) == cents

    def test_float_input_is_rounded_on_its_decimal_digits(self) -> None:
        assert to_money(2.675) == Decimal("2.68")  # round(2.675, 2) in float gives 2.67

    def test_a_line_amount_is_the_exact_product_rounded_half_up(self) -> None:
        assert round_money(Decimal(3) * Decimal("33.33")) == Decimal("99.99")
        assert round_money(Decimal(3) * Decimal("33.335")) == Decimal("100.01")  # 100.005 -> half-up
        assert round_money(Decimal("0.5") * Decimal("0.01")) == Decimal("0.01")

    def test_ints_strings_and_decimals(self) -> None:
        assert to_decimal(5) == Decimal(5)
        assert to_decimal("12.50") == Decimal("12.50")
        assert to_decimal(Decimal("1.1")) == Decimal("1.1")
        assert to_decimal(None) is None
        assert to_money(None) is None

    @pytest.mark.parametrize("bad", [True, "abc", float("nan"), float("inf"), [1]])
    def test_non_numbers_are_errors(self, bad: object) -> None:
        with pytest.raises(UnexpectedExactValue):
            to_decimal(bad, "AmountFC")

    def test_percentages(self) -> None:
        assert percent_from_fraction(0.21) == Decimal(21)
        assert str(percent_from_fraction(0.21)) == "21"
        assert str(percent_from_fraction(0.09)) == "9"
        assert str(percent_from_fraction(0.055)) == "5.5"
        assert str(percent_from_fraction(0.0)) == "0"
        assert str(plain_decimal(Decimal("100.00"))) == "100"


class TestJsonBody:
    def test_decimals_are_number_literals_with_exact_digits(self) -> None:
        text = exact_json_dumps({"UnitPrice": Decimal("33.33"), "Quantity": Decimal("-3"), "Tiny": Decimal("1E-7")})
        assert text == '{"UnitPrice":33.33,"Quantity":-3,"Tiny":0.0000001}'
        assert json.loads(text, parse_float=Decimal)["UnitPrice"] == Decimal("33.33")

    def test_nested_lines_and_strings_untouched(self) -> None:
        payload = {"Journal": "70", "SalesInvoiceLines": [{"UnitPrice": Decimal("0.1")}, {"UnitPrice": Decimal("0.2")}]}
        assert json.loads(exact_json_dumps(payload), parse_float=Decimal) == {
            "Journal": "70",
            "SalesInvoiceLines": [{"UnitPrice": Decimal("0.1")}, {"UnitPrice": Decimal("0.2")}],
        }

    def test_non_finite_refused(self) -> None:
        with pytest.raises(ValueError):
            exact_json_dumps({"AmountFC": Decimal("NaN")})
