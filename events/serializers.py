"""API representations of events, webhook endpoints and deliveries (a signing secret appears once: on create or
rotation)."""

from __future__ import annotations

from rest_framework import serializers

from events.models import (
    AuditEvent,
    AuditOutcome,
    DeliveryStatus,
    Event,
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from gateway.api.fields import (
    HttpUrlField,
    NonEmptyQueryFilters,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    StrictIntegerField,
    StrictUUIDField,
)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        help_text="Event types delivered to this endpoint; empty: all.",
    )
    secret_rotation_ends_at = serializers.DateTimeField(
        source="previous_secret_expires_at",
        allow_null=True,
        help_text="Until then the previous secret signs too (two signatures in `webhook-signature`).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_reason",
            "failing_since",
            "secret_rotation_ends_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CreatedWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (`whsec_…`, Standard Webhooks). Shown once: store it now."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = HttpUrlField(max_length=2000, help_text="https URL of your receiver.")
    description = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), required=False, default=list, max_length=50
    )
    enabled = StrictBooleanField(required=False, default=True)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = HttpUrlField(max_length=2000, required=False)
    description = StrictCharField(max_length=500, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), required=False, max_length=50
    )
    enabled = StrictBooleanField(required=False)


class SecretRotationSerializer(serializers.Serializer):
    overlap_seconds = StrictIntegerField(
        required=False,
        min_value=0,
        max_value=7 * 24 * 3600,
        help_text="How long the previous secret keeps signing (default LEDGERBRIDGE_WEBHOOK_SECRET_OVERLAP); 0 "
        "retires it at once.",
    )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "started_at", "status_code", "response_ms", "response_excerpt", "error"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    connection_id = serializers.UUIDField(allow_null=True)
    sequence = serializers.IntegerField(
        allow_null=True, help_text="1, 2, 3, … per connection, in commit order; null for events of no connection."
    )
    data = serializers.JSONField()

    class Meta:
        model = Event
        fields = ["id", "type", "created_at", "connection_id", "sequence", "source", "data", "request_id"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = EventSerializer()
    attempt_log = WebhookAttemptSerializer(many=True, help_text="Every attempt, oldest first.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "event",
            "attempt_log",
        ]
        read_only_fields = fields


class DeliveryListFilterSerializer(NonEmptyQueryFilters):
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)
    event_type = serializers.ChoiceField(choices=EventType.choices, required=False)


class RedeliverSerializer(serializers.Serializer):
    since = StrictDateTimeField(help_text="Redeliver every event created at or after this moment.")


class RedeliveryResultSerializer(serializers.Serializer):
    redelivered = serializers.IntegerField(help_text="How many deliveries were queued again.")


class EventListFilterSerializer(NonEmptyQueryFilters):
    connection_id = StrictUUIDField(required=False)
    type = serializers.ChoiceField(choices=EventType.choices, required=False)
    created_after = serializers.DateTimeField(required=False)


class AuditEventSerializer(serializers.ModelSerializer):
    unified_input = serializers.JSONField(allow_null=True, help_text="The write as the API received it.")
    vendor_payload = serializers.CharField(help_text="The body sent to the vendor, byte for byte.")

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "sent_at",
            "outcome",
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
        read_only_fields = fields


class AuditEventFilterSerializer(NonEmptyQueryFilters):
    connection_id = StrictUUIDField(required=False)
    resource = StrictCharField(required=False, max_length=50, help_text="`contacts`, `invoices`, `passthrough`, …")
    remote_id = StrictCharField(required=False, max_length=100, help_text="The vendor id written or targeted.")
    outcome = serializers.ChoiceField(choices=AuditOutcome.choices, required=False)
    mutation_id = StrictUUIDField(required=False)
    sent_after = serializers.DateTimeField(required=False, help_text="From this moment on (inclusive).")
    sent_before = serializers.DateTimeField(required=False, help_text="Before this moment.")
