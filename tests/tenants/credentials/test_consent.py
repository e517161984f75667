"""tenants/credentials/consent.py, where a new consent meets the token manager: one refresh-token chain per app and
user, never written backwards.

Exact keeps ONE single-use, rotating refresh-token chain per app and user (connectors/exact/NOTES.md: OAuth and
tokens): every write of a pair must be the newest one, and the consent flow and the token manager must not
overwrite each other.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from django.db import connections as db_connections
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from connectors.registry import get_connector
from gateway.locks import LockHandle, LockTimeout, distributed_lock
from tenants.credentials import refresh
from tenants.credentials.consent import credential_save_from_consent
from tenants.credentials.errors import CredentialNeedsReauth, TokenRefreshDeferred
from tenants.credentials.locks import credential_lock
from tenants.credentials.store import (
    credential_mark_needs_reauth,
    credential_store_consent,
    credential_tokens,
    vendor_app_for,
)
from tenants.models import (
    Connection,
    ConnectionStatus,
    Credential,
    CredentialStatus,
    RefreshState,
    Tenant,
)
from tests.fixtures.exact import ExactWorld
from tests.tenants.connect_helpers import Flow, allow_app_host, create_link
from tests.tenants.factories import (
    ConnectionFactory,
    CredentialFactory,
    TenantFactory,
    WorkspaceFactory,
    age_credential,
    connect_via_sandbox,
    token_calls,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(workspace):  # type: ignore[no-untyped-def]
    allow_app_host(workspace)
    return TenantFactory(workspace=workspace, name="Bakkerij De Gouden Korst")


def _flow(auth_client: APIClient, world: ExactWorld, tenant: Tenant, **body: object) -> Flow:
    return Flow(client=Client(), world=world, link_url=str(create_link(auth_client, tenant, **body)["url"]))


def _token_set(credential: Credential, *, seconds: float, access: str, refresh: str) -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        obtained_at=credential.obtained_at + timedelta(seconds=seconds),
        expires_in=600,
        refresh_token_lifetime=timedelta(days=30),
    )


# ------------------------------------------------------------------------------------------- finding 1


def test_an_older_pair_never_replaces_the_stored_one(workspace) -> None:  # type: ignore[no-untyped-def]
    credential = CredentialFactory(workspace=workspace)
    stored = credential_tokens(credential)
    older = _token_set(credential, seconds=-60, access="old-access", refresh="old-refresh")
    same = _token_set(credential, seconds=0, access="same-access", refresh="same-refresh")
    user = VendorUser(user_id=credential.vendor_user_id, name="Jan de Vries", email="", default_company_id=None)
    app = AppCredentials(client_id=credential.client_id, client_secret="secret")

    for token_set in (older, same):
        saved = credential_save_from_consent(
            workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
        )
        assert saved.pk == credential.pk
        credential.refresh_from_db()
        assert credential_tokens(credential) == stored


def test_finishing_the_flow_keeps_the_pair_a_sibling_refreshed_to_meanwhile(
    auth_client: APIClient, exact_world: ExactWorld, tenant: Tenant
) -> None:
    first = _flow(auth_client, exact_world, tenant)
    first.pick(first.callback(first.consent(first.start()))["Location"], ["101"])
    credential = Credential.objects.get()

    # A second consent by the same user: the callback stores the new pair P1 at once ...
    second = _flow(auth_client, exact_world, tenant)
    picker_path = second.callback(second.consent(second.start()))["Location"]
    p1 = credential_tokens(Credential.objects.get())
    # ... and while the user picks divisions, the 101 connection refreshes: P1's refresh token is spent.
    age_credential(exact_world, credential, 700)
    refresh.access_token_for(credential.pk)
    p2 = credential_tokens(Credential.objects.get())
    assert p2.refresh_token != p1.refresh_token

    assert second.pick(picker_path, ["102"]).status_code == 200

    credential.refresh_from_db()
    assert credential_tokens(credential) == p2  # not the spent P1
    assert credential.status == CredentialStatus.ACTIVE
    assert set(Connection.objects.values_list("company_id", "status")) == {
        ("101", ConnectionStatus.ACTIVE),
        ("102", ConnectionStatus.ACTIVE),
    }
    # The chain still works: the next refresh is accepted by Exact.
    age_credential(exact_world, credential, 700)
    refresh.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_count == 2
    assert exact_world.control.counters()["token_errors"] == {}


# ------------------------------------------------------------------------------------------- finding 2


def _fresh_consent(world: ExactWorld, workspace) -> tuple[AppCredentials, VendorUser, TokenSet]:  # type: ignore[no-untyped-def]
    """The user consents again at Exact (auto-consent): a new pair, and Exact retires the previous chain."""
    world.auto_consent(None)
    connector = get_connector("exact")
    app = vendor_app_for(workspace=workspace, connector_id="exact")
    url = connector.authorization_url(region="nl", app=app, redirect_uri=world.redirect_uri, state="state-2")
    code = parse_qs(urlsplit(httpx.get(url, follow_redirects=False).headers["location"]).query)["code"][0]
    token_set = connector.exchange_code(region="nl", app=app, code=code, redirect_uri=world.redirect_uri)
    return app, connector.current_user(region="nl", access_token=token_set.access_token), token_set


def _store_without_lock(workspace, app, user, token_set) -> None:  # type: ignore[no-untyped-def]
    """A consent written while the refresh's lock had already expired (the lock cannot help: the generation must)."""
    with transaction.atomic():
        credential_store_consent(
            workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
        )


