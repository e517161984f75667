"""Reads served from the local store: whether a resource is ready, pages and single records, freshness.

A resource is read from the store once its first sync run completed (SyncState.first_completed_at); before that,
and with `?mode=live`, reads go to the vendor. Pages are keyset-paged on the record id (stable, indexed), filters
are indexed columns, soft-deleted records are never shown. No vendor call is made here.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connections
from django.db.models import TextField
from django.db.models.functions import Cast

from connectors.base.data import Resource
from gateway.api.problems import Problem
from gateway.statements import prepared_cursor
from tenants.models import Connection, Tenant, Workspace
from unified_models.store.models import StoredRecord, SyncState

STORE_CURSOR_PREFIX = "store:"


@dataclass(frozen=True)
class Freshness:
    """How fresh the stored copy of a resource is: the end of its last successful sync run."""

    synced_at: datetime | None


@dataclass(frozen=True)
class StoreCopy:
    """A workspace's connection whose copy of a resource reads can come from."""

    connection_id: uuid.UUID
    freshness: Freshness


def store_copy(*, workspace: Workspace, connection_id: str, resource: Resource) -> StoreCopy | None:
    """The caller's connection's copy of `resource` when reads can come from it, found without reading the
    connection: one statement, scoped to the workspace as `tenants.selectors.connection_get` scopes the connection
    (its workspace and its tenant's). None when the copy is not ready, or the connection is not the workspace's or
    not a connection id at all: the caller then reads the connection, which answers 404 or reads live.

    Every store read starts here, so the statement is written out once per process (`_store_copy_sql`) instead of
    being built by the ORM per request (building it cost about three times what PostgreSQL takes to answer it),
    and prepared once per database session (`gateway.statements.prepared_cursor`)."""
    try:
        connection_pk = uuid.UUID(str(connection_id))
    except ValueError:  # a malformed id is simply not found
        return None
    database = connections[SyncState.objects.db]
    field = Connection._meta.pk
    assert field is not None
    params = [
        field.get_db_prep_value(connection_pk, database),
        resource.value,
        field.get_db_prep_value(workspace.pk, database),
        field.get_db_prep_value(workspace.pk, database),
    ]
    if database.vendor != "postgresql":  # values as text: the ORM's converters make them a UUID and a datetime
        for state in SyncState.objects.raw(_store_copy_sql(database.vendor), params):
            return StoreCopy(connection_id=state.connection_id, freshness=Freshness(synced_at=state.last_success_at))
        return None
    with prepared_cursor(database) as cursor:  # psycopg answers a UUID and an aware datetime already
        cursor.execute(_store_copy_sql(database.vendor), params)
        row = cursor.fetchone()
    if row is None:
        return None
    return StoreCopy(connection_id=row[1], freshness=Freshness(synced_at=row[2]))


@cache
def _store_copy_sql(vendor: str) -> str:
    """store_copy's statement: the resource's sync state once its first run completed, of the given connection only
    when the connection and its tenant are both the workspace's. Every name from the models' metadata; every value
    a parameter."""
    quote = connections[SyncState.objects.db].ops.quote_name

    def column(model: Any, name: str) -> str:
        return quote(model._meta.get_field(name).column)

    states, connections_, tenants = (quote(model._meta.db_table) for model in (SyncState, Connection, Tenant))
    return (
        f"SELECT s.{column(SyncState, 'id')}, s.{column(SyncState, 'connection')},"  # noqa: S608 (names from the models' metadata, values as parameters)
        f" s.{column(SyncState, 'last_success_at')} FROM {states} s"
        f" INNER JOIN {connections_} c ON c.{column(Connection, 'id')} = s.{column(SyncState, 'connection')}"
        f" INNER JOIN {tenants} t ON t.{column(Tenant, 'id')} = c.{column(Connection, 'tenant')}"
        f" WHERE s.{column(SyncState, 'connection')} = %s AND s.{column(SyncState, 'resource')} = %s"
        f" AND s.{column(SyncState, 'first_completed_at')} IS NOT NULL"
        f" AND c.{column(Connection, 'workspace')} = %s AND t.{column(Tenant, 'workspace')} = %s"
    )


# The attribute a connection read with its store state carries: {resource value: whether it has a store copy}.
_STORE_COPY_KNOWN = "_store_copy_known"


def store_copy_known(connection: Connection, resource: Resource, *, has_copy: bool) -> None:
    """Note on this connection instance, read in this request, whether `resource` has a store copy."""
    known = connection.__dict__.setdefault(_STORE_COPY_KNOWN, {})
    known[resource.value] = has_copy


def store_copy_noted(connection: Connection, resource: Resource) -> bool | None:
    """What `store_copy_known` noted on this instance for `resource`; None when nothing was (ask the database)."""
    known: dict[str, bool] = connection.__dict__.get(_STORE_COPY_KNOWN, {})
    return known.get(resource.value)


@dataclass(frozen=True)
class StoredPage:
    # The page's records as the API shows them, as one JSON array: the stored JSON text of each row joined as it
    # comes from the database (a row is stored in the API's shape, so nothing is decoded or encoded again).
    results_json: str
    next_cursor: str | None  # the store's own position (the caller signs it)

    @property
    def results(self) -> list[dict[str, Any]]:
        return list(json.loads(self.results_json))


def _invalid_cursor() -> Problem:
    return Problem(
        status_code=400,
        code="invalid_cursor",
        title="Invalid cursor",
        detail="The cursor is not valid for this list; start again from the first page.",
        errors=[{"field": "cursor", "code": "invalid", "message": "Not a cursor issued by this API for this list."}],
    )


