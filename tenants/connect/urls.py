"""Routes of the hosted connect flow under /connect/ (the OAuth callback is exactly /connect/callback)."""

from django.urls import path

from tenants.connect import views

app_name = "connect"

urlpatterns = [
    # Fixed paths first: a link token never matches them (tokens are 43 URL-safe characters).
    path("callback", views.CallbackView.as_view(), name="callback"),
    path("done", views.DoneView.as_view(), name="done"),
    path("divisions/<uuid:link_id>", views.DivisionPickerView.as_view(), name="divisions"),
    path("<str:token>", views.LinkStartView.as_view(), name="start"),
    path("<str:token>/continue", views.ContinueView.as_view(), name="continue"),
]
