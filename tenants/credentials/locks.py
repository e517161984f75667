"""The one lock per token chain: held by every refresh and by every save of a new consent for that credential."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from django.conf import settings

from gateway.locks import LockHandle, distributed_lock
from tenants.models import Credential, Workspace


def credential_lock(credential_id: Any) -> AbstractContextManager[LockHandle]:
    """The lock of a credential's token chain (LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT must outlast the token call)."""
    return distributed_lock(
        f"credential-refresh:{credential_id}",
        timeout=settings.LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT,
        wait=settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT,
    )


@contextmanager
def credential_consent_lock(
    *, workspace: Workspace, connector_id: str, region: str, client_id: str, vendor_user_id: str
) -> Iterator[None]:
    """Hold the refresh lock of the credential a consent will write (if it exists): a refresh in flight finishes
    first, and none starts until the new pair is committed. Take it outside the transaction that saves."""
    credential_id = (
        Credential.objects.filter(
            workspace=workspace,
            connector=connector_id,
            region=region,
            client_id=client_id,
            vendor_user_id=vendor_user_id,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if credential_id is None:
        yield  # nothing to refresh yet; a concurrent first consent is settled by the unique constraint
        return
    with credential_lock(credential_id):
        yield
