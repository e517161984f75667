"""Admin for gateway-level records."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from gateway.models import WorkerHeartbeat
from gateway.operations import LOW_BUDGET_RATIO, operations_overview


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "queue", "last_seen_at"]
    list_filter = ["queue"]
    readonly_fields = ["hostname", "queue", "last_seen_at"]


def operations_view(request: HttpRequest) -> HttpResponse:
    """/admin/operations/: the operator overview (staff only, through admin.site.admin_view in gateway/urls.py)."""
    overview = operations_overview()
    context = {
        **admin.site.each_context(request),
        "title": "Operations overview",
        "overview": overview,
        "low_budget_percent": int(LOW_BUDGET_RATIO * 100),
    }
    return TemplateResponse(request, "admin/operations.html", context)
