"""unified_models/views.py, the handlers' own rules beside the behaviour-named API tests (test_api_*.py): another
workspace's connection is 404 and an operation the connector does not declare 405, both before any vendor call;
a live page says where it came from; an unsaved mapping reads as empty defaults; bad query input is a 400."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.models import Workspace
from tests.tenants.factories import ConnectionFactory
from tests.unified_models.conftest import Connected


@pytest.mark.django_db
def test_another_workspaces_connection_is_not_found_on_every_record_path(auth_client: APIClient) -> None:
    other = ConnectionFactory()
    for path in ("contacts", "invoices/some-id", "mapping", "company", "reconciliations"):
        response = auth_client.get(f"/api/v1/connections/{other.pk}/{path}")
        assert response.status_code == 404, (path, response.json())


@pytest.mark.django_db
def test_an_operation_the_connector_does_not_declare_is_405_naming_it(
    auth_client: APIClient, workspace: Workspace
) -> None:
    xero = ConnectionFactory(tenant__workspace=workspace, connector="xero", region="", company_id="org-1")
    response = auth_client.get(f"/api/v1/connections/{xero.pk}/sales-orders")
    assert response.status_code == 405 and response["Content-Type"] == "application/problem+json"
    assert "Xero" in response.json()["detail"]


@pytest.mark.django_db
def test_an_unsaved_mapping_reads_as_empty_defaults(auth_client: APIClient, workspace: Workspace) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    response = auth_client.get(f"/api/v1/connections/{connection.pk}/mapping")
    assert response.status_code == 200
    assert response.json()["tax_rates"] == [] and response.json()["updated_at"] is None
    assert auth_client.get(f"/api/v1/connections/{connection.pk}/reconciliations/not-an-id").status_code == 404


def test_a_live_page_says_where_it_came_from_and_links_the_next(connected: Connected) -> None:
    response = connected.client.get(connected.url("contacts"), {"page_size": 2})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["source"], body["synced_at"], response["X-Data-Source"]) == ("live", None, "live")
    assert len(body["results"]) == 2 and "cursor=" in body["next"] and "page_size=2" in body["next"]
    following = connected.client.get(body["next"])
    assert following.status_code == 200
    assert {r["id"] for r in body["results"]}.isdisjoint({r["id"] for r in following.json()["results"]})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"updated_after": "yesterday"}, "updated_after"),
        ({"include": "lines"}, "include"),
        ({"mode": "cache"}, "mode"),
        ({"contact_id": ""}, "contact_id"),
    ],
)
def test_bad_query_input_is_a_400_naming_it(
    auth_client: APIClient, workspace: Workspace, query: dict[str, str], field: str
) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    response = auth_client.get(f"/api/v1/connections/{connection.pk}/invoices", query)
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == field
