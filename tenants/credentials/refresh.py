"""The token manager: hands out fresh-enough access tokens and refreshes them safely across processes.

Exact's rules (connectors/exact/NOTES.md: OAuth and tokens; Known pain points) shape every line here, and any
vendor with rotating refresh tokens (AuthKind.OAUTH2_ROTATING) gets the same care:
- access tokens live 600 s, and a refresh before 570 s after the last issue is refused (and counts as an error);
- refresh tokens rotate and are single use: sending an old one gives 401 "Old refresh token used.";
- a lost token response may already have rotated the chain (dotnet#152), so the stored token may be dead;
- refresh tokens die after 30 days unused.

So: one refresh at a time per credential (one chain per app and user) under a distributed lock, re-read the
stored pair after taking it, record the attempt (committed) before sending, persist the new pair in its own
committed transaction before anyone uses it, and never retry a rejected or lost refresh blindly.

Timing comes from each token's own lifetime: a refresh is due in the last LEDGERBRIDGE_TOKEN_REFRESH_MARGIN
seconds before expiry and allowed from the earlier of that moment and the connector's minimum interval after
issue (its TokenTiming; Exact: 570 s, the same moment for its 600 s tokens).

A 401 on a token the gateway believes valid (consent revoked, clock skew, a token the vendor invalidated) means
that picture is wrong, so the vendor's answer to one refresh decides, whatever the 570 s estimate says: a new pair
(the call is retried once), a dead refresh token (needs_reauth with the vendor's reason), or "too early"
(TokenRefreshDeferred until the vendor allows a refresh; the refused token is not sent again). The attempt is made
under the lock and at most once per cooldown, so a storm of 401s costs one token call.

Every write is conditional on the credential's token_generation as read under the lock (tenants.credentials.store
does the writing): a new consent (saved under the same lock, bumping the generation) or another writer whose lock
outlived ours may have replaced the pair meanwhile. Then this refresh's outcome is stale: nothing is written, the
newer state is re-read and used.

An API key (AuthKind.API_KEY) never ages: it is handed out as stored, and a 401 on it means the vendor refuses
the key, so the credential needs a new one (needs_reauth) at once.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from connectors.base.connector import AuthKind, OAuth2Connector
from connectors.base.errors import (
    RefreshTokenRejected,
    TokenResponseLost,
    TooEarlyToRefresh,
    VendorError,
)
from connectors.base.types import AppCredentials, TokenSet
from connectors.registry import get_connector
from gateway.locks import LockHandle, LockTimeout
from gateway.metrics.instruments import token_refresh_observe
from tenants.credentials import crypto
from tenants.credentials.errors import CredentialNeedsReauth, TokenRefreshDeferred, TokenRefreshInTransaction
from tenants.credentials.locks import credential_lock
from tenants.credentials.store import (
    REASON_LOST_AND_ROTATED,
    credential_mark_needs_reauth,
    credential_refresh_state_update,
    credential_store_refreshed_pair,
    credential_tokens,
    vendor_app_for,
)
from tenants.models import Credential, CredentialStatus, RefreshState

logger = logging.getLogger(__name__)

# Why a refresh is attempted: due (last 30 s / expired), after a 401 on a token, or forced by the keep-alive.
RefreshMode = Literal["due", "unauthorized", "force"]


# ---------------------------------------------------------------------------------------------------- rules


def _refresh_margin() -> timedelta:
    # Exact: the last 30 s (leapforce refreshMargin, paddynatte _REFRESH_BUFFER_SECONDS); later risks a token that
    # "expires mid-request" (picqer#497).
    return timedelta(seconds=settings.LEDGERBRIDGE_TOKEN_REFRESH_MARGIN)


def refresh_due_at(credential: Credential) -> datetime:
    """When a refresh becomes useful: the last margin (30 s) of the access token's own lifetime."""
    return credential.access_token_expires_at - _refresh_margin()


def refresh_earliest_at(credential: Credential, *, min_interval: int) -> datetime:
    """The earliest refresh the vendor accepts: `min_interval` after issue (Exact: 570 s), or the refresh margin
    before expiry when the token lives shorter than that; for Exact's 600 s tokens both are 570 s after issue."""
    return min(credential.obtained_at + timedelta(seconds=min_interval), refresh_due_at(credential))


