"""API representations of workspaces, API keys, tenants, connect links and connections.

Never a key hash or a vendor token: an API key's secret appears once (on create), a connect link's URL once.
"""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gateway.api.fields import (
    HttpUrlField,
    NonEmptyQueryFilters,
    StrictCharField,
    StrictIntegerField,
    StrictUUIDField,
)
from tenants.models import ApiKey, CallLog, Connection, ConnectionStatus, ConnectLink, Tenant, Workspace
from tenants.services import CONNECT_LINK_DEFAULT_TTL, CONNECT_LINK_MAX_TTL, CONNECT_LINK_MIN_TTL

# A bare host name: DNS labels, an IPv4 address or a bracketed IPv6 address; no scheme, port, path or wildcard.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})*\.?$|^\[[0-9A-Fa-f:]+\]$"


@extend_schema_field({"type": "string", "maxLength": 253, "pattern": HOST_NAME_PATTERN})
class HostNameField(StrictCharField):
    """A host name as given (no trimming); tenants.services.normalise_redirect_host checks it, naming the list."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(max_length=253, trim_whitespace=False, **kwargs)  # type: ignore[arg-type]


class WorkspaceSerializer(serializers.ModelSerializer):
    allowed_redirect_hosts = serializers.ListField(
        child=StrictCharField(max_length=253),
        help_text="Host names a connect link's redirect_url may point at (exact names, e.g. `app.example.com`).",
    )
    logo_url = serializers.URLField(
        allow_null=True, help_text="Logo shown on the hosted connect pages (https recommended); null when none."
    )

    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "allowed_redirect_hosts", "logo_url", "created_at", "updated_at"]
        read_only_fields = fields

    def to_representation(self, instance: Workspace) -> dict[str, object]:
        data = super().to_representation(instance)
        data["logo_url"] = data["logo_url"] or None  # stored blank means "no logo"
        return data


class WorkspaceUpdateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200, required=False)
    allowed_redirect_hosts = serializers.ListField(
        child=HostNameField(),
        required=False,
        max_length=50,
        help_text="Replaces the whole list.",
    )
    logo_url = HttpUrlField(required=False, allow_null=True, help_text="An http(s) URL; null removes the logo.")

    def validate_logo_url(self, value: str | None) -> str:
        return "" if value is None else value


class ApiKeySerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "status", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields

    def get_status(self, api_key: ApiKey) -> str:
        return "active" if api_key.is_active else "revoked"


class ApiKeyCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)


class CreatedApiKeySerializer(ApiKeySerializer):
    key = StrictCharField(help_text="The full API key. Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields


class TenantSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "external_id", "name", "created_at", "updated_at"]
        read_only_fields = fields


class TenantCreateSerializer(serializers.Serializer):
    external_id = StrictCharField(
        max_length=200, help_text="Your own id of this customer; unique within the workspace."
    )
    name = StrictCharField(max_length=200)


class TenantUpdateSerializer(serializers.Serializer):
    """PUT needs both fields, PATCH either; changing external_id is allowed (it stays unique)."""

    external_id = StrictCharField(max_length=200)
    name = StrictCharField(max_length=200)


class TenantListFilterSerializer(NonEmptyQueryFilters):
    external_id = StrictCharField(required=False, max_length=200)


class ConnectLinkCreateSerializer(serializers.Serializer):
    connector = StrictCharField(max_length=50, help_text="Connector id, e.g. `exact`.")
    region = StrictCharField(
        max_length=10,
        required=False,
        allow_blank=True,
        help_text="Preset the vendor region (Exact: nl, be, de, uk, us, es, fr); omitted, the user chooses.",
    )
    redirect_url = HttpUrlField(
        max_length=2000,
        help_text="Where the flow ends, with `status`, `connection_ids` or `error`, and `link_id` appended. "
        "Its host must be in the workspace's allowed_redirect_hosts.",
    )
    expires_in = StrictIntegerField(
        required=False,
        min_value=int(CONNECT_LINK_MIN_TTL.total_seconds()),
        max_value=int(CONNECT_LINK_MAX_TTL.total_seconds()),
        help_text=f"Seconds until the link expires (default {int(CONNECT_LINK_DEFAULT_TTL.total_seconds())}).",
    )
    connection_id = StrictUUIDField(
        required=False,
        help_text="Re-authorise this connection of the tenant: its region is preset and its division pre-selected.",
    )

    def validated_expires_in(self) -> timedelta:
        seconds = self.validated_data.get("expires_in")
        return CONNECT_LINK_DEFAULT_TTL if seconds is None else timedelta(seconds=seconds)


class ConnectLinkSerializer(serializers.ModelSerializer):
    url = StrictCharField(help_text="The single-use connect URL. Returned only now: send your user there.")
    tenant_id = serializers.UUIDField()
    region = StrictCharField(allow_null=True, help_text="The preset region, or null when the user chooses.")
    connection_id = serializers.UUIDField(source="repair_connection_id", allow_null=True)

    class Meta:
        model = ConnectLink
        fields = [
            "id",
            "url",
            "expires_at",
            "connector",
            "region",
            "redirect_url",
            "tenant_id",
            "connection_id",
            "status",
            "created_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance: ConnectLink) -> dict[str, object]:
        data = super().to_representation(instance)
        data["region"] = data["region"] or None  # blank in the database means "the user chooses"
        return data


class ConnectionSerializer(serializers.ModelSerializer):
    tenant_id = serializers.UUIDField(read_only=True)
    company_id = StrictCharField(read_only=True, help_text="The vendor's company id (Exact: division code).")
    company_name = StrictCharField(read_only=True)
    access_token_expires_at = serializers.DateTimeField(
        source="credential.access_token_expires_at",
        read_only=True,
        allow_null=True,
        help_text="When the current access token expires (the gateway refreshes it); never the token itself.",
    )

    class Meta:
        model = Connection
        fields = [
            "id",
            "tenant_id",
            "connector",
            "region",
            "company_id",
            "company_name",
            "status",
            "status_reason",
            "connected_at",
            "last_success_at",
            "access_token_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CallLogSerializer(serializers.ModelSerializer):
    """One vendor HTTP call: no bodies and no headers are kept (they may carry personal data or tokens)."""

    connection_id = serializers.UUIDField(read_only=True)
    status = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The vendor's HTTP status; null when no answer came (timeout)."
    )
    rate_limit_remaining = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The vendor's remaining daily calls after this one, if it says."
    )
    minutely_remaining = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="The vendor's remaining calls this minute, if it says."
    )

    class Meta:
        model = CallLog
        fields = [
            "id",
            "connection_id",
            "method",
            "path",
            "status",
            "duration_ms",
            "rate_limit_remaining",
            "minutely_remaining",
            "request_id",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class ConnectionListFilterSerializer(NonEmptyQueryFilters):
    tenant = StrictUUIDField(required=False, help_text="Only this tenant's connections.")
    status = serializers.ChoiceField(choices=ConnectionStatus.choices, required=False)
