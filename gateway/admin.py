"""Admin for gateway-level records."""

from django.contrib import admin

from gateway.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "last_seen_at"]
    readonly_fields = ["hostname", "last_seen_at"]
