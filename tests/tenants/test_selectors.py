"""tenants/selectors.py: every read scoped to one workspace (404 for another's rows or a malformed id), connect
links found by the hash of their token or state, never by the secret itself."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from tenants import keys, selectors
from tenants.models import CallLog, ConnectionStatus, ConnectLink, Tenant
from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory


def _link(tenant: Tenant, *, token: str, state: str = "", connector: str = "exact") -> ConnectLink:
    return ConnectLink.objects.create(
        workspace=tenant.workspace,
        tenant=tenant,
        connector=connector,
        redirect_url="https://app.example.com/done",
        token_hash=keys.hash_key(token),
        oauth_state_hash=keys.hash_key(state) if state else "",
        expires_at=timezone.now() + timedelta(minutes=30),
    )


@pytest.mark.django_db
def test_a_record_of_another_workspace_or_a_malformed_id_is_not_found() -> None:
    mine, theirs = WorkspaceFactory(), WorkspaceFactory()
    tenant = TenantFactory(workspace=mine)

    assert selectors.tenant_get(workspace=mine, tenant_id=tenant.pk) == tenant
    for workspace, tenant_id in ((theirs, tenant.pk), (mine, "not-a-uuid"), (mine, uuid.uuid4())):
        with pytest.raises(Http404):
            selectors.tenant_get(workspace=workspace, tenant_id=tenant_id)
    key = ApiKeyFactory(workspace=mine)
    assert list(selectors.api_key_list(workspace=theirs)) == []
    with pytest.raises(Http404):
        selectors.api_key_get(workspace=theirs, api_key_id=key.pk)


@pytest.mark.django_db
def test_tenants_filter_by_external_id_within_the_workspace() -> None:
    mine = WorkspaceFactory()
    wanted = TenantFactory(workspace=mine, external_id="acme")
    TenantFactory(workspace=mine, external_id="globex")
    TenantFactory(external_id="acme")  # another workspace's tenant of the same external id

    assert list(selectors.tenant_list(workspace=mine, external_id="acme")) == [wanted]
    assert selectors.tenant_list(workspace=mine).count() == 2


@pytest.mark.django_db
def test_connections_filter_by_tenant_and_status_and_hide_rows_whose_tenant_is_elsewhere() -> None:
    active = ConnectionFactory()
    workspace = active.workspace
    waiting = ConnectionFactory(tenant=active.tenant, company_id="102", status=ConnectionStatus.NEEDS_REAUTH)
    other_tenant = ConnectionFactory(tenant__workspace=workspace, company_id="103")
    # A row whose connection and tenant disagree on the workspace is shown to nobody.
    inconsistent = ConnectionFactory(tenant__workspace=workspace, company_id="104")
    inconsistent.workspace = WorkspaceFactory()
    inconsistent.save()

    assert set(selectors.connection_list(workspace=workspace)) == {active, waiting, other_tenant}
    assert set(selectors.connection_list(workspace=workspace, tenant_id=active.tenant_id)) == {active, waiting}
    assert list(selectors.connection_list(workspace=workspace, status=ConnectionStatus.NEEDS_REAUTH)) == [waiting]
    with pytest.raises(Http404):
        selectors.connection_get(workspace=workspace, connection_id=inconsistent.pk)
    with pytest.raises(Http404):
        selectors.connection_get(workspace=inconsistent.workspace, connection_id=inconsistent.pk)


@pytest.mark.django_db
def test_the_call_log_of_another_workspaces_connection_is_not_found() -> None:
    connection = ConnectionFactory()
    CallLog.objects.create(connection=connection, method="GET", path="crm/Accounts", status=200, duration_ms=12)

    (call,) = selectors.call_log_list(workspace=connection.workspace, connection_id=connection.pk)
    assert (call.method, call.path) == ("GET", "crm/Accounts")
    with pytest.raises(Http404):
        selectors.call_log_list(workspace=WorkspaceFactory(), connection_id=connection.pk)


@pytest.mark.django_db
def test_connect_links_are_found_by_the_hash_of_their_token_or_state_only() -> None:
    tenant = TenantFactory()
    link = _link(tenant, token="secret-token", state="secret-state", connector="xero")

    assert selectors.connect_link_for_token(token="secret-token") == link
    assert selectors.connect_link_for_token(token=link.token_hash) is None  # the stored hash is not a token
    assert selectors.connect_link_for_state(state="secret-state") == link
    assert selectors.connect_link_for_state(state="") is None
    assert selectors.connect_link_for_state(state="another-state") is None
    assert selectors.connect_link_connector(link_id=str(link.pk)) == "xero"
    assert selectors.connect_link_connector(link_id="not-a-uuid") is None
    assert selectors.connect_link_connector(link_id=str(uuid.uuid4())) is None


@pytest.mark.django_db
def test_a_link_without_a_state_yet_is_not_found_by_an_empty_state() -> None:
    _link(TenantFactory(), token="t1")
    assert selectors.connect_link_for_state(state="") is None
