"""API views for the caller's workspace, API keys, tenants, connect links and connections; logic lives in
services and selectors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from connectors.base.records import InvalidInput
from tenants import selectors, services
from tenants.api import WorkspaceAPIView
from tenants.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CallLogSerializer,
    ConnectionListFilterSerializer,
    ConnectionSerializer,
    ConnectLinkCreateSerializer,
    ConnectLinkSerializer,
    CreatedApiKeySerializer,
    TenantCreateSerializer,
    TenantListFilterSerializer,
    TenantSerializer,
    TenantUpdateSerializer,
    WorkspaceSerializer,
    WorkspaceUpdateSerializer,
)

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


class WorkspaceView(WorkspaceAPIView):
    serializer_class = WorkspaceSerializer
    pagination_class = None

    @extend_schema(operation_id="workspace_retrieve", responses=WorkspaceSerializer, tags=["workspace"])
    def get(self, request: Request) -> Response:
        """The workspace the API key belongs to."""
        return Response(WorkspaceSerializer(self.workspace).data)

    @extend_schema(
        operation_id="workspace_partial_update",
        request=WorkspaceUpdateSerializer,
        responses=WorkspaceSerializer,
        tags=["workspace"],
        examples=[
            OpenApiExample(
                "Allow your app as redirect target",
                value={"allowed_redirect_hosts": ["app.example.com"], "logo_url": "https://app.example.com/logo.png"},
                request_only=True,
            )
        ],
    )
    def patch(self, request: Request) -> Response:
        """Change the name, the connect pages' logo, or the hosts connect links may redirect to."""
        serializer = WorkspaceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        workspace = services.workspace_update(workspace=self.workspace, **serializer.validated_data)
        return Response(WorkspaceSerializer(workspace).data)


