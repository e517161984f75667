"""API views for the caller's workspace and its API keys; logic lives in services and selectors."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from gateway.api.views import WorkspaceAPIView
from tenants import selectors, services
from tenants.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CreatedApiKeySerializer,
    WorkspaceSerializer,
)


class WorkspaceView(WorkspaceAPIView):
    serializer_class = WorkspaceSerializer
    pagination_class = None

    @extend_schema(operation_id="workspace_retrieve", responses=WorkspaceSerializer, tags=["workspace"])
    def get(self, request: Request) -> Response:
        """The workspace the API key belongs to."""
        return Response(WorkspaceSerializer(self.workspace).data)


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

    @extend_schema(operation_id="api_keys_revoke", responses={204: None}, tags=["workspace"])
    def delete(self, request: Request, api_key_id: str) -> Response:
        """Revoke a key: it stops working at once and stays listed as revoked."""
        api_key = selectors.api_key_get(workspace=self.workspace, api_key_id=api_key_id)
        services.api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)
