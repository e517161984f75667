"""Every response under /api/ that is not a success is problem details: the whole URL space, every method, with and
without an API key (issue 10, item 4)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.fixtures.exact import ExactWorld
from tests.tenants.factories import ApiKeyFactory, TenantFactory, connect_via_sandbox
from tests.unified_models.conftest import Connected, mapping_store

pytestmark = pytest.mark.django_db(transaction=True)

METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def mapped(exact_world: ExactWorld, workspace, auth_client: APIClient) -> Connected:  # type: ignore[no-untyped-def]
    """A real connection to sandbox division 101 with the default mapping."""
    exact_world.control.set_limits(minutely_limit=100_000, daily_limit=1_000_000)
    _, (connection,) = connect_via_sandbox(exact_world, workspace=workspace, divisions=[101], connect=(101,))
    mapping_store(connection)
    return Connected(client=auth_client, connection=connection, world=exact_world)


def _routes() -> list[str]:
    """Every route of the URLconf under api/ (Django path syntax), plus paths that name nothing."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern) and text.startswith("api/"):
                found.append(text)

    walk(get_resolver().url_patterns, "")
    return [*found, "api/v1/nothing-here", "api/v1/tenants/x/y/z", "api/v2/tenants", "api/"]


def _path(route: str, ids: dict[str, str]) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda match: ids.get(match.group(1), "x"), route)


def test_every_route_and_method_answers_problems_unless_it_succeeds(mapped: Connected, workspace) -> None:  # type: ignore[no-untyped-def]
    spare_key = ApiKeyFactory(workspace=workspace)
    tenant = TenantFactory(workspace=workspace)
    real = {"connection_id": str(mapped.connection.pk), "tenant_id": str(tenant.pk), "api_key_id": str(spare_key.pk)}
    missing = dict.fromkeys(real, MISSING)
    anonymous = APIClient()
    checked = 0
    failures: list[str] = []
    for route in _routes():
        for method in METHODS:
            # Deleting the real connection or tenant would empty the rest of the walk: deletes get missing ids.
            for ids in (missing,) if method == "delete" else (real, missing):
                path = _path(route, ids)
                for client in (mapped.client, anonymous):
                    send = getattr(client, method)
                    response = send(path, {}, format="json") if method in ("post", "put", "patch") else send(path)
                    checked += 1
                    if 200 <= response.status_code < 300:
                        continue
                    content_type = response.get("Content-Type", "")
                    if content_type != "application/problem+json":
                        failures.append(f"{method.upper()} {path} -> {response.status_code} {content_type}")
                    elif method != "head" and response.json().get("status") != response.status_code:
                        failures.append(f"{method.upper()} {path}: problem status differs")
    assert checked > 500
    assert not failures, "\n".join(failures)
