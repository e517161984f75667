"""API representations of workspaces and API keys (never the key hash; the secret only once, on create)."""

from rest_framework import serializers

from tenants.models import ApiKey, Workspace


class WorkspaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Workspace
        fields = ["id", "name", "slug", "created_at"]
        read_only_fields = fields


class ApiKeySerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "status", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields

    def get_status(self, api_key: ApiKey) -> str:
        return "active" if api_key.is_active else "revoked"


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class CreatedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The full API key. Shown once: store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
        read_only_fields = fields
