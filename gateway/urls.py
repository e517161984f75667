"""URL routing: /api/v1/ for the public API, schema and docs, the hosted connect flow, health probes, admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from gateway.admin import operations_view
from gateway.views import HealthzView, ReadyzView, UnknownApiPathView
from unified_models.store.inbound_views import InboundWebhookView

admin.site.site_header = "Ledgerbridge operations"
admin.site.site_title = "Ledgerbridge"
admin.site.index_title = "Operations"

api_v1 = [
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]), name="schema"),
    path("", include("tenants.urls")),
    path("", include("unified_models.urls")),
    path("", include("events.urls")),
]

urlpatterns = [
    path("api/v1/", include((api_v1, "api"), namespace="v1")),
    path(
        "api/docs/",
        # GET only: its HTML renderer cannot render anything else (OPTIONS metadata); other methods get a 405 problem.
        SpectacularSwaggerView.as_view(
            url_name="v1:schema", authentication_classes=[], permission_classes=[], http_method_names=["get", "head"]
        ),
        name="api-docs",
    ),
    path("healthz", HealthzView.as_view(), name="healthz"),
    path("readyz", ReadyzView.as_view(), name="readyz"),
    # The hosted connect flow (server-rendered pages); the OAuth callback is {LEDGERBRIDGE_PUBLIC_URL}/connect/callback.
    path("connect/", include("tenants.connect.urls")),
    # Vendor webhooks ({LEDGERBRIDGE_PUBLIC_URL}/inbound/<connector id>): the connector verifies, the store fetches.
    path("inbound/<str:connector_id>", InboundWebhookView.as_view(), name="inbound-webhook"),
    # The operator overview (gateway/operations.py), inside admin's login.
    path("admin/operations/", admin.site.admin_view(operations_view), name="admin-operations"),
    path("admin/", admin.site.urls),
    # Unknown API paths answer with problem details for every method (401 without a key, else 404), even with
    # DEBUG on, and never with Django's CSRF page.
    re_path(r"^api/", UnknownApiPathView.as_view()),
]

handler400 = "gateway.api.problems.handler400"
handler403 = "gateway.api.problems.handler403"
handler404 = "gateway.api.problems.handler404"
handler500 = "gateway.api.problems.handler500"
