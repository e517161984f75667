"""POST /connections/{id}/passthrough against the sandbox: the division, auth and region are injected, the vendor's
status and body come back, writes are recorded as mutations, paths leaving the division are denied. The Exact paths
and messages here are Exact-specific; the request-shape test runs for every connector (`any_connected`)."""

from __future__ import annotations

import pytest

from tests.unified_models.conftest import Connected
from unified_models.models import Mutation, MutationStatus

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_read_goes_to_the_connections_division(connected: Connected) -> None:
    # The user's current division in Exact's UI is another one; the connection's division is what counts.
    connected.world.control.set_current_division(connected.world.user_id, 102)
    connected.world.control.reset_counters()

    response = connected.client.post(
        connected.url("passthrough"),
        {
            "method": "GET",
            "path": "financial/GLAccounts",
            "query": {"$select": "Code,Description", "$filter": "Code eq '8000'"},
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == 200
    (row,) = body["body"]["d"]["results"]
    assert row["Code"].strip() == "8000" and row["Description"] == "Omzet hoog"
    assert connected.calls() == {"financial/GLAccounts": {"200": 1}}
    assert not Mutation.objects.exists(), "reads are not mutations"


def test_a_write_is_recorded_as_a_mutation(connected: Connected) -> None:
    response = connected.client.post(
        connected.url("passthrough"),
        {"method": "POST", "path": "crm/Accounts", "body": {"Name": "Via passthrough B.V.", "Status": "C"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pt-1",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == 201
    assert response.json()["body"]["d"]["Name"] == "Via passthrough B.V."
    assert [row["Name"] for row in connected.dump("Accounts")].count("Via passthrough B.V.") == 1
    mutation = Mutation.objects.get(pk=response.json()["mutation_id"])
    assert (mutation.resource, mutation.operation, mutation.status) == ("passthrough", "post", MutationStatus.SUCCEEDED)
    assert mutation.request["path"] == "crm/Accounts" and mutation.idempotency_key == "pt-1"

    replay = connected.client.post(
        connected.url("passthrough"),
        {"method": "POST", "path": "crm/Accounts", "body": {"Name": "Via passthrough B.V.", "Status": "C"}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="pt-1",
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert [row["Name"] for row in connected.dump("Accounts")].count("Via passthrough B.V.") == 1


def test_the_vendors_refusal_comes_back_as_it_is(connected: Connected) -> None:
    response = connected.client.post(
        connected.url("passthrough"), {"method": "POST", "path": "crm/Accounts", "body": {}}, format="json"
    )
    if response.status_code == 200:
        assert response.json()["status"] == 400
        assert "Verplicht" in str(response.json()["body"])
    else:  # a connector may raise the typed error instead: then it is the usual problem with the vendor part
        assert response.status_code == 422 and response.json()["vendor"]["status"] == 400
    assert Mutation.objects.get().status == MutationStatus.FAILED


@pytest.mark.parametrize(
    "path",
    [
        "current/Me",
        "../102/crm/Accounts",
        "/api/v1/102/crm/Accounts",
        "crm/Accounts/../../../102/crm/Accounts",
        "%2e%2e/102/crm/Accounts",
        "../../oauth2/token",
    ],
)
def test_paths_that_escape_the_division_are_denied(connected: Connected, path: str) -> None:
    connected.world.control.reset_counters()
    response = connected.client.post(connected.url("passthrough"), {"method": "GET", "path": path}, format="json")
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "passthrough_denied"
    assert response.json()["errors"][0]["field"] == "path"
    assert connected.calls() == {}


def test_the_request_shape_is_validated(any_connected: Connected) -> None:
    connected = any_connected
    response = connected.client.post(
        connected.url("passthrough"),
        {"method": "PATCH", "path": "https://evil.example/x", "query": "a=b"},
        format="json",
    )
    assert response.status_code == 422
    assert {error["field"] for error in response.json()["errors"]} == {"method", "path", "query"}
