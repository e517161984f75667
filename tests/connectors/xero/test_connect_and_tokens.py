"""Xero through the gateway's own machinery: the hosted connect flow (no region step, organisations), rotating
refresh tokens with the 30-minute grace after a lost answer, a revoked grant, a disconnected organisation."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from connectors.base.data import ListQuery, Resource
from connectors.base.errors import CompanyAccessDenied, ConnectionNotUsable, TokenResponseLost, VendorError
from tenants.credentials import refresh
from tenants.credentials.store import credential_tokens
from tenants.models import Connection, ConnectionStatus, Credential, Tenant
from tenants.vendor_calls import connection_context
from tests.connectors.xero.provider_fixtures import Organisation, organisation_fixture  # noqa: F401
from tests.fixtures.xero import XeroWorld
from tests.tenants.connect_helpers import Flow, allow_app_host, create_link, csrf_token, path_of, query_of, return_url
from tests.tenants.factories import TenantFactory, age_credential

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(workspace: Any) -> Tenant:
    allow_app_host(workspace)
    return TenantFactory(workspace=workspace, name="Gouden Korst")


def test_the_connect_flow_has_no_region_step_and_offers_organisations(
    auth_client: APIClient, xero_world: XeroWorld, tenant: Tenant
) -> None:
    link = create_link(auth_client, tenant, connector="xero")
    browser = Client(enforce_csrf_checks=True)
    flow = Flow(client=browser, world=xero_world, link_url=str(link["url"]))  # type: ignore[arg-type]

    start = browser.get(path_of(flow.link_url))
    assert start.status_code == 302  # no regions, so no region step
    page = browser.get(start["Location"]).content.decode()
    assert "<h1>Sign in to Xero</h1>" in page
    steps = page[page.index('<ol class="steps"') : page.index("</ol>")]
    assert "Sign in" in steps and "Organisations" in steps and "Region" not in steps
    authorization_url = flow.start(region=None)
    assert authorization_url.startswith(f"{xero_world.server.root_url}/identity/connect/authorize?")
    assert "offline_access" in query_of(authorization_url)["scope"]

    xero_world.auto_consent()
    callback = httpx.get(authorization_url, follow_redirects=False).headers["location"]
    picked = flow.callback(callback)
    assert picked.status_code == 302
    picker = browser.get(picked["Location"]).content.decode()
    assert "<h1>Choose organisations</h1>" in picker
    for name in xero_world.names.values():
        assert name in picker
    visible = re.sub(r"<[^>]+>", " ", picker + page)  # the words a user reads (form field names aside)
    for word in ("Exact", "administration", "Administration", "division", "Division"):
        assert word not in visible

    done = browser.post(
        picked["Location"], {"divisions": xero_world.tenant_ids, "csrfmiddlewaretoken": csrf_token(picker)}
    )
    html = done.content.decode()
    assert done.status_code == 200 and query_of(return_url(html))["status"] == "success"
    connections = list(Connection.objects.filter(tenant=tenant).order_by("company_name"))
    assert [(c.connector, c.region, c.company_name, c.status) for c in connections] == [
        ("xero", "", "Gouden Korst Ltd", ConnectionStatus.ACTIVE),
        ("xero", "", "Korst Property Ltd", ConnectionStatus.ACTIVE),
    ]
    credential = Credential.objects.get()
    assert (credential.connector, credential.vendor_user_name) == ("xero", "Amy Baker")
    assert credential_tokens(credential).refresh_token not in html


def _list(organisation: Organisation) -> list[Any]:
    return organisation.connector.list_records(
        connection_context(organisation.connection), Resource.CONTACTS, ListQuery(page_size=2)
    ).records


def test_an_expired_access_token_is_refreshed_and_both_tokens_rotate(organisation: Organisation) -> None:
    credential = organisation.connection.credential
    assert credential is not None
    before = credential_tokens(credential)
    age_credential(organisation.world, credential, 31 * 60)

    assert _list(organisation)

    after = credential_tokens(Credential.objects.get(pk=credential.pk))
    assert after.access_token != before.access_token and after.refresh_token != before.refresh_token
    assert organisation.world.control.counters()["token_refreshes"] == 1


def test_a_slow_token_answer_counts_the_30_minutes_from_its_arrival(organisation: Organisation) -> None:
    """The access token's 30 minutes are counted from when the token answer arrived, not from when the request
    started: a refresh whose answer took 3 s keeps all 30 minutes (the sandbox's delay comes before it issues)."""
    credential = organisation.connection.credential
    assert credential is not None
    age_credential(organisation.world, credential, 31 * 60)
    organisation.world.control.add_fault(
        kind="latency", pattern="/connect/token", method="POST", latency_ms=3000, times=1
    )

    started = timezone.now()
    stored = refresh.access_token_for(credential.pk)  # refreshed; the answer took 3 s
    arrived_by = timezone.now()

    credential.refresh_from_db()
    assert credential.refresh_count == 1 and organisation.world.control.counters()["token_refreshes"] == 1
    assert started + timedelta(seconds=3) <= credential.obtained_at <= arrived_by
    assert (
        started + timedelta(seconds=3 + 1800)
        <= credential.access_token_expires_at
        <= arrived_by + timedelta(seconds=1800)
    )
    assert credential_tokens(credential).access_token == stored
    assert _list(organisation)  # Xero accepts the new token


def test_a_lost_refresh_answer_is_recovered_inside_the_grace(organisation: Organisation) -> None:
    credential = organisation.connection.credential
    assert credential is not None
    age_credential(organisation.world, credential, 31 * 60)
    organisation.world.control.add_fault(kind="drop_after_apply", pattern="/connect/token", method="POST", times=1)

    with pytest.raises((TokenResponseLost, VendorError)):
        _list(organisation)  # Xero rotated the chain, the answer never came

    assert _list(organisation)  # the stored (previous) refresh token still works inside the 30-minute grace
    counters = organisation.world.control.counters()
    assert counters["token_grace_reuses"] == 1
    organisation.connection.refresh_from_db()
    assert organisation.connection.status == ConnectionStatus.ACTIVE


def test_a_revoked_grant_needs_reauthorisation(organisation: Organisation) -> None:
    credential = organisation.connection.credential
    assert credential is not None
    organisation.world.control.revoke_tokens(client_id=organisation.world.client_id, scope="all")
    age_credential(organisation.world, credential, 31 * 60)

    with pytest.raises(ConnectionNotUsable):
        _list(organisation)

    organisation.connection.refresh_from_db()
    assert organisation.connection.status == ConnectionStatus.NEEDS_REAUTH


def test_a_disconnected_organisation_needs_reauthorisation_alone(organisation: Organisation) -> None:
    (connection,) = [
        row for row in organisation.world.control.connections() if row["tenant_id"] == organisation.tenant_id
    ]
    token = credential_tokens(organisation.connection.credential).access_token  # type: ignore[arg-type]
    deleted = httpx.delete(
        f"{organisation.world.server.root_url}/connections/{connection['id']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert deleted.status_code == 204

    with pytest.raises(CompanyAccessDenied):
        _list(organisation)

    organisation.connection.refresh_from_db()
    assert organisation.connection.status == ConnectionStatus.NEEDS_REAUTH
    assert Credential.objects.get().status == "active"
