"""Credentials at rest: storing vendor token pairs encrypted, reading them back, re-encrypting under new keys."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from connectors.base.types import AppCredentials, TokenSet, VendorUser
from connectors.registry import get_connector
from gateway.locks import LockHandle, distributed_lock
from tenants import crypto
from tenants.models import (
    Connection,
    ConnectionStatus,
    Credential,
    CredentialStatus,
    RefreshState,
    VendorApp,
    Workspace,
)

logger = logging.getLogger(__name__)

# Machine-readable start of a connection's status_reason when the connection waits for its CREDENTIAL (dead or
# retired token chain): a new consent or a successful refresh brings exactly those back. A connection waiting
# for company access (Exact: 403 NoDivisionAccess, written by tenants.vendor_calls) has another reason and
# stays put until the user grants that company again.
CREDENTIAL_REASON_PREFIX = "credential: "

REASON_OTHER_WORKSPACE = (
    "Exact user re-authorised this app in another workspace; Exact keeps one token chain per app and user"
)


def connection_reason_from_credential(reason: str) -> str:
    """The status_reason of a connection that needs re-authorisation because its credential does."""
    return f"{CREDENTIAL_REASON_PREFIX}{reason}"[:500]


def connections_reactivate(*, credential_id: Any) -> int:
    """The credential holds a live pair again: its connections that waited for it (not for company access) resume."""
    return Connection.objects.filter(
        credential_id=credential_id,
        status=ConnectionStatus.NEEDS_REAUTH,
        status_reason__startswith=CREDENTIAL_REASON_PREFIX,
    ).update(status=ConnectionStatus.ACTIVE, status_reason="", updated_at=timezone.now())


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


def credential_lock(credential_id: Any) -> AbstractContextManager[LockHandle]:
    """The one lock for a credential's token chain: held by every refresh and by every save of a new consent."""
    return distributed_lock(
        f"credential-refresh:{credential_id}",
        timeout=settings.LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT,
        wait=settings.LEDGERBRIDGE_TOKEN_LOCK_WAIT,
    )


def token_set_fields(token_set: TokenSet) -> dict[str, Any]:
    """The columns a fresh pair writes (without token_generation, which the writer bumps)."""
    return {
        "access_token_encrypted": crypto.encrypt(token_set.access_token),
        "refresh_token_encrypted": crypto.encrypt(token_set.refresh_token),
        "obtained_at": token_set.obtained_at,
        "access_token_expires_at": token_set.access_token_expires_at,
        "refresh_token_expires_at": token_set.refresh_token_expires_at,
        "status": CredentialStatus.ACTIVE,
        "status_reason": "",
        "refresh_state": RefreshState.IDLE,
        "refresh_attempt_started_at": None,
        "refresh_not_before": None,
        "last_refresh_error": "",
    }


def credential_apply_token_set(credential: Credential, token_set: TokenSet) -> None:
    """Put a fresh pair on the credential object (read under its row lock) and bump its token generation."""
    for name, value in token_set_fields(token_set).items():
        setattr(credential, name, value)
    credential.token_generation = (credential.token_generation or 0) + 1


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


def credential_store_consent(
    *,
    workspace: Workspace,
    connector_id: str,
    region: str,
    app: AppCredentials,
    vendor_user: VendorUser,
    token_set: TokenSet,
) -> Credential:
    """The write behind credential_save_from_consent; call it inside a transaction under credential_consent_lock.

    A new consent by the same vendor user replaces the old chain (Exact invalidates the previous tokens), so
    all connections sharing this credential are repaired with it. Never goes back in time: when the stored
    pair was obtained at or after `token_set` (a sibling connection refreshed since this consent, or this very
    pair was saved at the callback already), the stored pair stays: refresh tokens are single use, so the older
    pair is dead and writing it would cost every connection. Every write bumps token_generation, so a refresh
    that was in flight does not overwrite it (tenants.tokens writes only on the generation it read).
    """
    key = {
        "workspace": workspace,
        "connector": connector_id,
        "region": region,
        "client_id": app.client_id,
        "vendor_user_id": vendor_user.user_id,
    }
    credential = Credential.objects.select_for_update().filter(**key).first()
    if credential is None:
        credential = Credential(**key, vendor_user_name=vendor_user.name)
        credential_apply_token_set(credential, token_set)
        credential.last_refreshed_at = timezone.now()
        try:
            with transaction.atomic():  # a savepoint: the outer transaction stays usable if the insert loses
                credential.save(force_insert=True)
        except IntegrityError:
            # The same user's first consent, finished at the same moment in another flow: that row is the
            # credential; the newer of the two pairs wins below.
            credential = Credential.objects.select_for_update().filter(**key).first()
            if credential is None:
                raise
        else:
            _retire_same_chain_elsewhere(credential)
            return credential
    if credential.obtained_at >= token_set.obtained_at:
        if credential.vendor_user_name != vendor_user.name:
            credential.vendor_user_name = vendor_user.name
            credential.save(update_fields=["vendor_user_name", "updated_at"])
        return credential
    credential.vendor_user_name = vendor_user.name
    credential_apply_token_set(credential, token_set)
    credential.last_refreshed_at = timezone.now()
    credential.save()
    connections_reactivate(credential_id=credential.pk)
    _retire_same_chain_elsewhere(credential)
    return credential


def _retire_same_chain_elsewhere(credential: Credential) -> None:
    """This consent just killed the chain any OTHER workspace holds for the same app and Exact user.

    Exact keeps ONE refresh-token chain per app and user, and a new consent retires the previous tokens
    (connectors/exact/NOTES.md: OAuth and tokens). Two workspaces that use the same app (typically the operator's
    default app) with the same Exact user cannot both stay connected: the other workspace's credential and its
    connections are marked needs_reauth now, with a reason that says why, rather than failing later on "Old refresh
    token used". Its token_generation moves on, so a refresh in flight there does not store its (now dead) pair
    over this state. Re-authorising there retires this workspace's chain in turn: one app and user serve one
    workspace at a time.
    """
    now = timezone.now()
    others = (
        Credential.objects.filter(
            connector=credential.connector,
            region=credential.region,
            client_id=credential.client_id,
            vendor_user_id=credential.vendor_user_id,
            status=CredentialStatus.ACTIVE,
        )
        .exclude(pk=credential.pk)
        .exclude(workspace_id=credential.workspace_id)
    )
    for other_id in list(others.values_list("pk", flat=True)):
        Credential.objects.filter(pk=other_id).update(
            status=CredentialStatus.NEEDS_REAUTH,
            status_reason=REASON_OTHER_WORKSPACE,
            refresh_state=RefreshState.IDLE,
            last_refresh_error=REASON_OTHER_WORKSPACE,
            token_generation=F("token_generation") + 1,
            updated_at=now,
        )
        Connection.objects.filter(credential_id=other_id, status=ConnectionStatus.ACTIVE).update(
            status=ConnectionStatus.NEEDS_REAUTH,
            status_reason=connection_reason_from_credential(REASON_OTHER_WORKSPACE),
            updated_at=now,
        )
        logger.warning("Credential %s needs re-authorisation: %s", other_id, REASON_OTHER_WORKSPACE)


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