def refresh_allowed(credential: Credential, *, min_interval: int, now: datetime) -> bool:
    """Exact refuses a refresh within 570 s of the last issue (TooEarlyToRefreshTokens) and counts it as an error."""
    return now >= refresh_earliest_at(credential, min_interval=min_interval)


def _access_token_valid(credential: Credential, now: datetime) -> bool:
    return now < credential.access_token_expires_at


def _usable_token(credential: Credential, *, mode: RefreshMode, rejected: str | None, now: datetime) -> str | None:
    """The stored access token if it may go out now: still valid, and not the one the vendor just refused."""
    if not _access_token_valid(credential, now):
        return None
    stored = credential_tokens(credential).access_token
    if mode == "unauthorized" and stored == rejected:
        return None  # a second 401 on the same token counts against Exact's error limit
    return stored


def _refuse_open_transaction() -> None:
    # Django marks the atomic blocks a TestCase opens; only a caller's own block is a problem.
    connection = transaction.get_connection()
    if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
        raise TokenRefreshInTransaction(
            "Vendor tokens cannot be fetched inside transaction.atomic: a rotated refresh token must be committed "
            "on its own, or a rollback would lose the only valid one. Call the vendor outside the transaction."
        )


def _newer_state(credential_id: Any, *, mode: RefreshMode, rejected: str | None) -> str:
    """Another writer stored a newer pair (or retired the chain) while this refresh ran: use what is stored now."""
    credential = Credential.objects.get(pk=credential_id)
    logger.info("Credential %s: a newer token pair was stored meanwhile; using it", credential_id)
    _ensure_active(credential)
    usable = _usable_token(credential, mode=mode, rejected=rejected, now=timezone.now())
    if usable is not None:
        return usable
    raise TokenRefreshDeferred("The connection's tokens changed while refreshing; retry shortly.")


def _ensure_active(credential: Credential) -> None:
    if credential.status != CredentialStatus.ACTIVE:
        raise CredentialNeedsReauth(credential.status_reason or f"the credential is {credential.status}")


def _app_for(credential: Credential) -> AppCredentials:
    app = vendor_app_for(workspace=credential.workspace, connector_id=credential.connector)
    if app.client_id != credential.client_id:
        # The refresh token belongs to the app that issued it; another client id would only collect errors.
        credential_mark_needs_reauth(
            credential_id=credential.pk,
            reason="the workspace's vendor app registration changed (new client id)",
            generation=credential.token_generation,
        )
        raise CredentialNeedsReauth("the workspace's vendor app registration changed (new client id)")
    return app


def _refreshing_connector(credential: Credential) -> OAuth2Connector | None:
    """The credential's connector when its tokens refresh (OAuth 2); None for an API key, which never ages."""
    connector = get_connector(credential.connector)
    return connector if isinstance(connector, OAuth2Connector) else None


# ---------------------------------------------------------------------------------------------------- services


def access_token_for(credential_id: Any, *, loaded: Credential | None = None) -> str:
    """An access token fresh enough to use now; refreshes (once, under the lock) only when due and allowed.

    `loaded`: the credential row the caller read moments ago (the call context reads it with its connection), used
    instead of reading it again; a row that needs a refresh is read again under the lock anyway.
    Raises CredentialNeedsReauth, TokenRefreshDeferred (retryable), TokenResponseLost, VendorUnavailable,
    TokenRefreshInTransaction, or CredentialDecryptionError (a hard error on ciphertext no key opens).
    """
    _refuse_open_transaction()
    fresh = loaded is not None and loaded.pk == credential_id
    credential = loaded if fresh and loaded is not None else Credential.objects.get(pk=credential_id)
    _ensure_active(credential)
    connector = _refreshing_connector(credential)
    if connector is None:
        return decrypted_access_token(credential)  # an API key never ages
    # Before the last margin the token is valid (the margin is positive), and no refresh is useful yet.
    if credential.refresh_state == RefreshState.IDLE and timezone.now() < refresh_due_at(credential):
        return decrypted_access_token(credential)
    return _refresh_under_lock(credential_id, connector=connector, mode="due")


