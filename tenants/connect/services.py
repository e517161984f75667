"""The connect flow's steps as services: check a link, start consent, finish the callback, create connections.

Two ways in, as the connector declares (ConnectorInfo.auth): OAuth 2 (consent at the vendor, then its callback)
or an API key (checked through the connector, no redirect). Both end in the same company picker.

Nothing is written half-way: the callback only talks to the vendor and keeps the outcome (tokens encrypted) in
the browser session; connections and their credential are written in one transaction when the user has chosen.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.base.connector import ApiKeyConnector, Connector, OAuth2Connector
from connectors.base.errors import (
    CompanyAccessDenied,
    TokenResponseLost,
    VendorAuthError,
    VendorError,
    VendorRateLimited,
    VendorUnavailable,
)
from connectors.base.types import AppCredentials, Company, TokenSet, VendorUser
from connectors.registry import get_connector
from gateway.locks import LockTimeout
from tenants import keys
from tenants.connect.messages import API_KEY_REFUSED, API_KEY_UNCHECKED, VendorWords
from tenants.credentials import crypto
from tenants.credentials.consent import credential_save_from_consent
from tenants.credentials.errors import NoVendorApp
from tenants.credentials.locks import credential_consent_lock
from tenants.credentials.store import credential_store_consent, vendor_app_for
from tenants.models import (
    Connection,
    ConnectionStatus,
    ConnectLink,
    ConnectLinkStatus,
    Credential,
    CredentialStatus,
)
from tenants.signals import connection_lifecycle_send

logger = logging.getLogger(__name__)

# A chosen-but-not-confirmed consent waits this long in the session for the user to pick divisions.
PENDING_CHOICE_TTL = timedelta(minutes=30)


class FlowError(Exception):
    """A step failed; `code` is public (it travels to the SaaS in the redirect), `consume` ends the link."""

    def __init__(self, code: str, *, link: ConnectLink | None, consume: bool = True, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code
        self.link = link
        self.consume = consume
        self.detail = detail


class ApiKeyNotAccepted(Exception):
    """The API key could not be used (refused, or not checkable now); the link stays usable for another try."""

    def __init__(self, message: str, *, http_status: int) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


@dataclass(frozen=True)
class PendingConsent:
    """What the callback (or the API-key step) learned, kept in the browser session until the user picks companies.

    Either the new token pair or API key (first consent of this vendor user: nothing is stored yet) or, once the
    pair has been stored on the user's existing credential at the callback, only that credential's id: the stored pair
    moves on (refreshes by sibling connections) while the user chooses, so a copy in the session goes stale.
    """

    link_id: str
    region: str
    vendor_user: VendorUser
    token_set: TokenSet | None
    companies: list[Company]
    preselected: list[str]
    received_at: datetime
    credential_id: str | None = None

    def to_session(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "link_id": self.link_id,
            "region": self.region,
            "vendor_user": asdict(self.vendor_user),
            "credential_id": self.credential_id,
            "companies": [asdict(company) for company in self.companies],
            "preselected": self.preselected,
            "received_at": self.received_at.isoformat(),
        }
        if self.token_set is not None:
            # Tokens never sit in the session store in clear text: they are encrypted like stored credentials.
            tokens = json.dumps({"a": self.token_set.access_token, "r": self.token_set.refresh_token})
            lifetime = self.token_set.refresh_token_lifetime
            data.update(
                tokens=crypto.encrypt(tokens),
                obtained_at=self.token_set.obtained_at.isoformat(),
                expires_in=self.token_set.expires_in,
                refresh_lifetime=lifetime.total_seconds() if lifetime is not None else None,
            )
        return data

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> PendingConsent:
        token_set = None
        if data.get("tokens"):
            tokens = json.loads(crypto.decrypt(data["tokens"]))
            expires_in, lifetime = data["expires_in"], data["refresh_lifetime"]
            token_set = TokenSet(
                access_token=tokens["a"],
                refresh_token=tokens["r"],
                obtained_at=datetime.fromisoformat(data["obtained_at"]),
                expires_in=int(expires_in) if expires_in is not None else None,
                refresh_token_lifetime=timedelta(seconds=float(lifetime)) if lifetime is not None else None,
            )
        return cls(
            link_id=data["link_id"],
            region=data["region"],
            vendor_user=VendorUser(**data["vendor_user"]),
            token_set=token_set,
            companies=[Company(**company) for company in data["companies"]],
            preselected=list(data["preselected"]),
            received_at=datetime.fromisoformat(data["received_at"]),
            credential_id=data.get("credential_id"),
        )

    def __repr__(self) -> str:
        return f"PendingConsent(link_id={self.link_id}, companies={len(self.companies)})"


def callback_url() -> str:
    """The one OAuth redirect URI registered with vendors (the route is always /connect/callback)."""
    return settings.LEDGERBRIDGE_OAUTH_REDIRECT_URI or f"{settings.LEDGERBRIDGE_PUBLIC_URL}/connect/callback"


def hash_state(state: str) -> str:
    return keys.hash_key(state)


def outcome_url(link: ConnectLink, *, connection_ids: list[str] | None = None, error: str | None = None) -> str:
    """The SaaS's redirect_url with the outcome appended; its own query parameters are kept."""
    parts = urlsplit(link.redirect_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in _OUTCOME_PARAMS]
    if error is None:
        query += [("status", "success"), ("connection_ids", ",".join(connection_ids or []))]
    else:
        query += [("status", "error"), ("error", error)]
    query.append(("link_id", str(link.pk)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


_OUTCOME_PARAMS = frozenset({"status", "connection_ids", "error", "link_id"})


def _oauth_connector(link: ConnectLink) -> OAuth2Connector:
    connector = get_connector(link.connector)
    if not isinstance(connector, OAuth2Connector):
        # The pages only offer consent for OAuth connectors; a hand-made request gets nowhere.
        raise FlowError("consent_failed", link=link, consume=False, detail=f"{link.connector} has no OAuth consent")
    return connector


def region_is_valid(connector: Connector, region: str) -> bool:
    """One of the connector's regions, or "" for a connector without regions."""
    regions = connector.regions()
    return region in regions if regions else region == ""


def link_region(link: ConnectLink) -> str:
    """The region preset by the SaaS (or by the connection a repair link is for); empty when the user chooses."""
    if link.region:
        return link.region
    if link.repair_connection is not None:
        return link.repair_connection.region
    return ""


def link_check_usable(link: ConnectLink | None) -> ConnectLink:
    """The link if the flow may go on with it; FlowError otherwise."""
    if link is None:
        raise FlowError("link_not_found", link=None)
    if link.status != ConnectLinkStatus.PENDING:
        # Already completed or failed: tell the SaaS, but never overwrite the outcome it already got.
        raise FlowError("link_used", link=link, consume=False)
    if link.expires_at <= timezone.now():
        raise FlowError("link_expired", link=link)
    return link


def connect_link_fail(*, link: ConnectLink, error_code: str) -> bool:
    """End a pending link as failed; False when it had already ended (the first outcome stands)."""
    ended = ConnectLink.objects.filter(pk=link.pk, status=ConnectLinkStatus.PENDING).update(
        status=ConnectLinkStatus.FAILED, error_code=error_code, completed_at=timezone.now()
    )
    if ended:
        link.status, link.error_code = ConnectLinkStatus.FAILED, error_code
    return bool(ended)


@dataclass(frozen=True)
class ConsentStart:
    authorization_url: str
    state: str

    def __repr__(self) -> str:
        return "ConsentStart(***)"


def connect_consent_start(*, link: ConnectLink, region: str) -> ConsentStart:
    """Bind a fresh single-use `state` to the link and build the vendor's consent URL."""
    link_check_usable(link)
    connector = _oauth_connector(link)
    if not region_is_valid(connector, region):
        raise FlowError("invalid_region", link=link, consume=False)
    try:
        app = vendor_app_for(workspace=link.workspace, connector_id=link.connector)
    except NoVendorApp:
        raise FlowError("vendor_not_configured", link=link) from None
    state = secrets.token_urlsafe(32)
    # Starting again (back button, second tab) replaces the state: only the newest consent may come back.
    updated = ConnectLink.objects.filter(pk=link.pk, status=ConnectLinkStatus.PENDING).update(
        oauth_state_hash=hash_state(state), oauth_state_used_at=None
    )
    if not updated:
        raise FlowError("link_used", link=link, consume=False)
    url = connector.authorization_url(region=region, app=app, redirect_uri=callback_url(), state=state)
    return ConsentStart(authorization_url=url, state=state)


def connect_state_claim(*, link: ConnectLink, state: str, session_state_hash: str | None) -> None:
    """Check the callback's state against the browser session and spend it; FlowError on any mismatch."""
    if link.oauth_state_used_at is not None:
        raise FlowError("state_reused", link=link, consume=False)
    if not session_state_hash or not hmac.compare_digest(session_state_hash, hash_state(state)):
        # Another browser (or a forged callback): the consent cannot be trusted to belong to this link's user.
        ConnectLink.objects.filter(pk=link.pk, oauth_state_used_at__isnull=True).update(
            oauth_state_used_at=timezone.now()
        )
        raise FlowError("state_mismatch", link=link)
    claimed = ConnectLink.objects.filter(pk=link.pk, oauth_state_used_at__isnull=True).update(
        oauth_state_used_at=timezone.now()
    )
    if not claimed:  # a concurrent replay won the race
        raise FlowError("state_reused", link=link, consume=False)


def connect_consent_finish(*, link: ConnectLink, region: str, code: str) -> PendingConsent:
    """Exchange the code, learn who consented and which divisions the grant covers. Writes no connection."""
    connector = _oauth_connector(link)
    try:
        app = vendor_app_for(workspace=link.workspace, connector_id=link.connector)
    except NoVendorApp:
        raise FlowError("vendor_not_configured", link=link) from None
    try:
        token_set = connector.exchange_code(region=region, app=app, code=code, redirect_uri=callback_url())
    except (VendorUnavailable, VendorRateLimited) as exc:
        raise FlowError("vendor_unavailable", link=link, detail=exc.message) from None
    except (VendorAuthError, TokenResponseLost, VendorError) as exc:
        raise FlowError("token_exchange_failed", link=link, detail=exc.message) from None
    try:
        vendor_user = connector.current_user(region=region, access_token=token_set.access_token)
    except (VendorUnavailable, VendorRateLimited) as exc:
        raise FlowError("vendor_unavailable", link=link, detail=exc.message) from None
    except VendorError as exc:
        raise FlowError("vendor_error", link=link, detail=exc.message) from None
    # Exact keeps one refresh-token chain per app and user, and this exchange just retired the previous one:
    # a user who already connected other divisions must get the new pair now, whatever happens next.
    credential_id = _repair_existing_credential(
        link=link, region=region, app_client_id=app.client_id, vendor_user=vendor_user, token_set=token_set
    )
    companies, preselected = _granted_companies(
        link=link, connector=connector, region=region, access_token=token_set.access_token, vendor_user=vendor_user
    )
    return PendingConsent(
        link_id=str(link.pk),
        region=region,
        vendor_user=vendor_user,
        # Once stored, the pair lives on the credential only: the session keeps its id.
        token_set=None if credential_id is not None else token_set,
        companies=companies,
        preselected=preselected,
        received_at=timezone.now(),
        credential_id=credential_id,
    )


def connect_api_key_finish(*, link: ConnectLink, region: str, api_key: str) -> PendingConsent:
    """Check an API key through the connector and learn which companies it opens. Writes nothing.

    ApiKeyNotAccepted when the vendor refuses the key or cannot check it now (the user may try again);
    FlowError for what ends the flow.
    """
    link_check_usable(link)
    connector = get_connector(link.connector)
    if not isinstance(connector, ApiKeyConnector):
        raise FlowError("consent_failed", link=link, consume=False, detail=f"{link.connector} takes no API key")
    if not region_is_valid(connector, region):
        raise FlowError("invalid_region", link=link, consume=False)
    words = VendorWords.of(connector)
    try:
        vendor_user = connector.check_api_key(region=region, api_key=api_key)
    except VendorAuthError:
        raise ApiKeyNotAccepted(API_KEY_REFUSED.format(vendor=words.vendor), http_status=400) from None
    except VendorError:
        raise ApiKeyNotAccepted(API_KEY_UNCHECKED.format(vendor=words.vendor), http_status=502) from None
    token_set = TokenSet.for_api_key(api_key, obtained_at=timezone.now())
    companies, preselected = _granted_companies(
        link=link, connector=connector, region=region, access_token=api_key, vendor_user=vendor_user
    )
    return PendingConsent(
        link_id=str(link.pk),
        region=region,
        vendor_user=vendor_user,
        token_set=token_set,
        companies=companies,
        preselected=preselected,
        received_at=timezone.now(),
    )


def _granted_companies(
    *, link: ConnectLink, connector: Connector, region: str, access_token: str, vendor_user: VendorUser
) -> tuple[list[Company], list[str]]:
    """The companies the grant covers, by name, and those to preselect (the repaired one, else the user's own)."""
    try:
        companies = connector.list_companies(
            region=region, access_token=access_token, hint_company_id=vendor_user.default_company_id
        )
    except CompanyAccessDenied:
        # Exact lists divisions only through a division in the URL; CurrentDivision (the one open in Exact's UI)
        # may not be among those granted (picqer#470), and no other granted division is known to us.
        raise FlowError("current_division_not_granted", link=link) from None
    except (VendorUnavailable, VendorRateLimited) as exc:
        raise FlowError("vendor_unavailable", link=link, detail=exc.message) from None
    except VendorError as exc:
        raise FlowError("vendor_error", link=link, detail=exc.message) from None
    if not companies:
        raise FlowError("no_division_granted", link=link)
    known = {company.company_id for company in companies}
    if link.repair_connection is not None and link.repair_connection.company_id in known:
        preselected = [link.repair_connection.company_id]
    elif vendor_user.default_company_id in known:
        preselected = [str(vendor_user.default_company_id)]
    else:
        preselected = []
    return sorted(companies, key=lambda company: company.name.lower()), preselected


def _repair_existing_credential(
    *, link: ConnectLink, region: str, app_client_id: str, vendor_user: VendorUser, token_set: TokenSet
) -> str | None:
    """Store the new pair on the user's existing credential now; its id, or None when there is none yet."""
    exists = Credential.objects.filter(
        workspace=link.workspace,
        connector=link.connector,
        region=region,
        client_id=app_client_id,
        vendor_user_id=vendor_user.user_id,
    ).exists()
    if not exists:
        return None
    try:
        credential = credential_save_from_consent(
            workspace=link.workspace,
            connector_id=link.connector,
            region=region,
            app=vendor_app_for(workspace=link.workspace, connector_id=link.connector),
            vendor_user=vendor_user,
            token_set=token_set,
        )
    except LockTimeout:
        # A refresh holds the chain's lock for long: keep the pair in the session, connect_complete stores it.
        logger.warning("connect link %s: the credential's refresh lock is busy; the new pair waits", link.pk)
        return None
    return str(credential.pk)


def _consented_credential(*, link: ConnectLink, pending: PendingConsent, app: AppCredentials | None) -> Credential:
    """The credential the chosen divisions will share: the one the callback stored, or the session's pair saved now."""
    if pending.credential_id is not None:
        credential = (
            Credential.objects.select_for_update()
            .filter(
                pk=pending.credential_id,
                workspace=link.workspace,
                connector=link.connector,
                region=pending.region,
                vendor_user_id=pending.vendor_user.user_id,
            )
            .first()
        )
        if credential is None or credential.status != CredentialStatus.ACTIVE:
            # Deleted, or its chain died while the user was choosing: only a new sign-in helps.
            raise FlowError("consent_expired", link=link, consume=False)
        return credential
    if pending.token_set is None:
        raise FlowError("session_expired", link=link, consume=False)
    return credential_store_consent(  # under credential_consent_lock, taken by connect_complete
        workspace=link.workspace,
        connector_id=link.connector,
        region=pending.region,
        app=app,
        vendor_user=pending.vendor_user,
        token_set=pending.token_set,
    )


def _connection_consented(connection: Connection, *, company: Company, credential: Credential) -> None:
    connection.company_name = company.name
    connection.credential = credential
    connection.status = ConnectionStatus.ACTIVE
    connection.status_reason = ""


def connect_complete(*, link_id: str, pending: PendingConsent, company_ids: list[str]) -> list[Connection]:
    """One connection per chosen division, all sharing the consenting user's credential, in one transaction.

    A division the tenant already has a connection for (needs_reauth, a repair link, or simply connected again)
    is repaired in place: same id, status active, the new credential.
    """
    if timezone.now() - pending.received_at > PENDING_CHOICE_TTL:
        raise FlowError("link_expired", link=ConnectLink.objects.filter(pk=link_id).first())
    companies = {company.company_id: company for company in pending.companies}
    chosen = [companies[company_id] for company_id in dict.fromkeys(company_ids) if company_id in companies]
    if not chosen:
        raise FlowError("no_division_chosen", link=None, consume=False)
    first_look = ConnectLink.objects.select_related("workspace").filter(pk=link_id).first()
    if first_look is None:
        raise FlowError("link_not_found", link=None)
    app: AppCredentials | None = None  # an API key belongs to no app
    if get_connector(first_look.connector).info.auth.is_oauth:
        try:
            app = vendor_app_for(workspace=first_look.workspace, connector_id=first_look.connector)
        except NoVendorApp:
            raise FlowError("vendor_not_configured", link=first_look) from None
    # Writing a pair takes the credential's refresh lock, outside the transaction so it covers the commit.
    chain_lock: AbstractContextManager[None] = (
        nullcontext()
        if pending.token_set is None
        else credential_consent_lock(
            workspace=first_look.workspace,
            connector_id=first_look.connector,
            region=pending.region,
            client_id=app.client_id if app is not None else "",
            vendor_user_id=pending.vendor_user.user_id,
        )
    )
    try:
        with chain_lock, transaction.atomic():
            return _complete_locked(link_id=link_id, pending=pending, chosen=chosen, app=app)
    except LockTimeout:
        raise FlowError("try_again", link=first_look, consume=False) from None
    except IntegrityError:
        # A race the savepoints below do not settle: nothing was written; the user may simply confirm again.
        logger.warning("connect link %s: a concurrent write won; asking the user to retry", link_id)
        raise FlowError("try_again", link=first_look, consume=False) from None


def _complete_locked(
    *, link_id: str, pending: PendingConsent, chosen: list[Company], app: AppCredentials | None
) -> list[Connection]:
    """connect_complete inside its transaction (and, when a pair is written, the credential's refresh lock)."""
    link = ConnectLink.objects.select_for_update().select_related("workspace", "tenant").filter(pk=link_id).first()
    if link is None:
        raise FlowError("link_not_found", link=None)
    if link.status != ConnectLinkStatus.PENDING:
        raise FlowError("link_used", link=link, consume=False)
    credential = _consented_credential(link=link, pending=pending, app=app)
    now = timezone.now()
    connections: list[Connection] = []
    for company in chosen:
        existing = Connection.objects.select_for_update().filter(
            tenant=link.tenant, connector=link.connector, region=pending.region, company_id=company.company_id
        )
        connection = existing.first()
        if connection is None:
            connection = Connection(
                workspace=link.workspace,
                tenant=link.tenant,
                connector=link.connector,
                region=pending.region,
                company_id=company.company_id,
                connected_at=now,
            )
            _connection_consented(connection, company=company, credential=credential)
            try:
                with transaction.atomic():  # a savepoint: losing the insert race leaves the transaction usable
                    connection.save(force_insert=True)
            except IntegrityError:
                # Another link of this tenant connected the same division a moment ago: repair that row instead.
                connection = existing.first()  # type: ignore[assignment]
                if connection is None:
                    raise
            else:
                connections.append(connection)
                connection_lifecycle_send("created", [connection])
                continue
        was_usable = connection.status == ConnectionStatus.ACTIVE
        _connection_consented(connection, company=company, credential=credential)
        connection.save()
        connections.append(connection)
        if not was_usable:
            connection_lifecycle_send("reactivated", [connection])
    link.status = ConnectLinkStatus.COMPLETED
    link.completed_at = now
    link.error_code = ""
    link.save(update_fields=["status", "completed_at", "error_code"])
    return connections
