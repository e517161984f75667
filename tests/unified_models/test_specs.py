"""unified_models/specs.py: a page rendered in one pass (`records_data`) is byte for byte what rendering each record
on its own (`record_data`) gives, for every resource the Exact sandbox lists, with and without remote_data."""

from __future__ import annotations

import json

import pytest

from connectors.base.data import Resource
from tests.unified_models.conftest import Connected
from unified_models import selectors
from unified_models.specs import record_data, records_data

pytestmark = pytest.mark.django_db(transaction=True)

LISTED = [
    Resource.CONTACTS,
    Resource.INVOICES,
    Resource.LEDGER_ACCOUNTS,
    Resource.TAX_RATES,
    Resource.JOURNALS,
    Resource.ITEMS,
    Resource.PAYMENTS,
]


@pytest.mark.parametrize("include_remote_data", [False, True])
def test_a_page_in_one_pass_is_the_records_one_by_one(mapped: Connected, include_remote_data: bool) -> None:
    # Processed invoices too: they have receivables (payments) and a paid or open status.
    mapped.world.control.seed(mapped.division, invoices=20, lines_per_invoice=3, seed=7, processed=10)
    for resource in LISTED:
        page = selectors.record_list(
            connection=mapped.connection, resource=resource, page_size=60, include_remote_data=include_remote_data
        )
        assert page.records, resource
        one_by_one = [record_data(resource, record, include_remote_data=include_remote_data) for record in page.records]
        in_one_pass = records_data(resource, page.records, include_remote_data=include_remote_data)
        assert json.dumps(in_one_pass) == json.dumps(one_by_one), resource
        assert all(type(record) is dict for record in in_one_pass)
