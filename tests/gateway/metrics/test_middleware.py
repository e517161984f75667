"""/metrics on the web: only with the token setting and the bearer token, before host checks, never counted itself;
every other request counted by the URL pattern that matched."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from gateway.metrics import instruments
from tests.tenants.factories import ConnectionFactory

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def metrics_token(settings):  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_METRICS_TOKEN = TOKEN
    return TOKEN


def _scrape(client: Client, **headers: str) -> dict[str, float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}"] = sample.value
    return samples


def _requests(route: str, method: str, status: str) -> float:
    labels = {"route": route, "method": method, "status": status}
    return instruments.REGISTRY.get_sample_value("ledgerbridge_http_requests_total", labels) or 0.0


def test_without_the_token_setting_there_is_no_metrics_endpoint(settings, client: Client) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"])
def test_the_metrics_need_the_bearer_token(metrics_token: str, client: Client, authorization: str | None) -> None:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization is not None else {}
    response = client.get("/metrics", **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"ledgerbridge_" not in response.content


@pytest.mark.django_db
def test_an_api_key_is_not_the_metrics_token(metrics_token: str, auth_client: APIClient) -> None:
    assert auth_client.get("/metrics").status_code == 401


@pytest.mark.django_db
def test_prometheus_scrapes_a_pod_ip_over_plain_http(metrics_token: str, settings, client: Client) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOWED_HOSTS = ["gateway.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    samples = _scrape(client, HTTP_HOST="10.1.2.3:8000")
    assert samples["ledgerbridge_collector_up{collector=connections}"] == 1
    # The API itself still refuses that host.
    assert client.get("/healthz", HTTP_HOST="10.1.2.3:8000").status_code == 400


@pytest.mark.django_db
def test_requests_are_counted_by_route_template_and_metrics_scrapes_are_not(
    metrics_token: str, auth_client: APIClient, api_key
) -> None:  # type: ignore[no-untyped-def]
    connection = ConnectionFactory(workspace=api_key.workspace, tenant__workspace=api_key.workspace)
    route = "api/v1/connections/<str:connection_id>"
    before = _requests(route, "GET", "200")
    before_404 = _requests(route, "GET", "404")
    before_scrapes = _requests("unmatched", "GET", "200")
    assert auth_client.get(f"/api/v1/connections/{connection.pk}").status_code == 200
    assert auth_client.get(f"/api/v1/connections/{uuid.uuid4()}").status_code == 404
    assert Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200
    assert _requests(route, "GET", "200") == before + 1
    assert _requests(route, "GET", "404") == before_404 + 1
    assert _requests("unmatched", "GET", "200") == before_scrapes
    exported = _scrape(Client())
    assert exported[f"ledgerbridge_http_requests_total{{method=GET,route={route},status=200}}"] == before + 1
    assert not any(str(connection.pk) in name for name in exported)


@pytest.mark.django_db
def test_admin_is_one_route_and_unknown_paths_are_unmatched(metrics_token: str, client: Client) -> None:
    admin_before = _requests("admin/", "GET", "302")
    unmatched_before = _requests("unmatched", "GET", "404")
    client.get("/admin/tenants/connection/")
    client.get("/admin/gateway/workerheartbeat/")
    client.get(f"/no-such-page-{uuid.uuid4()}")
    assert _requests("admin/", "GET", "302") == admin_before + 2
    assert _requests("unmatched", "GET", "404") == unmatched_before + 1
