"""/healthz says the process lives; /readyz checks the database and the broker and names what is down."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from gateway.celery import app as celery_app


def test_healthz(api_client: APIClient) -> None:
    response = api_client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_ready(api_client: APIClient) -> None:
    response = api_client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["broker"] == "ok"


@pytest.mark.django_db(transaction=True)
def test_readyz_reports_a_stopped_database(api_client: APIClient) -> None:
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-dir/ledgerbridge.sqlite3"
    else:
        connection.settings_dict["PORT"] = "1"  # nothing listens there: the server is "stopped"
    try:
        response = api_client.get("/readyz")
    finally:
        connection.close()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["checks"]["database"] == "database is unreachable"
    assert "database" in body["detail"]


@pytest.mark.django_db
def test_readyz_reports_a_stopped_broker(api_client: APIClient) -> None:
    original_url = celery_app.conf.broker_url
    original_options = celery_app.conf.broker_transport_options
    celery_app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens there
    celery_app.conf.broker_transport_options = {}
    try:
        response = api_client.get("/readyz")
    finally:
        celery_app.conf.broker_url = original_url
        celery_app.conf.broker_transport_options = original_options
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "broker is unreachable"
    assert response.json()["checks"]["database"] == "ok"
