"""GET/DELETE /connections and the Xero-Tenant-Id header on API calls."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from connectors.xero.sandbox.control_client import SandboxControl
from tests.connectors.xero.sandbox.conftest import Tenant, authorize, exchange_code, make_tenant


def _bearer(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.tokens['access_token']}"}


def test_connections_are_a_bare_array_with_xeros_fields(connected: Tenant, http: httpx.Client) -> None:
    # xero-python calls /Connections, pyxero /connections: paths are case-insensitive.
    for path in ("/connections", "/Connections", "/connections/"):
        response = http.get(connected.server.root_url + path, headers=_bearer(connected))
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert set(body[0]) == {
            "id",
            "authEventId",
            "tenantId",
            "tenantType",
            "tenantName",
            "createdDateUtc",
            "updatedDateUtc",
        }
        assert body[0]["tenantId"] == connected.tenant_id
        assert body[0]["tenantType"] == "ORGANISATION"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}", body[0]["createdDateUtc"])


def test_auth_event_id_filters_to_one_consent(control: SandboxControl, server, http: httpx.Client) -> None:
    tenant = make_tenant(control, server, organisations=("Org A", "Org B"), granted=1)
    first = exchange_code(http, tenant, authorize(http, tenant)).json()
    control.set_auto_consent(
        tenant.app["client_id"], user_id=tenant.user["user_id"], tenant_ids=[tenant.organisations[1]["tenant_id"]]
    )
    second = exchange_code(http, tenant, authorize(http, tenant)).json()
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    everything = http.get(f"{server.root_url}/connections", headers=headers).json()
    assert sorted(c["tenantName"] for c in everything) == ["Org A", "Org B"]
    from connectors.xero.sandbox.jwt import decode_claims

    event = decode_claims(second["access_token"])["authentication_event_id"]
    latest = http.get(f"{server.root_url}/connections", params={"authEventId": event}, headers=headers).json()
    assert [c["tenantName"] for c in latest] == ["Org B"]
    # The first token reaches both organisations too: one token covers every connected tenant.
    assert (
        http.get(
            f"{server.accounting_url}/Organisation",
            headers={
                "Authorization": f"Bearer {first['access_token']}",
                "Xero-Tenant-Id": tenant.organisations[1]["tenant_id"],
                "Accept": "application/json",
            },
        ).status_code
        == 200
    )


def test_delete_connection_disconnects_the_tenant(connected: Tenant, http: httpx.Client) -> None:
    connection = http.get(f"{connected.server.root_url}/connections", headers=_bearer(connected)).json()[0]
    deleted = http.delete(f"{connected.server.root_url}/connections/{connection['id']}", headers=_bearer(connected))
    assert deleted.status_code == 204
    again = http.delete(f"{connected.server.root_url}/connections/{connection['id']}", headers=_bearer(connected))
    assert again.status_code == 404
    # The token still refreshes, but the organisation answers 403 (NOTES.md "Connections").
    forbidden = http.get(connected.api("Organisation"), headers=connected.headers())
    assert forbidden.status_code == 403
    assert forbidden.json()["Detail"] == "AuthenticationUnsuccessful"


def test_connections_need_a_bearer_token(tenant: Tenant, http: httpx.Client) -> None:
    response = http.get(f"{tenant.server.root_url}/connections")
    assert response.status_code == 401
    assert response.json()["Title"] == "Unauthorized"


@pytest.mark.parametrize("tenant_header", [None, "", "not-a-guid", str(uuid.uuid4())])
def test_a_missing_malformed_or_unknown_tenant_id_is_403(
    connected: Tenant, http: httpx.Client, tenant_header: str | None, control: SandboxControl
) -> None:
    headers = connected.headers()
    if tenant_header is None:
        del headers["Xero-Tenant-Id"]
    else:
        headers["Xero-Tenant-Id"] = tenant_header
    response = http.get(connected.api("Contacts"), headers=headers)
    assert response.status_code == 403
    body = response.json()
    assert (body["Title"], body["Status"], body["Detail"]) == ("Forbidden", 403, "AuthenticationUnsuccessful")
    # Refused before the limits: no budget used, no rate headers.
    assert "X-MinLimit-Remaining" not in response.headers
    assert control.usage() == {}


def test_an_organisation_the_user_did_not_connect_is_403(control: SandboxControl, server, http: httpx.Client) -> None:
    tenant = make_tenant(control, server, organisations=("Granted", "Not granted"), granted=1)
    tenant.tokens = exchange_code(http, tenant, authorize(http, tenant)).json()
    other = tenant.organisations[1]["tenant_id"]
    assert http.get(tenant.api("Organisation"), headers=tenant.headers(tenant_id=other)).status_code == 403
    ok = http.get(tenant.api("Organisation"), headers=tenant.headers())
    assert ok.status_code == 200


def test_header_names_and_tenant_guids_are_matched_loosely(connected: Tenant, http: httpx.Client) -> None:
    headers = connected.headers()
    del headers["Xero-Tenant-Id"]
    # xero-python sends `xero-tenant-id`, pyxero `Xero-tenant-id`; a hyphenless GUID is the same tenant.
    headers["xero-tenant-id"] = connected.tenant_id.replace("-", "").upper()
    assert http.get(connected.api("Organisation"), headers=headers).status_code == 200
