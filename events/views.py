"""API views of webhook endpoints, their delivery logs and redelivery, and the workspace's events."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from events import selectors, services
from events.models import AuditEvent, WebhookDelivery
from events.serializers import (
    AuditEventFilterSerializer,
    AuditEventSerializer,
    CreatedWebhookEndpointSerializer,
    DeliveryListFilterSerializer,
    EventListFilterSerializer,
    EventSerializer,
    RedeliverSerializer,
    RedeliveryResultSerializer,
    SecretRotationSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
)
from gateway.api.pagination import CursorPagination
from gateway.api.problems import Problem
from tenants.api import WorkspaceAPIView

TAGS = ["webhooks"]


class AuditCursorPagination(CursorPagination):
    ordering = ("-sent_at", "-id")


def _invalid(exc: services.InvalidEndpoint) -> Problem:
    """The endpoint's body was read and its content refused (URL, event types): 422 `validation_error`."""
    return Problem(
        status_code=422,
        code="validation_error",
        title="Validation failed",
        detail=exc.message,
        errors=[{"field": exc.field, "code": exc.code, "message": exc.message}],
    )


class WebhookEndpointListView(WorkspaceAPIView):
    serializer_class = WebhookEndpointSerializer

    @extend_schema(operation_id="webhook_endpoints_list", responses=WebhookEndpointSerializer(many=True), tags=TAGS)
    def get(self, request: Request) -> Response:
        """The workspace's webhook endpoints, newest first (secrets are never shown again)."""
        return self.paginated(selectors.webhook_endpoint_list(workspace=self.workspace))

    @extend_schema(
        operation_id="webhook_endpoints_create",
        request=WebhookEndpointCreateSerializer,
        responses={201: CreatedWebhookEndpointSerializer},
        tags=TAGS,
        examples=[
            OpenApiExample(
                "Connection and failed-write events",
                value={
                    "url": "https://app.example.com/hooks/ledgerbridge",
                    "event_types": ["connection.needs_reauth", "mutation.failed"],
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Add an endpoint; the answer carries its signing secret once (verify with any Standard Webhooks library)."""
        serializer = WebhookEndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            created = services.webhook_endpoint_create(workspace=self.workspace, **serializer.validated_data)
        except services.InvalidEndpoint as exc:
            raise _invalid(exc) from None
        data = {**WebhookEndpointSerializer(created.endpoint).data, "secret": created.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(WorkspaceAPIView):
    serializer_class = WebhookEndpointSerializer
    pagination_class = None

    @extend_schema(operation_id="webhook_endpoints_retrieve", responses=WebhookEndpointSerializer, tags=TAGS)
    def get(self, request: Request, endpoint_id: str) -> Response:
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(
        operation_id="webhook_endpoints_partial_update",
        request=WebhookEndpointUpdateSerializer,
        responses=WebhookEndpointSerializer,
        tags=TAGS,
    )
    def patch(self, request: Request, endpoint_id: str) -> Response:
        """Change the URL, description, event types, or enable/disable it (enabling clears its failure streak)."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        serializer = WebhookEndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.webhook_endpoint_update(endpoint=endpoint, **serializer.validated_data)
        except services.InvalidEndpoint as exc:
            raise _invalid(exc) from None
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_destroy", responses={204: None}, tags=TAGS)
    def delete(self, request: Request, endpoint_id: str) -> Response:
        """Remove the endpoint and its delivery log; nothing more is sent to it."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        services.webhook_endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretView(WorkspaceAPIView):
    serializer_class = CreatedWebhookEndpointSerializer
    pagination_class = None

    @extend_schema(
        operation_id="webhook_endpoints_rotate_secret",
        request=SecretRotationSerializer,
        responses=CreatedWebhookEndpointSerializer,
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        """A new signing secret (shown once); the previous one keeps signing for `overlap_seconds`."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        serializer = SecretRotationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        rotated = services.webhook_endpoint_rotate_secret(
            endpoint=endpoint, overlap_seconds=serializer.validated_data.get("overlap_seconds")
        )
        return Response({**WebhookEndpointSerializer(rotated.endpoint).data, "secret": rotated.secret})


class WebhookDeliveryListView(WorkspaceAPIView):
    serializer_class = WebhookDeliverySerializer

    @extend_schema(
        operation_id="webhook_deliveries_list",
        parameters=[DeliveryListFilterSerializer],
        responses=WebhookDeliverySerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request, endpoint_id: str) -> Response:
        """The endpoint's delivery log, newest first: each event with every attempt (status, time, answer)."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        filters = DeliveryListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.webhook_delivery_list(
                endpoint=endpoint,
                status=filters.validated_data.get("status"),
                event_type=filters.validated_data.get("event_type"),
            )
        )


class WebhookDeliveryDetailView(WorkspaceAPIView):
    serializer_class = WebhookDeliverySerializer
    pagination_class = None

    @extend_schema(operation_id="webhook_deliveries_retrieve", responses=WebhookDeliverySerializer, tags=TAGS)
    def get(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data)


class WebhookDeliveryRedeliverView(WorkspaceAPIView):
    serializer_class = RedeliveryResultSerializer
    pagination_class = None

    @extend_schema(
        operation_id="webhook_deliveries_redeliver",
        request=None,
        responses={202: RedeliveryResultSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str, delivery_id: str) -> Response:
        """Send this event to the endpoint again (a new round of attempts; same event id)."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        delivery = selectors.webhook_delivery_get(endpoint=endpoint, delivery_id=delivery_id)
        count = services.webhook_redeliver(deliveries=WebhookDelivery.objects.filter(pk=delivery.pk))
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)


class WebhookEndpointRedeliverView(WorkspaceAPIView):
    serializer_class = RedeliveryResultSerializer
    pagination_class = None

    @extend_schema(
        operation_id="webhook_endpoints_redeliver",
        request=RedeliverSerializer,
        responses={202: RedeliveryResultSerializer},
        tags=TAGS,
    )
    def post(self, request: Request, endpoint_id: str) -> Response:
        """Send every event since `since` to this endpoint again (e.g. after your receiver lost data)."""
        endpoint = selectors.webhook_endpoint_get(workspace=self.workspace, endpoint_id=endpoint_id)
        serializer = RedeliverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        deliveries = services.webhook_deliveries_since(endpoint=endpoint, since=serializer.validated_data["since"])
        return Response({"redelivered": services.webhook_redeliver(deliveries=deliveries)}, status=202)


class EventListView(WorkspaceAPIView):
    serializer_class = EventSerializer

    @extend_schema(
        operation_id="events_list",
        parameters=[EventListFilterSerializer],
        responses=EventSerializer(many=True),
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        """The workspace's events, newest first (what was or will be delivered to the endpoints)."""
        filters = EventListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.event_list(
                workspace=self.workspace,
                connection_id=filters.validated_data.get("connection_id"),
                event_type=filters.validated_data.get("type"),
                created_after=filters.validated_data.get("created_after"),
            )
        )


class EventDetailView(WorkspaceAPIView):
    serializer_class = EventSerializer
    pagination_class = None

    @extend_schema(operation_id="events_retrieve", responses=EventSerializer, tags=TAGS)
    def get(self, request: Request, event_id: str) -> Response:
        return Response(EventSerializer(selectors.event_get(workspace=self.workspace, event_id=event_id)).data)


# --- audit trail (read-only: no write method exists on these paths) ----------------------------------------------

AUDIT_TAGS = ["audit"]
AUDIT_EXPORT_COLUMNS = list(AuditEventSerializer.Meta.fields)


def _audit_events(view: WorkspaceAPIView, request: Request) -> QuerySet[AuditEvent]:
    filters = AuditEventFilterSerializer(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return selectors.audit_event_list(workspace=view.workspace, **filters.validated_data)


class AuditEventListView(WorkspaceAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = AuditCursorPagination
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_events_list",
        parameters=[AuditEventFilterSerializer],
        responses=AuditEventSerializer(many=True),
        tags=AUDIT_TAGS,
    )
    def get(self, request: Request) -> Response:
        """Every write request sent to a ledger, newest first: who (API key prefix), which company, the unified
        input, the exact vendor payload, the vendor's answer and timing. Append-only: it cannot be changed."""
        return self.paginated(_audit_events(self, request))


class AuditEventDetailView(WorkspaceAPIView):
    serializer_class = AuditEventSerializer
    pagination_class = None
    http_method_names = ["get", "head", "options"]

    @extend_schema(operation_id="audit_events_retrieve", responses=AuditEventSerializer, tags=AUDIT_TAGS)
    def get(self, request: Request, audit_event_id: str) -> Response:
        event = selectors.audit_event_get(workspace=self.workspace, audit_event_id=audit_event_id)
        return Response(AuditEventSerializer(event).data)


def _export_rows(events: QuerySet[AuditEvent]) -> Iterator[dict[str, Any]]:
    for event in events.iterator(chunk_size=500):
        yield dict(AuditEventSerializer(event).data)


class AuditEventCsvView(WorkspaceAPIView):
    pagination_class = None
    serializer_class = AuditEventSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_events_export_csv",
        parameters=[AuditEventFilterSerializer],
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=AUDIT_TAGS,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """The audit trail (same filters) as CSV for accountants: one row per write request, a header row first."""
        rows = _export_rows(_audit_events(self, request))

        def lines() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=AUDIT_EXPORT_COLUMNS)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


class AuditEventJsonLinesView(WorkspaceAPIView):
    pagination_class = None
    serializer_class = AuditEventSerializer
    http_method_names = ["get", "head", "options"]

    @extend_schema(
        operation_id="audit_events_export_jsonl",
        parameters=[AuditEventFilterSerializer],
        responses={(200, "application/jsonl"): OpenApiTypes.STR},
        tags=AUDIT_TAGS,
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        """The audit trail (same filters) as JSON Lines: one audit event per line."""
        rows = _export_rows(_audit_events(self, request))
        lines = (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in rows)
        response = StreamingHttpResponse(lines, content_type="application/jsonl")
        response["Content-Disposition"] = 'attachment; filename="audit-events.jsonl"'
        return response
