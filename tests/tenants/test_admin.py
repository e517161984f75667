"""Operators' admin: workspaces, keys, tenants and connections are manageable; secrets, tokens and hashes never
render (a new key or reconnect link is shown once, in a message)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tenants.credentials.store import credential_tokens
from tenants.models import ApiKey, Connection, ConnectionStatus, ConnectLink, Credential
from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    user = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-ops-123")
    client = Client()
    client.force_login(user)
    return client


def test_admin_lists_workspaces_and_keys_without_secrets(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    key = ApiKeyFactory(workspace=workspace)
    assert workspace.name in admin_client.get("/admin/tenants/workspace/").content.decode()
    for url in (
        f"/admin/tenants/workspace/{workspace.pk}/change/",
        "/admin/tenants/apikey/",
        f"/admin/tenants/apikey/{key.pk}/change/",
    ):
        html = admin_client.get(url).content.decode()
        assert key.prefix in html
        assert key.secret not in html
        assert key.key_hash not in html


def test_admin_creates_a_key_and_shows_it_once(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    response = admin_client.post(
        "/admin/tenants/apikey/add/", {"workspace": workspace.pk, "name": "from admin"}, follow=True
    )
    assert response.status_code == 200
    key = ApiKey.objects.get(name="from admin")
    shown = [str(m) for m in response.context["messages"]]
    secret = next(m.split(": ")[-1] for m in shown if "shown only now" in m)
    assert secret.startswith(key.prefix + ".")
    # Reloading shows no secret any more.
    assert secret not in admin_client.get(f"/admin/tenants/apikey/{key.pk}/change/").content.decode()


def test_admin_revoke_action(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    key = ApiKeyFactory(workspace=workspace)
    admin_client.post(
        "/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [str(key.pk)]}, follow=True
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- tenants, connections, credentials, connect links -------------------------------------------------------


def test_connection_pages_show_status_and_expiry_but_no_token(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    connection = ConnectionFactory(
        tenant=TenantFactory(workspace=workspace), company_id="101", company_name="Bakkerij", last_error="boom 503"
    )
    credential = connection.credential
    tokens = credential_tokens(credential)
    secrets = [
        tokens.access_token,
        tokens.refresh_token,
        credential.access_token_encrypted,
        credential.refresh_token_encrypted,
    ]
    for url in (
        "/admin/tenants/tenant/",
        f"/admin/tenants/tenant/{connection.tenant_id}/change/",
        "/admin/tenants/connection/",
        f"/admin/tenants/connection/{connection.pk}/change/",
        "/admin/tenants/credential/",
        f"/admin/tenants/credential/{credential.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert any(text in html for text in ("Bakkerij", "Jan de Vries", connection.tenant.name)), url
        for secret in secrets:
            assert secret not in html, url
    listing = admin_client.get("/admin/tenants/connection/").content.decode()
    assert "boom 503" in listing and "Active" in listing


def test_disable_action(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    connection = ConnectionFactory(tenant=TenantFactory(workspace=workspace))
    admin_client.post(
        "/admin/tenants/connection/",
        {"action": "disable_connections", "_selected_action": [str(connection.pk)]},
        follow=True,
    )
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISABLED and "operator" in connection.status_reason


def test_reconnect_link_action_shows_a_working_url_once(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    connection = ConnectionFactory(
        tenant=TenantFactory(workspace=workspace), region="be", status=ConnectionStatus.NEEDS_REAUTH
    )
    response = admin_client.post(
        "/admin/tenants/connection/",
        {"action": "create_reconnect_links", "_selected_action": [str(connection.pk)]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    url = next(m.split("shown only now: ")[1] for m in shown if "shown only now" in m)
    link = ConnectLink.objects.get()
    assert link.repair_connection == connection and link.region == "be"
    assert link.redirect_url.endswith("/connect/done")
    # The link opens the flow (region preset, so straight to the "continue" step).
    path = "/connect/" + url.rsplit("/connect/", 1)[1]
    opened = Client().get(path)
    assert opened.status_code == 302 and opened["Location"].endswith("/continue")
    # The admin never shows it again.
    for page in ("/admin/tenants/connectlink/", f"/admin/tenants/connectlink/{link.pk}/change/"):
        html = admin_client.get(page).content.decode()
        assert url not in html and link.token_hash not in html


def test_admin_delete_of_a_connection_forgets_its_credential(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    connection = ConnectionFactory(tenant=TenantFactory(workspace=workspace))
    admin_client.post(f"/admin/tenants/connection/{connection.pk}/delete/", {"post": "yes"}, follow=True)
    assert not Connection.objects.exists() and not Credential.objects.exists()


def test_a_tenants_workspace_cannot_be_changed_in_the_admin(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    tenant = TenantFactory(workspace=workspace)
    other = WorkspaceFactory()
    page = admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/").content.decode()
    assert 'name="workspace"' not in page

    admin_client.post(
        f"/admin/tenants/tenant/{tenant.pk}/change/",
        {"workspace": str(other.pk), "external_id": tenant.external_id, "name": "Renamed",
         "connections-TOTAL_FORMS": "0", "connections-INITIAL_FORMS": "0"},
    )  # fmt: skip

    tenant.refresh_from_db()
    assert tenant.name == "Renamed" and tenant.workspace_id == workspace.pk
    for model in ("connection", "credential", "connectlink"):
        admin_form = admin_client.get(f"/admin/tenants/{model}/").status_code
        assert admin_form == 200


def test_admin_delete_of_a_tenant_leaves_no_orphan_credential(admin_client: Client, workspace) -> None:  # type: ignore[no-untyped-def]
    tenant = TenantFactory(workspace=workspace)
    connection = ConnectionFactory(tenant=tenant)
    ConnectionFactory(tenant=tenant, company_id="102", credential=connection.credential)
    kept = ConnectionFactory(tenant=TenantFactory(workspace=workspace))  # another tenant's credential stays

    admin_client.post(f"/admin/tenants/tenant/{tenant.pk}/delete/", {"post": "yes"}, follow=True)

    assert list(Credential.objects.all()) == [kept.credential]


def test_connection_selectors_also_check_the_tenants_workspace(workspace) -> None:  # type: ignore[no-untyped-def]
    from django.http import Http404

    from tenants import selectors

    foreign_tenant = TenantFactory()
    # A row whose workspace and tenant's workspace disagree (e.g. a tenant moved by hand before this fix).
    stray = ConnectionFactory(tenant=foreign_tenant, workspace=workspace)

    assert list(selectors.connection_list(workspace=workspace)) == []
    with pytest.raises(Http404):
        selectors.connection_get(workspace=workspace, connection_id=stray.pk)
