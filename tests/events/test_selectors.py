"""events/selectors.py: events, endpoints, deliveries and the audit trail, each read within one workspace and
narrowed by the filters given."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.http import Http404

from events import selectors, services
from events.models import AuditEvent, AuditOutcome, DeliveryStatus, EventType, WebhookDelivery
from tests.events.factories import WebhookEndpointFactory
from tests.tenants.factories import ConnectionFactory, WorkspaceFactory

MARCH = datetime(2025, 3, 1, tzinfo=UTC)


def _audit(workspace_id: Any, connection_id: Any, **fields: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "connector": "exact",
        "company_id": "101",
        "resource": "invoices",
        "operation": "create",
        "vendor_method": "POST",
        "vendor_path": "salesinvoice/SalesInvoices",
        "outcome": AuditOutcome.ACCEPTED,
        "duration_ms": 40,
        "sent_at": MARCH,
        **fields,
    }
    return AuditEvent.objects.create(workspace_id=workspace_id, connection_id=connection_id, **values)


@pytest.mark.django_db
def test_events_filter_by_connection_type_and_time_within_the_workspace() -> None:
    connection = ConnectionFactory()
    workspace = connection.workspace
    contact = services.event_emit(
        workspace_id=workspace.pk, type=EventType.CONTACT_CREATED, data={}, connection_id=connection.pk
    )
    invoice = services.event_emit(workspace_id=workspace.pk, type=EventType.INVOICE_CREATED, data={})
    elsewhere = services.event_emit(workspace_id=WorkspaceFactory().pk, type=EventType.CONTACT_CREATED, data={})

    assert set(selectors.event_list(workspace=workspace)) == {contact, invoice}
    assert list(selectors.event_list(workspace=workspace, connection_id=connection.pk)) == [contact]
    assert list(selectors.event_list(workspace=workspace, event_type="invoice.created")) == [invoice]
    assert list(selectors.event_list(workspace=workspace, created_after=invoice.created_at)) == []
    assert selectors.event_get(workspace=workspace, event_id=contact.pk) == contact
    for event_id in (elsewhere.pk, "not-a-uuid"):
        with pytest.raises(Http404):
            selectors.event_get(workspace=workspace, event_id=event_id)


@pytest.mark.django_db
def test_deliveries_filter_by_status_and_type_and_belong_to_the_endpoints_workspace() -> None:
    endpoint = WebhookEndpointFactory()
    workspace = endpoint.workspace
    services.events_emit(
        workspace_id=workspace.pk, events=[(EventType.CONTACT_CREATED, {}), (EventType.INVOICE_CREATED, {})]
    )
    failed = WebhookDelivery.objects.get(event__type="invoice.created")
    WebhookDelivery.objects.filter(pk=failed.pk).update(status=DeliveryStatus.FAILED)
    other = WebhookEndpointFactory()
    services.event_emit(workspace_id=other.workspace_id, type=EventType.CONTACT_CREATED, data={})
    foreign = WebhookDelivery.objects.get(endpoint=other)

    assert selectors.webhook_delivery_list(endpoint=endpoint).count() == 2
    assert list(selectors.webhook_delivery_list(endpoint=endpoint, status=DeliveryStatus.FAILED)) == [failed]
    assert selectors.webhook_delivery_list(endpoint=endpoint, event_type="contact.created").get().event.type == (
        "contact.created"
    )
    assert selectors.webhook_delivery_get(endpoint=endpoint, delivery_id=failed.pk) == failed
    with pytest.raises(Http404):
        selectors.webhook_delivery_get(endpoint=endpoint, delivery_id=foreign.pk)
    assert list(selectors.webhook_endpoint_list(workspace=workspace)) == [endpoint]
    with pytest.raises(Http404):
        selectors.webhook_endpoint_get(workspace=workspace, endpoint_id=other.pk)


@pytest.mark.django_db
def test_the_audit_trail_narrows_by_each_filter_and_a_remote_id_matches_either_id() -> None:
    workspace_id, connection_id, mutation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    created = _audit(workspace_id, connection_id, remote_id="inv-1", mutation_id=mutation_id)
    updated = _audit(
        workspace_id, connection_id, operation="update", target_id="inv-1", sent_at=MARCH + timedelta(hours=1)
    )
    refused = _audit(workspace_id, uuid.uuid4(), resource="contacts", outcome=AuditOutcome.REFUSED)
    _audit(uuid.uuid4(), connection_id, remote_id="inv-1")  # another workspace's
    workspace = WorkspaceFactory.build(pk=workspace_id)

    def found(**filters: Any) -> set[AuditEvent]:
        return set(selectors.audit_event_list(workspace=workspace, **filters))

    assert found() == {created, updated, refused}
    assert found(connection_id=connection_id) == {created, updated}
    assert found(resource="contacts") == found(outcome=AuditOutcome.REFUSED) == {refused}
    assert found(remote_id="inv-1") == {created, updated}
    assert found(sent_after=MARCH + timedelta(hours=1)) == {updated}  # inclusive
    assert found(sent_before=MARCH + timedelta(hours=1)) == {created, refused}  # exclusive
    assert found(mutation_id=mutation_id) == {created}
    assert selectors.audit_event_get(workspace=workspace, audit_event_id=created.pk) == created
    with pytest.raises(Http404):
        selectors.audit_event_get(workspace=WorkspaceFactory.build(), audit_event_id=created.pk)
    with pytest.raises(Http404):
        selectors.audit_event_get(workspace=workspace, audit_event_id="not-a-uuid")