# Decrypted access tokens per (credential, token generation, ciphertext): each token is decrypted once per process.
_DECRYPTED: OrderedDict[tuple[Any, int, str], str] = OrderedDict()
_DECRYPTED_MAX = 1024


def decrypted_access_token(credential: Credential) -> str:
    """The credential's access token; decrypted once per process and token generation (a new pair is a new entry)."""
    key = (credential.pk, credential.token_generation, credential.access_token_encrypted)
    token = _DECRYPTED.get(key)
    if token is None:
        token = crypto.decrypt(credential.access_token_encrypted)
        _DECRYPTED[key] = token
        if len(_DECRYPTED) > _DECRYPTED_MAX:
            _DECRYPTED.popitem(last=False)
    return token


def access_token_after_unauthorized(credential_id: Any, *, rejected_access_token: str) -> str:
    """The vendor answered 401 to `rejected_access_token`, a token believed valid: a replacement to retry with.

    Another process may already have replaced it (use the stored one). Otherwise one refresh under the lock, even
    before the 570 s estimate: only the vendor's answer tells a revoked consent (CredentialNeedsReauth) from a
    token it invalidated while the chain lives (a new pair, or TokenRefreshDeferred when it says "too early").
    During the cooldown after such an attempt, TokenRefreshDeferred without a token call. A refused API key needs
    a new one: CredentialNeedsReauth at once.
    """
    _refuse_open_transaction()
    credential = Credential.objects.get(pk=credential_id)
    _ensure_active(credential)
    if credential_tokens(credential).access_token != rejected_access_token:
        return access_token_for(credential_id)
    connector = _refreshing_connector(credential)
    if connector is None:
        return _api_key_refused(credential)
    return _refresh_under_lock(credential_id, connector=connector, mode="unauthorized", rejected=rejected_access_token)


def force_refresh(credential_id: Any) -> bool:
    """Refresh now if the vendor allows it (keep-alive of idle credentials); False when skipped or just refreshed."""
    _refuse_open_transaction()
    credential = Credential.objects.get(pk=credential_id)
    if credential.status != CredentialStatus.ACTIVE:
        return False
    connector = _refreshing_connector(credential)
    if connector is None:
        return False  # an API key has nothing to keep alive
    min_interval = connector.token_timing().min_refresh_interval
    if not refresh_allowed(credential, min_interval=min_interval, now=timezone.now()):
        return False
    before = credential.obtained_at
    try:
        _refresh_under_lock(credential_id, connector=connector, mode="force")
    except TokenRefreshDeferred:
        return False
    return Credential.objects.filter(pk=credential_id, obtained_at__gt=before).exists()


def credential_keepalive_due(*, within: timedelta, now: datetime | None = None) -> QuerySet[Credential]:
    """Active credentials whose refresh token dies within `within` (Exact: 30 days after the last refresh).

    Only credentials some connection still uses: nobody would miss an orphan, and refreshing it forever would
    only spend the vendor's token-endpoint budget. What never expires (an API key) is never due.
    """
    now = now or timezone.now()
    return (
        Credential.objects.filter(
            status=CredentialStatus.ACTIVE, refresh_token_expires_at__lte=now + within, connections__isnull=False
        )
        .distinct()
        .order_by("refresh_token_expires_at")
    )


def _api_key_refused(credential: Credential) -> str:
    """The vendor answered 401 to the stored API key: it was revoked or replaced at the vendor."""
    reason = f"{get_connector(credential.connector).name} refused the API key"
    if credential_mark_needs_reauth(credential_id=credential.pk, reason=reason, generation=credential.token_generation):
        raise CredentialNeedsReauth(reason)
    return access_token_for(credential.pk)  # a new key was stored meanwhile


# ---------------------------------------------------------------------------------------------------- the refresh


