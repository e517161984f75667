"""gateway/api/metadata.py: OPTIONS answers names, media types and methods, also on views that build their
serializer per request (DRF's own metadata would walk it and fail)."""

from __future__ import annotations

from rest_framework.test import APIClient


def test_options_on_a_record_view_names_its_methods_and_media_types(auth_client: APIClient) -> None:
    response = auth_client.options("/api/v1/tenants")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"name", "description", "renders", "parses", "allowed_methods"}
    assert {"GET", "POST", "OPTIONS"} <= set(body["allowed_methods"])
    assert "application/json" in body["renders"] and "application/json" in body["parses"]
