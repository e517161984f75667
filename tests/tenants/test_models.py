"""tenants/models.py: what the database itself guarantees: one credential per vendor user, app and region in a
workspace; a spent or pending OAuth state bound to one link only; unique key prefixes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tenants import keys
from tenants.models import ApiKey, ConnectLink, Tenant
from tests.tenants.factories import ApiKeyFactory, CredentialFactory, TenantFactory, WorkspaceFactory


def _link(tenant: Tenant, *, state_hash: str = "") -> ConnectLink:
    return ConnectLink.objects.create(
        workspace=tenant.workspace,
        tenant=tenant,
        connector="exact",
        redirect_url="https://app.example.com/done",
        token_hash=keys.hash_key(keys.generate_key().secret),
        oauth_state_hash=state_hash,
        expires_at=timezone.now() + timedelta(hours=1),
    )


@pytest.mark.django_db
def test_one_credential_per_vendor_user_app_and_region_in_a_workspace() -> None:
    first = CredentialFactory(vendor_user_id="user-1")
    CredentialFactory(vendor_user_id="user-1", workspace=WorkspaceFactory())  # another workspace
    CredentialFactory(vendor_user_id="user-1", workspace=first.workspace, region="be")  # another region
    CredentialFactory(vendor_user_id="user-1", workspace=first.workspace, client_id="another-app")
    with pytest.raises(IntegrityError), transaction.atomic():
        CredentialFactory(vendor_user_id="user-1", workspace=first.workspace)


@pytest.mark.django_db
def test_an_oauth_state_belongs_to_one_link_while_links_without_one_are_many() -> None:
    tenant = TenantFactory()
    _link(tenant)
    _link(tenant)  # no state yet: no conflict
    _link(tenant, state_hash=keys.hash_key("state-1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        _link(tenant, state_hash=keys.hash_key("state-1"))


@pytest.mark.django_db
def test_key_prefixes_are_unique_and_a_key_is_active_until_revoked() -> None:
    key = ApiKeyFactory()
    assert key.is_active and key.prefix in str(key)
    key.revoked_at = timezone.now()
    assert not key.is_active
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKey.objects.create(workspace=key.workspace, name="copy", prefix=key.prefix, key_hash="0" * 64)
