"""tenants/api.py: the base of workspace API views: a query parameter given twice is refused naming it (only
`include` may repeat), and every list is the caller's workspace's."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.tenants.factories import TenantFactory


@pytest.mark.django_db
def test_a_repeated_query_parameter_is_refused_naming_it(auth_client: APIClient) -> None:
    response = auth_client.get("/api/v1/tenants?external_id=a&external_id=b")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "external_id", "code": "repeated", "message": "Give this parameter once."}
    ]


@pytest.mark.django_db
def test_lists_are_the_callers_workspaces_only(auth_client: APIClient, workspace) -> None:  # type: ignore[no-untyped-def]
    mine = TenantFactory(workspace=workspace)
    TenantFactory()  # another workspace's
    response = auth_client.get("/api/v1/tenants")
    assert response.status_code == 200
    assert [tenant["id"] for tenant in response.json()["results"]] == [str(mine.pk)]
