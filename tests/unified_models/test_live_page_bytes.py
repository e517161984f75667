"""A live page of Exact invoices, as the API writes it, stays byte for byte what it was before the list path was made
cheaper (codec, Exact values, records made without remote_data): the expected bodies were written by the code
before those changes from the recorded Exact page beside them (non-ASCII and U+2028 text, nulls, a credit note, an
ISO and a .NET-offset timestamp, a spring-gap wall-clock time, tiny, huge, negative-zero and half-cent numbers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rest_framework.renderers import JSONRenderer

from connectors.base.data import Resource
from connectors.exact.odata import unwrap_page
from connectors.exact.provider import ExactConnector
from connectors.exact.resources import RESOURCES
from unified_models.specs import records_data

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("include_remote_data", [False, True])
def test_a_live_invoice_page_is_written_byte_for_byte_as_before(include_remote_data: bool) -> None:
    rows = unwrap_page(json.loads((FIXTURES / "exact_invoice_page.json").read_bytes())).records
    without, with_remote_data = (FIXTURES / "exact_invoice_page.api").read_bytes().splitlines()
    # The invoices are open (status 20): no receivables are read, so the page needs no vendor call here.
    records = ExactConnector()._records(
        None,  # type: ignore[arg-type]
        RESOURCES[Resource.INVOICES],
        rows,
        include_remote_data=include_remote_data,
    )
    assert all((record.remote_data is not None) is include_remote_data for record in records)
    body = {
        "results": records_data(Resource.INVOICES, records, include_remote_data=include_remote_data),
        "next": None,
        "source": "live",
        "synced_at": None,
    }
    assert JSONRenderer().render(body) == (with_remote_data if include_remote_data else without)
