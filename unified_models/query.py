"""Query parameters of the unified record endpoints: `include`, `updated_after`, list filters (400 on bad input)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.request import Request

from gateway.api.problems import Problem

DEFAULT_PAGE_SIZE = 100
# `?mode=`: where reads come from. The local store by default once a resource's first sync completed; `live`
# reads from the vendor (costs its rate-limit budget).
STORE = "store"
LIVE = "live"


def _bad_query(field: str, message: str) -> Problem:
    return Problem(
        status_code=400,
        code="validation_error",
        title="Validation failed",
        detail=f"Invalid input in: {field}.",
        errors=[{"field": field, "code": "invalid", "message": message}],
    )


def validated(serializer_class: type[Any], data: Any, **kwargs: Any) -> Any:
    """A bound, valid serializer, or a problem naming every bad field by its dotted path (`lines.0.quantity`): 422
    `validation_error` for a body, 400 for query filters (NonEmptyQueryFilters raise InvalidQueryParameters)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer


def include_remote_data(request: Request) -> bool:
    """`?include=remote_data` (once): add the vendor's raw object to each record."""
    values = request.query_params.getlist("include")
    if not values:
        return False
    if values != ["remote_data"]:
        raise _bad_query("include", "Only `remote_data` can be included (once).")
    return True


def list_filters(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The list filters given; an empty one (`?contact_id=`) is refused, not read as "no filter"."""
    given = {name: request.query_params[name] for name in names if name in request.query_params}
    for name, value in given.items():
        if value == "":
            raise _bad_query(name, "Must not be empty; leave the parameter out.")
    return given


def updated_after(request: Request) -> datetime | None:
    """`updated_after` as an aware datetime (a date means its midnight; no zone means UTC), or None."""
    raw = request.query_params.get("updated_after")
    if raw is None:
        return None
    if raw == "":
        raise _bad_query("updated_after", "Must not be empty; leave the parameter out.")
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError:
        moment = None
    if moment is None:
        raise _bad_query("updated_after", "An ISO-8601 date-time such as 2025-03-01T00:00:00Z.")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def dry_run(request: Request) -> bool:
    """`?dry_run=true|false` on a write: check and translate it, answer the vendor payload, send nothing."""
    raw = request.query_params.get("dry_run")
    if raw is None:
        return False
    if raw not in ("true", "false"):
        raise _bad_query("dry_run", "`true` or `false`.")
    return raw == "true"


def read_mode(request: Request) -> str:
    """`?mode=store` (default) or `?mode=live` (once)."""
    values = request.query_params.getlist("mode")
    if not values:
        return STORE
    if len(values) != 1 or values[0] not in (STORE, LIVE):
        raise _bad_query("mode", "`store` (default) or `live` (once).")
    return values[0]
