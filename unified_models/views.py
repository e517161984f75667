"""API handlers of the unified data model under /api/v1/connections/{connection_id}/: records, mapping, passthrough.

Handlers only: parse the request, call a selector or service, serialize. Which resource a record view serves and
which writes it permits come from its spec (unified_models.specs; routes are generated in unified_models.urls),
the schema text from unified_models.openapi. Connections are loaded through the workspace-scoped selector (404
for another workspace's); typed errors leave the handlers as they are and become problem details in the API's
exception handler (unified_models.errors, registered in apps.py).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from connectors.base.data import Resource
from connectors.base.errors import VendorNotFound
from connectors.base.records import InvalidInput
from gateway.api.idempotency import idempotent, idempotent_write
from gateway.api.overlapped_throttle import OverlappedThrottleView
from gateway.api.pagination import CursorPagination, parse_page_size
from gateway.api.responses import EncodedJSONResponse, json_text
from gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from gateway.idempotency import deferred_key
from tenants.api import WorkspaceAPIView
from tenants.models import Connection
from unified_models import openapi, reconciliation, selectors, services
from unified_models.models import Mutation
from unified_models.query import (
    DEFAULT_PAGE_SIZE,
    LIVE,
    dry_run,
    include_remote_data,
    list_filters,
    read_mode,
    updated_after,
    validated,
)
from unified_models.serializers import (
    AttachedSerializer,
    AttachmentSerializer,
    CompanyInfoSerializer,
    LedgerMappingSerializer,
    MutationListFilterSerializer,
    MutationSerializer,
    PassthroughRequestSerializer,
    ReconciliationCreateSerializer,
    ReconciliationSerializer,
    SalesOrderInvoiceSerializer,
    mapping_data,
)
from unified_models.specs import ResourceSpec, dry_run_data, record_data, records_data
from unified_models.store import selectors as store_selectors
from unified_models.store.services import store_written_record

# Response headers saying where a read came from and, for the store, when its last sync completed.
SOURCE_HEADER = "X-Data-Source"
SYNCED_AT_HEADER = "X-Synced-At"

_R = TypeVar("_R", bound=HttpResponse)


def _sourced(response: _R, freshness: store_selectors.Freshness | None) -> _R:
    response[SOURCE_HEADER] = "store" if freshness is not None else "live"
    if freshness is not None and freshness.synced_at is not None:
        response[SYNCED_AT_HEADER] = freshness.synced_at.isoformat()
    return response


TARGET_ID_LENGTH: int = Mutation._meta.get_field("target_id").max_length  # type: ignore[assignment]


class ConnectionAPIView(WorkspaceAPIView):
    """A view under /connections/{connection_id}/: the connection is the caller's, or 404."""

    pagination_class = None
    serializer_class = None
    # The write this request recorded, once it is recorded: a failure's problem names it (errors.problem_for_view).
    mutation: Mutation | None = None

    def get_connection(self, connection_id: str, *, store_resource: Resource | None = None) -> Connection:
        return selectors.connection_get(
            workspace=self.workspace, connection_id=connection_id, store_resource=store_resource
        )

    def get_store_copy(
        self, request: Request, connection_id: str, resource: Resource
    ) -> store_selectors.StoreCopy | None:
        """The caller's connection's copy of `resource` when this read comes from it (not `?mode=live`, its first
        sync completed), found in one statement without reading the connection. None otherwise: the caller reads
        the connection (404 if it is not the caller's) and the vendor. `read_mode` still validates `?mode=`."""
        if request.query_params.get("mode") == LIVE:
            return None
        return store_selectors.store_copy(workspace=self.workspace, connection_id=connection_id, resource=resource)

    def write(
        self,
        request: Request,
        *,
        connection: Connection,
        resource: str,
        operation: str,
        payload: dict[str, Any],
        target_id: str = "",
        success_status: int = status.HTTP_200_OK,
    ) -> Response:
        """Record the mutation, send it, answer with the record (or the vendor's passthrough answer).

        With `?dry_run=true` nothing is recorded or sent: the answer is the vendor payload the write would send.
        """
        if len(target_id) > TARGET_ID_LENGTH:
            # Longer than any record id the gateway keeps (Mutation.target_id): no vendor has such a record.
            raise VendorNotFound(f"No {resource} record with an id of {len(target_id)} characters.")
        if dry_run(request):
            preview = services.mutation_preview(
                connection=connection,
                resource=resource,
                operation=operation,
                request=payload,
                target_id=target_id,
                idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            )
            return Response(dry_run_data(preview), status=status.HTTP_200_OK)
        include = include_remote_data(request) if resource != services.PASSTHROUGH else False
        self.mutation = services.mutation_create(
            workspace=self.workspace,
            connection=connection,
            resource=resource,
            operation=operation,
            request=payload,
            target_id=target_id,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
            claim=True,  # sent right below: recorded already claimed, no second transaction to take the lease
        )
        deferred = deferred_key()
        if deferred is not None:
            deferred.answer_status = success_status  # stored with the outcome (idempotent_write)
        # The outcome's own transaction follows the answer (services.mutation_execute says why nothing is lost).
        outcome = services.mutation_execute(
            mutation=self.mutation, include_remote_data=include, outcome_after_answer=True
        )
        return Response(outcome.body, status=success_status)


