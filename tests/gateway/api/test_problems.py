"""Every error is an RFC 9457 problem with a stable code, and nothing internal leaks."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def _problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail", "request_id"} <= body.keys()
    assert body["request_id"] == response["X-Request-Id"]
    return body


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v2/workspace", "/api/", "/api/v1/api-keys/x/y"])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "head", "options", "trace"])
def test_unknown_routes_are_problems_for_every_method(
    api_client: APIClient, auth_client: APIClient, path: str, method: str
) -> None:
    # With a key: 404. Without one: 401, as on every real endpoint (and never Django's CSRF page for writes).
    with_key = getattr(auth_client, method)(path)
    without_key = getattr(api_client, method)(path)
    if method == "head":
        assert with_key.status_code == 404 and with_key["Content-Type"] == "application/problem+json"
        assert without_key.status_code == 401 and without_key["Content-Type"] == "application/problem+json"
        return
    _problem(with_key, 404, "not_found")
    _problem(without_key, 401, "missing_api_key")


def test_unknown_route_is_a_problem_even_in_debug(auth_client: APIClient, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = True
    _problem(auth_client.get("/api/v1/does-not-exist"), 404, "not_found")
    _problem(auth_client.post("/api/v1/does-not-exist", {}, format="json"), 404, "not_found")


def test_wrong_method_is_405_with_allow(auth_client: APIClient) -> None:
    response = auth_client.put("/api/v1/workspace", {}, format="json")
    _problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


def test_non_json_body_is_415(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/api-keys", "name=x", content_type="application/x-www-form-urlencoded")
    _problem(response, 415, "unsupported_media_type")


def test_malformed_json_is_400(auth_client: APIClient) -> None:
    response = auth_client.post("/api/v1/api-keys", "{not json", content_type="application/json")
    _problem(response, 400, "malformed_request")


@pytest.mark.urls("tests.gateway.api.urls_for_tests")
def test_validation_errors_name_nested_fields(auth_client: APIClient) -> None:
    response = auth_client.post(
        "/api/v1/_test/validate", {"name": "too long", "lines": [{"quantity": "1"}, {"quantity": "x"}]}, format="json"
    )
    body = _problem(response, 422, "validation_error")
    fields = {error["field"]: error["code"] for error in body["errors"]}
    assert fields == {"name": "max_length", "lines.1.quantity": "invalid"}
    assert "lines.1.quantity" in body["detail"]


@pytest.mark.urls("tests.gateway.api.urls_for_tests")
def test_unhandled_exception_is_500_without_internals(auth_client: APIClient, caplog) -> None:  # type: ignore[no-untyped-def]
    response = auth_client.get("/api/v1/_test/boom", HTTP_X_REQUEST_ID="boom-1")
    body = _problem(response, 500, "internal_error")
    text = response.content.decode()
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert body["request_id"] == "boom-1"
    # The operator sees the full story in the log, tagged with the request id.
    assert any(getattr(r, "request_id", None) == "boom-1" and r.exc_info for r in caplog.records)


def test_throttled_requests_are_429_with_retry_after(auth_client: APIClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gateway.api.throttling import ApiKeyRateThrottle

    cache.clear()
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "2/min"})
    assert auth_client.get("/api/v1/workspace").status_code == 200
    assert auth_client.get("/api/v1/workspace").status_code == 200
    response = auth_client.get("/api/v1/workspace")
    body = _problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) > 0
    assert body["retry_after"] == int(response["Retry-After"])
    cache.clear()


def test_list_errors_keyed_by_integer_index_keep_index_zero() -> None:
    from rest_framework.exceptions import ErrorDetail

    from gateway.api.problems import flatten_validation_errors

    detail = {"lines": {0: {"quantity": [ErrorDetail("A valid number is required.", code="invalid")]}}}
    assert flatten_validation_errors(detail) == [
        {"field": "lines.0.quantity", "code": "invalid", "message": "A valid number is required."}
    ]
