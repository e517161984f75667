"""Routes of the events app under /api/v1/."""

from django.urls import path

from events import views

urlpatterns = [
    path("webhook-endpoints", views.WebhookEndpointListView.as_view(), name="webhook-endpoint-list"),
    path("webhook-endpoints/<str:endpoint_id>", views.WebhookEndpointDetailView.as_view(), name="webhook-endpoint"),
    path(
        "webhook-endpoints/<str:endpoint_id>/rotate-secret",
        views.WebhookEndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/redeliver",
        views.WebhookEndpointRedeliverView.as_view(),
        name="webhook-endpoint-redeliver",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries/<str:delivery_id>",
        views.WebhookDeliveryDetailView.as_view(),
        name="webhook-delivery",
    ),
    path(
        "webhook-endpoints/<str:endpoint_id>/deliveries/<str:delivery_id>/redeliver",
        views.WebhookDeliveryRedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
    path("events", views.EventListView.as_view(), name="event-list"),
    path("audit-events", views.AuditEventListView.as_view(), name="audit-event-list"),
    path("audit-events.csv", views.AuditEventCsvView.as_view(), name="audit-event-csv"),
    path("audit-events.jsonl", views.AuditEventJsonLinesView.as_view(), name="audit-event-jsonl"),
    path("audit-events/<str:audit_event_id>", views.AuditEventDetailView.as_view(), name="audit-event"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event"),
]
