"""Routes of the tenants app under /api/v1/."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("workspace", views.WorkspaceView.as_view(), name="workspace"),
    path("api-keys", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<str:api_key_id>", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("tenants", views.TenantListView.as_view(), name="tenant-list"),
    path("tenants/<str:tenant_id>", views.TenantDetailView.as_view(), name="tenant-detail"),
    path("tenants/<str:tenant_id>/connect-links", views.ConnectLinkCreateView.as_view(), name="connect-link-create"),
    path("connections", views.ConnectionListView.as_view(), name="connection-list"),
    path("connections/<str:connection_id>", views.ConnectionDetailView.as_view(), name="connection-detail"),
    path("connections/<str:connection_id>/calls", views.ConnectionCallListView.as_view(), name="connection-calls"),
]
