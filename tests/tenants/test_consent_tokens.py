"""Where a new consent meets the token manager: one refresh-token chain per app and user, never written backwards.

Exact keeps ONE single-use, rotating refresh-token chain per app and user (API-FACTS §1.4, §9): every write of a
pair must be the newest one, and the consent flow and the token manager must not overwrite each other.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from tenants import tokens
from tenants.credentials import credential_save_from_consent, credential_tokens
from tenants.models import Connection, ConnectionStatus, Credential, CredentialStatus, Tenant
from tests.fixtures.exact import ExactWorld
from tests.tenants.connect_helpers import Flow, allow_app_host, create_link
from tests.tenants.factories import CredentialFactory, TenantFactory, age_credential

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
    tokens.access_token_for(credential.pk)
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
    tokens.access_token_for(credential.pk)
    credential.refresh_from_db()
    assert credential.status == CredentialStatus.ACTIVE and credential.refresh_count == 2
    assert exact_world.control.counters()["token_errors"] == {}
