"""unified_models/store/inbound_views.py: POST /inbound/<connector>: problems for an unknown connector, a
malformed or unsigned delivery and any other method; Exact's empty validation POST answered. Deliveries that
change records, end to end: test_inbound.py."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
def test_an_unknown_connector_is_a_404_problem() -> None:
    response = Client().post("/inbound/sage", b"{}", content_type="application/json")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_a_malformed_delivery_is_a_400_problem_and_needs_no_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)  # vendors have no CSRF token: the view is exempt
    body = b'{"Content":{"Topic":"SalesInvoices"},"HashCode":"ABC"}'  # Exact's shape, but no Division
    response = client.post("/inbound/exact", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "malformed_request"
    assert response.json()["title"] == "Malformed request"


@pytest.mark.django_db
def test_other_methods_are_405_naming_post() -> None:
    for method in ("get", "put", "delete"):
        response = getattr(Client(), method)("/inbound/exact")
        assert response.status_code == 405 and response["Allow"] == "POST"
        assert response.json()["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_an_unsigned_delivery_with_content_is_refused_as_unauthenticated() -> None:
    body = b'{"Content": {"Topic": "SalesInvoices", "Division": 101, "Key": "abc", "Action": "Update"}}'  # no hash
    response = Client().post("/inbound/exact", body, content_type="application/json")
    assert response.status_code == 401 and response.json()["title"] == "Authentication failed"
    assert response.json()["code"] == "invalid_signature"


@pytest.mark.django_db
def test_exacts_empty_validation_post_is_answered() -> None:
    assert Client().post("/inbound/exact", b"", content_type="application/json").status_code == 200
