"""Credentials at rest: every write to a Credential row (and to the connections that wait for it), encrypted.

Reading the stored pair, storing a consent, the refresh bookkeeping and a refreshed pair (each conditional on
the token_generation the writer read, see Credential.token_generation), marking a dead chain, re-encrypting
under new keys. The token manager (refresh.py) and the connect flow decide; this module writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from connectors.base.connector import OAuth2Connector
from connectors.base.types import AppCredentials, TokenSet, VendorUser
from connectors.registry import get_connector
from tenants.credentials import crypto
from tenants.credentials.errors import NoVendorApp
from tenants.models import (
    Connection,
    ConnectionStatus,
    Credential,
    CredentialStatus,
    RefreshState,
    VendorApp,
    Workspace,
)
from tenants.signals import connections_status_set

logger = logging.getLogger(__name__)

# Machine-readable start of a connection's status_reason when the connection waits for its CREDENTIAL (dead or
# retired token chain): a new consent or a successful refresh brings exactly those back. A connection waiting
# for company access (Exact: 403 NoDivisionAccess, written by tenants.vendor_calls) has another reason and
# stays put until the user grants that company again.
CREDENTIAL_REASON_PREFIX = "credential: "

REASON_LOST_AND_ROTATED = "token response lost; the vendor rotated the refresh token"

# The expiry stored for what never expires (an API key): the columns are NOT NULL, and every comparison with
# "now" then simply says "not yet".
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


def connection_reason_from_credential(reason: str) -> str:
    """The status_reason of a connection that needs re-authorisation because its credential does."""
    return f"{CREDENTIAL_REASON_PREFIX}{reason}"[:500]


def connections_reactivate(*, credential_id: Any) -> int:
    """The credential holds a live pair again: its connections that waited for it (not for company access) resume."""
    return connections_status_set(
        Connection.objects.filter(
            credential_id=credential_id,
            status=ConnectionStatus.NEEDS_REAUTH,
            status_reason__startswith=CREDENTIAL_REASON_PREFIX,
        ),
        kind="reactivated",
        status=ConnectionStatus.ACTIVE,
        status_reason="",
    )


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
    connector = get_connector(connector_id)
    default = connector.default_app() if isinstance(connector, OAuth2Connector) else None
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


def token_set_fields(token_set: TokenSet) -> dict[str, Any]:
    """The columns a fresh pair writes (without token_generation, which the writer bumps)."""
    return {
        "access_token_encrypted": crypto.encrypt(token_set.access_token),
        "refresh_token_encrypted": crypto.encrypt(token_set.refresh_token),
        "obtained_at": token_set.obtained_at,
        "access_token_expires_at": token_set.access_token_expires_at or NEVER,
        "refresh_token_expires_at": token_set.refresh_token_expires_at or NEVER,
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


def credential_store_consent(
    *,
    workspace: Workspace,
    connector_id: str,
    region: str,
    app: AppCredentials | None,
    vendor_user: VendorUser,
    token_set: TokenSet,
) -> Credential:
    """The write behind credential_save_from_consent; call it inside a transaction under credential_consent_lock.

    `app` is the vendor app the grant was made to (None for an API key: no app, stored as client id "").

    A new consent by the same vendor user replaces the old chain (Exact invalidates the previous tokens), so
    all connections sharing this credential are repaired with it. Never goes back in time: when the stored
    pair was obtained at or after `token_set` (a sibling connection refreshed since this consent, or this very
    pair was saved at the callback already), the stored pair stays: refresh tokens are single use, so the older
    pair is dead and writing it would cost every connection. Every write bumps token_generation, so a refresh
    that was in flight does not overwrite it (the token manager writes only on the generation it read).
    """
    key = {
        "workspace": workspace,
        "connector": connector_id,
        "region": region,
        "client_id": app.client_id if app is not None else "",
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
    """This consent just killed the chain any OTHER workspace holds for the same app and vendor user.

    Exact keeps ONE refresh-token chain per app and user, and a new consent retires the previous tokens
    (connectors/exact/NOTES.md: OAuth and tokens). Two workspaces that use the same app (typically the operator's
    default app) with the same Exact user cannot both stay connected: the other workspace's credential and its
    connections are marked needs_reauth now, with a reason that says why, rather than failing later on "Old refresh
    token used". Its token_generation moves on, so a refresh in flight there does not store its (now dead) pair
    over this state. Re-authorising there retires this workspace's chain in turn: one app and user serve one
    workspace at a time. An API key has no app and no chain: keys of other workspaces stay as they are.
    """
    connector = get_connector(credential.connector)
    if not connector.info.auth.is_oauth:
        return
    reason = (
        f"{connector.name} user re-authorised this app in another workspace; "
        f"{connector.name} keeps one token chain per app and user"
    )
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
            status_reason=reason,
            refresh_state=RefreshState.IDLE,
            last_refresh_error=reason,
            token_generation=F("token_generation") + 1,
            updated_at=now,
        )
        connections_status_set(
            Connection.objects.filter(credential_id=other_id, status=ConnectionStatus.ACTIVE),
            kind="needs_reauth",
            status=ConnectionStatus.NEEDS_REAUTH,
            status_reason=connection_reason_from_credential(reason),
            updated_at=now,
        )
        logger.warning("Credential %s needs re-authorisation: %s", other_id, reason)


def credential_mark_needs_reauth(*, credential_id: Any, reason: str, generation: int | None = None) -> bool:
    """The refresh token is dead: the credential and every connection sharing it wait for the user to reconnect.

    With `generation`, only while the credential still holds that pair: a consent stored meanwhile is not a dead
    chain. Returns False when nothing was marked for that reason.
    """
    reason = reason[:500]
    now = timezone.now()
    with transaction.atomic():
        credentials = Credential.objects.filter(pk=credential_id)
        if generation is not None:
            credentials = credentials.filter(token_generation=generation)
        marked = credentials.update(
            status=CredentialStatus.NEEDS_REAUTH,
            status_reason=reason,
            refresh_state=RefreshState.IDLE,
            last_refresh_error=reason,
            updated_at=now,
        )
        if not marked:
            return False
        # The prefix marks why: a new consent or successful refresh brings these connections back.
        connections_status_set(
            Connection.objects.filter(credential_id=credential_id, status=ConnectionStatus.ACTIVE),
            kind="needs_reauth",
            status=ConnectionStatus.NEEDS_REAUTH,
            status_reason=connection_reason_from_credential(reason),
            updated_at=now,
        )
    logger.warning("Credential %s needs re-authorisation: %s", credential_id, reason)
    return True


def credential_refresh_state_update(credential_id: Any, generation: int, **fields: Any) -> bool:
    """Write refresh bookkeeping in its own committed transaction, visible to every other process at once; only
    while the credential still holds the pair the refresh read (False: a newer pair was stored meanwhile)."""
    with transaction.atomic(durable=True):
        return bool(
            Credential.objects.filter(pk=credential_id, token_generation=generation).update(
                **fields, updated_at=timezone.now()
            )
        )


def credential_store_refreshed_pair(credential_id: Any, token_set: TokenSet, *, generation: int) -> bool:
    """Store the new pair in its own committed transaction before anyone uses it: the old refresh token is dead.

    Only `WHERE token_generation = generation`: False when another writer stored a newer pair meanwhile.
    """
    now = timezone.now()
    with transaction.atomic(durable=True):
        stored = Credential.objects.filter(pk=credential_id, token_generation=generation).update(
            **token_set_fields(token_set),
            last_refreshed_at=now,
            refresh_count=F("refresh_count") + 1,
            token_generation=F("token_generation") + 1,
            updated_at=now,
        )
        if stored:
            # Marked needs_reauth meanwhile (a process whose lock outlived ours): the chain lives, so do they.
            connections_reactivate(credential_id=credential_id)
    return bool(stored)


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
