"""Operators' admin for webhook endpoints (secrets never shown), deliveries with their attempts, and events.

Events and attempts are records of what happened: read-only. Deliveries can be redelivered (an action).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from events import services
from events.models import AuditEvent, Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "workspace", "enabled", "failing_since", "created_at"]
    list_filter = ["enabled", "workspace"]
    search_fields = ["url", "description", "workspace__name"]
    fields = [
        "workspace",
        "url",
        "description",
        "event_types",
        "enabled",
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "workspace",
        "disabled_reason",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # created through the API, which shows the secret once


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "status_code", "response_ms", "error", "response_excerpt"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "endpoint__workspace"]
    search_fields = ["event__id", "endpoint__url"]
    readonly_fields = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "round_attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "updated_at",
    ]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver (a new round of attempts, same event id)")
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = services.webhook_redeliver(deliveries=queryset)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["type", "workspace", "connection_id", "sequence", "source", "created_at"]
    list_filter = ["type", "source", "workspace"]
    search_fields = ["id", "connection_id", "request_id"]
    readonly_fields = [
        "id",
        "workspace",
        "connection_id",
        "sequence",
        "type",
        "source",
        "data",
        "request_id",
        "created_at",
    ]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit trail: operators may read it, nobody may add, change or delete a row (the model and the database
    refuse too)."""

    list_display = ["sent_at", "outcome", "vendor_method", "vendor_path", "resource", "company_id", "api_key_prefix"]
    list_filter = ["outcome", "resource", "connector"]
    search_fields = ["remote_id", "target_id", "request_id", "api_key_prefix", "mutation_id", "connection_id"]
    date_hierarchy = "sent_at"
    readonly_fields = [
        "id",
        "sent_at",
        "outcome",
        "workspace_id",
        "api_key_prefix",
        "request_id",
        "connection_id",
        "connector",
        "company_id",
        "mutation_id",
        "attempt",
        "resource",
        "operation",
        "target_id",
        "unified_input",
        "vendor_method",
        "vendor_path",
        "vendor_payload",
        "vendor_status",
        "remote_id",
        "vendor_message",
        "duration_ms",
    ]
    actions = None
