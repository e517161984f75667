"""Operators' admin for the local store: sync state per connection and resource (with a resync action), runs."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from unified_models.store import services
from unified_models.store.models import SyncMode, SyncRun, SyncState
from unified_models.store.tasks import sync_run_enqueue


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = [
        "connection",
        "resource",
        "phase",
        "record_count",
        "first_completed_at",
        "last_success_at",
        "last_error",
        "current_run",
    ]
    list_filter = ["resource", "phase"]
    search_fields = ["connection__id", "connection__company_id", "connection__tenant__external_id"]
    readonly_fields = [field.name for field in SyncState._meta.fields]
    actions = ["resync_full", "sync_changes"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _request(self, request: HttpRequest, queryset: QuerySet[SyncState], mode: str) -> None:
        started, busy = 0, 0
        for state in queryset.select_related("connection"):
            try:
                run = services.sync_run_request(
                    connection=state.connection, resource=state.resource, mode=mode, trigger="admin"
                )
            except services.SyncAlreadyRunning:
                busy += 1
                continue
            sync_run_enqueue(run.pk)
            started += 1
        self.message_user(request, f"{started} {mode} run(s) queued.", messages.SUCCESS)
        if busy:
            self.message_user(request, f"{busy} already running; left alone.", messages.WARNING)

    @admin.action(description="Resync: copy everything again (full run)")
    def resync_full(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        self._request(request, queryset, SyncMode.FULL)

    @admin.action(description="Sync changes now (incremental run)")
    def sync_changes(self, request: HttpRequest, queryset: QuerySet[SyncState]) -> None:
        self._request(request, queryset, SyncMode.INCREMENTAL)


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "connection",
        "resource",
        "mode",
        "trigger",
        "state",
        "rows",
        "changed",
        "deleted",
        "calls",
        "finished_at",
    ]
    list_filter = ["state", "mode", "resource", "trigger"]
    search_fields = ["connection__id", "error"]
    readonly_fields = [field.name for field in SyncRun._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
