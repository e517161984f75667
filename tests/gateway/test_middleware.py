"""X-Request-Id: accepted from the caller or generated, echoed, and carried in log lines."""

from __future__ import annotations

import logging
import re

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_caller_request_id_is_echoed_and_logged(auth_client: APIClient, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level(logging.INFO, logger="ledgerbridge.access"):
        response = auth_client.get("/api/v1/workspace", HTTP_X_REQUEST_ID="order-42.retry-1")
    assert response["X-Request-Id"] == "order-42.retry-1"
    access = [r for r in caplog.records if r.name == "ledgerbridge.access"]
    assert access and access[-1].request_id == "order-42.retry-1"
    assert "/api/v1/workspace 200" in access[-1].getMessage()


@pytest.mark.parametrize("incoming", [None, "", "bad id with spaces", "x" * 200, "evil\r\nheader"])
def test_missing_or_unsafe_request_id_is_replaced(api_client: APIClient, incoming: str | None) -> None:
    headers = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = api_client.get("/healthz", **headers)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-Id"])


def test_request_id_is_on_error_responses_too(api_client: APIClient) -> None:
    response = api_client.get("/api/v1/workspace", HTTP_X_REQUEST_ID="abc-123")
    assert response.status_code == 401
    assert response["X-Request-Id"] == "abc-123"
    assert response.json()["request_id"] == "abc-123"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/connect/N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk", "/connect/<token>"),
        ("/connect/N5r0o8h6o1mM3xkq4Yp2sV9tQe7wZb1cU3dA5fG7hJk/continue", "/connect/<token>/continue"),
        ("/connect/callback", "/connect/callback"),
        ("/connect/done", "/connect/done"),
        ("/api/v1/workspace", "/api/v1/workspace"),
    ],
)
def test_connect_link_tokens_never_reach_the_access_log(path: str, logged: str) -> None:
    from gateway.middleware import loggable_path

    assert loggable_path(path) == logged
