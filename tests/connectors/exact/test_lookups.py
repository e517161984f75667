"""The reference GUIDs an invoice needs, cached per division (connectors/exact/lookups.py), against the sandbox.

Every count below is the sandbox's own (its /_control/counters), so a call the connector makes is a call counted.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.cache import LocalReferenceCache, RedisReferenceCache
from connectors.base.data import CallRecord, Resource
from connectors.base.errors import VendorResponseLost, VendorUnavailable, VendorValidationError
from connectors.base.mapping import MappingMissing
from connectors.base.records import InvoiceInput, InvoiceLineInput, ItemInput
from connectors.exact.provider import ExactConnector
from tests.connectors.exact.provider_fixtures import (  # noqa: F401  (pytest fixtures)
    DUTCH_MAPPING,
    Division,
    division_fixture,
)
from tests.connectors.exact.test_provider_writes import three_rates

RENT_MAPPING = dataclasses.replace(DUTCH_MAPPING, default_item="RENT")
POST_AND_LINES = {"salesinvoice/SalesInvoices": {"201": 1}, "salesinvoice/SalesInvoiceLines": {"200": 1}}
# A line on the default item with its revenue account, a description, a price and a mapped rate: no read of lines.
POST_ONLY = {"salesinvoice/SalesInvoices": {"201": 1}}


def _one_line(contact_id: str, reference: str) -> InvoiceInput:
    return InvoiceInput(
        contact_id=contact_id,
        reference=reference,
        lines=(
            InvoiceLineInput(description="Rent", quantity=Decimal(1), unit_price=Decimal(500), tax_rate=Decimal(21)),
        ),
    )


def _create_rent_item(division: Division) -> str:
    created = division.connector.create_record(
        division.ctx(), Resource.ITEMS, ItemInput(code="RENT", name="Office rent"), mapping=None
    )
    return str(created.record.id)


def _delete_item(division: Division, item_id: str) -> None:
    response = division.connector.passthrough(
        division.ctx(), method="DELETE", path=f"logistics/Items(guid'{item_id}')", query={}, body=None
    )
    assert response.status == 204


def _invoices_with(division: Division, reference: str) -> list[dict[str, Any]]:
    return [row for row in division.dump("SalesInvoices") if row.get("YourRef") == reference]


def _line_items(division: Division, invoice_id: str) -> list[str]:
    return [row["Item"] for row in division.dump("SalesInvoiceLines") if row["InvoiceID"] == invoice_id]


def test_steady_state_an_invoice_costs_the_post_and_the_read_of_its_lines(division: Division) -> None:
    customer = division.first_customer_id()
    division.world.control.reset_counters()
    division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=DUTCH_MAPPING)
    first = division.calls()
    assert first == {"logistics/Items": {"200": 1}, "financial/GLAccounts": {"200": 1}, **POST_AND_LINES}

    division.world.control.reset_counters()
    for number in range(10):
        invoice = three_rates(customer, reference=f"STEADY-{number}")
        division.connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=DUTCH_MAPPING)
    # Ten invoices, twenty calls: no lookup once the GUIDs are known.
    assert division.calls() == {
        "salesinvoice/SalesInvoices": {"201": 10},
        "salesinvoice/SalesInvoiceLines": {"200": 10},
    }


def test_a_mapping_change_drops_the_cached_guids_and_primes_the_new_ones(division: Division) -> None:
    customer = division.first_customer_id()
    old_rent = _create_rent_item(division)
    assert division.connector.check_mapping(division.ctx(), RENT_MAPPING) == []  # what PUT /mapping runs
    division.world.control.reset_counters()
    first = division.connector.create_record(
        division.ctx(), Resource.INVOICES, _one_line(customer, "PRIMED"), mapping=RENT_MAPPING
    )
    assert division.calls() == POST_ONLY, "the mapping check primed the cache: no lookup"
    assert _line_items(division, first.record.id) == [old_rent]

    # RENT is replaced in Exact (deleted and created again: a new GUID); the mapping is saved again.
    _delete_item(division, old_rent)
    new_rent = _create_rent_item(division)
    assert division.connector.check_mapping(division.ctx(), RENT_MAPPING) == []
    division.world.control.reset_counters()
    second = division.connector.create_record(
        division.ctx(), Resource.INVOICES, _one_line(customer, "AFTER-CHANGE"), mapping=RENT_MAPPING
    )
    assert division.calls() == POST_ONLY, "no refused POST: the check replaced the cached GUID"
    assert _line_items(division, second.record.id) == [new_rent]


def test_a_code_the_cache_lacks_is_looked_up_with_the_others_of_its_kind(division: Division) -> None:
    customer = division.first_customer_id()
    consult_only = InvoiceInput(
        contact_id=customer,
        lines=(
            InvoiceLineInput(description="Advice", quantity=Decimal(1), unit_price=Decimal(90), tax_rate=Decimal(21)),
        ),
    )
    division.connector.create_record(division.ctx(), Resource.INVOICES, consult_only, mapping=DUTCH_MAPPING)
    division.world.control.reset_counters()

    # CONSULT and the G/L account are cached, BOOK (the handbook line) is not: one item query, none for G/L.
    division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=DUTCH_MAPPING)
    assert division.calls() == {"logistics/Items": {"200": 1}, **POST_AND_LINES}
    (query,) = division.world.control.requests(path="logistics/Items", limit=1)
    assert "CONSULT" in query["query"]["$filter"] and "BOOK" in query["query"]["$filter"], (
        "the miss refreshed every code of its kind"
    )

    division.world.control.reset_counters()
    division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=DUTCH_MAPPING)
    assert division.calls() == POST_AND_LINES


def test_a_refused_cached_guid_is_looked_up_again_and_the_invoice_sent_once_more(division: Division) -> None:
    customer = division.first_customer_id()
    old_rent = _create_rent_item(division)
    assert division.connector.check_mapping(division.ctx(), RENT_MAPPING) == []
    # Behind the gateway's back, RENT gets a new GUID; the cache still holds the old one.
    _delete_item(division, old_rent)
    new_rent = _create_rent_item(division)
    division.world.control.reset_counters()

    written = division.connector.create_record(
        division.ctx(), Resource.INVOICES, _one_line(customer, "REFUSED-ONCE"), mapping=RENT_MAPPING
    )

    # Exact refused the stale GUID (500 "Ongeldige referentie": nothing created), fresh lookups, the POST again.
    assert division.calls() == {
        "salesinvoice/SalesInvoices": {"500": 1, "201": 1},
        "logistics/Items": {"200": 1},
        "financial/GLAccounts": {"200": 1},
    }
    (stored,) = _invoices_with(division, "REFUSED-ONCE")
    assert stored["InvoiceID"] == written.record.id and _line_items(division, written.record.id) == [new_rent]
    # The answer is built from the POST that was accepted (the fresh GUID), and every read shows the same.
    assert [line.item_id for line in written.record.lines] == [new_rent]
    assert written.record == division.connector.retrieve_record(
        division.ctx(), Resource.INVOICES, written.record.id, include_remote_data=True
    )
    division.world.control.reset_counters()
    division.connector.create_record(
        division.ctx(), Resource.INVOICES, _one_line(customer, "AFTERWARDS"), mapping=RENT_MAPPING
    )
    assert division.calls() == POST_ONLY, "the fresh GUID is cached"


def test_a_refused_cached_guid_whose_code_is_gone_is_mapping_missing_and_nothing_is_created(
    division: Division,
) -> None:
    customer = division.first_customer_id()
    rent = _create_rent_item(division)
    assert division.connector.check_mapping(division.ctx(), RENT_MAPPING) == []
    _delete_item(division, rent)
    division.world.control.reset_counters()

    with pytest.raises(MappingMissing) as missing:
        division.connector.create_record(
            division.ctx(), Resource.INVOICES, _one_line(customer, "GONE"), mapping=RENT_MAPPING
        )
    assert missing.value.field == "default_item"
    assert division.calls()["salesinvoice/SalesInvoices"] == {"500": 1}
    assert _invoices_with(division, "GONE") == []
    # Not cached as missing either: the next attempt asks Exact before any POST.
    division.world.control.reset_counters()
    with pytest.raises(MappingMissing):
        division.connector.create_record(
            division.ctx(), Resource.INVOICES, _one_line(customer, "GONE"), mapping=RENT_MAPPING
        )
    assert "salesinvoice/SalesInvoices" not in division.calls()


def test_a_refusal_that_fresh_guids_do_not_change_is_not_sent_again(division: Division) -> None:
    customer = division.first_customer_id()
    division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=DUTCH_MAPPING)
    division.world.control.reset_counters()

    nobody = "0f0f0f0f-0000-4000-8000-000000000000"  # an account GUID Exact does not have
    with pytest.raises(VendorValidationError):
        division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(nobody), mapping=DUTCH_MAPPING)
    calls = division.calls()
    assert calls["salesinvoice/SalesInvoices"] == {"500": 1}, "the same GUIDs: the refusal stands, one POST"
    assert calls["logistics/Items"] == {"200": 1}, "the cached GUIDs were checked once"


@pytest.mark.parametrize("fault", ["503", "drop_after_apply"])
def test_an_ambiguous_failure_with_cached_guids_is_never_sent_again(division: Division, fault: str) -> None:
    customer = division.first_customer_id()
    division.connector.create_record(division.ctx(), Resource.INVOICES, three_rates(customer), mapping=DUTCH_MAPPING)
    division.world.control.add_fault(kind=fault, pattern="/api/v1/*/salesinvoice/SalesInvoices", method="POST", times=1)
    division.world.control.reset_counters()

    with pytest.raises(VendorUnavailable) as failed:
        division.connector.create_record(
            division.ctx(), Resource.INVOICES, three_rates(customer, reference="AMBIGUOUS"), mapping=DUTCH_MAPPING
        )
    assert isinstance(failed.value, VendorResponseLost) == (fault == "drop_after_apply")
    assert not set(division.calls()) - {"salesinvoice/SalesInvoices"}, "no lookup after an ambiguous failure"
    # The fault fires once: a second POST would have created an(other) invoice.
    assert len(_invoices_with(division, "AMBIGUOUS")) == (1 if fault == "drop_after_apply" else 0)


@dataclasses.dataclass
class RecordingContext:
    """A call context that remembers what the connector reported as created (the core stores it on the mutation)."""

    inner: Any
    created: list[str] = dataclasses.field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def call(self, send: Any) -> Any:
        return self.inner.call(send)

    def record_call(self, record: CallRecord) -> None:
        self.inner.record_call(record)

    def record_created(self, remote_id: str) -> None:
        self.created.append(remote_id)


def test_a_failed_read_of_the_lines_leaves_the_created_id_recorded(division: Division) -> None:
    customer = division.first_customer_id()
    division.world.control.add_fault(kind="503", pattern="/api/v1/*/salesinvoice/SalesInvoiceLines*", times=1)
    ctx = RecordingContext(division.ctx())

    with pytest.raises(VendorUnavailable):
        division.connector.create_record(
            ctx, Resource.INVOICES, three_rates(customer, reference="LINES-LOST"), mapping=DUTCH_MAPPING
        )
    # The invoice exists and its id was handed to the core before the read: a retry reconciles, never resends.
    (stored,) = _invoices_with(division, "LINES-LOST")
    assert ctx.created == [stored["InvoiceID"]]


def test_without_a_working_cache_every_invoice_looks_its_codes_up(division: Division) -> None:
    customer = division.first_customer_id()
    connector = ExactConnector(references=RedisReferenceCache("redis://127.0.0.1:9/0"))  # nothing listens there
    for reference in ("NO-CACHE-1", "NO-CACHE-2"):
        division.world.control.reset_counters()
        invoice = three_rates(customer, reference=reference)
        connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=DUTCH_MAPPING)
        assert division.calls() == {"logistics/Items": {"200": 1}, "financial/GLAccounts": {"200": 1}, **POST_AND_LINES}


def test_a_cache_lifetime_of_zero_looks_up_on_every_write(division: Division, settings: Any) -> None:
    settings.EXACT_REFERENCE_CACHE_SECONDS = 0
    customer = division.first_customer_id()
    connector = ExactConnector(references=LocalReferenceCache())
    for reference in ("TTL0-1", "TTL0-2"):
        division.world.control.reset_counters()
        invoice = three_rates(customer, reference=reference)
        connector.create_record(division.ctx(), Resource.INVOICES, invoice, mapping=DUTCH_MAPPING)
        assert division.calls() == {"logistics/Items": {"200": 1}, "financial/GLAccounts": {"200": 1}, **POST_AND_LINES}