def _refresh_under_lock(
    credential_id: Any, *, connector: OAuth2Connector, mode: RefreshMode, rejected: str | None = None
) -> str:
    try:
        with credential_lock(credential_id) as lock:
            return _refresh_locked(credential_id, connector=connector, mode=mode, rejected=rejected, lock=lock)
    except LockTimeout:
        # Another process is refreshing (or a consent is being saved): the current token may still do.
        credential = Credential.objects.get(pk=credential_id)
        _ensure_active(credential)
        usable = _usable_token(credential, mode=mode, rejected=rejected, now=timezone.now())
        if usable is not None:
            return usable
        raise TokenRefreshDeferred(
            "Another process is refreshing this connection's tokens and has not finished; retry shortly."
        ) from None


def _refresh_locked(
    credential_id: Any, *, connector: OAuth2Connector, mode: RefreshMode, rejected: str | None, lock: LockHandle
) -> str:
    # Re-read after taking the lock: another process may have refreshed (or failed) meanwhile.
    credential = Credential.objects.select_related("workspace").get(pk=credential_id)
    _ensure_active(credential)
    now = timezone.now()
    min_interval = connector.token_timing().min_refresh_interval

    if credential.refresh_state == RefreshState.IN_FLIGHT:
        # We hold the lock, so whoever recorded this attempt is gone (crashed, or its lock expired): the refresh
        # token may or may not have been rotated. Same situation as a lost answer.
        logger.warning("Credential %s: a refresh was left in flight by a process that is gone", credential_id)
        if not credential_refresh_state_update(
            credential_id,
            credential.token_generation,
            refresh_state=RefreshState.LOST,
            last_refresh_error="refresh left in flight by a lost process",
        ):
            return _newer_state(credential_id, mode=mode, rejected=rejected)
        credential.refresh_state = RefreshState.LOST

    if credential.refresh_state == RefreshState.LOST:
        return _probe_after_lost(credential, connector=connector, now=now, mode=mode, rejected=rejected, lock=lock)

    tokens = credential_tokens(credential)
    if mode == "due" and now < refresh_due_at(credential):
        return tokens.access_token  # another process refreshed while we waited
    if mode == "unauthorized" and tokens.access_token != rejected:
        return tokens.access_token  # another process replaced the refused token while we waited
    if mode == "force" and not refresh_allowed(credential, min_interval=min_interval, now=now):
        # Exact refuses (and counts) a refresh within 570 s; it happens when another process just refreshed.
        return tokens.access_token
    # Past this point a "due" refresh is always allowed (due comes at or after the earliest moment); a 401 asks
    # the vendor whatever our estimate says, because the 401 shows the estimate is wrong.
    if credential.refresh_not_before and now < credential.refresh_not_before:
        # Cooldown after a failed attempt: don't hammer the token endpoint (its errors count towards the limit).
        usable = _usable_token(credential, mode=mode, rejected=rejected, now=now)
        if usable is not None:
            return usable
        raise TokenRefreshDeferred(
            f"The last token refresh failed ({credential.last_refresh_error}); retrying after a cooldown.",
            retry_at=credential.refresh_not_before,
        )
    if mode == "unauthorized":
        logger.warning("Credential %s: the vendor refused an access token held valid; refreshing once", credential_id)
    return _send_refresh(
        credential,
        connector=connector,
        refresh_token=tokens.refresh_token,
        probe=False,
        mode=mode,
        rejected=rejected,
        lock=lock,
    )


def _probe_after_lost(
    credential: Credential,
    *,
    connector: OAuth2Connector,
    now: datetime,
    mode: RefreshMode,
    rejected: str | None,
    lock: LockHandle,
) -> str:
    """The last answer was lost: send the stored refresh token once, deliberately, to learn whether it still lives."""
    if credential.refresh_not_before and now < credential.refresh_not_before:
        raise TokenRefreshDeferred(
            "A token refresh answer was lost and the vendor could not be reached to check; retrying after a cooldown.",
            retry_at=credential.refresh_not_before,
        )
    logger.warning("Credential %s: probing the stored refresh token once after a lost answer", credential.pk)
    refresh_token = credential_tokens(credential).refresh_token
    return _send_refresh(
        credential,
        connector=connector,
        refresh_token=refresh_token,
        probe=True,
        mode=mode,
        rejected=rejected,
        lock=lock,
    )