class ApiKeyListView(WorkspaceAPIView):
    serializer_class = ApiKeySerializer

    @extend_schema(operation_id="api_keys_list", responses=ApiKeySerializer(many=True), tags=["workspace"])
    def get(self, request: Request) -> Response:
        """The workspace's API keys (prefixes only; secrets are never shown again)."""
        return self.paginated(selectors.api_key_list(workspace=self.workspace))

    @extend_schema(
        operation_id="api_keys_create",
        request=ApiKeyCreateSerializer,
        responses={201: CreatedApiKeySerializer},
        tags=["workspace"],
        examples=[OpenApiExample("New key", value={"name": "billing backend"}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        """Create another key for this workspace; the response carries the full key once."""
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = services.api_key_create(workspace=self.workspace, name=serializer.validated_data["name"])
        data = {**ApiKeySerializer(created.api_key).data, "key": created.secret}
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(WorkspaceAPIView):
    serializer_class = ApiKeySerializer
    pagination_class = None

    @extend_schema(operation_id="api_keys_retrieve", responses=ApiKeySerializer, tags=["workspace"])
    def get(self, request: Request, api_key_id: str) -> Response:
        api_key = selectors.api_key_get(workspace=self.workspace, api_key_id=api_key_id)
        return Response(ApiKeySerializer(api_key).data)

    @extend_schema(
        operation_id="api_keys_revoke",
        responses={
            200: ApiKeySerializer,
            (409, "application/problem+json"): OpenApiResponse(
                response=_PROBLEM_REF,
                description="`last_active_api_key`: the workspace's only active key cannot be revoked through the "
                "API (create another first; operators can revoke any key).",
            ),
        },
        tags=["workspace"],
    )
    def delete(self, request: Request, api_key_id: str) -> Response:
        """Revoke a key: it stops working at once and stays listed as revoked. The answer is the revoked key."""
        api_key = selectors.api_key_get(workspace=self.workspace, api_key_id=api_key_id)
        api_key = services.api_key_revoke_keeping_one(api_key=api_key)
        return Response(ApiKeySerializer(api_key).data)


# --- tenants ------------------------------------------------------------------------------------------------------

_TENANT_EXAMPLE = {
    "id": "0b5d4a53-5b8e-4d43-9a3a-0d3f3c1f7a10",
    "external_id": "cust_4711",
    "name": "Bakkerij De Gouden Korst",
    "created_at": "2025-03-01T09:30:00Z",
    "updated_at": "2025-03-01T09:30:00Z",
}
_CONFLICT = {
    (409, "application/problem+json"): OpenApiResponse(
        response=_PROBLEM_REF, description="`tenant_exists`: the external_id is taken."
    )
}


class TenantListView(WorkspaceAPIView):
    serializer_class = TenantSerializer

    @extend_schema(
        operation_id="tenants_list",
        parameters=[
            OpenApiParameter(
                "external_id",
                {"type": "string", "minLength": 1, "maxLength": 200},
                description="Only the tenant with this external_id.",
            )
        ],
        responses=TenantSerializer(many=True),
        tags=["tenants"],
    )
    def get(self, request: Request) -> Response:
        """The workspace's tenants, newest first."""
        filters = TenantListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(selectors.tenant_list(workspace=self.workspace, **filters.validated_data))

    @extend_schema(
        operation_id="tenants_create",
        request=TenantCreateSerializer,
        responses={201: TenantSerializer, **_CONFLICT},
        tags=["tenants"],
        examples=[
            OpenApiExample(
                "New tenant", value={"external_id": "cust_4711", "name": "Bakkerij De Gouden Korst"}, request_only=True
            ),
            OpenApiExample("Created", value=_TENANT_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    )
    def post(self, request: Request) -> Response:
        """Create a tenant: one customer of your product, identified by your own external_id."""
        serializer = TenantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_create(workspace=self.workspace, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailView(WorkspaceAPIView):
    serializer_class = TenantSerializer
    pagination_class = None

    @extend_schema(operation_id="tenants_retrieve", responses=TenantSerializer, tags=["tenants"])
    def get(self, request: Request, tenant_id: str) -> Response:
        tenant = selectors.tenant_get(workspace=self.workspace, tenant_id=tenant_id)
        return Response(TenantSerializer(tenant).data)

    @extend_schema(
        operation_id="tenants_update",
        request=TenantUpdateSerializer,
        responses={200: TenantSerializer, **_CONFLICT},
        tags=["tenants"],
        examples=[
            OpenApiExample(
                "Rename", value={"external_id": "cust_4711", "name": "De Gouden Korst B.V."}, request_only=True
            )
        ],
    )
    def put(self, request: Request, tenant_id: str) -> Response:
        """Replace name and external_id (external_id may change; it must stay unique in the workspace)."""
        return self._update(request, tenant_id, partial=False)

    @extend_schema(
        operation_id="tenants_partial_update",
        request=TenantUpdateSerializer(partial=True),
        responses={200: TenantSerializer, **_CONFLICT},
        tags=["tenants"],
        examples=[OpenApiExample("Rename", value={"name": "De Gouden Korst B.V."}, request_only=True)],
    )
    def patch(self, request: Request, tenant_id: str) -> Response:
        """Change name and/or external_id."""
        return self._update(request, tenant_id, partial=True)

    def _update(self, request: Request, tenant_id: str, *, partial: bool) -> Response:
        tenant = selectors.tenant_get(workspace=self.workspace, tenant_id=tenant_id)
        serializer = TenantUpdateSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        tenant = services.tenant_update(tenant=tenant, **serializer.validated_data)
        return Response(TenantSerializer(tenant).data)

    @extend_schema(operation_id="tenants_destroy", responses={204: None}, tags=["tenants"])
    def delete(self, request: Request, tenant_id: str) -> Response:
        """Delete the tenant with all its connections; credentials no remaining connection uses are forgotten."""
        tenant = selectors.tenant_get(workspace=self.workspace, tenant_id=tenant_id)
        services.tenant_delete(tenant=tenant)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- connect links ------------------------------------------------------------------------------------------------


class ConnectLinkCreateView(WorkspaceAPIView):
    serializer_class = ConnectLinkSerializer
    pagination_class = None

    @extend_schema(
        operation_id="connect_links_create",
        request=ConnectLinkCreateSerializer,
        responses={201: ConnectLinkSerializer},
        tags=["tenants"],
        examples=[
            OpenApiExample(
                "Exact, user chooses the region",
                value={"connector": "exact", "redirect_url": "https://app.example.com/integrations/exact/done"},
                request_only=True,
            ),
            OpenApiExample(
                "Exact Belgium, 15 minutes",
                value={
                    "connector": "exact",
                    "region": "be",
                    "redirect_url": "https://app.example.com/integrations/exact/done?ref=42",
                    "expires_in": 900,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Created",
                value={
                    "id": "6f1b2c3d-1111-4a2b-9c3d-4e5f6a7b8c9d",
                    "url": "https://gateway.example.com/connect/N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk",
                    "expires_at": "2025-03-01T10:30:00Z",
                    "connector": "exact",
                    "region": None,
                    "redirect_url": "https://app.example.com/integrations/exact/done",
                    "tenant_id": "0b5d4a53-5b8e-4d43-9a3a-0d3f3c1f7a10",
                    "connection_id": None,
                    "status": "pending",
                    "created_at": "2025-03-01T09:30:00Z",
                },
                response_only=True,
                status_codes=["201"],
            ),
        ],
    )
    def post(self, request: Request, tenant_id: str) -> Response:
        """A single-use link to the hosted connect flow. Send the tenant's user to `url`; the flow ends on
        `redirect_url?status=success&connection_ids=…&link_id=…` or `?status=error&error=<code>&link_id=…`.
        A `redirect_url` whose host is not allowed is refused with `redirect_url_not_allowed`."""
        tenant = selectors.tenant_get(workspace=self.workspace, tenant_id=tenant_id)
        serializer = ConnectLinkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        repair = None
        if data.get("connection_id"):
            repair = (
                selectors.connection_list(workspace=self.workspace, tenant_id=tenant.pk)
                .filter(pk=data["connection_id"])
                .first()
            )
            if repair is None:
                raise InvalidInput(
                    "connection_id", "No such connection for this tenant.", code="not_found", problem="validation_error"
                )
        created = services.connect_link_create(
            tenant=tenant,
            connector_id=data["connector"],
            redirect_url=data["redirect_url"],
            region=data.get("region") or "",
            expires_in=serializer.validated_expires_in(),
            repair_connection=repair,
        )
        created.link.url = created.url  # type: ignore[attr-defined]  # shown once, never stored
        return Response(ConnectLinkSerializer(created.link).data, status=status.HTTP_201_CREATED)


# --- connections --------------------------------------------------------------------------------------------------

_CONNECTION_EXAMPLE = {
    "id": "9a8b7c6d-2222-4e3f-8a9b-0c1d2e3f4a5b",
    "tenant_id": "0b5d4a53-5b8e-4d43-9a3a-0d3f3c1f7a10",
    "connector": "exact",
    "region": "nl",
    "company_id": "101",
    "company_name": "Bakkerij De Gouden Korst B.V.",
    "status": "active",
    "status_reason": "",
    "connected_at": "2025-03-01T09:35:00Z",
    "last_success_at": "2025-03-01T09:40:12Z",
    "access_token_expires_at": "2025-03-01T09:45:00Z",
    "created_at": "2025-03-01T09:35:00Z",
    "updated_at": "2025-03-01T09:35:00Z",
}


class ConnectionListView(WorkspaceAPIView):
    serializer_class = ConnectionSerializer

    @extend_schema(
        operation_id="connections_list",
        parameters=[ConnectionListFilterSerializer],
        responses=ConnectionSerializer(many=True),
        tags=["connections"],
    )
    def get(self, request: Request) -> Response:
        """Connections of the workspace, newest first; filter by `tenant` and `status`."""
        filters = ConnectionListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return self.paginated(
            selectors.connection_list(
                workspace=self.workspace,
                tenant_id=filters.validated_data.get("tenant"),
                status=filters.validated_data.get("status"),
            )
        )


class ConnectionDetailView(WorkspaceAPIView):
    serializer_class = ConnectionSerializer
    pagination_class = None

    @extend_schema(
        operation_id="connections_retrieve",
        responses=ConnectionSerializer,
        tags=["connections"],
        examples=[OpenApiExample("Connection", value=_CONNECTION_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, connection_id: str) -> Response:
        connection = selectors.connection_get(workspace=self.workspace, connection_id=connection_id)
        return Response(ConnectionSerializer(connection).data)

    @extend_schema(operation_id="connections_destroy", responses={204: None}, tags=["connections"])
    def delete(self, request: Request, connection_id: str) -> Response:
        """Disconnect: the connection is deleted, and its stored credential too when no other connection of the
        same vendor user shares it."""
        connection = selectors.connection_get(workspace=self.workspace, connection_id=connection_id)
        services.connection_disconnect(connection=connection)
        return Response(status=status.HTTP_204_NO_CONTENT)


_CALL_EXAMPLE = {
    "id": 48213,
    "connection_id": "9a8b7c6d-2222-4e3f-8a9b-0c1d2e3f4a5b",
    "method": "POST",
    "path": "/api/v1/101/salesinvoice/SalesInvoices",
    "status": 201,
    "duration_ms": 412,
    "rate_limit_remaining": 4987,
    "minutely_remaining": 58,
    "request_id": "req-7f3a9c",
    "error": "",
    "created_at": "2025-03-01T09:40:12Z",
}


class ConnectionCallListView(WorkspaceAPIView):
    serializer_class = CallLogSerializer

    @extend_schema(
        operation_id="connections_calls_list",
        summary="The connection's vendor call log, newest first",
        description=(
            "Every HTTP call the gateway made to the vendor for this connection (API and token calls): method, "
            "path, status (null when no answer came), duration, the vendor's remaining rate limits and the "
            "`request_id` of the API request that caused it. No bodies, headers or tokens are kept. A connection "
            "of another workspace is 404."
        ),
        responses={
            200: CallLogSerializer(many=True),
            (404, "application/problem+json"): OpenApiResponse(
                response=_PROBLEM_REF, description="`not_found`: no such connection in your workspace."
            ),
        },
        examples=[
            OpenApiExample("A vendor call", value=_CALL_EXAMPLE, response_only=True),
        ],
        tags=["connections"],
    )
    def get(self, request: Request, connection_id: str) -> Response:
        """The connection's vendor calls, newest first (cursor pages)."""
        return self.paginated(selectors.call_log_list(workspace=self.workspace, connection_id=connection_id))