class RecordListView(ConnectionAPIView):
    spec: ResourceSpec

    def get(self, request: Request, connection_id: str) -> HttpResponse:
        copy = self.get_store_copy(request, connection_id, self.spec.resource)
        connection = self.get_connection(connection_id) if copy is None else None
        page_size = parse_page_size(request, DEFAULT_PAGE_SIZE)
        since = updated_after(request)
        include = include_remote_data(request)
        filters = list_filters(request, tuple(self.spec.filters))
        cursor = request.query_params.get("cursor") or None
        read_mode(request)  # validated; a copy was looked for unless it is `live`
        if copy is not None:
            # The local copy (unified_models.store): no vendor call, and the connection itself is not read.
            stored = store_selectors.stored_page(
                connection_id=copy.connection_id,
                resource=self.spec.resource,
                page_size=page_size,
                after=selectors.store_cursor_after(
                    connection_id=copy.connection_id,
                    resource=self.spec.resource,
                    cursor=cursor,
                    updated_after=since,
                    filters=filters,
                ),
                updated_after=since,
                include_remote_data=include,
                filters=filters,
            )
            # The stored rows' JSON text joined into the body: nothing decoded or encoded again per record.
            next_url = self._next_url(
                request,
                selectors.store_cursor_sign(
                    connection_id=copy.connection_id,
                    resource=self.spec.resource,
                    position=stored.next_cursor,
                    updated_after=since,
                ),
            )
            return _sourced(
                EncodedJSONResponse(
                    {
                        "results": stored.results_json,
                        "next": json_text(next_url),
                        "source": json_text("store"),
                        "synced_at": json_text(
                            synced_at.isoformat() if (synced_at := copy.freshness.synced_at) else None
                        ),
                    }
                ),
                copy.freshness,
            )
        assert connection is not None
        page = selectors.record_list(
            connection=connection,
            resource=self.spec.resource,
            page_size=page_size,
            cursor=cursor,
            updated_after=since,
            include_remote_data=include,
            filters=filters,
        )
        results = records_data(self.spec.resource, page.records, include_remote_data=include)
        body = {
            "results": results,
            "next": self._next_url(request, page.next_cursor),
            "source": "live",
            "synced_at": None,
        }
        return _sourced(Response(body), None)

    @staticmethod
    def _next_url(request: Request, cursor: str | None) -> str | None:
        return replace_query_param(request.build_absolute_uri(), "cursor", cursor) if cursor else None


class RecordCreateView(OverlappedThrottleView, RecordListView):
    # A create's first statement is the connection's read (the Idempotency-Key is claimed later, with the write):
    # the API throttle's round trip overlaps it, and a throttled create records nothing and sends nothing.
    overlapped_throttle_methods = frozenset({"POST"})

    @idempotent_write
    def post(self, request: Request, connection_id: str) -> Response:
        assert self.spec.create is not None and self.spec.create.serializer is not None  # routed only then
        with self.throttle_decided():
            connection = self.get_connection(connection_id, store_resource=self.spec.resource)
        serializer = validated(self.spec.create.serializer, request.data)
        return self.write(
            request,
            connection=connection,
            resource=self.spec.resource.value,
            operation="create",
            payload=dict(serializer.data),
            success_status=status.HTTP_201_CREATED,
        )


class RecordDetailView(OverlappedThrottleView, ConnectionAPIView):
    spec: ResourceSpec
    # A one-record read: the API throttle's round trip overlaps the connection's read (nothing else runs first).
    overlapped_throttle_methods = frozenset({"GET"})

    def get(self, request: Request, connection_id: str, record_id: str) -> Response:
        # The connection (404 if not the caller's) and whether its copy serves this read, in one statement.
        with self.throttle_decided():
            connection, copy = selectors.connection_get_with_copy(
                workspace=self.workspace, connection_id=connection_id, resource=self.spec.resource
            )
        include = include_remote_data(request)
        if read_mode(request) == LIVE:
            copy = None
        if copy is not None:
            stored, deleted = store_selectors.stored_record(
                connection_id=copy.connection_id,
                resource=self.spec.resource,
                record_id=record_id,
                include_remote_data=include,
            )
            if stored is not None:
                return _sourced(Response(stored), copy.freshness)
            if deleted:
                raise VendorNotFound(f"No {self.spec.resource.value} record '{record_id}' (deleted at the vendor).")
        # Not in the copy (yet): the vendor's answer, kept in the copy for the next read.
        record = selectors.record_retrieve(
            connection=connection, resource=self.spec.resource, record_id=record_id, include_remote_data=True
        )
        if copy is not None:
            store_written_record(connection=connection, resource=self.spec.resource, record=record)
        return _sourced(Response(record_data(self.spec.resource, record, include_remote_data=include)), None)


