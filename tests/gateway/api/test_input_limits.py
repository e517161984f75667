"""Client input that used to end in a 500: forged cursors, oversized or deeply nested bodies, OPTIONS, a claim race
on one Idempotency-Key, numbers for strings, non-ASCII digits, empty filters. Each is a 4xx problem now."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from django.db import IntegrityError
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from gateway.api.parsers import MAX_JSON_DEPTH, json_depth_exceeds
from gateway.models import IdempotencyKey
from tests.gateway.api import urls_for_tests
from tests.tenants.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.mark.parametrize("path", ["/api/v1/tenants", "/api/v1/connections", "/api/v1/api-keys"])
@pytest.mark.parametrize("position", ["not-a-date", "2025-13-45T99:00:00", "1' OR 1=1"])
def test_a_forged_cursor_is_invalid_cursor(auth_client: APIClient, path: str, position: str) -> None:
    TenantFactory.create_batch(2)
    forged = base64.b64encode(f"p={position}".encode()).decode()
    _problem(auth_client.get(path, {"cursor": forged}), 400, "invalid_cursor")


def test_a_real_cursor_still_pages(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    TenantFactory.create_batch(3, workspace=workspace)
    first = auth_client.get("/api/v1/tenants", {"page_size": 2}).json()
    second = auth_client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1


@pytest.mark.parametrize("idempotency_key", [None, "big-1"])
def test_a_body_over_the_upload_limit_is_413(auth_client: APIClient, settings, idempotency_key: str | None) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    headers = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    body = {"external_id": "x" * 2000, "name": "big"}
    _problem(auth_client.post("/api/v1/tenants", body, format="json", **headers), 413, "payload_too_large")
    assert not IdempotencyKey.objects.exists()


@pytest.mark.urls("tests.gateway.api.urls_for_tests")
def test_an_idempotent_write_over_the_limit_is_413_and_claims_nothing(auth_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = auth_client.post(
        "/api/v1/_test/idempotent", {"name": "x" * 2000}, format="json", HTTP_IDEMPOTENCY_KEY="big-2"
    )
    _problem(response, 413, "payload_too_large")
    assert not IdempotencyKey.objects.exists()


def test_json_nested_a_thousand_deep_is_a_400_not_a_recursion_error(auth_client: APIClient) -> None:
    deep = "[" * 1000 + "]" * 1000
    response = auth_client.post("/api/v1/tenants", deep, content_type="application/json")
    body = _problem(response, 400, "malformed_request")
    assert str(MAX_JSON_DEPTH) in body["detail"]
    object_deep = '{"a":' * 1000 + "1" + "}" * 1000
    response = auth_client.post("/api/v1/tenants", object_deep, content_type="application/json")
    _problem(response, 400, "malformed_request")


def test_the_depth_scan_ignores_brackets_in_strings() -> None:
    assert not json_depth_exceeds(json.dumps({"name": "[[[[" * 50, "nested": [[{"a": 1}]]}), MAX_JSON_DEPTH)
    assert json_depth_exceeds("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)
    assert not json_depth_exceeds('{"a": "\\"[[[[[[[[["}', 3)


def _api_routes() -> list[str]:
    """Every concrete route under /api/v1/ with placeholder ids (UUIDs where a UUID is expected)."""
    routes: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, text)
            elif isinstance(pattern, URLPattern) and text.startswith("api/v1/"):
                routes.append(text)

    walk(get_resolver().url_patterns, "")
    return ["/" + re.sub(r"<[^>]+>", "00000000-0000-4000-8000-000000000000", route) for route in routes]


def test_options_answers_every_api_route_without_a_server_error(auth_client: APIClient) -> None:
    seen = 0
    for path in _api_routes():
        response = auth_client.options(path)
        assert response.status_code < 500, (path, response.content)
        if response.status_code == 200 and response["Content-Type"] == "application/json":
            assert response.json()["allowed_methods"], path
            seen += 1
    assert seen >= 5


@pytest.mark.urls("tests.gateway.api.urls_for_tests")
def test_a_claim_whose_blocking_request_vanished_is_claimed_again(auth_client: APIClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Request A held the key and failed (freeing it) between B's insert (IntegrityError) and B's read.
    real_create = IdempotencyKey.objects.create
    calls: list[int] = []

    def create(**kwargs: Any) -> IdempotencyKey:
        calls.append(1)
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_create(**kwargs)

    monkeypatch.setattr(IdempotencyKey.objects, "create", create)
    urls_for_tests.EXECUTIONS.clear()
    response = auth_client.post("/api/v1/_test/idempotent", {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert response.status_code == 201, response.content
    assert len(calls) == 2 and len(urls_for_tests.EXECUTIONS) == 1


@pytest.mark.urls("tests.gateway.api.urls_for_tests")
def test_a_conflict_answer_is_not_replayed_for_the_same_key(auth_client: APIClient) -> None:
    """409 and 429 say "not now": the same key must run the request again later, not replay the refusal."""
    urls_for_tests.EXECUTIONS.clear()
    first = auth_client.post(
        "/api/v1/_test/idempotent", {"name": "a", "status": 409}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert first.status_code == 409
    second = auth_client.post(
        "/api/v1/_test/idempotent", {"name": "a", "status": 409}, format="json", HTTP_IDEMPOTENCY_KEY="c-1"
    )
    assert second.status_code == 409 and second.get("Idempotent-Replayed") != "true"
    assert len(urls_for_tests.EXECUTIONS) == 2


# --------------------------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("path", "method", "body", "field"),
    [
        ("/api/v1/tenants", "post", {"external_id": "c-1", "name": 0}, "name"),
        ("/api/v1/tenants", "post", {"external_id": 17, "name": "Bakkerij"}, "external_id"),
        ("/api/v1/api-keys", "post", {"name": 0}, "name"),
        ("/api/v1/workspace", "patch", {"allowed_redirect_hosts": [0]}, "allowed_redirect_hosts.0"),
        ("/api/v1/workspace", "patch", {"name": 1.5}, "name"),
        ("/api/v1/workspace", "patch", {"logo_url": ""}, "logo_url"),
        ("/api/v1/workspace", "patch", {"allowed_redirect_hosts": [" app.example.com"]}, "allowed_redirect_hosts"),
    ],
)
def test_values_of_the_wrong_type_are_refused(
    auth_client: APIClient, path: str, method: str, body: dict[str, Any], field: str
) -> None:
    response = getattr(auth_client, method)(path, body, format="json")
    problem = _problem(response, 422, "validation_error")
    assert field in {error["field"] for error in problem["errors"]}, problem


def test_a_logo_is_removed_with_null_and_reads_back_as_null(auth_client: APIClient) -> None:
    set_logo = auth_client.patch("/api/v1/workspace", {"logo_url": "https://app.example.com/l.png"}, format="json")
    assert set_logo.json()["logo_url"] == "https://app.example.com/l.png"
    removed = auth_client.patch("/api/v1/workspace", {"logo_url": None}, format="json")
    assert removed.status_code == 200 and removed.json()["logo_url"] is None
    assert auth_client.get("/api/v1/workspace").json()["logo_url"] is None


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/v1/tenants", {"external_id": ""}, "external_id"),
        ("/api/v1/connections", {"status": ""}, "status"),
        ("/api/v1/connections", {"tenant": ""}, "tenant"),
        ("/api/v1/connections", {"tenant": "{00000000-0000-4000-8000-000000000000}"}, "tenant"),
        ("/api/v1/connections", {"tenant": "00000000000040008000000000000000"}, "tenant"),
    ],
)
def test_empty_or_lenient_filters_are_refused(
    auth_client: APIClient, path: str, query: dict[str, str], field: str
) -> None:
    problem = _problem(auth_client.get(path, query), 400, "validation_error")
    assert field in {error["field"] for error in problem["errors"]}


@pytest.mark.parametrize("path", ["/api/v1/tenants", "/api/v1/api-keys"])
def test_a_query_parameter_given_twice_is_refused(auth_client: APIClient, path: str) -> None:
    body = _problem(auth_client.get(f"{path}?page_size=5&page_size=50"), 400, "validation_error")
    assert body["errors"] == [{"field": "page_size", "code": "repeated", "message": "Give this parameter once."}]


def test_an_empty_page_size_is_refused_not_defaulted(auth_client: APIClient) -> None:
    body = _problem(auth_client.get("/api/v1/tenants?page_size="), 400, "validation_error")
    assert body["errors"][0]["field"] == "page_size"


def test_request_strings_document_that_nul_is_refused(auth_client: APIClient) -> None:
    schema = auth_client.get("/api/v1/schema/?format=json").json()
    name = schema["components"]["schemas"]["PatchedWorkspaceUpdateRequest"]["properties"]["name"]
    assert re.fullmatch(name["pattern"], "Bakkerij")
    assert not re.fullmatch(name["pattern"], "Bak\x00kerij")
    response = auth_client.patch("/api/v1/workspace", {"name": "Bak\x00kerij"}, format="json")
    body = _problem(response, 422, "validation_error")
    assert body["errors"][0]["field"] == "name"
