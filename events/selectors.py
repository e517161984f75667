"""Reads of events, webhook endpoints and deliveries, always scoped to the caller's workspace."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from events.models import AuditEvent, Event, WebhookDelivery, WebhookEndpoint
from tenants.models import Workspace
from tenants.selectors import scoped_get, workspace_scoped


def webhook_endpoint_list(*, workspace: Workspace) -> QuerySet[WebhookEndpoint]:
    return workspace_scoped(WebhookEndpoint.objects.all(), workspace=workspace)


def webhook_endpoint_get(*, workspace: Workspace, endpoint_id: uuid.UUID | str) -> WebhookEndpoint:
    return scoped_get(WebhookEndpoint.objects.all(), workspace=workspace, pk=endpoint_id)


def webhook_delivery_list(
    *, endpoint: WebhookEndpoint, status: str | None = None, event_type: str | None = None
) -> QuerySet[WebhookDelivery]:
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").prefetch_related("attempt_log")
    )
    if status is not None:
        deliveries = deliveries.filter(status=status)
    if event_type is not None:
        deliveries = deliveries.filter(event__type=event_type)
    return deliveries


def webhook_delivery_get(*, endpoint: WebhookEndpoint, delivery_id: uuid.UUID | str) -> WebhookDelivery:
    return scoped_get(
        WebhookDelivery.objects.select_related("event").prefetch_related("attempt_log"),
        workspace=endpoint.workspace,
        pk=delivery_id,
        field="endpoint__workspace",
    )


def event_list(
    *,
    workspace: Workspace,
    connection_id: uuid.UUID | str | None = None,
    event_type: str | None = None,
    created_after: datetime | None = None,
) -> QuerySet[Event]:
    events = workspace_scoped(Event.objects.all(), workspace=workspace)
    if connection_id is not None:
        events = events.filter(connection_id=connection_id)
    if event_type is not None:
        events = events.filter(type=event_type)
    if created_after is not None:
        events = events.filter(created_at__gt=created_after)
    return events


def event_get(*, workspace: Workspace, event_id: uuid.UUID | str) -> Event:
    return scoped_get(Event.objects.all(), workspace=workspace, pk=event_id)


def audit_event_list(
    *,
    workspace: Workspace,
    connection_id: uuid.UUID | str | None = None,
    resource: str | None = None,
    remote_id: str | None = None,
    outcome: str | None = None,
    sent_after: datetime | None = None,
    sent_before: datetime | None = None,
    mutation_id: uuid.UUID | str | None = None,
) -> QuerySet[AuditEvent]:
    """The workspace's audit trail, newest first, narrowed by the filters given."""
    events = AuditEvent.objects.filter(workspace_id=workspace.pk)
    if connection_id is not None:
        events = events.filter(connection_id=connection_id)
    if resource is not None:
        events = events.filter(resource=resource)
    if remote_id is not None:
        events = events.filter(Q(remote_id=remote_id) | Q(target_id=remote_id))
    if outcome is not None:
        events = events.filter(outcome=outcome)
    if sent_after is not None:
        events = events.filter(sent_at__gte=sent_after)
    if sent_before is not None:
        events = events.filter(sent_at__lt=sent_before)
    if mutation_id is not None:
        events = events.filter(mutation_id=mutation_id)
    return events


def audit_event_get(*, workspace: Workspace, audit_event_id: uuid.UUID | str) -> AuditEvent:
    # Audit rows keep the workspace's id, not a foreign key (they outlive what they name).
    try:
        return AuditEvent.objects.get(workspace_id=workspace.pk, pk=audit_event_id)
    except (ObjectDoesNotExist, ValidationError, ValueError) as exc:  # a malformed id is simply not found
        raise Http404 from exc
