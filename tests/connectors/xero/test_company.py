"""connectors/xero/company.py: Xero's organisation as the unified company, and the fiscal year start derived from the
day the financial year ends (NOTES.md: Organisation)."""

from __future__ import annotations

from datetime import date

import pytest

from connectors.xero.company import company_from_xero, fiscal_year_start
from connectors.xero.values import UnexpectedXeroValue

TENANT = "3f1c8a52-5d1e-4c6b-9a77-2d4e0b6f1a90"


@pytest.mark.parametrize(
    ("end", "today", "start"),
    [
        ((31, 3), date(2026, 12, 6), date(2026, 4, 1)),  # after this year's end: the year began the day after it
        ((31, 3), date(2026, 3, 31), date(2025, 4, 1)),  # on the year end: still the year that ends today
        ((31, 3), date(2026, 4, 1), date(2026, 4, 1)),  # the day after: the new year
        ((31, 12), date(2026, 12, 31), date(2026, 1, 1)),  # calendar years
        ((30, 6), date(2027, 1, 15), date(2026, 7, 1)),  # Australia's default
        ((29, 2), date(2027, 3, 1), date(2027, 3, 1)),  # no 29 February in 2027: the year ended on the 28th
        ((29, 2), date(2028, 2, 29), date(2027, 3, 1)),  # a leap year ends on the 29th
    ],
)
def test_the_fiscal_year_starts_the_day_after_the_last_year_end(end: tuple[int, int], today: date, start: date) -> None:
    assert fiscal_year_start(end[0], end[1], today) == start


@pytest.mark.parametrize(("day", "month"), [(None, 3), (31, None), (0, 3), (31, 13), ("31", 3)])
def test_no_valid_year_end_gives_no_fiscal_year_start(day: object, month: object) -> None:
    assert fiscal_year_start(day, month, date(2026, 12, 6)) is None


def test_an_organisation_becomes_the_company() -> None:
    row = {
        "OrganisationID": TENANT.upper(),
        "Name": "Gouden Korst Ltd",
        "LegalName": "Gouden Korst Limited",
        "BaseCurrency": "GBP",
        "CountryCode": "GB",
        "TaxNumber": " GB 123 4567 89 ",
        "RegistrationNumber": "01234567",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 3,
        "CreatedDateUTC": "/Date(1700000000000)/",
    }

    company = company_from_xero(row, today=date(2026, 12, 6))

    assert (company.id, company.remote_id, company.name) == (TENANT, TENANT, "Gouden Korst Ltd")
    assert (company.country, company.currency) == ("GB", "GBP")
    assert (company.vat_number, company.chamber_of_commerce_number) == ("GB 123 4567 89", "01234567")
    assert company.fiscal_year_start == date(2026, 4, 1)
    assert company.created_at is not None and company.created_at.year == 2023
    assert company.remote_data == row
    # Without the numbers ("shown if set") they are None, not empty strings; a country that is no ISO code is None.
    bare = company_from_xero({**row, "TaxNumber": "", "CountryCode": "Global"} | {"RegistrationNumber": None})
    assert (bare.vat_number, bare.chamber_of_commerce_number, bare.country) == (None, None, None)


def test_an_organisation_without_an_id_is_refused() -> None:
    with pytest.raises(UnexpectedXeroValue):
        company_from_xero({"Name": "No id"})