def store_cursor_position(cursor: str, filters: dict[str, str]) -> str:
    """The record id a store cursor continues after; 400 for a live cursor or one of other filters."""
    if not cursor.startswith(STORE_CURSOR_PREFIX):
        raise _invalid_cursor()
    try:
        payload = json.loads(cursor[len(STORE_CURSOR_PREFIX) :])
    except ValueError:
        raise _invalid_cursor() from None
    if not isinstance(payload, dict) or payload.get("f") != filters or not isinstance(payload.get("a"), str):
        raise _invalid_cursor()
    return str(payload["a"])


def stored_page(
    *,
    connection_id: uuid.UUID,
    resource: Resource,
    page_size: int,
    after: str | None = None,
    updated_after: datetime | None = None,
    include_remote_data: bool = False,
    filters: dict[str, str] | None = None,
) -> StoredPage:
    """One page of the stored copy in record-id order, after the record `after`."""
    filters = dict(filters or {})
    rows = StoredRecord.objects.filter(connection_id=connection_id, resource=resource.value, deleted_at__isnull=True)
    if "contact_id" in filters:
        rows = rows.filter(contact_id=filters["contact_id"])
    if updated_after is not None:
        rows = rows.filter(updated_at__gt=updated_after)
    if after is not None:
        rows = rows.filter(record_id__gt=after)
    texts: list[Any] = [Cast("data", TextField())]
    if include_remote_data:
        texts.append(Cast("remote_data", TextField()))
    found = list(rows.order_by("record_id").values_list("record_id", *texts)[: page_size + 1])
    more = len(found) > page_size
    found = found[:page_size]
    if include_remote_data:
        shown = [_with_remote_data(data, remote) for _, data, remote in found]
    else:
        shown = [data for _, data in found]
    next_cursor = None
    if more:
        position = json.dumps({"a": found[-1][0], "f": filters}, separators=(",", ":"), sort_keys=True)
        next_cursor = STORE_CURSOR_PREFIX + position
    return StoredPage(results_json="[" + ",".join(shown) + "]", next_cursor=next_cursor)


def _with_remote_data(data: str, remote_data: str | None) -> str:
    """The stored record's JSON text with `remote_data` added as its last member (JSON null when none is kept)."""
    body = data.rstrip()
    if not body.endswith("}"):
        raise ValueError("a stored record is a JSON object")
    head = body[:-1].rstrip()
    separator = "" if head.endswith("{") else ","
    return f'{head}{separator}"remote_data":{remote_data if remote_data is not None else "null"}}}'


def _shown(row: tuple[Any, ...], include_remote_data: bool) -> dict[str, Any]:
    data: dict[str, Any] = row[1]
    if include_remote_data:
        return {**data, "remote_data": row[2]}
    return data


def stored_record(
    *, connection_id: uuid.UUID, resource: Resource, record_id: str, include_remote_data: bool = False
) -> tuple[dict[str, Any] | None, bool]:
    """(the stored record or None, whether the store knows it was deleted)."""
    row = (
        StoredRecord.objects.filter(connection_id=connection_id, resource=resource.value, record_id=record_id)
        .values_list("record_id", "data", "remote_data", "deleted_at")
        .first()
    )
    if row is None:
        return None, False
    if row[3] is not None:
        return None, True
    return _shown(row[:3], include_remote_data), False


# ---------------------------------------------------------------------------------------------- sync status


def sync_status(*, connection: Connection) -> list[dict[str, Any]]:
    """Per resource the connector keeps a copy of: state, size, last success and error, a running run's progress."""
    from django.utils import timezone

    from connectors.registry import get_connector
    from unified_models.store.models import SyncRun, SyncRunState

    connector = get_connector(connection.connector)
    states = {state.resource: state for state in SyncState.objects.filter(connection=connection)}
    runs = {
        run.pk: run
        for run in SyncRun.objects.filter(pk__in=[s.current_run_id for s in states.values() if s.current_run_id])
    }
    now = timezone.now()
    resources = []
    for resource in Resource:
        if resource.value not in connector.sync_resources:
            continue
        state = states.get(resource.value)
        run = runs.get(state.current_run_id) if state is not None and state.current_run_id else None
        live_run = run is not None and run.state in (SyncRunState.QUEUED, SyncRunState.RUNNING)
        if state is None or (state.first_completed_at is None and not live_run and not state.last_error):
            shown = "never"
        elif live_run:
            shown = str(run.state)  # type: ignore[union-attr]
        elif state.last_error and (
            state.last_success_at is None or (state.last_error_at or now) > state.last_success_at
        ):
            shown = "failed"
        else:
            shown = "idle"
        resources.append(
            {
                "resource": resource.value,
                "state": shown,
                "reads_from_store": state is not None and state.first_completed_at is not None,
                "record_count": StoredRecord.objects.filter(
                    connection=connection, resource=resource.value, deleted_at__isnull=True
                ).count()
                if state is not None
                else 0,
                "last_success_at": state.last_success_at if state is not None else None,
                "last_error": (state.last_error or None) if state is not None else None,
                "last_error_at": state.last_error_at if state is not None else None,
                "running": _progress(run, now) if live_run else None,
            }
        )
    return resources


def _progress(run: Any, now: datetime) -> dict[str, Any]:
    left = None
    if run.rows_expected and run.started_at and run.rows:
        elapsed = (now - run.started_at).total_seconds()
        left = max(0.0, elapsed / run.rows * max(0, run.rows_expected - run.rows))
    return {
        "run_id": run.pk,
        "mode": run.mode,
        "state": run.state,
        "phase": run.phase,
        "started_at": run.started_at,
        "rows_done": run.rows,
        "rows_expected": run.rows_expected,
        "calls_used": run.calls,
        "estimated_seconds_left": left,
    }
