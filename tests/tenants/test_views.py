"""tenants/views.py, the handlers the behaviour-named API tests (test_tenants_api.py, test_api_keys.py,
test_connections_api.py, test_connect_links.py) leave out: the workspace read and update, a repair link for
another tenant's connection, and a connection's call log."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants.models import CallLog, Workspace
from tests.tenants.factories import ConnectionFactory, TenantFactory


@pytest.mark.django_db
def test_the_workspace_is_read_and_updated_and_a_bad_host_writes_nothing(
    auth_client: APIClient, workspace: Workspace
) -> None:
    assert auth_client.get("/api/v1/workspace").json()["id"] == str(workspace.pk)

    updated = auth_client.patch(
        "/api/v1/workspace", {"name": "Bakery", "allowed_redirect_hosts": ["App.Example.com"]}, format="json"
    )
    assert updated.status_code == 200, updated.json()
    assert (updated.json()["name"], updated.json()["allowed_redirect_hosts"]) == ("Bakery", ["app.example.com"])

    refused = auth_client.patch(
        "/api/v1/workspace", {"name": "Other", "allowed_redirect_hosts": ["https://x.io"]}, format="json"
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "allowed_redirect_hosts"
    workspace.refresh_from_db()
    assert workspace.name == "Bakery"


@pytest.mark.django_db
def test_a_repair_link_for_another_tenants_connection_is_refused_naming_it(
    auth_client: APIClient, workspace: Workspace
) -> None:
    workspace.allowed_redirect_hosts = ["app.example.com"]
    workspace.save()
    tenant = TenantFactory(workspace=workspace)
    elsewhere = ConnectionFactory(tenant__workspace=workspace)  # the same workspace, another tenant

    response = auth_client.post(
        f"/api/v1/tenants/{tenant.pk}/connect-links",
        {"connector": "exact", "redirect_url": "https://app.example.com/done", "connection_id": str(elsewhere.pk)},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "connection_id" and not tenant.connect_links.exists()


@pytest.mark.django_db
def test_a_connections_call_log_is_listed_newest_first_for_its_workspace_only(
    auth_client: APIClient, workspace: Workspace
) -> None:
    connection = ConnectionFactory(tenant__workspace=workspace)
    for path in ("crm/Accounts", "salesinvoice/SalesInvoices"):
        CallLog.objects.create(connection=connection, method="GET", path=path, status=200, duration_ms=10)
    other = ConnectionFactory()
    CallLog.objects.create(connection=other, method="GET", path="crm/Accounts", status=200, duration_ms=10)

    response = auth_client.get(f"/api/v1/connections/{connection.pk}/calls")
    assert response.status_code == 200, response.json()
    assert [call["path"] for call in response.json()["results"]] == ["salesinvoice/SalesInvoices", "crm/Accounts"]
    assert auth_client.get(f"/api/v1/connections/{other.pk}/calls").status_code == 404
