"""Credentials at rest: storing vendor token pairs encrypted, reading them back, re-encrypting under new keys."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from connectors.registry import get_connector
from tenants import crypto
from tenants.models import Credential, CredentialStatus, RefreshState, VendorApp, Workspace


class NoVendorApp(Exception):
    """Neither the workspace nor the operator registered an app with this vendor."""


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str

    def __repr__(self) -> str:
        return "Tokens(***)"


def vendor_app_for(*, workspace: Workspace, connector_id: str) -> AppCredentials:
    """The workspace's own app registration for this vendor, else the operator's default."""
    own = VendorApp.objects.filter(workspace=workspace, connector=connector_id).first()
    if own is not None:
        return AppCredentials(
            client_id=own.client_id,
            client_secret=crypto.decrypt(own.client_secret_encrypted),
            webhook_secret=crypto.decrypt(own.webhook_secret_encrypted) if own.webhook_secret_encrypted else "",
        )
    default = get_connector(connector_id).default_app()
    if default is None:
        raise NoVendorApp(f"No app registration for '{connector_id}': set one for the workspace or in settings.")
    return default


def vendor_app_save(
    *, workspace: Workspace, connector_id: str, client_id: str, client_secret: str, webhook_secret: str = ""
) -> VendorApp:
    app, _ = VendorApp.objects.update_or_create(
        workspace=workspace,
        connector=connector_id,
        defaults={
            "client_id": client_id,
            "client_secret_encrypted": crypto.encrypt(client_secret),
            "webhook_secret_encrypted": crypto.encrypt(webhook_secret) if webhook_secret else "",
        },
    )
    return app


def credential_tokens(credential: Credential) -> Tokens:
    """Decrypt the stored pair; raises crypto.CredentialDecryptionError when no key opens it."""
    return Tokens(
        access_token=crypto.decrypt(credential.access_token_encrypted),
        refresh_token=crypto.decrypt(credential.refresh_token_encrypted),
    )


def credential_apply_token_set(credential: Credential, token_set: TokenSet) -> None:
    """Put a fresh pair on the (unsaved) credential object; the caller saves it."""
    credential.access_token_encrypted = crypto.encrypt(token_set.access_token)
    credential.refresh_token_encrypted = crypto.encrypt(token_set.refresh_token)
    credential.obtained_at = token_set.obtained_at
    credential.access_token_expires_at = token_set.access_token_expires_at
    credential.refresh_token_expires_at = token_set.refresh_token_expires_at
    credential.status = CredentialStatus.ACTIVE
    credential.status_reason = ""
    credential.refresh_state = RefreshState.IDLE
    credential.refresh_attempt_started_at = None
    credential.last_refresh_error = ""


@transaction.atomic
def credential_save_from_consent(
    *,
    workspace: Workspace,
    connector_id: str,
    region: str,
    app: AppCredentials,
    vendor_user: VendorUser,
    token_set: TokenSet,
) -> Credential:
    """Store the pair a user just granted. A new consent by the same vendor user replaces the old chain
    (Exact invalidates the previous tokens), so all connections sharing this credential are repaired with it.

    Never goes back in time: when the stored pair was obtained at or after `token_set` (a sibling connection
    refreshed since this consent, or this very pair was saved at the callback already), the stored pair stays:
    refresh tokens are single use, so the older pair is dead and writing it would cost every connection.
    """
    credential = (
        Credential.objects.select_for_update()
        .filter(
            workspace=workspace,
            connector=connector_id,
            region=region,
            client_id=app.client_id,
            vendor_user_id=vendor_user.user_id,
        )
        .first()
    )
    if credential is None:
        credential = Credential(
            workspace=workspace,
            connector=connector_id,
            region=region,
            client_id=app.client_id,
            vendor_user_id=vendor_user.user_id,
        )
    elif credential.obtained_at >= token_set.obtained_at:
        if credential.vendor_user_name != vendor_user.name:
            credential.vendor_user_name = vendor_user.name
            credential.save(update_fields=["vendor_user_name", "updated_at"])
        return credential
    credential.vendor_user_name = vendor_user.name
    credential_apply_token_set(credential, token_set)
    credential.last_refreshed_at = timezone.now()
    credential.save()
    return credential


def credentials_reencrypt_all() -> int:
    """Re-encrypt every stored secret under the newest key; returns how many rows changed.

    Fails loudly (CredentialDecryptionError) on ciphertext no configured key opens, before writing anything.
    """
    changed = 0
    with transaction.atomic():
        for credential in Credential.objects.select_for_update().order_by("pk"):
            credential.access_token_encrypted = crypto.rotate(credential.access_token_encrypted)
            credential.refresh_token_encrypted = crypto.rotate(credential.refresh_token_encrypted)
            credential.save(update_fields=["access_token_encrypted", "refresh_token_encrypted", "updated_at"])
            changed += 1
        for app in VendorApp.objects.select_for_update().order_by("pk"):
            app.client_secret_encrypted = crypto.rotate(app.client_secret_encrypted)
            if app.webhook_secret_encrypted:
                app.webhook_secret_encrypted = crypto.rotate(app.webhook_secret_encrypted)
            app.save(update_fields=["client_secret_encrypted", "webhook_secret_encrypted"])
            changed += 1
    return changed
