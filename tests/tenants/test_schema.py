"""tenants/schema.py: the OpenAPI description of API-key authentication: a bearer scheme in the key's format,
required by the workspace API and not by the health endpoints."""

from __future__ import annotations

import pytest
import yaml
from django.test import Client


@pytest.mark.django_db
def test_the_api_key_is_a_bearer_scheme_required_where_a_key_is_needed(client: Client) -> None:
    schema = yaml.safe_load(client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi").content)

    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "lb_<prefix>.<secret>",
        "description": "A workspace API key, created in admin or with `manage.py create_api_key`.",
    }
    assert {"ApiKey": []} in schema["paths"]["/api/v1/tenants"]["get"]["security"]
    assert schema["paths"]["/healthz"]["get"].get("security") in ([{}], None)
