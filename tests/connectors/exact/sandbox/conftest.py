"""Fixtures: one SandboxServer per test session on a free port, reset before each test, plus OAuth helpers."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from werkzeug.wrappers import Request, Response

from connectors.exact.sandbox.context import RequestContext
from connectors.exact.sandbox.control_client import SandboxControl
from connectors.exact.sandbox.server import SandboxServer

REDIRECT_URI = "https://app.example.test/exact/callback"
# A list of accounts Exact serves: crm/Accounts has mandatory filtering, so the platform tests that use it as
# "some endpoint with a division" send a filter on a listed field (Blocked) that keeps every customer.
ACCOUNTS = "crm/Accounts?$filter=Blocked eq false"


def data_layer_available() -> bool:
    return all(
        importlib.util.find_spec(f"connectors.exact.sandbox.{name}") is not None
        for name in ("store", "resources", "seed")
    )


class StandInStore:
    """Used only while the data layer's store.py does not exist yet."""

    def __init__(self, code: int, name: str) -> None:
        self.code = code
        self.name = name

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StandInStore:
        return cls(data["code"], data["name"])

    def dump(self, base_url: str) -> dict[str, list[dict[str, Any]]]:
        return {"Accounts": []}


def stand_in_dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    """Echoes who asked; enough for platform tests (auth, limits, faults) without the data layer."""
    body = {
        "d": {
            "results": [
                {
                    "path": path,
                    "division": ctx.division.code if ctx.division else None,
                    "user": str(ctx.user.user_id),
                    "CurrentDivision": ctx.user.current_division,
                }
            ]
        }
    }
    return Response(json.dumps(body), content_type="application/json")


def _server_kwargs() -> dict[str, Any]:
    if data_layer_available():
        return {}
    return {
        "dispatch": stand_in_dispatch,
        "store_factory": lambda **kw: StandInStore(kw["code"], kw["name"]),
        "store_loader": StandInStore.from_json,
    }


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer(port=0, webhook_validation_delay=0, **_server_kwargs()) as server:
        yield server


@pytest.fixture
def server(sandbox_server: SandboxServer) -> SandboxServer:
    """The session server, wiped clean so each test starts from an empty world."""
    sandbox_server.control.reset()
    sandbox_server.sandbox.webhooks.validation_delay = 0
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
    """An app, a user with one or more divisions, and (after `connect`) a token pair."""

    server: SandboxServer
    app: dict[str, Any]
    user: dict[str, Any]
    divisions: list[int]
    region: str = "nl"
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url(self.region)

    @property
    def division(self) -> int:
        return self.divisions[0]

    def api_url(self, path: str, division: int | None = None) -> str:
        code = self.division if division is None else division
        return f"{self.base_url}/api/v1/{code}/{path}"

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.tokens['access_token']}", "Accept": "application/json"}


def authorize(http: httpx.Client, tenant: Tenant, state: str = "st-1") -> str:
    """GET /api/oauth2/auth in auto-consent mode and pull the code out of the redirect."""
    response = http.get(
        f"{tenant.base_url}/api/oauth2/auth",
        params={
            "client_id": tenant.app["client_id"],
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "state": state,
            "force_login": "0",
        },
    )
    assert response.status_code == 302, response.text
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


def token_request(http: httpx.Client, tenant: Tenant, **form: str) -> httpx.Response:
    data = {"client_id": tenant.app["client_id"], "client_secret": tenant.app["client_secret"], **form}
    return http.post(f"{tenant.base_url}/api/oauth2/token", data=data)


def exchange_code(http: httpx.Client, tenant: Tenant, code: str) -> httpx.Response:
    return token_request(http, tenant, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI)


def refresh(http: httpx.Client, tenant: Tenant, refresh_token: str | None = None) -> httpx.Response:
    return token_request(
        http, tenant, grant_type="refresh_token", refresh_token=refresh_token or tenant.tokens["refresh_token"]
    )


def make_tenant(
    control: SandboxControl,
    server: SandboxServer,
    *,
    region: str = "nl",
    divisions: tuple[int, ...] = (100001,),
    granted: tuple[int, ...] | None = None,
    username: str = "jan",
    webhook_secret: str = "whsec-test",
) -> Tenant:
    """Registers app + user + divisions and turns on auto-consent for them."""
    app = control.register_app(redirect_uris=[REDIRECT_URI], name="Ledgerbridge test", webhook_secret=webhook_secret)
    user = control.register_user(username=username, region=region, full_name=username.title())
    for code in divisions:
        control.register_division(code=code, name=f"BV {code}", region=region, users=[user["user_id"]])
    control.set_auto_consent(
        app["client_id"], user_id=user["user_id"], divisions=list(granted) if granted is not None else None
    )
    return Tenant(server=server, app=app, user=user, divisions=list(divisions), region=region)


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
