"""Reads of events, webhook endpoints and deliveries, always scoped to the caller's workspace."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import QuerySet

from events.models import Event, WebhookDelivery, WebhookEndpoint
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
