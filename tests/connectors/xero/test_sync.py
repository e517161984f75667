"""Xero into the local store (unified_models.store) against the Xero sandbox: a backfill over several pages copies
the organisation, an incremental run reads only changes (If-Modified-Since), removals follow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from connectors.base.data import Resource
from connectors.base.records import ContactInput, InvoiceInput, InvoiceLineInput, RecordStatus
from tests.connectors.xero.provider_fixtures import UK_MAPPING, Organisation, organisation_fixture  # noqa: F401
from unified_models.store import services
from unified_models.store.models import StoredRecord, SyncMode, SyncRunState

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _sync(organisation: Organisation, resource: str, mode: str = SyncMode.INCREMENTAL) -> Any:
    run = services.sync_run_request(connection=organisation.connection, resource=resource, mode=mode, trigger="test")
    run = services.sync_run_execute(run_id=run.pk)
    assert run.state == SyncRunState.SUCCEEDED, (resource, run.error)
    return run


def _stored(organisation: Organisation, resource: str) -> dict[str, StoredRecord]:
    rows = StoredRecord.objects.filter(connection=organisation.connection, resource=resource, deleted_at__isnull=True)
    return {row.record_id: row for row in rows}


def test_a_backfill_copies_the_organisation_over_several_pages(organisation: Organisation) -> None:
    organisation.world.control.seed(organisation.tenant_id, contacts=230, invoices=120, payments=20, seed=9)

    for resource in services.sync_resources(organisation.connection):
        _sync(organisation, resource)

    dump = organisation.world.control.dump(organisation.tenant_id)
    assert set(_stored(organisation, "contacts")) == {row["ContactID"] for row in dump["Contacts"]}
    sales = [row for row in dump["Invoices"] if row["Type"] == "ACCREC"]
    assert set(_stored(organisation, "invoices")) == {row["InvoiceID"] for row in sales}
    assert set(_stored(organisation, "payments")) == {
        row["InvoiceID"] for row in sales if row["Status"] in ("AUTHORISED", "PAID")
    }
    assert set(_stored(organisation, "tax-rates")) == {row["TaxType"] for row in dump["TaxRates"]}
    assert set(_stored(organisation, "items")) == {row["ItemID"] for row in dump["Items"]}
    assert set(_stored(organisation, "ledger-accounts")) == {row["AccountID"] for row in dump["Accounts"]}


def test_an_incremental_run_reads_only_what_changed(organisation: Organisation) -> None:
    _sync(organisation, "contacts")
    organisation.world.control.advance_clock(120)
    target = organisation.dump("Contacts")[0]["ContactID"]
    organisation.connector.update_record(
        organisation.ctx(), Resource.CONTACTS, target, ContactInput(status=RecordStatus.ARCHIVED), mapping=None
    )
    organisation.world.control.reset_counters()

    _sync(organisation, "contacts")

    assert organisation.calls() == {"Contacts": {"200": 1}}
    stored = _stored(organisation, "contacts")
    assert stored[target].data["status"] == "archived"
    assert len(stored) == len(organisation.dump("Contacts"))


def test_removals_follow(organisation: Organisation) -> None:
    contact_id = organisation.dump("Contacts")[0]["ContactID"]
    line = InvoiceLineInput(description="Consultancy", unit_price=Decimal("100.00"), tax_rate=Decimal(20))
    created = organisation.connector.create_record(
        organisation.ctx(), Resource.INVOICES, InvoiceInput(contact_id=contact_id, lines=(line,)), mapping=UK_MAPPING
    ).record
    for resource in ("payments", "items"):
        _sync(organisation, resource)
    assert created.id in _stored(organisation, "payments")
    organisation.world.control.advance_clock(120)
    open_invoice = {"InvoiceID": created.id}
    item = organisation.dump("Items")[0]
    api = _api(organisation)
    api.write(
        "POST",
        f"Invoices/{open_invoice['InvoiceID']}",
        {"Invoices": [{"InvoiceID": open_invoice["InvoiceID"], "Status": "VOIDED"}]},
        "Invoices",
    )
    organisation.connection.refresh_from_db()
    api.ctx.call(
        lambda token: api.client.tenant_request_raw(
            "DELETE", f"Items/{item['ItemID']}", tenant_id=api.tenant_id, token_provider=lambda: token
        )
    )

    for resource in ("payments", "items"):
        _sync(organisation, resource)

    assert open_invoice["InvoiceID"] not in _stored(organisation, "payments")
    assert item["ItemID"] not in _stored(organisation, "items")


def _api(organisation: Organisation) -> Any:
    from connectors.xero.calls import TenantApi

    return TenantApi(organisation.ctx())
