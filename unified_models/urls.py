"""Routes of the unified data API under /api/v1/connections/{connection_id}/, generated from the resource specs.

Each spec gets a list route (GET, and POST when it permits create), a detail route (GET, PATCH when it permits
update, DELETE when it permits delete), when it permits finalize, .../{record_id}/finalize (sales orders:
.../{record_id}/invoice), and when its records take files, .../{record_id}/attachments (GET, POST) and
.../{record_id}/attachments/{attachment_id} (the file); each view carries its spec and its schema.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path
from drf_spectacular.utils import extend_schema_view

from connectors.base.data import Resource
from unified_models import openapi, views
from unified_models.serializers import SalesOrderInvoiceSerializer
from unified_models.specs import SPEC_BY_RESOURCE, SPECS, ResourceSpec
from unified_models.store.views import SyncView

_CONNECTION = "connections/<str:connection_id>"


def _view(name: str, base: type[views.ConnectionAPIView] | tuple[type, ...], spec: ResourceSpec, **schemas: Any) -> Any:
    view = type(name, base if isinstance(base, tuple) else (base,), {"spec": spec, "__module__": views.__name__})
    return extend_schema_view(**schemas)(view).as_view()


def _record_routes(spec: ResourceSpec) -> list[URLPattern]:
    collection = f"{_CONNECTION}/{spec.resource.value}"
    list_schemas = {"get": openapi.list_schema(spec)}
    if spec.create is not None:
        list_schemas["post"] = openapi.write_schema(spec, "create", spec.create)
    detail_schemas = {"get": openapi.retrieve_schema(spec)}
    if spec.update is not None:
        detail_schemas["patch"] = openapi.write_schema(spec, "partial_update", spec.update)
    if spec.delete is not None:
        detail_schemas["delete"] = openapi.delete_schema(spec, spec.delete)
    list_base = views.RecordCreateView if spec.create is not None else views.RecordListView
    detail_base: tuple[type, ...] = (views.RecordUpdateView if spec.update is not None else views.RecordDetailView,)
    if spec.delete is not None:
        detail_base = (views.RecordDeleteView, *detail_base)
    routes = [
        path(collection, _view(f"{spec.name}ListView", list_base, spec, **list_schemas), name=f"{spec.url_name}-list"),
        path(
            f"{collection}/<str:record_id>",
            _view(f"{spec.name}DetailView", detail_base, spec, **detail_schemas),
            name=f"{spec.url_name}-detail",
        ),
    ]
    if spec.finalize is not None:
        finalize = _view(
            f"{spec.name}FinalizeView",
            views.RecordFinalizeView,
            spec,
            post=openapi.write_schema(spec, "finalize", spec.finalize),
        )
        routes.append(path(f"{collection}/<str:record_id>/finalize", finalize, name=f"{spec.url_name}-finalize"))
    if spec.resource is Resource.SALES_ORDERS:
        schema = openapi.sales_order_invoice_schema(SPEC_BY_RESOURCE[Resource.INVOICES], SalesOrderInvoiceSerializer)
        invoice = extend_schema_view(post=schema)(views.SalesOrderInvoiceView).as_view()
        routes.append(path(f"{collection}/<str:record_id>/invoice", invoice, name=f"{spec.url_name}-invoice"))
    if spec.attachments:
        attachments = _view(
            f"{spec.name}AttachmentListView",
            views.AttachmentListView,
            spec,
            get=openapi.attachment_list_schema(spec),
            post=openapi.attachment_create_schema(spec),
        )
        content = _view(
            f"{spec.name}AttachmentContentView",
            views.AttachmentContentView,
            spec,
            get=openapi.attachment_content_schema(spec),
        )
        routes += [
            path(f"{collection}/<str:record_id>/attachments", attachments, name=f"{spec.url_name}-attachment-list"),
            path(
                f"{collection}/<str:record_id>/attachments/<str:attachment_id>",
                content,
                name=f"{spec.url_name}-attachment-content",
            ),
        ]
    return routes


urlpatterns = [
    path("mutations", views.MutationListView.as_view(), name="mutation-list"),
    path("mutations/<str:mutation_id>", views.MutationDetailView.as_view(), name="mutation-detail"),
    path("mutations/<str:mutation_id>/retry", views.MutationRetryView.as_view(), name="mutation-retry"),
    path(f"{_CONNECTION}/company", views.CompanyView.as_view(), name="connection-company"),
    path(f"{_CONNECTION}/mapping", views.MappingView.as_view(), name="connection-mapping"),
    path(f"{_CONNECTION}/passthrough", views.PassthroughView.as_view(), name="connection-passthrough"),
    path(f"{_CONNECTION}/reconciliations", views.ReconciliationListView.as_view(), name="reconciliation-list"),
    path(
        f"{_CONNECTION}/reconciliations/<str:reconciliation_id>",
        views.ReconciliationDetailView.as_view(),
        name="reconciliation-detail",
    ),
    path(
        f"{_CONNECTION}/reconciliations/<str:reconciliation_id>/csv",
        views.ReconciliationCsvView.as_view(),
        name="reconciliation-csv",
    ),
    path(f"{_CONNECTION}/sync", SyncView.as_view(), name="connection-sync"),
    *(route for spec in SPECS for route in _record_routes(spec)),
]