@pytest.fixture
def connected(exact_world, workspace):  # type: ignore[no-untyped-def]
    credential, connections = connect_via_sandbox(exact_world, workspace=workspace, connect=(101, 102))
    age_credential(exact_world, credential, 700)
    exact_world.control.reset_counters()
    return credential, connections


def test_a_refresh_in_flight_does_not_overwrite_a_consent_stored_meanwhile(
    exact_world: ExactWorld, workspace, connected, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    connector = get_connector("exact")
    real_refresh = connector.refresh_tokens
    consent: dict[str, TokenSet] = {}

    def refresh_then_consent(**kwargs):  # type: ignore[no-untyped-def]
        refreshed = real_refresh(**kwargs)  # Exact rotates the chain ...
        app, user, token_set = _fresh_consent(exact_world, workspace)  # ... then the user consents again
        _store_without_lock(workspace, app, user, token_set)
        consent["pair"] = token_set
        return refreshed

    monkeypatch.setattr(connector, "refresh_tokens", refresh_then_consent)
    token = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert token == consent["pair"].access_token
    assert credential_tokens(credential).refresh_token == consent["pair"].refresh_token
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_count == 0
    monkeypatch.undo()
    age_credential(exact_world, credential, 700)
    refresh.access_token_for(credential.pk)  # the stored chain is the live one
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_count == 1


def test_a_refresh_refused_because_a_consent_retired_its_chain_does_not_mark_needs_reauth(
    exact_world: ExactWorld, workspace, connected, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    credential, connections = connected
    connector = get_connector("exact")
    real_refresh = connector.refresh_tokens
    consent: dict[str, TokenSet] = {}

    def consent_then_refresh(**kwargs):  # type: ignore[no-untyped-def]
        app, user, token_set = _fresh_consent(exact_world, workspace)
        _store_without_lock(workspace, app, user, token_set)
        consent["pair"] = token_set
        return real_refresh(**kwargs)  # the old refresh token: Exact refuses it

    monkeypatch.setattr(connector, "refresh_tokens", consent_then_refresh)
    token = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert token == consent["pair"].access_token
    assert credential.status == CredentialStatus.ACTIVE and credential.status_reason == ""
    for connection in connections:
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE


def test_saving_a_consent_waits_for_the_refresh_lock(exact_world: ExactWorld, workspace, connected, settings) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    app, user, token_set = _fresh_consent(exact_world, workspace)
    settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT = 0.3
    held, release = threading.Event(), threading.Event()

    def refresher() -> None:  # another process, in the middle of refreshing this credential
        try:
            with credential_lock(credential.pk):
                held.set()
                release.wait(10)
        finally:
            db_connections.close_all()

    thread = threading.Thread(target=refresher)
    thread.start()
    try:
        assert held.wait(10)
        with pytest.raises(LockTimeout):
            credential_save_from_consent(
                workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
            )
        credential.refresh_from_db()
        assert credential_tokens(credential).refresh_token != token_set.refresh_token
    finally:
        release.set()
        thread.join()
    generation = credential.token_generation
    credential_save_from_consent(
        workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
    )
    credential.refresh_from_db()
    assert credential_tokens(credential).refresh_token == token_set.refresh_token
    assert credential.token_generation == generation + 1


# ------------------------------------------------------------------------------------------- finding 3


def test_a_consent_in_another_workspace_retires_this_workspaces_chain_visibly(exact_world: ExactWorld) -> None:
    first_workspace, second_workspace = WorkspaceFactory(), WorkspaceFactory()
    first, first_connections = connect_via_sandbox(exact_world, workspace=first_workspace, connect=(101, 102))
    # The same Exact user connects the same (default) app in another workspace: Exact retires the first chain.
    second, _ = connect_via_sandbox(exact_world, workspace=second_workspace, connect=(101,))
    exact_world.control.reset_counters()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.client_id == second.client_id
    assert first.status == CredentialStatus.NEEDS_REAUTH
    assert "another workspace" in first.status_reason and "one token chain per app and user" in first.status_reason
    for connection in first_connections:
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.NEEDS_REAUTH and "another workspace" in connection.status_reason
    assert second.status == CredentialStatus.ACTIVE
    with pytest.raises(CredentialNeedsReauth):
        refresh.access_token_for(first.pk)
    assert token_calls(exact_world) == 0  # no refresh with the retired token ("Old refresh token used")


# ------------------------------------------------------------------------------------------- finding 4


def test_a_refresh_whose_lock_expired_before_sending_sends_nothing(
    exact_world: ExactWorld, connected, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    monkeypatch.setattr(LockHandle, "held", lambda self: False)

    with pytest.raises(TokenRefreshDeferred):
        refresh.access_token_for(credential.pk)

    assert token_calls(exact_world) == 0  # another process may be sending this single-use token right now
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_state == RefreshState.IDLE


def test_a_pair_that_arrives_after_the_lock_expired_is_kept_when_nothing_newer_was_stored(
    exact_world: ExactWorld, connected, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connected
    answers = iter([True, False])  # held when sending, expired when the answer arrives
    monkeypatch.setattr(LockHandle, "held", lambda self: next(answers))

    fresh = refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert credential_tokens(credential).access_token == fresh and credential.refresh_count == 1


@pytest.mark.redis
def test_a_redis_lock_handle_knows_when_it_expired(settings) -> None:  # type: ignore[no-untyped-def]
    import os

    settings.REDIS_URL = os.environ["REDIS_URL"]
    with distributed_lock("test-handle-expiry", timeout=0.2, wait=1) as handle:
        assert handle.held()
        time.sleep(0.4)
        assert not handle.held()


# ------------------------------------------------------------------------------------------- finding 6


def test_a_new_consent_brings_back_the_connections_that_waited_for_the_credential(
    exact_world: ExactWorld, workspace, connected
) -> None:  # type: ignore[no-untyped-def]
    credential, (first, _) = connected
    exact_world.control.revoke_tokens(exact_world.client_id, scope="all")
    with pytest.raises(CredentialNeedsReauth):
        refresh.access_token_for(credential.pk)
    # A third division lost company access on its own (Exact 403 NoDivisionAccess): only the user can fix that.
    denied = ConnectionFactory(tenant=first.tenant, company_id="103", credential=credential)
    Connection.objects.filter(pk=denied.pk).update(
        status=ConnectionStatus.NEEDS_REAUTH, status_reason="NoDivisionAccess: Exact no longer grants access"
    )

    app, user, token_set = _fresh_consent(exact_world, workspace)
    credential_save_from_consent(
        workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
    )

    statuses = dict(Connection.objects.values_list("company_id", "status"))
    assert statuses == {"101": ConnectionStatus.ACTIVE, "102": ConnectionStatus.ACTIVE, "103": "needs_reauth"}
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE


def test_a_successful_refresh_after_a_needs_reauth_mark_brings_the_connections_back(
    exact_world: ExactWorld, connected, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    credential, connections = connected
    connector = get_connector("exact")
    real_refresh = connector.refresh_tokens

    def refreshed_while_another_process_gave_up(**kwargs):  # type: ignore[no-untyped-def]
        token_set = real_refresh(**kwargs)
        # A process whose lock outlived ours probed with the spent token and marked the credential dead.
        credential_mark_needs_reauth(credential_id=credential.pk, reason="refresh token rejected")
        return token_set

    monkeypatch.setattr(connector, "refresh_tokens", refreshed_while_another_process_gave_up)
    refresh.access_token_for(credential.pk)

    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE
    for connection in connections:
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE and connection.status_reason == ""


# ------------------------------------------------------------------------------------------- finding 7


def test_two_first_consents_of_the_same_user_at_once_share_one_credential(
    exact_world: ExactWorld, workspace, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import tenants.credentials.store as credentials_module

    app, user, token_set = _fresh_consent(exact_world, workspace)
    real_apply = credentials_module.credential_apply_token_set
    other: list[Credential] = []

    def other_flow_commits_first(credential, token_set):  # type: ignore[no-untyped-def]
        if not other:  # between our lookup (nothing yet) and our insert, the other flow's insert lands
            other.append(
                CredentialFactory(
                    workspace=workspace,
                    client_id=app.client_id,
                    vendor_user_id=user.user_id,
                    obtained_at=token_set.obtained_at - timedelta(seconds=5),
                )
            )
        real_apply(credential, token_set)

    monkeypatch.setattr(credentials_module, "credential_apply_token_set", other_flow_commits_first)
    saved = credential_save_from_consent(
        workspace=workspace, connector_id="exact", region="nl", app=app, vendor_user=user, token_set=token_set
    )

    assert saved.pk == other[0].pk and Credential.objects.count() == 1
    saved.refresh_from_db()
    assert credential_tokens(saved).refresh_token == token_set.refresh_token  # ours is the newer pair


def test_two_links_connecting_the_same_division_at_once_do_not_fail(
    exact_world: ExactWorld, workspace, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """(PostgreSQL serialises completions through the link's row lock, which also locks workspace and tenant;
    the savepoint keeps the flow correct should that ever change, and on any other database.)"""
    from django.utils import timezone

    import tenants.connect.services as connect_services
    from connectors.base.types import Company
    from tenants import services

    tenant = TenantFactory(workspace=workspace)
    link = services.connect_link_create(
        tenant=tenant, connector_id="exact", redirect_url="https://app.example.com/done", trusted_redirect=True
    ).link
    _, user, token_set = _fresh_consent(exact_world, workspace)
    pending = connect_services.PendingConsent(
        link_id=str(link.pk),
        region="nl",
        vendor_user=user,
        token_set=token_set,
        companies=[Company(company_id="101", name="Division 101")],
        preselected=["101"],
        received_at=timezone.now(),
    )
    real_consented = connect_services._connection_consented
    raced: list[Connection] = []

    def other_link_commits_first(connection, **kwargs):  # type: ignore[no-untyped-def]
        if connection._state.adding and not raced:
            # Between our lookup (nothing yet) and our insert, another link's flow stored the same division.
            raced.extend(
                Connection.objects.bulk_create(
                    [
                        Connection(
                            workspace=workspace, tenant=tenant, connector="exact", region="nl", company_id="101",
                            company_name="Division 101", connected_at=timezone.now(),
                        )
                    ]
                )
            )  # fmt: skip
        real_consented(connection, **kwargs)

    monkeypatch.setattr(connect_services, "_connection_consented", other_link_commits_first)
    connections = connect_services.connect_complete(link_id=str(link.pk), pending=pending, company_ids=["101"])

    assert [c.pk for c in connections] == [raced[0].pk]
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE and connection.credential_id is not None


# ------------------------------------------------------------------------------------------- finding 8


def test_a_busy_lock_still_hands_out_a_valid_access_token(exact_world: ExactWorld, workspace, settings) -> None:  # type: ignore[no-untyped-def]
    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 575)  # refresh due, the access token still lives 25 s
    stored = credential_tokens(credential).access_token
    settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT = 0.2
    held, release = threading.Event(), threading.Event()

    def refresher() -> None:
        try:
            with credential_lock(credential.pk):
                held.set()
                release.wait(10)
        finally:
            db_connections.close_all()

    thread = threading.Thread(target=refresher)
    thread.start()
    try:
        assert held.wait(10)
        assert refresh.access_token_for(credential.pk) == stored
    finally:
        release.set()
        thread.join()


def test_during_a_cooldown_the_401_path_does_not_return_the_rejected_token(exact_world: ExactWorld, workspace) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    credential, _ = connect_via_sandbox(exact_world, workspace=workspace)
    age_credential(exact_world, credential, 580)
    Credential.objects.filter(pk=credential.pk).update(refresh_not_before=timezone.now() + timedelta(seconds=60))
    rejected = credential_tokens(credential).access_token
    exact_world.control.reset_counters()

    with pytest.raises(TokenRefreshDeferred) as excinfo:
        refresh.access_token_after_unauthorized(credential.pk, rejected_access_token=rejected)
    assert excinfo.value.retry_at == Credential.objects.get(pk=credential.pk).refresh_not_before
    assert token_calls(exact_world) == 0
