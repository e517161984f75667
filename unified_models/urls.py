"""Routes of the unified data API under /api/v1/connections/{connection_id}/."""

from django.urls import path

from unified_models import views

_RECORD_ID = "<str:record_id>"

urlpatterns = [
    path("connections/<str:connection_id>/mapping", views.MappingView.as_view(), name="connection-mapping"),
    path("connections/<str:connection_id>/passthrough", views.PassthroughView.as_view(), name="connection-passthrough"),
    path("connections/<str:connection_id>/contacts", views.ContactListView.as_view(), name="contact-list"),
    path(
        f"connections/<str:connection_id>/contacts/{_RECORD_ID}",
        views.ContactDetailView.as_view(),
        name="contact-detail",
    ),
    path("connections/<str:connection_id>/invoices", views.InvoiceListView.as_view(), name="invoice-list"),
    path(
        f"connections/<str:connection_id>/invoices/{_RECORD_ID}",
        views.InvoiceDetailView.as_view(),
        name="invoice-detail",
    ),
    path(
        f"connections/<str:connection_id>/invoices/{_RECORD_ID}/finalize",
        views.InvoiceFinalizeView.as_view(),
        name="invoice-finalize",
    ),
    path(
        "connections/<str:connection_id>/ledger-accounts",
        views.LedgerAccountListView.as_view(),
        name="ledger-account-list",
    ),
    path(
        f"connections/<str:connection_id>/ledger-accounts/{_RECORD_ID}",
        views.LedgerAccountDetailView.as_view(),
        name="ledger-account-detail",
    ),
    path("connections/<str:connection_id>/tax-rates", views.TaxRateListView.as_view(), name="tax-rate-list"),
    path(
        f"connections/<str:connection_id>/tax-rates/{_RECORD_ID}",
        views.TaxRateDetailView.as_view(),
        name="tax-rate-detail",
    ),
    path("connections/<str:connection_id>/journals", views.JournalListView.as_view(), name="journal-list"),
    path(
        f"connections/<str:connection_id>/journals/{_RECORD_ID}",
        views.JournalDetailView.as_view(),
        name="journal-detail",
    ),
    path("connections/<str:connection_id>/items", views.ItemListView.as_view(), name="item-list"),
    path(f"connections/<str:connection_id>/items/{_RECORD_ID}", views.ItemDetailView.as_view(), name="item-detail"),
    path("connections/<str:connection_id>/payments", views.PaymentListView.as_view(), name="payment-list"),
    path(
        f"connections/<str:connection_id>/payments/{_RECORD_ID}",
        views.PaymentDetailView.as_view(),
        name="payment-detail",
    ),
]