@dataclass(frozen=True)
class _Attempt:
    """One refresh on its way to the vendor, with what the handler of its outcome needs."""

    credential: Credential  # as read under the lock: its token_generation conditions every write
    connector: OAuth2Connector
    mode: RefreshMode
    rejected: str | None
    probe: bool  # a deliberate probe of the stored refresh token after a lost answer
    started: datetime

    @property
    def cooldown_until(self) -> datetime:
        return self.started + timedelta(seconds=settings.LEDGERBRIDGE_TOKEN_REFRESH_COOLDOWN)

    @property
    def state_after_failure(self) -> RefreshState:
        # A failed probe leaves the chain as unknown as before: the next caller probes again after the cooldown.
        return RefreshState.LOST if self.probe else RefreshState.IDLE

    def usable_token(self) -> str | None:
        """The stored token if this call can still use it (never after a failed probe: it is the lost chain's)."""
        if self.probe:
            return None
        return _usable_token(self.credential, mode=self.mode, rejected=self.rejected, now=timezone.now())

    def newer_state(self) -> str:
        return _newer_state(self.credential.pk, mode=self.mode, rejected=self.rejected)

    def record_failure(self, error: str, **fields: Any) -> None:
        """The attempt failed: why, its cooldown and state, conditional on the generation it read."""
        why = "refresh after a 401 on an access token held valid: " if self.mode == "unauthorized" else ""
        # After a 401 the stored access token is dead to the vendor: sending it again would only add 401s towards
        # Exact's error limit (10 per endpoint per hour), so its recorded expiry becomes now.
        refused_token: dict[str, Any] = (
            {"access_token_expires_at": self.started}
            if self.mode == "unauthorized" and self.credential.access_token_expires_at > self.started
            else {}
        )
        credential_refresh_state_update(
            self.credential.pk,
            self.credential.token_generation,
            last_refresh_error=f"{why}{error}"[:500],
            **fields,
            **refused_token,
        )


def _send_refresh(
    credential: Credential,
    *,
    connector: OAuth2Connector,
    refresh_token: str,
    probe: bool,
    mode: RefreshMode,
    rejected: str | None,
    lock: LockHandle,
) -> str:
    """Send one refresh and hand its outcome to the handler for it."""
    app = _app_for(credential)
    if not lock.held():
        # Our lock expired (a slow database, a long pause): another process may be sending this very
        # single-use refresh token right now. Sending it too would kill the chain; stand back.
        logger.error("Credential %s: the refresh lock expired before sending; not sending", credential.pk)
        return _newer_state(credential.pk, mode=mode, rejected=rejected)
    attempt = _Attempt(credential, connector, mode, rejected, probe, started=timezone.now())
    # Record the attempt before sending, committed: if this process dies mid-call, the next one knows.
    if not credential_refresh_state_update(
        credential.pk,
        credential.token_generation,
        refresh_state=RefreshState.IN_FLIGHT,
        refresh_attempt_started_at=attempt.started,
    ):
        return attempt.newer_state()
    outcome = "failed"  # any exception not named below too
    try:
        token_set = connector.refresh_tokens(region=credential.region, app=app, refresh_token=refresh_token)
        outcome = "refreshed"
    except TokenResponseLost as exc:
        outcome = "lost"
        return _on_lost_answer(attempt, exc)
    except RefreshTokenRejected as exc:
        outcome = "needs_reauth"
        return _on_rejected(attempt, exc)
    except TooEarlyToRefresh as exc:
        outcome = "too_early"
        return _on_too_early(attempt, exc)
    except VendorError as exc:
        return _on_vendor_error(attempt, exc)
    finally:
        token_refresh_observe(connector=credential.connector, outcome=outcome)
    # Any other exception leaves the attempt "in flight": the next caller treats it as lost and probes once.
    return _on_new_pair(attempt, token_set, lock)


