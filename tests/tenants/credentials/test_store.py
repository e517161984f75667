"""tenants/credentials/store.py: every write to a Credential row, each conditional on the generation its writer
read; consents that never go back in time; a consent retiring the same chain in another workspace; re-encryption."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from tenants.credentials import crypto, store
from tenants.credentials.errors import NoVendorApp
from tenants.models import ConnectionStatus, Credential, CredentialStatus, RefreshState, VendorApp
from tests.tenants.factories import ConnectionFactory, CredentialFactory, WorkspaceFactory

APP = AppCredentials(client_id="3f1c2a4e-0000-4000-8000-000000000001", client_secret="app-secret")
USER = VendorUser(
    user_id="00000000-0000-4000-8000-0000000000aa", name="Jan de Vries", email="", default_company_id=None
)


def _pair(access: str, *, obtained_at=None) -> TokenSet:  # type: ignore[no-untyped-def]
    return TokenSet(
        access_token=access,
        refresh_token=f"refresh-of-{access}",
        obtained_at=obtained_at or timezone.now(),
        expires_in=600,
        refresh_token_lifetime=timedelta(days=30),
    )


def _consent(workspace, token_set: TokenSet, *, user: VendorUser = USER) -> Credential:  # type: ignore[no-untyped-def]
    return store.credential_store_consent(
        workspace=workspace, connector_id="exact", region="nl", app=APP, vendor_user=user, token_set=token_set
    )


@pytest.mark.django_db
def test_a_first_consent_stores_the_pair_encrypted_with_its_expiries_and_generation_one() -> None:
    workspace = WorkspaceFactory()
    token_set = _pair("access-1")

    credential = _consent(workspace, token_set)

    credential.refresh_from_db()
    assert store.credential_tokens(credential) == store.Tokens("access-1", "refresh-of-access-1")
    assert "access-1" not in credential.access_token_encrypted
    assert credential.token_generation == 1 and credential.client_id == APP.client_id
    assert credential.access_token_expires_at == token_set.obtained_at + timedelta(seconds=600)
    assert credential.refresh_token_expires_at == token_set.obtained_at + timedelta(days=30)
    assert repr(store.credential_tokens(credential)) == "Tokens(***)"


@pytest.mark.django_db
def test_an_api_key_stores_never_expiring_moments() -> None:
    fields = store.token_set_fields(TokenSet.for_api_key("key-123", obtained_at=timezone.now()))
    assert fields["access_token_expires_at"] == store.NEVER == fields["refresh_token_expires_at"]
    assert (
        crypto.decrypt(fields["access_token_encrypted"]) == "key-123"
        and crypto.decrypt(fields["refresh_token_encrypted"]) == ""
    )


@pytest.mark.django_db
def test_an_older_consent_never_replaces_a_newer_stored_pair_but_renames_the_user() -> None:
    workspace = WorkspaceFactory()
    now = timezone.now()
    credential = _consent(workspace, _pair("newer", obtained_at=now))

    renamed = VendorUser(user_id=USER.user_id, name="Jan de Vries-Bakker", email="", default_company_id=None)
    again = _consent(workspace, _pair("older", obtained_at=now - timedelta(seconds=5)), user=renamed)

    again.refresh_from_db()
    assert again.pk == credential.pk
    assert store.credential_tokens(again).access_token == "newer" and again.token_generation == 1
    assert again.vendor_user_name == "Jan de Vries-Bakker"


@pytest.mark.django_db
def test_a_newer_consent_replaces_the_pair_and_brings_back_only_connections_waiting_for_the_credential() -> None:
    workspace = WorkspaceFactory()
    credential = _consent(workspace, _pair("first", obtained_at=timezone.now() - timedelta(minutes=1)))
    waiting = ConnectionFactory(
        tenant__workspace=workspace,
        credential=credential,
        status=ConnectionStatus.NEEDS_REAUTH,
        status_reason=store.connection_reason_from_credential("refresh token rejected"),
    )
    no_company_access = ConnectionFactory(
        tenant__workspace=workspace,
        credential=credential,
        company_id="102",
        status=ConnectionStatus.NEEDS_REAUTH,
        status_reason="company access: NoDivisionAccess",
    )

    again = _consent(workspace, _pair("second"))

    again.refresh_from_db()
    waiting.refresh_from_db()
    no_company_access.refresh_from_db()
    assert store.credential_tokens(again).access_token == "second" and again.token_generation == 2
    assert (waiting.status, waiting.status_reason) == (ConnectionStatus.ACTIVE, "")
    assert no_company_access.status == ConnectionStatus.NEEDS_REAUTH


@pytest.mark.django_db
def test_a_consent_retires_the_same_app_and_users_chain_in_another_workspace() -> None:
    elsewhere = _consent(WorkspaceFactory(), _pair("elsewhere", obtained_at=timezone.now() - timedelta(minutes=1)))
    its_connection = ConnectionFactory(tenant__workspace=elsewhere.workspace, credential=elsewhere)
    other_user = _consent(
        WorkspaceFactory(),
        _pair("other-user"),
        user=VendorUser(user_id="00000000-0000-4000-8000-0000000000bb", name="Piet", email="", default_company_id=None),
    )

    mine = _consent(WorkspaceFactory(), _pair("mine"))

    elsewhere.refresh_from_db()
    its_connection.refresh_from_db()
    other_user.refresh_from_db()
    assert mine.status == CredentialStatus.ACTIVE
    assert elsewhere.status == CredentialStatus.NEEDS_REAUTH and elsewhere.token_generation == 2
    assert "re-authorised this app in another workspace" in elsewhere.status_reason
    assert its_connection.status == ConnectionStatus.NEEDS_REAUTH
    assert its_connection.status_reason.startswith(store.CREDENTIAL_REASON_PREFIX)
    assert other_user.status == CredentialStatus.ACTIVE


@pytest.mark.django_db
def test_marking_a_dead_chain_is_conditional_on_the_generation_read() -> None:
    credential = CredentialFactory(token_generation=3)
    connection = ConnectionFactory(tenant__workspace=credential.workspace, credential=credential)

    assert store.credential_mark_needs_reauth(credential_id=credential.pk, reason="rotated", generation=2) is False
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE

    assert store.credential_mark_needs_reauth(credential_id=credential.pk, reason="x" * 600, generation=3) is True
    credential.refresh_from_db()
    connection.refresh_from_db()
    assert credential.status == CredentialStatus.NEEDS_REAUTH and credential.status_reason == "x" * 500
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    assert connection.status_reason == store.connection_reason_from_credential("x" * 600)
    assert len(connection.status_reason) == 500


@pytest.mark.django_db(transaction=True)
def test_refresh_bookkeeping_and_a_refreshed_pair_are_written_only_on_the_generation_read() -> None:
    credential = CredentialFactory(token_generation=5)
    waiting = ConnectionFactory(
        tenant__workspace=credential.workspace,
        credential=credential,
        status=ConnectionStatus.NEEDS_REAUTH,
        status_reason=store.connection_reason_from_credential("lock outlived"),
    )

    assert not store.credential_refresh_state_update(credential.pk, 4, refresh_state=RefreshState.IN_FLIGHT)
    assert store.credential_refresh_state_update(credential.pk, 5, refresh_state=RefreshState.IN_FLIGHT)
    credential.refresh_from_db()
    assert credential.refresh_state == RefreshState.IN_FLIGHT

    assert store.credential_store_refreshed_pair(credential.pk, _pair("stale"), generation=4) is False
    assert store.credential_store_refreshed_pair(credential.pk, _pair("fresh"), generation=5) is True
    credential.refresh_from_db()
    waiting.refresh_from_db()
    assert store.credential_tokens(credential).access_token == "fresh"
    assert (credential.token_generation, credential.refresh_count) == (6, 1)
    assert credential.refresh_state == RefreshState.IDLE
    assert waiting.status == ConnectionStatus.ACTIVE


@pytest.mark.django_db
def test_the_workspaces_own_app_wins_over_the_default_and_none_at_all_is_refused(settings) -> None:  # type: ignore[no-untyped-def]
    workspace = WorkspaceFactory()
    settings.EXACT_CLIENT_ID = ""
    with pytest.raises(NoVendorApp, match="'exact'"):
        store.vendor_app_for(workspace=workspace, connector_id="exact")

    settings.EXACT_CLIENT_ID, settings.EXACT_CLIENT_SECRET = "operator-app", "operator-secret"
    assert store.vendor_app_for(workspace=workspace, connector_id="exact").client_id == "operator-app"

    saved = store.vendor_app_save(
        workspace=workspace, connector_id="exact", client_id="own-app", client_secret="own-secret", webhook_secret="wh"
    )
    assert "own-secret" not in saved.client_secret_encrypted
    own = store.vendor_app_for(workspace=workspace, connector_id="exact")
    assert (own.client_id, own.client_secret, own.webhook_secret) == ("own-app", "own-secret", "wh")


@pytest.mark.django_db
def test_reencrypting_moves_every_secret_to_the_newest_key(settings) -> None:  # type: ignore[no-untyped-def]
    credential = CredentialFactory()
    store.vendor_app_save(workspace=credential.workspace, connector_id="exact", client_id="c", client_secret="s")
    old_keys = list(settings.LEDGERBRIDGE_CREDENTIAL_KEYS)
    new_key = Fernet.generate_key().decode()
    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [new_key, *old_keys]

    assert store.credentials_reencrypt_all() == 2

    settings.LEDGERBRIDGE_CREDENTIAL_KEYS = [new_key]  # the old key retired: everything still opens
    credential.refresh_from_db()
    assert store.credential_tokens(credential).access_token == "AAEAAfake-access-token"
    app = VendorApp.objects.get(workspace=credential.workspace)
    assert crypto.decrypt(app.client_secret_encrypted) == "s"
