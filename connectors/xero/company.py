"""The connection's organisation as the unified company: GET Organisation (one call) -> CompanyInfo.

Facts followed (NOTES.md: Organisation):
- `GET /Organisation` answers `{"Organisations": [one organisation]}`: `OrganisationID` (the tenant id), `Name`,
  `LegalName`, `BaseCurrency`, `CountryCode`, `TaxNumber` (the VAT number in the UK) and `RegistrationNumber`
  (UK, AU, NZ) only when set, `FinancialYearEndDay` and `FinancialYearEndMonth`, `CreatedDateUTC`.
- Xero gives the day the financial year ends, not the day it starts. The unified `fiscal_year_start` is the first
  day of the financial year that contains today: the day after the last year end before today (a year end of
  31 March gives 1 April of this year from April on, 1 April of last year before). A year end that does not exist
  in a year (29 February) falls on the month's last day. Today is the UTC date.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from typing import Any

from connectors.base.errors import VendorNotFound
from connectors.base.records import CompanyInfo
from connectors.xero.calls import TenantApi
from connectors.xero.values import UnexpectedXeroValue, clean_text, parse_guid, parse_xero_datetime

PATH = "Organisation"
KEY = "Organisations"


def fiscal_year_start(end_day: Any, end_month: Any, today: date) -> date | None:
    """The first day of the financial year containing `today`, from the day and month it ends; None when Xero gives
    no valid year end."""
    if not isinstance(end_day, int) or not isinstance(end_month, int) or not 1 <= end_month <= 12:
        return None
    if not 1 <= end_day <= 31:
        return None

    def year_end(year: int) -> date:
        return date(year, end_month, min(end_day, calendar.monthrange(year, end_month)[1]))

    this_year = year_end(today.year)
    last_end = this_year if today > this_year else year_end(today.year - 1)
    return last_end + timedelta(days=1)


def _country(value: Any) -> str | None:
    text = clean_text(value)
    return text.upper() if text and len(text) == 2 and text.isascii() and text.isalpha() else None


def company_from_xero(organisation: dict[str, Any], *, today: date | None = None) -> CompanyInfo:
    """One `Organisations` row as a CompanyInfo with remote_data."""
    organisation_id = parse_guid(str(organisation.get("OrganisationID") or ""))
    if organisation_id is None:
        raise UnexpectedXeroValue("OrganisationID", organisation.get("OrganisationID"), "a GUID")
    currency = clean_text(organisation.get("BaseCurrency"))
    return CompanyInfo(
        id=organisation_id,
        remote_id=organisation_id,
        created_at=parse_xero_datetime(organisation.get("CreatedDateUTC"), "CreatedDateUTC"),
        remote_data=dict(organisation),
        name=clean_text(organisation.get("Name")) or clean_text(organisation.get("LegalName")) or organisation_id,
        country=_country(organisation.get("CountryCode")),
        currency=currency.upper() if currency else None,
        vat_number=clean_text(organisation.get("TaxNumber")),
        chamber_of_commerce_number=clean_text(organisation.get("RegistrationNumber")),
        fiscal_year_start=fiscal_year_start(
            organisation.get("FinancialYearEndDay"),
            organisation.get("FinancialYearEndMonth"),
            today or datetime.now(UTC).date(),
        ),
    )


def read(api: TenantApi) -> CompanyInfo:
    """The connection's organisation (one GET Organisation)."""
    rows = api.records(PATH, KEY)
    if not rows:
        raise VendorNotFound("Xero answered GET Organisation without the organisation.")
    return company_from_xero(rows[0])
