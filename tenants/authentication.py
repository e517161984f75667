"""DRF authentication by `Authorization: Bearer <api key>`; the request's user is the key's workspace."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from gateway.request_context import api_key_prefix_var, log_context_bind
from tenants.models import ApiKey, Workspace
from tenants.services import ApiKeyRejected, api_key_authenticate


@dataclass(frozen=True)
class WorkspacePrincipal:
    """`request.user` for API calls: the workspace the key belongs to."""

    workspace: Workspace
    api_key: ApiKey
    is_authenticated: bool = True
    is_anonymous: bool = False

    @property
    def pk(self) -> str:
        return str(self.api_key.pk)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[WorkspacePrincipal, ApiKey] | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None  # DRF then answers 401 missing_api_key
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.", code="malformed_api_key")
        try:
            api_key = api_key_authenticate(raw_key=credentials.strip())
        except ApiKeyRejected as rejected:
            raise exceptions.AuthenticationFailed(rejected.message, code=rejected.code) from None
        api_key_prefix_var.set(api_key.prefix)  # for the audit trail (gateway.middleware resets it per request)
        log_context_bind(workspace_id=api_key.workspace_id)
        return WorkspacePrincipal(workspace=api_key.workspace, api_key=api_key), api_key

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) when credentials are missing.
        return 'Bearer realm="ledgerbridge"'
