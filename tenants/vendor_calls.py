"""The per-connection call context every vendor call goes through: status gate, company, token, outcome.

`connection_context(connection)` gives a ConnectionCallContext that
- refuses disabled and needs_reauth connections (ConnectionNotUsable, no vendor call made);
- supplies the stored company (Exact: division), never the vendor's notion of a "current" one (picqer#470);
- supplies an access token from the token manager (tenants/credentials/refresh.py) and, on a 401, gets a
  replacement from it (one refresh under the credential's lock, at most one per cooldown) and retries once; a dead
  grant surfaces as needs_reauth, a vendor that says "too early" as TokenRefreshDeferred (retryable, with retry_at);
- turns a company-access refusal (Exact: 403 NoDivisionAccess) into needs_reauth on that connection only;
- records last_success_at / last_error_at / last_error on the connection, never with a token in it.

It satisfies connectors.base.data.CallContext: connectors make every request through `call(send)`, spend the
rate-limit budget of `app_client_id` (the credential's vendor app), and report each HTTP call to `record_call`,
which writes a tenants.CallLog row tagged with the current request id. Vendor specifics stay in the
connector: `get_json` asks it for a company-relative GET (`Connector.company_get_json`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from django.utils import timezone

from connectors.base.connector import Connector
from connectors.base.data import CallRecord
from connectors.base.errors import CompanyAccessDenied, ConnectionNotUsable, VendorAuthError, VendorError
from connectors.base.http import budget_answers_later
from connectors.registry import get_connector
from gateway.after_response import defer_until_answered, run_after_answer
from gateway.request_context import current_request_id, log_context_bind
from gateway.statements import insert_all, insert_row
from tenants.credentials import refresh
from tenants.models import CallLog, Connection, ConnectionStatus, Credential
from tenants.signals import connections_status_set

logger = logging.getLogger(__name__)

T = TypeVar("T")


# `Connection.last_success_at` is kept to the minute: writing it on every call would double the statements per call.
LAST_SUCCESS_RESOLUTION = timedelta(minutes=1)


class TokenProvider(Protocol):
    """What a vendor client needs for authorisation: a token now, and a replacement after a 401."""

    def access_token(self) -> str: ...

    def access_token_after_unauthorized(self, rejected_access_token: str) -> str: ...


@dataclass
class ConnectionCallContext:
    """Everything a vendor call for one connection needs; built fresh per call (status read from the database)."""

    connection_id: Any
    connector: Connector
    region: str
    company_id: str
    credential_id: Any
    app_client_id: str = ""  # the vendor app of the credential: rate-limit budgets are per app and company
    write_key: str = ""  # set for a dry run (connectors.base.data.CallContext.write_key)
    # The credential row read with the connection: the token comes from it without another read while it is fresh.
    credential: Credential | None = field(default=None, repr=False)
    last_success_at: datetime | None = None  # as read with the connection; written at most once a minute
    _tokens_seen: set[str] = field(default_factory=set, repr=False)

    # --- TokenProvider -----------------------------------------------------------------------------------
    def access_token(self) -> str:
        token = refresh.access_token_for(self.credential_id, loaded=self.credential)
        self._tokens_seen.add(token)
        return token

    def access_token_after_unauthorized(self, rejected_access_token: str) -> str:
        self.credential = None  # the row may be out of date now: read it again from here on
        token = refresh.access_token_after_unauthorized(self.credential_id, rejected_access_token=rejected_access_token)
        self._tokens_seen.add(token)
        return token

    # --- calls -----------------------------------------------------------------------------------------------
    def call(self, send: Callable[[str], T]) -> T:
        """Run `send(access_token)`; on a 401 get a replacement token once and retry once; record the outcome."""
        try:
            token = self.access_token()
            # In a request the budget reconcile's answer is read after the answer was sent (_keep_budget_answer);
            # the reconcile itself reaches Redis with the call.
            with budget_answers_later(_keep_budget_answer):
                try:
                    result = send(token)
                except CompanyAccessDenied:
                    raise
                except VendorAuthError as exc:
                    if exc.status != 401:
                        raise
                    # Revoked consent, clock skew, a token Exact invalidated or one its load balancers reject near
                    # its end (picqer#497): the token manager asks Exact once; a new pair gets one retry.
                    replacement = self.access_token_after_unauthorized(token)
                    result = send(replacement)
        except CompanyAccessDenied as exc:
            self._company_access_denied(exc)
            raise
        except VendorError as exc:  # includes ConnectionNotUsable from the token manager (needs_reauth)
            self._record_error(exc)
            raise
        self._record_success()
        return result

    def get_json(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """GET `path` relative to this connection's company (Exact: {division}/path), through `call`."""
        return self.connector.company_get_json(self, path, params=params)

    def record_call(self, record: CallRecord) -> None:
        """One vendor HTTP call in the connection's call log (no bodies, no tokens), tagged with the request id."""
        row = self.call_log_row(record)
        # A read request's rows are written after its answer was sent, all of them in one INSERT
        # (gateway/after_response.py says what a crash can cost); anywhere else one INSERT, committed at once (the
        # moment the answer came), without the ORM building it per call.
        if not defer_until_answered("call log", row, call_logs_write):
            insert_row(row)

    def call_log_row(self, record: CallRecord) -> CallLog:
        """The call-log row of `record`, unsaved (a write's is saved with its audit row: events.audit)."""
        return CallLog(
            connection_id=self.connection_id,
            method=record.method[:10],
            path=self._scrub(record.path)[:1000],
            status=record.status,
            duration_ms=max(0, record.duration_ms),
            rate_limit_remaining=record.daily_remaining,
            minutely_remaining=record.minutely_remaining,
            request_id=current_request_id()[:128],
            error=self._scrub(record.error)[:500],
        )

    def record_created(self, remote_id: str) -> None:
        """Nothing to keep outside a durable write; unified_models wraps this context to store it on the mutation."""

    # --- outcome bookkeeping -------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        # Vendor messages should never echo a token; make sure of it before storing or logging one.
        for token in self._tokens_seen:
            if token:
                text = text.replace(token, "***")
        return text

    def _record_success(self) -> None:
        now = timezone.now()
        if self.last_success_at is not None and now - self.last_success_at < LAST_SUCCESS_RESOLUTION:
            return  # written less than a minute ago: one statement per call is the call log row
        Connection.objects.filter(pk=self.connection_id).update(last_success_at=now)
        self.last_success_at = now

    def _record_error(self, exc: VendorError) -> None:
        message = self._scrub(f"{exc.__class__.__name__}: {exc.message}")[:500]
        now = timezone.now()
        Connection.objects.filter(pk=self.connection_id).update(last_error_at=now, last_error=message, updated_at=now)

    def _company_access_denied(self, exc: CompanyAccessDenied) -> None:
        reason = f"{exc.reason}: {self.connector.name} no longer grants access to company {self.company_id}"
        now = timezone.now()
        # Only this connection: the credential (and its other companies) may be perfectly fine.
        connections_status_set(
            Connection.objects.filter(pk=self.connection_id).exclude(
                status__in=(ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_REAUTH)
            ),
            kind="needs_reauth",
            status=ConnectionStatus.NEEDS_REAUTH,
            status_reason=reason[:500],
            last_error_at=now,
            last_error=self._scrub(f"{exc.__class__.__name__}: {exc.message}")[:500],
            updated_at=now,
        )
        logger.warning("Connection %s needs re-authorisation: %s", self.connection_id, reason)