class RecordUpdateView(RecordDetailView):
    @idempotent_write
    def patch(self, request: Request, connection_id: str, record_id: str) -> Response:
        assert self.spec.update is not None and self.spec.update.serializer is not None  # routed only then
        connection = self.get_connection(connection_id, store_resource=self.spec.resource)
        serializer = validated(self.spec.update.serializer, request.data, partial=True)
        return self.write(
            request,
            connection=connection,
            resource=self.spec.resource.value,
            operation="update",
            payload=dict(serializer.data),
            target_id=record_id,
        )


class RecordActionView(ConnectionAPIView):
    """A write on one record that takes no body (delete, finalize)."""

    spec: ResourceSpec

    def act(self, request: Request, connection_id: str, record_id: str, operation: str, *, copied: bool) -> Response:
        """`copied`: the resource's local copy is read with the connection (the write changes what it holds)."""
        connection = self.get_connection(connection_id, store_resource=self.spec.resource if copied else None)
        return self.write(
            request,
            connection=connection,
            resource=self.spec.resource.value,
            operation=operation,
            payload={},
            target_id=record_id,
        )


class RecordDeleteView(RecordActionView):
    """DELETE on a detail route (a spec with `delete`): a recorded write with no body, answered 200 with the id."""

    @idempotent_write
    def delete(self, request: Request, connection_id: str, record_id: str) -> Response:
        return self.act(request, connection_id, record_id, "delete", copied=True)


class RecordFinalizeView(RecordActionView):
    @idempotent_write
    def post(self, request: Request, connection_id: str, record_id: str) -> Response:
        return self.act(request, connection_id, record_id, "finalize", copied=False)


