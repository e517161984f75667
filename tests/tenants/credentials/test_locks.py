"""tenants/credentials/locks.py: one lock per token chain, shared by refreshes and by saving a new consent."""

from __future__ import annotations

import pytest

from gateway.locks import LockTimeout, distributed_lock
from tenants.credentials.locks import credential_consent_lock, credential_lock
from tests.tenants.factories import CredentialFactory, WorkspaceFactory


@pytest.mark.redis
@pytest.mark.django_db
def test_saving_a_consent_waits_for_the_refresh_lock_of_the_credential_it_writes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT = 0.2
    credential = CredentialFactory()
    key = {
        "workspace": credential.workspace,
        "connector_id": credential.connector,
        "region": credential.region,
        "client_id": credential.client_id,
        "vendor_user_id": credential.vendor_user_id,
    }

    with credential_lock(credential.pk) as handle:
        assert handle.held()
        with pytest.raises(LockTimeout, match=f"credential-refresh:{credential.pk}"), credential_consent_lock(**key):
            pass
        # Another user's consent has no credential yet: nothing to wait for.
        with credential_consent_lock(**{**key, "vendor_user_id": "someone-else"}):
            pass

    refresh = distributed_lock(f"credential-refresh:{credential.pk}", timeout=5, wait=0.1)
    with credential_consent_lock(**key), pytest.raises(LockTimeout), refresh:  # and the other way round
        pass


@pytest.mark.redis
@pytest.mark.django_db
def test_the_locks_of_two_credentials_are_independent(settings) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT = 0.2
    first, second = CredentialFactory(), CredentialFactory(workspace=WorkspaceFactory())
    with credential_lock(first.pk), credential_lock(second.pk) as handle:
        assert handle.held()
