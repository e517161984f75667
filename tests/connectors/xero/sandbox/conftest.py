"""Fixtures: one Xero SandboxServer per test session on a free port, reset before each test, plus OAuth helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl
from connectors.xero.sandbox.server import SandboxServer

REDIRECT_URI = "https://app.example.test/xero/callback"
SCOPES = "openid profile email offline_access accounting.transactions accounting.contacts accounting.settings"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0, webhook_batch_delay=0) as server:
        yield server


@pytest.fixture
def server(sandbox_server: SandboxServer) -> SandboxServer:
    """The session server, wiped clean so each test starts from an empty world."""
    sandbox_server.control.reset()
    sandbox_server.sandbox.webhooks.batch_delay = 0
    return sandbox_server


@pytest.fixture
def control(server: SandboxServer) -> SandboxControl:
    return server.control


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@dataclass
class Tenant:
    """An app, a user with one or more organisations, and (after `connect`) a token pair."""

    server: SandboxServer
    app: dict[str, Any]
    user: dict[str, Any]
    organisations: list[dict[str, Any]]
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def tenant_id(self) -> str:
        return str(self.organisations[0]["tenant_id"])

    def api(self, path: str) -> str:
        return f"{self.server.accounting_url}/{path.lstrip('/')}"

    def headers(self, token: str | None = None, tenant_id: str | None = None, **extra: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {token or self.tokens['access_token']}",
            "Xero-Tenant-Id": tenant_id or self.tenant_id,
            "Accept": "application/json",
        }
        headers.update(extra)
        return headers


def authorize(http: httpx.Client, tenant: Tenant, scope: str = SCOPES, state: str = "st-1", **extra: str) -> str:
    """GET the authorize URL in auto-consent mode and pull the code out of the redirect."""
    response = http.get(
        tenant.server.authorize_url,
        params={
            "response_type": "code",
            "client_id": tenant.app["client_id"],
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "state": state,
            **extra,
        },
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def token_request(http: httpx.Client, tenant: Tenant, *, basic: bool = True, **form: str) -> httpx.Response:
    """Client authentication by HTTP Basic (Xero's documented way) or in the form (client_secret_post)."""
    if basic:
        credentials = (tenant.app["client_id"], tenant.app["client_secret"])
        return http.post(tenant.server.token_url, data=form, auth=credentials)
    data = {"client_id": tenant.app["client_id"], "client_secret": tenant.app["client_secret"], **form}
    return http.post(tenant.server.token_url, data=data)


def exchange_code(http: httpx.Client, tenant: Tenant, code: str, **kwargs: Any) -> httpx.Response:
    return token_request(http, tenant, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI, **kwargs)


def refresh(http: httpx.Client, tenant: Tenant, refresh_token: str | None = None, **kwargs: Any) -> httpx.Response:
    return token_request(
        http,
        tenant,
        grant_type="refresh_token",
        refresh_token=refresh_token or tenant.tokens["refresh_token"],
        **kwargs,
    )


def make_tenant(
    control: SandboxControl,
    server: SandboxServer,
    *,
    organisations: tuple[str, ...] = ("Demo Company (UK)",),
    country_code: str = "GB",
    email: str = "jo@example.com",
    granted: int | None = None,
) -> Tenant:
    """Registers organisations, a user who may open them, an app, and auto-consent for them."""
    orgs = [control.register_organisation(name=name, country_code=country_code) for name in organisations]
    user = control.register_user(email=email, tenant_ids=[o["tenant_id"] for o in orgs])
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="Ledgerbridge test")
    tenants = None if granted is None else [o["tenant_id"] for o in orgs[:granted]]
    control.set_auto_consent(app["client_id"], user_id=user["user_id"], tenant_ids=tenants)
    return Tenant(server=server, app=app, user=user, organisations=orgs)


@pytest.fixture
def tenant(control: SandboxControl, server: SandboxServer) -> Tenant:
    return make_tenant(control, server)


@pytest.fixture
def connected(tenant: Tenant, http: httpx.Client) -> Tenant:
    """A tenant that went through the code flow and holds a fresh token pair."""
    response = exchange_code(http, tenant, authorize(http, tenant))
    assert response.status_code == 200, response.text
    tenant.tokens = response.json()
    return tenant