class SalesOrderInvoiceView(ConnectionAPIView):
    """POST .../sales-orders/{record_id}/invoice: a write of `invoices` whose target is the order."""

    @idempotent_write
    def post(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(SalesOrderInvoiceSerializer, request.data)
        return self.write(
            request,
            connection=connection,
            resource=Resource.INVOICES.value,
            operation=services.FROM_ORDER,
            payload=dict(serializer.data),
            target_id=record_id,
            success_status=status.HTTP_201_CREATED,
        )


class AttachmentListView(ConnectionAPIView):
    """The files on one record: GET lists them, POST (multipart, part `file`) attaches one."""

    spec: ResourceSpec
    parser_classes = [MultiPartParser]

    def get(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        attachments = selectors.attachment_list(connection=connection, resource=self.spec.resource, record_id=record_id)
        return Response({"results": AttachmentSerializer(attachments, many=True).data, "next": None})

    @idempotent
    def post(self, request: Request, connection_id: str, record_id: str) -> Response:
        connection = self.get_connection(connection_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("file", "Send the file as the multipart/form-data part `file`.")
        self.mutation = services.attachment_create(
            workspace=self.workspace,
            connection=connection,
            resource=self.spec.resource,
            record_id=record_id,
            file_name=upload.name or "",
            content=upload.read(),
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER, ""),
        )
        outcome = services.mutation_execute(mutation=self.mutation)
        # The attachment as the list shows it, with the write's `mutation_id` as every write answers.
        return Response(AttachedSerializer(outcome.body).data, status=status.HTTP_201_CREATED)


class AttachmentContentView(ConnectionAPIView):
    """One attached file's bytes."""

    spec: ResourceSpec

    def get(self, request: Request, connection_id: str, record_id: str, attachment_id: str) -> HttpResponse:
        connection = self.get_connection(connection_id)
        attached = selectors.attachment_content(
            connection=connection, resource=self.spec.resource, record_id=record_id, attachment_id=attachment_id
        )
        response = HttpResponse(attached.content, content_type=attached.content_type)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=attached.file_name)
        return response


class CompanyView(ConnectionAPIView):
    @openapi.COMPANY_RETRIEVE
    def get(self, request: Request, connection_id: str) -> Response:
        copy = self.get_store_copy(request, connection_id, Resource.COMPANY)
        connection = self.get_connection(connection_id) if copy is None else None
        include = include_remote_data(request)
        read_mode(request)  # validated; a copy was looked for unless it is `live`
        if copy is not None:
            # The copy the sync engine refreshes on its schedule (a set of one record): no vendor call.
            stored = store_selectors.stored_page(
                connection_id=copy.connection_id, resource=Resource.COMPANY, page_size=1, include_remote_data=include
            )
            if stored.results:
                return _sourced(Response(stored.results[0]), copy.freshness)
            connection = self.get_connection(connection_id)
        assert connection is not None
        record = selectors.company_get(connection=connection, include_remote_data=True)
        if copy is not None:
            store_written_record(connection=connection, resource=Resource.COMPANY, record=record)
        body = CompanyInfoSerializer(record, context={"include_remote_data": include}).data
        return _sourced(Response(body), None)


class MappingView(ConnectionAPIView):
    @openapi.MAPPING_RETRIEVE
    def get(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        mapping, stored = selectors.mapping_get(connection=connection)
        return Response(mapping_data(mapping, updated_at=stored.updated_at if stored else None))

    @openapi.MAPPING_UPDATE
    @idempotent
    def put(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        serializer = validated(LedgerMappingSerializer, request.data)
        services.mapping_save(connection=connection, mapping=serializer.to_mapping())
        mapping, stored = selectors.mapping_get(connection=connection)
        return Response(mapping_data(mapping, updated_at=stored.updated_at if stored else None))


class PassthroughView(ConnectionAPIView):
    @openapi.PASSTHROUGH_CREATE
    @idempotent_write
    def post(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        data = validated(PassthroughRequestSerializer, request.data).validated_data
        if data["method"] == "GET":
            result = selectors.passthrough_get(connection=connection, path=data["path"], query=dict(data["query"]))
            return Response({"status": result.status, "body": result.body})
        return self.write(
            request,
            connection=connection,
            resource=services.PASSTHROUGH,
            operation=data["method"].lower(),
            payload={
                "method": data["method"],
                "path": data["path"],
                "query": dict(data["query"]),
                "body": data["body"],
            },
        )


# --- reconciliation -----------------------------------------------------------------------------------------------


class ReconciliationListView(ConnectionAPIView):
    pagination_class = CursorPagination
    serializer_class = ReconciliationSerializer

    @openapi.RECONCILIATIONS_LIST
    def get(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        return self.paginated(selectors.reconciliation_list(connection=connection))

    @openapi.RECONCILIATIONS_CREATE
    def post(self, request: Request, connection_id: str) -> Response:
        connection = self.get_connection(connection_id)
        data = validated(ReconciliationCreateSerializer, request.data).validated_data
        report = reconciliation.reconciliation_run(connection=connection, **data)
        return Response(ReconciliationSerializer(report).data, status=status.HTTP_201_CREATED)


class ReconciliationDetailView(ConnectionAPIView):
    @openapi.RECONCILIATIONS_RETRIEVE
    def get(self, request: Request, connection_id: str, reconciliation_id: str) -> Response:
        connection = self.get_connection(connection_id)
        report = selectors.reconciliation_get(connection=connection, reconciliation_id=reconciliation_id)
        return Response(ReconciliationSerializer(report).data)


class ReconciliationCsvView(ConnectionAPIView):
    @openapi.RECONCILIATIONS_CSV
    def get(self, request: Request, connection_id: str, reconciliation_id: str) -> HttpResponse:
        connection = self.get_connection(connection_id)
        report = selectors.reconciliation_get(connection=connection, reconciliation_id=reconciliation_id)
        response = HttpResponse(reconciliation.reconciliation_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="reconciliation-{report.pk}.csv"'
        return response


# --- recorded writes (mutations) ----------------------------------------------------------------------------------


class MutationListView(WorkspaceAPIView):
    serializer_class = MutationSerializer

    @openapi.MUTATIONS_LIST
    def get(self, request: Request) -> Response:
        filters = validated(MutationListFilterSerializer, request.query_params).validated_data
        return self.paginated(
            selectors.mutation_list(
                workspace=self.workspace, status=filters.get("status"), connection_id=filters.get("connection_id")
            )
        )


class MutationDetailView(WorkspaceAPIView):
    pagination_class = None

    @openapi.MUTATIONS_RETRIEVE
    def get(self, request: Request, mutation_id: str) -> Response:
        mutation = selectors.mutation_get(workspace=self.workspace, mutation_id=mutation_id)
        return Response(MutationSerializer(mutation).data)


class MutationRetryView(WorkspaceAPIView):
    pagination_class = None
    # The write being retried: a failure's problem names it (errors.problem_for_view).
    mutation: Mutation | None = None

    @openapi.MUTATIONS_RETRY
    def post(self, request: Request, mutation_id: str) -> Response:
        self.mutation = selectors.mutation_get(workspace=self.workspace, mutation_id=mutation_id)
        services.mutation_retry(mutation=self.mutation, lease_seconds=services.web_lease_seconds())
        retried = selectors.mutation_get(workspace=self.workspace, mutation_id=mutation_id)
        return Response(MutationSerializer(retried).data)