def _on_new_pair(attempt: _Attempt, token_set: TokenSet, lock: LockHandle) -> str:
    """The vendor issued a new pair: store it (if no newer one was stored meanwhile) before anyone uses it."""
    credential_id = attempt.credential.pk
    if not lock.held():
        # The answer came after our lock expired (LEDGERBRIDGE_TOKEN_LOCK_TIMEOUT too short for the token call):
        # the old refresh token is spent, so this pair is the chain unless someone stored a newer one since.
        # Dropping it would cost the connection for sure; the generation check below decides.
        logger.error("Credential %s: the refresh lock expired while the refresh was in flight", credential_id)
    if not credential_store_refreshed_pair(credential_id, token_set, generation=attempt.credential.token_generation):
        # A newer pair was stored while this refresh was in flight (a new consent retires the chain this refresh
        # came from): this pair is stale, the stored one is used.
        logger.warning("Credential %s: refreshed pair discarded, a newer pair was stored meanwhile", credential_id)
        return attempt.newer_state()
    repaired = " (repaired after a lost answer)" if attempt.probe else ""
    logger.info("Credential %s: tokens refreshed%s", credential_id, repaired)
    return token_set.access_token


def _on_lost_answer(attempt: _Attempt, exc: TokenResponseLost) -> str:
    """The refresh may have reached the vendor but its answer never came back."""
    if attempt.connector.info.auth is not AuthKind.OAUTH2_ROTATING:
        # A refresh token that does not rotate is still the chain: nothing was lost but this answer.
        return _on_vendor_error(attempt, exc)
    # The vendor may have rotated the chain already (dotnet#152): resending blindly could kill it; the next
    # caller probes once. A second loss during a probe waits for the cooldown before the next probe.
    attempt.record_failure(
        f"token response lost: {exc.message}",
        refresh_state=RefreshState.LOST,
        refresh_not_before=attempt.cooldown_until if attempt.probe else None,
    )
    logger.error("Credential %s: the token refresh answer was lost (%s)", attempt.credential.pk, exc.message)
    # Exact keeps the previous access token valid until it expires: this call can still go out.
    usable = _usable_token(attempt.credential, mode=attempt.mode, rejected=attempt.rejected, now=timezone.now())
    if usable is not None:
        return usable
    raise exc


def _on_rejected(attempt: _Attempt, exc: RefreshTokenRejected) -> str:
    """The refresh token is dead (rotated, expired, revoked): only the user can reconnect."""
    if attempt.probe:
        reason = f"{REASON_LOST_AND_ROTATED} ({exc.message})"
    else:
        reason = f"refresh token rejected: {exc.message} [{exc.reason}]"
    credential = attempt.credential
    marked = credential_mark_needs_reauth(
        credential_id=credential.pk, reason=reason, generation=credential.token_generation
    )
    if not marked:
        # Rejected because a new consent (or a writer whose lock outlived ours) replaced the chain meanwhile.
        return attempt.newer_state()
    raise CredentialNeedsReauth(reason) from None


def _on_too_early(attempt: _Attempt, exc: TooEarlyToRefresh) -> str:
    """The vendor refuses a refresh this soon: after a 401 (a token it invalidated while the chain lives) or clock
    skew. No loop: it counts from the chain's last issue, so the next attempt waits for that and the cooldown."""
    min_interval = attempt.connector.token_timing().min_refresh_interval
    retry_at = max(attempt.cooldown_until, attempt.credential.obtained_at + timedelta(seconds=min_interval))
    attempt.record_failure(exc.message, refresh_state=attempt.state_after_failure, refresh_not_before=retry_at)
    logger.error("Credential %s: the vendor refused a refresh as too early", attempt.credential.pk)
    usable = attempt.usable_token()
    if usable is not None:
        return usable
    raise TokenRefreshDeferred(f"{exc.message} Retry after {retry_at.isoformat()}.", retry_at=retry_at) from None


def _on_vendor_error(attempt: _Attempt, exc: VendorError) -> str:
    """Never reached the vendor, or it refused the request itself (5xx on the code grant, bad client): the
    refresh token is untouched. Cool down so a broken vendor is not hammered."""
    attempt.record_failure(
        f"{exc.__class__.__name__}: {exc.message}",
        refresh_state=attempt.state_after_failure,
        refresh_not_before=attempt.cooldown_until,
    )
    logger.warning("Credential %s: token refresh failed (%s)", attempt.credential.pk, exc.__class__.__name__)
    usable = attempt.usable_token()
    if usable is not None:
        return usable
    raise exc
