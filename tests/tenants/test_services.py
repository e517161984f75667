"""tenants/services.py: API keys (creation, authentication with its per-process cache, revoking never the last
one), redirect hosts and URLs, tenants with unique external ids, connect links and their refusals, disconnecting
and disabling connections."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from connectors.base.records import InvalidInput
from tenants import keys, services
from tenants.models import ApiKey, Connection, ConnectionStatus, Credential, Tenant
from tenants.signals import connection_lifecycle
from tests.tenants.factories import ApiKeyFactory, ConnectionFactory, TenantFactory, WorkspaceFactory


@pytest.fixture
def lifecycle() -> Any:
    """The connection lifecycle announcements sent during a test, as (kind, connection ids)."""
    sent: list[tuple[str, list[Any]]] = []

    def receiver(sender: Any, kind: str, connections: list[Any], **kwargs: Any) -> None:
        sent.append((kind, [snapshot.id for snapshot in connections]))

    connection_lifecycle.connect(receiver, weak=False)
    yield sent
    connection_lifecycle.disconnect(receiver)


# --- API keys ----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_created_key_authenticates_and_only_its_hash_is_stored() -> None:
    created = services.api_key_create(workspace=WorkspaceFactory(), name="ci")

    stored = ApiKey.objects.get(pk=created.api_key.pk)
    assert created.secret not in {stored.prefix, stored.key_hash} and stored.key_hash == keys.hash_key(created.secret)
    assert services.api_key_authenticate(raw_key=created.secret).pk == stored.pk


@pytest.mark.django_db
def test_each_refused_key_says_why() -> None:
    key = ApiKeyFactory()
    unknown = keys.generate_key().secret
    same_prefix_wrong_secret = f"{key.prefix}.{keys.generate_key().secret.split('.')[1]}"
    for raw, code in (
        ("Bearer nonsense", "malformed_api_key"),
        (unknown, "invalid_api_key"),
        (same_prefix_wrong_secret, "invalid_api_key"),
    ):
        with pytest.raises(services.ApiKeyRejected) as refused:
            services.api_key_authenticate(raw_key=raw)
        assert refused.value.code == code
    services.api_key_revoke(api_key=key)
    with pytest.raises(services.ApiKeyRejected) as refused:
        services.api_key_authenticate(raw_key=key.secret)
    assert refused.value.code == "revoked_api_key"


@pytest.mark.django_db
def test_a_key_that_authenticated_lately_costs_no_sql_until_forgotten(settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_KEY_CACHE_SECONDS = 60
    key = ApiKeyFactory()
    first = services.api_key_authenticate(raw_key=key.secret)
    assert first.last_used_at is not None

    with CaptureQueriesContext(db_connection) as queries:
        again = services.api_key_authenticate(raw_key=key.secret)
    assert len(queries) == 0 and again.pk == key.pk and again.workspace.pk == key.workspace.pk

    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # revoked elsewhere: cached a while here
    services.api_key_cache_forget(workspace_id=key.workspace_id)
    with pytest.raises(services.ApiKeyRejected):
        services.api_key_authenticate(raw_key=key.secret)


@pytest.mark.django_db
def test_without_a_cache_every_authentication_reads_the_key(settings) -> None:  # type: ignore[no-untyped-def]
    settings.API_KEY_CACHE_SECONDS = 0
    key = ApiKeyFactory()
    services.api_key_authenticate(raw_key=key.secret)
    with CaptureQueriesContext(db_connection) as queries:
        services.api_key_authenticate(raw_key=key.secret)
    assert len(queries) == 1  # the key read; last_used_at was written a moment ago


@pytest.mark.django_db
def test_the_workspaces_last_active_key_is_never_revoked_through_the_api() -> None:
    workspace = WorkspaceFactory()
    first, second = ApiKeyFactory(workspace=workspace), ApiKeyFactory(workspace=workspace)

    assert services.api_key_revoke_keeping_one(api_key=first).revoked_at is not None
    with pytest.raises(services.LastActiveApiKey):
        services.api_key_revoke_keeping_one(api_key=second)
    assert ApiKey.objects.get(pk=second.pk).revoked_at is None
    revoked_at = ApiKey.objects.get(pk=first.pk).revoked_at
    assert services.api_key_revoke_keeping_one(api_key=first).revoked_at == revoked_at  # already revoked: as it was


# --- workspace: redirect hosts and URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "host"),
    [("App.Example.com", "app.example.com"), ("app.example.com.", "app.example.com"), ("[::1]", "[::1]")],
)
def test_a_bare_host_is_stored_in_lower_case_without_its_trailing_dot(raw: str, host: str) -> None:
    assert services.normalise_redirect_host(raw) == host


@pytest.mark.parametrize(
    "raw", ["https://app.example.com", "app.example.com:8443", "app.example.com/done", "*.example.com", " app.io", ""]
)
def test_anything_but_a_bare_host_is_refused_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        services.normalise_redirect_host(raw)
    assert (refused.value.field, refused.value.code) == ("allowed_redirect_hosts", "invalid_host")


@pytest.mark.django_db
def test_a_workspace_update_stores_hosts_sorted_and_once_and_a_bad_one_writes_nothing() -> None:
    workspace = WorkspaceFactory(name="Before")
    services.workspace_update(
        workspace=workspace, allowed_redirect_hosts=["b.example.com", "A.example.com", "b.example.com"]
    )
    workspace.refresh_from_db()
    assert workspace.allowed_redirect_hosts == ["a.example.com", "b.example.com"]

    with pytest.raises(InvalidInput):
        services.workspace_update(workspace=workspace, name="After", allowed_redirect_hosts=["https://x.io"])
    workspace.refresh_from_db()
    assert workspace.name == "Before"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://app.example.com/connected?x=1", True),
        ("https://APP.example.com./connected", True),
        ("http://app.example.com/connected", False),  # clear text to a remote host
        ("http://localhost:3000/connected", True),
        ("http://[::1]:3000/connected", True),
        ("https://evil.example.com/connected", False),
        ("https://user:pw@app.example.com/connected", False),
        ("javascript:alert(1)", False),
        ("/connected", False),
    ],
)
def test_a_redirect_url_needs_an_allowed_host_and_https_unless_local(url: str, allowed: bool) -> None:
    workspace = WorkspaceFactory(allowed_redirect_hosts=["app.example.com", "localhost", "[::1]"])
    assert services.redirect_url_allowed(workspace=workspace, url=url) is allowed


# --- tenants ---------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_external_ids_are_unique_per_workspace_on_create_and_update() -> None:
    workspace = WorkspaceFactory()
    services.tenant_create(workspace=workspace, external_id="acme", name="Acme")
    services.tenant_create(workspace=WorkspaceFactory(), external_id="acme", name="Acme elsewhere")
    globex = services.tenant_create(workspace=workspace, external_id="globex", name="Globex")

    with pytest.raises(services.TenantExists, match="'acme'"):
        services.tenant_create(workspace=workspace, external_id="acme", name="Again")
    with pytest.raises(services.TenantExists):
        services.tenant_update(tenant=globex, external_id="acme")
    assert Tenant.objects.get(pk=globex.pk).external_id == "globex"
    assert services.tenant_update(tenant=globex, name="Globex Corp").name == "Globex Corp"


@pytest.mark.django_db
def test_deleting_a_tenant_forgets_only_credentials_no_other_tenant_uses(lifecycle: Any) -> None:
    doomed = ConnectionFactory()
    shared = ConnectionFactory(tenant__workspace=doomed.workspace)
    sibling = ConnectionFactory(tenant__workspace=doomed.workspace, credential=shared.credential, company_id="102")
    shared_with_doomed = ConnectionFactory(tenant=doomed.tenant, credential=shared.credential, company_id="103")

    services.tenant_delete(tenant=doomed.tenant)

    assert not Tenant.objects.filter(pk=doomed.tenant_id).exists()
    assert not Credential.objects.filter(pk=doomed.credential_id).exists()
    assert Credential.objects.filter(pk=shared.credential_id).exists()
    assert set(Connection.objects.values_list("pk", flat=True)) == {shared.pk, sibling.pk}
    assert sorted(kind for kind, _ in lifecycle) == ["disconnected", "disconnected"]
    assert {ids[0] for _, ids in lifecycle} == {doomed.pk, shared_with_doomed.pk}


# --- connect links ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_connect_link_carries_a_token_stored_only_as_its_hash(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_PUBLIC_URL = "https://gateway.example.com"
    tenant = TenantFactory(workspace=WorkspaceFactory(allowed_redirect_hosts=["app.example.com"]))

    created = services.connect_link_create(
        tenant=tenant, connector_id="exact", redirect_url="https://app.example.com/done", region="nl"
    )

    token = urlsplit(created.url).path.rsplit("/", 1)[1]
    assert created.url == f"https://gateway.example.com/connect/{token}"
    assert created.link.token_hash == keys.hash_key(token) and token not in repr(created)
    assert timedelta(minutes=59) < created.link.expires_at - timezone.now() <= services.CONNECT_LINK_DEFAULT_TTL


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"connector_id": "sage"}, "connector", "unknown_connector"),
        ({"region": "mars"}, "region", "unknown_region"),
        ({"redirect_url": "https://elsewhere.example.com/done"}, "redirect_url", "redirect_url_not_allowed"),
        ({"expires_in": timedelta(minutes=4)}, "expires_in", "out_of_range"),
        ({"expires_in": timedelta(hours=25)}, "expires_in", "out_of_range"),
    ],
)
def test_a_connect_link_is_refused_naming_the_field(overrides: dict[str, Any], field: str, code: str) -> None:
    tenant = TenantFactory(workspace=WorkspaceFactory(allowed_redirect_hosts=["app.example.com"]))
    arguments: dict[str, Any] = {"connector_id": "exact", "redirect_url": "https://app.example.com/done", **overrides}
    with pytest.raises(InvalidInput) as refused:
        services.connect_link_create(tenant=tenant, **arguments)
    assert (refused.value.field, refused.value.code) == (field, code)
    assert not tenant.connect_links.exists()


@pytest.mark.django_db
def test_a_repair_link_must_match_the_connections_tenant_connector_and_region() -> None:
    connection = ConnectionFactory(region="nl")
    other_tenant = TenantFactory(workspace=connection.workspace)
    for tenant, connector_id, region, code in (
        (other_tenant, "exact", "", "not_found"),
        (connection.tenant, "xero", "", "connector_mismatch"),
        (connection.tenant, "exact", "be", "region_mismatch"),
    ):
        with pytest.raises(InvalidInput) as refused:
            services.connect_link_create(
                tenant=tenant,
                connector_id=connector_id,
                region=region,
                redirect_url="https://app.example.com/done",
                repair_connection=connection,
                trusted_redirect=True,
            )
        assert refused.value.code == code

    repair = services.connection_reconnect_link(connection=connection)
    assert (repair.link.region, repair.link.repair_connection_id) == ("nl", connection.pk)
    assert repair.link.redirect_url == services.connect_done_url()


# --- connections -----------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_disconnecting_keeps_a_credential_another_division_still_uses(lifecycle: Any) -> None:
    first = ConnectionFactory()
    second = ConnectionFactory(tenant=first.tenant, credential=first.credential, company_id="102")
    ids = [first.pk, second.pk]  # a deleted instance's pk becomes None

    services.connection_disconnect(connection=first)
    assert Credential.objects.filter(pk=first.credential_id).exists()
    services.connection_disconnect(connection=second)
    assert not Credential.objects.filter(pk=first.credential_id).exists()
    assert lifecycle == [("disconnected", [ids[0]]), ("disconnected", [ids[1]])]


@pytest.mark.django_db
def test_disabling_is_announced_once(lifecycle: Any) -> None:
    connection = ConnectionFactory()

    services.connection_disable(connection=connection, reason="operator: unpaid")
    services.connection_disable(connection=connection, reason="operator: still unpaid")

    connection.refresh_from_db()
    assert (connection.status, connection.status_reason) == (ConnectionStatus.DISABLED, "operator: still unpaid")
    assert lifecycle == [("disabled", [connection.pk])]
