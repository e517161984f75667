"""unified_models/selectors.py: signed list cursors bound to their list, live pages from the Exact sandbox, the
stored ledger mapping, workspace-scoped mutations, and the operations a connector does not declare refused
before any vendor call."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.http import Http404

from connectors.base.data import OperationNotSupported, Resource
from gateway.api.problems import Problem
from tests.tenants.factories import ConnectionFactory, WorkspaceFactory
from tests.unified_models.conftest import Connected, mapping_store
from unified_models import selectors
from unified_models.models import Mutation, MutationStatus

MARCH = datetime(2025, 3, 1, tzinfo=UTC)


def _mutation(connection, *, status: str = MutationStatus.SUCCEEDED) -> Mutation:  # type: ignore[no-untyped-def]
    return Mutation.objects.create(
        workspace=connection.workspace,
        connection=connection,
        resource="contacts",
        operation="create",
        request={"name": "Acme"},
        status=status,
    )


@pytest.mark.django_db
def test_a_cursor_opens_only_for_the_list_it_was_issued_for() -> None:
    connection = ConnectionFactory()
    cursor = selectors.cursor_sign(
        connection_id=connection.pk, resource=Resource.INVOICES, vendor_cursor="skip=100", updated_after=MARCH
    )
    assert "skip=100" not in cursor
    assert (
        selectors.cursor_unsign(
            connection_id=connection.pk, resource=Resource.INVOICES, cursor=cursor, updated_after=MARCH
        )
        == "skip=100"
    )

    other = ConnectionFactory(tenant=connection.tenant, company_id="102")
    for connection_, resource, updated_after, raw in (
        (other, Resource.INVOICES, MARCH, cursor),  # another connection
        (connection, Resource.CONTACTS, MARCH, cursor),  # another resource
        (connection, Resource.INVOICES, None, cursor),  # another filter
        (connection, Resource.INVOICES, MARCH, cursor[:-2] + "xx"),  # tampered
        (connection, Resource.INVOICES, MARCH, "skip=100"),  # not ours at all
    ):
        with pytest.raises(Problem) as refused:
            selectors.cursor_unsign(
                connection_id=connection_.pk, resource=resource, cursor=raw, updated_after=updated_after
            )
        assert (refused.value.status_code, refused.value.problem_code) == (400, "invalid_cursor")


@pytest.mark.django_db
def test_a_store_page_continues_only_from_a_store_cursor_of_the_same_filters() -> None:
    connection = ConnectionFactory()
    assert (
        selectors.store_cursor_sign(
            connection_id=connection.pk, resource=Resource.CONTACTS, position=None, updated_after=None
        )
        is None
    )
    position = 'store:{"a": "id-42", "f": {"status": "active"}}'
    store_cursor = selectors.store_cursor_sign(
        connection_id=connection.pk, resource=Resource.CONTACTS, position=position, updated_after=None
    )
    arguments = {"connection_id": connection.pk, "resource": Resource.CONTACTS, "updated_after": None}

    assert selectors.store_cursor_after(**arguments, cursor=store_cursor, filters={"status": "active"}) == "id-42"
    assert selectors.store_cursor_after(**arguments, cursor=None, filters={}) is None
    live_cursor = selectors.cursor_sign(vendor_cursor="skip=100", **arguments)
    for cursor, filters in ((store_cursor, {}), (live_cursor, {"status": "active"})):
        with pytest.raises(Problem, match="cursor"):
            selectors.store_cursor_after(**arguments, cursor=cursor, filters=filters)


def test_a_live_list_pages_through_the_sandbox_with_our_cursors(connected: Connected) -> None:
    connection = selectors.connection_get(
        workspace=connected.connection.workspace, connection_id=connected.connection.pk
    )

    first = selectors.record_list(connection=connection, resource=Resource.CONTACTS, page_size=2)
    assert len(first.records) == 2 and first.next_cursor is not None
    second = selectors.record_list(
        connection=connection, resource=Resource.CONTACTS, page_size=2, cursor=first.next_cursor
    )
    assert {r.id for r in first.records}.isdisjoint({r.id for r in second.records})
    one = selectors.record_retrieve(connection=connection, resource=Resource.CONTACTS, record_id=first.records[0].id)
    assert one.id == first.records[0].id and one.name == first.records[0].name


def test_a_store_cursor_is_refused_on_a_live_list_before_any_vendor_call(connected: Connected) -> None:
    connection = connected.connection
    store_cursor = selectors.store_cursor_sign(
        connection_id=connection.pk,
        resource=Resource.CONTACTS,
        position='store:{"a": "x", "f": {}}',
        updated_after=None,
    )
    before = connected.calls()
    with pytest.raises(Problem, match="cursor"):
        selectors.record_list(connection=connection, resource=Resource.CONTACTS, page_size=2, cursor=store_cursor)
    assert connected.calls() == before


@pytest.mark.django_db
def test_operations_a_connector_does_not_declare_are_refused_naming_it() -> None:
    xero = ConnectionFactory(connector="xero", region="")
    with pytest.raises(OperationNotSupported) as refused:
        selectors.record_list(connection=xero, resource=Resource.SALES_ORDERS, page_size=10)
    assert (refused.value.resource, refused.value.operation, refused.value.vendor) == ("sales-orders", "list", "Xero")
    with pytest.raises(OperationNotSupported, match="attachments"):
        selectors.attachable_connector(connection=xero, resource=Resource.JOURNAL_ENTRIES)
    assert selectors.attachable_connector(connection=xero, resource=Resource.PURCHASE_INVOICES)
    assert selectors.attachable_connector(connection=ConnectionFactory(), resource=Resource.PURCHASE_INVOICES)


@pytest.mark.django_db
def test_the_mapping_is_empty_until_saved_then_read_with_the_connection() -> None:
    connection = ConnectionFactory()
    assert selectors.mapping_get(connection=connection) == (selectors.LedgerMapping(), None)

    row = mapping_store(connection)
    loaded = selectors.connection_get(workspace=connection.workspace, connection_id=str(connection.pk))
    mapping, stored = selectors.mapping_get(connection=loaded)
    assert stored == row
    assert mapping.vendor_tax_code(rate=Decimal("21")) == "2" and mapping.default_item == "CONSULT"
    assert mapping.items_by_code["handbook"] == "BOOK"


@pytest.mark.django_db
def test_mutations_are_listed_and_found_only_in_their_workspace() -> None:
    connection = ConnectionFactory()
    done = _mutation(connection)
    failed = _mutation(connection, status=MutationStatus.FAILED)
    elsewhere = _mutation(ConnectionFactory(company_id="102"))
    workspace = connection.workspace

    assert set(selectors.mutation_list(workspace=workspace)) == {done, failed}
    assert list(selectors.mutation_list(workspace=workspace, status=MutationStatus.FAILED)) == [failed]
    assert list(selectors.mutation_list(workspace=workspace, connection_id=str(elsewhere.connection_id))) == []
    assert selectors.mutation_get(workspace=workspace, mutation_id=str(done.pk)) == done
    for mutation_id in (str(elsewhere.pk), "not-a-uuid"):
        with pytest.raises(Http404):
            selectors.mutation_get(workspace=workspace, mutation_id=mutation_id)
    with pytest.raises(Http404):
        selectors.reconciliation_get(connection=connection, reconciliation_id="not-a-uuid")


@pytest.mark.django_db
def test_a_connection_of_another_workspace_is_not_found() -> None:
    connection = ConnectionFactory()
    with pytest.raises(Http404):
        selectors.connection_get(workspace=WorkspaceFactory(), connection_id=str(connection.pk))
