"""OpenAPI: the schema validates without warnings, is served, and the docs use only local assets."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.test import Client


def test_schema_validates_without_warnings() -> None:
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null", stdout=out, stderr=out)


@pytest.mark.django_db
def test_schema_endpoint_documents_auth_and_problems(client: Client) -> None:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert "Problem" in schema["components"]["schemas"]
    listing = schema["paths"]["/api/v1/api-keys"]["get"]
    assert {"results", "next"} <= set(schema["components"]["schemas"]["PaginatedApiKeyList"]["properties"]), listing
    assert "application/problem+json" in listing["responses"]["401"]["content"]


@pytest.mark.django_db
def test_docs_are_served_from_local_static_files(client: Client) -> None:
    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("swagger-ui-bundle.js" in a for a in assets)
    assert not [a for a in assets if a.startswith(("http://", "https://", "//"))], assets
    for asset in (a for a in assets if a.startswith("/static/")):
        assert client.get(asset).status_code == 200, asset
