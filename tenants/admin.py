"""Operators' admin: workspaces, API keys, tenants, connections, credentials, connect links and vendor call logs.

Secrets never render: key secrets are shown once on creation, vendor tokens and hashes never (the ciphertext
fields are excluded from every form); a reconnect link's URL is shown once, in a message.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants import services
from tenants.models import ApiKey, CallLog, Connection, ConnectionStatus, ConnectLink, Credential, Tenant, Workspace


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "allowed_redirect_hosts", "logo_url"]
    # A logo typed without a scheme is an https URL (Django 6's default; silences its deprecation warning).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "workspace", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["workspace", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "workspace__name"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke_keys"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["workspace", "name"]
        return ["workspace", "name", "prefix", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["workspace", "prefix", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = services.api_key_create(workspace=obj.workspace, name=obj.name)
        # Hand the admin form the saved row so the redirect points at it.
        obj.pk, obj.prefix, obj.key_hash = created.api_key.pk, created.api_key.prefix, created.api_key.key_hash
        obj._state.adding = False
        messages.warning(request, f"New API key (shown only now, copy it): {created.secret}")

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead, so the key stays visible in audits

    @admin.action(description="Revoke selected API keys")
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the gateway writes itself: operators look, filter and use actions, but do not edit fields by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ConnectionInline(admin.TabularInline):
    model = Connection
    extra = 0
    fields = ["company_id", "company_name", "connector", "region", "status", "connected_at", "last_success_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "workspace", "connection_count", "created_at"]
    list_filter = ["workspace"]
    search_fields = ["name", "external_id", "workspace__name"]
    fields = ["workspace", "external_id", "name", "created_at", "updated_at"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ConnectionInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Tenant | None = None) -> list[str]:
        # Moving a tenant to another workspace would leave its connections and links behind in the old one
        # (an isolation hole): the workspace is chosen once, on creation.
        if obj is None:
            return list(self.readonly_fields)
        return ["workspace", *self.readonly_fields]

    def delete_model(self, request: HttpRequest, obj: Tenant) -> None:
        services.tenant_delete(tenant=obj)  # forgets credentials no other connection uses (no orphan keep-alive)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        for tenant in queryset:
            services.tenant_delete(tenant=tenant)

    @admin.display(description="connections")
    def connection_count(self, tenant: Tenant) -> int:
        return tenant.connections.count()


@admin.register(Connection)
class ConnectionAdmin(ReadOnlyAdmin):
    list_display = [
        "company_name", "company_id", "tenant", "region", "status", "access_token_expires_at", "last_refreshed_at",
        "last_success_at", "last_error_short",
    ]  # fmt: skip
    list_filter = ["status", "connector", "region", "workspace"]
    search_fields = ["company_id", "company_name", "tenant__name", "tenant__external_id"]
    list_select_related = ["tenant", "credential"]
    fields = [
        "id", "workspace", "tenant", "connector", "region", "company_id", "company_name", "status", "status_reason",
        "credential", "access_token_expires_at", "last_refreshed_at", "connected_at", "last_success_at",
        "last_error_at", "last_error", "created_at", "updated_at",
    ]  # fmt: skip
    readonly_fields = fields
    actions = ["disable_connections", "create_reconnect_links"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Needed to run actions from the list; every field stays read-only.
        return super(ReadOnlyAdmin, self).has_change_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Connection) -> None:
        services.connection_disconnect(connection=obj)  # forgets the credential too when nothing else shares it

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset:
            services.connection_disconnect(connection=connection)

    @admin.display(description="access token expires")
    def access_token_expires_at(self, connection: Connection) -> datetime | None:
        return connection.credential.access_token_expires_at if connection.credential else None

    @admin.display(description="last refresh")
    def last_refreshed_at(self, connection: Connection) -> datetime | None:
        return connection.credential.last_refreshed_at if connection.credential else None

    @admin.display(description="last error")
    def last_error_short(self, connection: Connection) -> str:
        return (connection.last_error[:80] + "…") if len(connection.last_error) > 80 else connection.last_error

    @admin.action(description="Disable selected connections")
    def disable_connections(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        count = 0
        for connection in queryset.exclude(status=ConnectionStatus.DISABLED):
            services.connection_disable(connection=connection, reason=f"Disabled by operator {request.user}.")
            count += 1
        self.message_user(request, f"Disabled {count} connection(s).", messages.SUCCESS)

    @admin.action(description="Create reconnect link for selected connections")
    def create_reconnect_links(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        for connection in queryset.select_related("tenant__workspace"):
            created = services.connection_reconnect_link(connection=connection)
            # The URL carries the link's secret: shown only now, like a new API key.
            messages.warning(
                request,
                f"Reconnect link for {connection.company_name or connection.company_id} ({connection.tenant.name}), "
                f"valid until {created.link.expires_at:%Y-%m-%d %H:%M} UTC, shown only now: {created.url}",
            )


@admin.register(Credential)
class CredentialAdmin(ReadOnlyAdmin):
    list_display = [
        "vendor_user_name", "connector", "region", "workspace", "status", "access_token_expires_at",
        "last_refreshed_at", "refresh_state", "last_refresh_error",
    ]  # fmt: skip
    list_filter = ["status", "refresh_state", "connector", "region", "workspace"]
    search_fields = ["vendor_user_name", "vendor_user_id", "client_id"]
    # The ciphertext columns never reach a page: not listed, not in the form.
    exclude = ["access_token_encrypted", "refresh_token_encrypted"]

    def get_readonly_fields(self, request: HttpRequest, obj: Credential | None = None) -> list[str]:
        # Every field, the workspace included: a credential never moves between workspaces.
        return [field.name for field in Credential._meta.fields if field.name not in self.exclude]


@admin.register(ConnectLink)
class ConnectLinkAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "connector", "region", "status", "error_code", "expires_at", "completed_at", "created_at"]
    list_filter = ["status", "connector", "error_code", "workspace"]
    search_fields = ["tenant__name", "tenant__external_id", "redirect_url"]
    # Hashes are not secrets, but they have no use on a page; the token itself is never stored.
    exclude = ["token_hash", "oauth_state_hash"]

    def get_readonly_fields(self, request: HttpRequest, obj: ConnectLink | None = None) -> list[str]:
        # Every field, the workspace included: a link never moves between workspaces.
        return [field.name for field in ConnectLink._meta.fields if field.name not in self.exclude]


@admin.register(CallLog)
class CallLogAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "connection",
        "method",
        "path",
        "status",
        "duration_ms",
        "rate_limit_remaining",
        "minutely_remaining",
        "request_id",
        "error",
    ]
    list_filter = ["connection", "status", "method"]
    search_fields = ["path", "request_id"]
    list_select_related = ["connection"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