def connection_context(connection: Connection | Any, *, current: bool = False) -> ConnectionCallContext:
    """The call context for a connection (or its id); raises ConnectionNotUsable unless it is active.

    The status is read as of now, not as the caller loaded it, unless `current`: the caller read this very row,
    with its credential (`select_related("credential")`), for the request or task in hand, so a second read
    would only repeat it.
    """
    if current and isinstance(connection, Connection) and Connection.credential.is_cached(connection):
        return _context_for(connection)
    connection_id = connection.pk if isinstance(connection, Connection) else connection
    return _context_for(Connection.objects.select_related("credential").get(pk=connection_id))


def _context_for(current: Connection) -> ConnectionCallContext:
    if current.status != ConnectionStatus.ACTIVE:
        raise ConnectionNotUsable(
            f"The connection is {current.status}" + (f": {current.status_reason}" if current.status_reason else "."),
            status_code=current.status,
            reason=current.status_reason,
        )
    if current.credential_id is None:
        raise ConnectionNotUsable(
            "The connection has no credentials; reconnect it.",
            status_code=ConnectionStatus.NEEDS_REAUTH,
            reason="no credentials",
        )
    log_context_bind(workspace_id=current.workspace_id, connection_id=current.pk)
    return ConnectionCallContext(
        connection_id=current.pk,
        connector=get_connector(current.connector),
        region=current.region,
        company_id=current.company_id,
        credential_id=current.credential_id,
        app_client_id=current.credential.client_id if current.credential is not None else "",
        credential=current.credential,
        last_success_at=current.last_success_at,
    )


def call_logs_write(rows: list[CallLog]) -> None:
    """Call-log rows held back until a read's answer was sent: one statement for all of them."""
    insert_all(*rows)


def _keep_budget_answer(read: Callable[[], None]) -> bool:
    """Read a budget reconcile's answer once the request's answer was sent (a job of its own, logged if it fails);
    outside a request it is read at once."""
    return run_after_answer("budget reconcile's answer", read)
