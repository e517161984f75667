"""Routes of the tenants app under /api/v1/."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("workspace", views.WorkspaceView.as_view(), name="workspace"),
    path("api-keys", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<str:api_key_id>", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
]
