"""Saving what a user granted: the new token pair (or API key) stored under the chain's lock, in one transaction."""

from __future__ import annotations

from django.db import transaction

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from tenants.credentials.locks import credential_consent_lock
from tenants.credentials.store import credential_store_consent
from tenants.models import Credential, Workspace


def credential_save_from_consent(
    *,
    workspace: Workspace,
    connector_id: str,
    region: str,
    app: AppCredentials,
    vendor_user: VendorUser,
    token_set: TokenSet,
) -> Credential:
    """Store the pair a user just granted, under the credential's refresh lock, in its own transaction.

    Raises gateway.locks.LockTimeout when a refresh holds the lock for longer than the lock wait.
    """
    with (
        credential_consent_lock(
            workspace=workspace,
            connector_id=connector_id,
            region=region,
            client_id=app.client_id,
            vendor_user_id=vendor_user.user_id,
        ),
        transaction.atomic(),
    ):
        return credential_store_consent(
            workspace=workspace,
            connector_id=connector_id,
            region=region,
            app=app,
            vendor_user=vendor_user,
            token_set=token_set,
        )
