"""Exact's REST resources over the sandbox store: routing, OData paging and rendering, writes."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote
from uuid import NAMESPACE_URL, UUID, uuid5

from werkzeug.wrappers import Request, Response

from connectors.exact.sandbox import writes
from connectors.exact.sandbox.atom import parse_atom_entry, render_atom_entry, render_atom_feed, render_metadata
from connectors.exact.sandbox.context import RequestContext
from connectors.exact.sandbox.entities import (
    ENTITY_SETS,
    EntitySet,
    Extractor,
    deleted_extractor,
    dict_extractor,
    flat_invoice_extractor,
    table_extractor,
)
from connectors.exact.sandbox.errors import exact_error
from connectors.exact.sandbox.odata import (
    AMSTERDAM,
    ODataError,
    QueryOptions,
    evaluate,
    filter_fields,
    format_json_date,
    format_key,
    lower_bound,
    parse_filter,
    parse_key,
    parse_options,
    parse_skiptoken,
    to_wall,
)
from connectors.exact.sandbox.store import DivisionStore, DuplicateKeyError, Row

SELECT_OR_TOP = "Please add a $select or a $top=1 statement to the query string."
BULK_SELECT_REQUIRED = (
    "It is mandatory to provide the $select query option with a selection of one or more of the resource properties."
)
# Exact's words (picqer#591), followed by the comma-separated fields without a space after the colon.
MANDATORY_FILTER = (
    "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter parameter "
    "with one of the following fields in the url:"
)
# Longest paths first so sync/SalesInvoice/SalesInvoices wins over shorter prefixes.
_PATHS = sorted(ENTITY_SETS, key=len, reverse=True)


@dataclass(frozen=True)
class Route:
    entity: EntitySet
    key: Any = None
    navigation: str | None = None
    count: bool = False


def dispatch(ctx: RequestContext, request: Request, path: str) -> Response:
    """Answer one data request; `path` follows /api/v1/ with the division segment removed."""
    try:
        if path.strip("/").endswith("/$metadata"):
            if request.method.upper() != "GET":
                return exact_error(405, "Method not allowed", headers={"Allow": "GET"})
            return _metadata(ctx, path.strip("/")[: -len("/$metadata")])
        route = _route(ctx, path)
        method = request.method.upper()
        if method not in route.entity.methods or (route.navigation and method != "GET"):
            return exact_error(405, "Method not allowed", headers={"Allow": ", ".join(sorted(route.entity.methods))})
        if method == "GET":
            with ctx.world.lock:
                return _get(ctx, request, route)
        return _write(ctx, request, route, method)
    except ODataError as error:
        return exact_error(error.status, error.messages)
    except DuplicateKeyError:
        # The write rules check client-chosen keys first; this is only a safety net.
        return exact_error(400, "Bestaat reeds: ID")


def _route(ctx: RequestContext, path: str) -> Route:
    path = path.strip("/")
    count = path.endswith("/$count")
    if count:
        path = path[: -len("/$count")]
    for candidate in _PATHS:
        if path == candidate:
            entity = ENTITY_SETS[candidate]
            break
        if path.startswith(candidate + "("):
            entity = ENTITY_SETS[candidate]
            break
    else:
        segment = path.rsplit("/", 1)[-1] or path
        raise ODataError(f"Resource not found for the segment '{segment}'.", status=404)
    if (entity.kind == "me") != (ctx.division is None):
        raise ODataError(f"Resource not found for the segment '{entity.path.rsplit('/', 1)[-1]}'.", status=404)
    rest = path[len(entity.path) :]
    if not rest:
        return Route(entity, count=count)
    close = rest.find(")")
    if not rest.startswith("(") or close < 0:
        raise ODataError(f"Resource not found for the segment '{rest}'.", status=404)
    key = parse_key(rest[1:close], entity.key_type)
    after = rest[close + 1 :].lstrip("/")
    if after:
        if after not in entity.navigations:
            raise ODataError(f"Resource not found for the segment '{after}'.", status=404)
        return Route(entity, key, after, count=count)
    if count:
        raise ODataError("Bad Request - $count is not supported on a single entity.")
    return Route(entity, key)


def _store(ctx: RequestContext) -> DivisionStore:
    assert ctx.division is not None
    return ctx.division.store


def _wants_json(request: Request) -> bool:
    # Exact answers Atom XML unless asked for JSON (KB: "Send Accept: application/json").
    fmt = request.args.get("$format")
    if fmt:
        return fmt.lower() == "json"
    return "application/json" in request.headers.get("Accept", "")


def _prefix(ctx: RequestContext) -> str:
    # current/Me has no division segment: its entity path already starts with "current/".
    if ctx.division is None:
        return f"{ctx.base_url}/api/v1"
    return f"{ctx.base_url}/api/v1/{ctx.division.code}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_json_date(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(value)


def _json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload, default=_json_default, ensure_ascii=False, separators=(",", ":")),
        status=status,
        headers=headers or {},
        content_type="application/json; charset=utf-8",
    )


# ------------------------------------------------------------------------------------------ sources


class Source:
    """How an entity set's rows are found, ordered and read."""

    def __init__(self, ctx: RequestContext | None, entity: EntitySet, store: DivisionStore | None) -> None:
        self.ctx = ctx
        self.entity = entity
        self.store = store
        self._extractors: dict[str, Extractor] = {}

    def extractor(self, name: str) -> Extractor:
        found = self._extractors.get(name)
        if found is None:
            edm = self.entity.property_map[name].edm
            found = self._extractors[name] = self._make_extractor(name, edm)
        return found

    def _make_extractor(self, name: str, edm: str) -> Extractor:
        assert self.store is not None and self.entity.table is not None
        return table_extractor(self.store, self.entity.table, name, edm)

    def key_of(self, row: Any) -> Any:
        return self.extractor(self.entity.key)(row)

    def rows_after(self, after: Any, lower: int | None) -> Iterator[Any]:
        """Rows in the endpoint's natural order whose key sorts after `after` (None: from the start)."""
        assert self.store is not None and self.entity.table is not None
        table = self.store.tables[self.entity.table]
        keys = table.sorted_keys()
        start = bisect_right(keys, after) if after is not None else 0
        rows = table.rows
        return (rows[key] for key in keys[start:])

    def get(self, key: Any) -> Any:
        assert self.store is not None and self.entity.table is not None
        return self.store.tables[self.entity.table].rows.get(key)

    def children(self, parent: Any) -> list[Any]:
        assert self.store is not None and self.entity.table is not None
        table = self.store.tables[self.entity.table]
        return [table.rows[k] for k in (table.children or {}).get(parent, [])]


class SyncSource(Source):
    """sync/… endpoints: rows in Timestamp order from the table's append-only feed."""

    def _make_extractor(self, name: str, edm: str) -> Extractor:
        assert self.store is not None
        if self.entity.table == "SalesInvoiceLines":
            return flat_invoice_extractor(self.store, name, edm)
        return super()._make_extractor(name, edm)

    def rows_after(self, after: Any, lower: int | None) -> Iterator[Any]:
        assert self.store is not None and self.entity.table is not None
        table = self.store.tables[self.entity.table]
        assert table.feed is not None
        start = max(v for v in (after, lower, -1) if v is not None)
        timestamp_of = table.getter("Timestamp")
        flat = self.entity.table == "SalesInvoiceLines"
        invoices = self.store.tables["SalesInvoices"].rows
        invoice_of = table.getter("InvoiceID")
        rows = table.rows
        for timestamp, key in table.feed.after(start):
            row = rows.get(key)
            if row is None or timestamp_of(row) != timestamp:
                continue  # deleted, or superseded by a later write
            yield (invoices[invoice_of(row)], row) if flat else row

    def get(self, key: Any) -> Any:
        for row in self.rows_after(key - 1, None):
            return row if self.key_of(row) == key else None
        return None


class DeletedSource(Source):
    def _make_extractor(self, name: str, edm: str) -> Extractor:
        assert self.store is not None
        return deleted_extractor(self.store, name)

    def rows_after(self, after: Any, lower: int | None) -> Iterator[Any]:
        assert self.store is not None
        start = max(v for v in (after, lower, -1) if v is not None)
        index = bisect_right(self.store.deleted_timestamps, start)
        return iter(self.store.deleted[index:])

    def get(self, key: Any) -> Any:
        assert self.store is not None
        index = bisect_right(self.store.deleted_timestamps, key - 1)
        if index < len(self.store.deleted) and self.store.deleted[index][0] == key:
            return self.store.deleted[index]
        return None


class DictSource(Source):
    """current/Me and system/Divisions: rows built from the platform's users and divisions."""

    def __init__(self, ctx: RequestContext, entity: EntitySet, rows: list[dict[str, Any]]) -> None:
        super().__init__(ctx, entity, None)
        self.rows = sorted(rows, key=lambda r: r[entity.key])

    def _make_extractor(self, name: str, edm: str) -> Extractor:
        return dict_extractor(name, edm)

    def rows_after(self, after: Any, lower: int | None) -> Iterator[Any]:
        return (r for r in self.rows if after is None or r[self.entity.key] > after)

    def get(self, key: Any) -> Any:
        return next((r for r in self.rows if r[self.entity.key] == key), None)


def _source(ctx: RequestContext, entity: EntitySet) -> Source:
    if entity.kind == "me":
        return DictSource(ctx, entity, [_me_row(ctx)])
    if entity.kind == "divisions":
        # system/AllDivisions and hrm/Divisions list the user's divisions, system/Divisions the token's grant.
        return DictSource(ctx, entity, _division_rows(ctx, every=entity.path != "system/Divisions"))
    if entity.kind == "periods":
        return DictSource(ctx, entity, _period_rows(ctx))
    store = _store(ctx)
    if entity.kind == "sync":
        return SyncSource(ctx, entity, store)
    if entity.kind == "deleted":
        # The deleted log is kept for 2 months; older entries go when it is read (NOTES.md: Sync, deleted and bulk).
        store.prune_deleted(ctx.now())
        return DeletedSource(ctx, entity, store)
    return Source(ctx, entity, store)


def _period_rows(ctx: RequestContext) -> list[dict[str, Any]]:
    """financial/FinancialPeriods of the URL's division. Sandbox choice: the fiscal year is the calendar year in
    twelve monthly periods (the default of a new Dutch administration), from the year before the division was created
    to the year after the sandbox's today."""
    division = ctx.division
    assert division is not None
    first = (division.created.year if isinstance(division.created, datetime) else ctx.now().year) - 1
    rows = []
    for year in range(first, ctx.now().year + 2):
        for period in range(1, 13):
            start = datetime(year, period, 1)
            end = datetime(year + period // 12, period % 12 + 1, 1) - timedelta(days=1)
            rows.append(
                {
                    "ID": str(uuid5(NAMESPACE_URL, f"exact-sandbox:{division.code}:period:{year}:{period}")),
                    "FinYear": year,
                    "FinPeriod": period,
                    "StartDate": start,
                    "EndDate": end,
                    "Division": division.code,
                }
            )
    return rows


def _me_row(ctx: RequestContext) -> dict[str, Any]:
    user = ctx.user
    now = ctx.now()
    first, _, last = (user.full_name or "").partition(" ")
    offset = now.astimezone(AMSTERDAM).utcoffset()
    return {
        "UserID": str(user.user_id),
        "UserName": user.username,
        "FullName": user.full_name,
        "FirstName": first or None,
        "LastName": last or None,
        "Email": user.email,
        "Language": user.language,
        "LanguageCode": user.language,
        # The division the user last opened in the UI: may differ from what this app was granted (picqer #470).
        "CurrentDivision": user.current_division,
        "Legislation": 1 if user.region == "nl" else None,
        "ServerTime": to_wall(now).isoformat(timespec="seconds"),
        "ServerUtcOffset": offset.total_seconds() / 3600 if offset else 0.0,
        "IsClientUser": False,
        "IsMyFirmPortalUser": False,
    }


def _division_rows(ctx: RequestContext, *, every: bool) -> list[dict[str, Any]]:
    rows = []
    for code, division in ctx.world.divisions.items():
        # system/Divisions lists exactly the divisions this token's grant covers.
        if not every and code not in ctx.grant_divisions:
            continue
        # system/AllDivisions: "all divisions of a single license, being the license that owns the division
        # specified in the URI" (NOTES.md: Divisions). The sandbox has no licences: it stands in with the user's
        # divisions in the request's region (a licence never spans Exact's regional hosts).
        if every and (code not in ctx.user.division_codes or division.region != ctx.region):
            continue
        created = to_wall(division.created) if isinstance(division.created, datetime) else None
        rows.append(
            {
                "Code": code,
                "Description": division.name,
                "Currency": division.currency,
                "Country": division.country,
                # Seed data: a VAT number of the country's shape, derived from the division code.
                "VATNumber": f"{division.country}{division.code:09d}B01",
                "Created": created,
                "StartDate": created.replace(hour=0, minute=0, second=0, microsecond=0) if created else None,
                "Current": code == ctx.user.current_division,
                "Hid": code,
                # hrm/Divisions spells it HID and calls the main flag Main (picqer PR#195).
                "HID": code,
                "BlockingStatus": 0,
                "Status": 1,
                "Legislation": division.country,
                "IsMainDivision": code == min(ctx.world.divisions),
                "Main": code == min(ctx.world.divisions),
                "IsHRDivision": False,
                "IsDossierDivision": False,
                "IsPracticeDivision": False,
                "DivisionHRLinkUnlinkDate": None,
                "DivisionMoveDate": to_wall(division.store.move_date) if division.store.move_date else None,
            }
        )
    return rows


# Sync timestamps by date (NOTES.md: Sync, deleted and bulk): the endpoints Exact names as supported; those the
# sandbox keeps data for are computed from it, the others have no rows, so the current rowversion answers them.
SYNC_TIMESTAMP_ENDPOINTS = {
    "SalesInvoices": "SalesInvoiceLines",
    "TransactionLines": "TransactionLines",
    "SalesOrderHeaders": None,
    "SalesOrderLines": None,
    "GoodsDeliveries": None,
    "PurchaseOrders": None,
    "Projects": None,
    "TimeCostTransactions": None,
}
_CRUD_BY_TABLE = {e.table: e for e in reversed(list(ENTITY_SETS.values())) if e.kind == "crud" and e.table}


def _quoted_parameter(request: Request, name: str) -> str:
    value = request.args.get(name)
    if value is None or not value.strip():
        raise ODataError(f"The parameter '{name}' is required.")
    return value.strip()


def sync_timestamp_row(ctx: RequestContext, request: Request) -> dict[str, Any]:
    """read/sync/Sync/SyncTimestamp?modified=datetime'…'&endPoint='…': a Timestamp to start a sync from, so that
    `Timestamp gt <it>` returns every row of that endpoint modified at or after the date."""
    modified_text = _quoted_parameter(request, "modified")
    endpoint_text = _quoted_parameter(request, "endPoint")
    try:
        literal = parse_filter(f"Modified ge {modified_text}", {"Modified": "Edm.DateTime"}, "SyncTimestamp")
        modified = literal.right.value  # type: ignore[union-attr]
    except (ODataError, AttributeError):
        raise ODataError(f"Invalid value {modified_text} for the parameter 'modified'.") from None
    if not (endpoint_text.startswith("'") and endpoint_text.endswith("'")):
        raise ODataError(f"Invalid value {endpoint_text} for the parameter 'endPoint'.")
    endpoint = endpoint_text[1:-1]
    if endpoint not in SYNC_TIMESTAMP_ENDPOINTS:
        raise ODataError(f"The endpoint '{endpoint}' is not supported by SyncTimestamp.")
    store = _store(ctx)
    table_name = SYNC_TIMESTAMP_ENDPOINTS[endpoint]
    timestamp = store.timestamp
    if table_name is not None:
        table = store.tables[table_name]
        stamp_of = table.getter("Timestamp")
        if table_name == "SalesInvoiceLines":
            # A sync invoice row is a line with its header: the header's change date counts.
            invoices = store.tables["SalesInvoices"]
            invoice_of, header_modified = table.getter("InvoiceID"), invoices.getter("Modified")

            def modified_of(row: Row) -> Any:
                header = invoices.rows.get(invoice_of(row))
                return header_modified(header) if header is not None else None
        else:
            modified_of = table.getter("Modified")
        since = [stamp_of(row) for row in table.rows.values() if (modified_of(row) or datetime.min) >= modified]
        if since:
            timestamp = min(since) - 1
    return {"Modified": modified, "API": endpoint, "TimeStampAsBigInt": timestamp}


# ------------------------------------------------------------------------------------------ GET


def _references(entity: EntitySet) -> dict[str, dict[str, str]]:
    """Single-valued navigation properties (a division's Class_01…Class_05): expandable, always empty here."""
    return {p.name: {} for p in entity.properties if p.is_navigation and p.name.startswith("Class_")}


def _options(request: Request, entity: EntitySet) -> QueryOptions:
    collections = {p.name: _collection_path(entity, p.name) for p in entity.properties if p.is_navigation}
    navigations = {name: ENTITY_SETS[path].data_properties for name, path in collections.items() if path}
    navigations.update(_references(entity))
    properties = entity.data_properties
    options = parse_options(
        request.args,
        properties=properties,
        navigations=navigations,
        type_name=entity.type_name,
        # (NOTES.md: OData) $skip still works on the pre-2017 CRUD endpoints, not on bulk/sync (or sync/Deleted).
        allow_skip=entity.kind == "crud",
    )
    if entity.filterable is not None and options.filter is not None:
        extra = filter_fields(options.filter) - entity.filterable
        if extra:
            # Sync reference: "only the timestamp field is allowed as parameter".
            raise ODataError(f"Filtering is only allowed on {', '.join(sorted(entity.filterable))}.")
    if entity.select_or_top and options.select is None and options.top is None:
        raise ODataError(SELECT_OR_TOP)
    if entity.select_required and options.select is None:
        # Bulk reference: "It is mandatory to provide the $select query option", whatever $top is
        # (NOTES.md: Sync, deleted and bulk).
        # Exact's wording for the missing $select; with a $top already there, the reference sentence instead.
        raise ODataError(SELECT_OR_TOP if options.top is None else BULK_SELECT_REQUIRED)
    return options


def _check_mandatory_filter(entity: EntitySet, options: QueryOptions) -> None:
    """A GET of the collection must filter on one of the listed fields; fetching by key is not affected."""
    if not entity.mandatory_filter:
        return
    if options.filter is None or not filter_fields(options.filter) & set(entity.mandatory_filter):
        raise ODataError(f"{MANDATORY_FILTER}{','.join(entity.mandatory_filter)}.")


def _get(ctx: RequestContext, request: Request, route: Route) -> Response:
    entity = route.entity
    options = _options(request, entity)
    if route.key is None:
        _check_mandatory_filter(entity, options)
    if entity.kind == "function":
        source: Source = DictSource(ctx, entity, [sync_timestamp_row(ctx, request)])
        return _collection(ctx, request, source, options, route, rows=None)
    source = _source(ctx, entity)
    if route.key is not None and route.navigation is None:
        row = source.get(route.key)
        if row is None:
            raise ODataError(f"Resource not found for the segment '{entity.path.rsplit('/', 1)[-1]}'.", status=404)
        record = _render(ctx, source, row, options)
        if _wants_json(request):
            # current/Me is a collection of one in Exact's answers (KB FAQ example).
            payload = {"d": {"results": [record]}} if entity.kind == "me" else {"d": record}
            return _json_response(payload)
        return _atom(render_atom_entry(record, _edm_map(entity)))
    if route.navigation is not None:
        parent = source.get(route.key)
        if parent is None:
            raise ODataError(f"Resource not found for the segment '{entity.path.rsplit('/', 1)[-1]}'.", status=404)
        line_entity = ENTITY_SETS[entity.navigations[route.navigation]]
        line_options = _options(request, line_entity)
        line_source = _source(ctx, line_entity)
        return _collection(ctx, request, line_source, line_options, route, rows=line_source.children(route.key))
    return _collection(ctx, request, source, options, route, rows=None)


def _matches(source: Source, options: QueryOptions) -> Callable[[Any], bool] | None:
    node = options.filter
    if node is None:
        return None
    extract = source.extractor
    return lambda row: bool(evaluate(node, lambda name: extract(name)(row)))


def _collection(
    ctx: RequestContext,
    request: Request,
    source: Source,
    options: QueryOptions,
    route: Route,
    rows: list[Any] | None,
) -> Response:
    entity = source.entity
    predicate = _matches(source, options)
    lower = lower_bound(options.filter, "Timestamp") if options.filter is not None else None
    after = parse_skiptoken(options.skiptoken, entity.key_type) if options.skiptoken else None

    def candidates(after_key: Any) -> Iterable[Any]:
        if rows is not None:
            return [r for r in rows if after_key is None or source.key_of(r) > after_key]
        return source.rows_after(after_key, lower)

    if route.count:
        total = sum(1 for row in candidates(None) if predicate is None or predicate(row))
        return Response(str(total), content_type="text/plain; charset=utf-8")

    page_size = entity.page_size
    limit = page_size if options.top is None else min(options.top, page_size)
    if options.orderby:
        page, more = _ordered_page(source, candidates(None), predicate, options, after, limit)
    else:
        page, more = [], False
        skip = options.skip
        for row in candidates(after):
            if predicate is not None and not predicate(row):
                continue
            if skip:
                # $skip passes over matching rows; the __next link then carries a $skiptoken (never $skip again).
                skip -= 1
                continue
            if len(page) == limit:
                more = True
                break
            page.append(row)
    remaining_top = None if options.top is None else options.top - len(page)
    next_link = None
    if more and (remaining_top is None or remaining_top > 0) and page:
        next_link = _next_link(ctx, route, options, format_key(source.key_of(page[-1]), entity.key_type), remaining_top)
    records = [_render(ctx, source, row, options) for row in page]
    total = None
    if options.inlinecount:
        total = sum(1 for row in candidates(None) if predicate is None or predicate(row))
    if not _wants_json(request):
        self_path = (
            entity.path
            if route.navigation is None
            else f"{entity.path}({format_key(route.key, entity.key_type)})/{route.navigation}"
        )
        return _atom(
            render_atom_feed(
                records,
                _edm_map(entity),
                title=entity.path.rsplit("/", 1)[-1],
                feed_id=f"{_prefix(ctx)}/{self_path}",
                next_link=next_link,
                count=total,
            )
        )
    if options.top is not None and not options.inlinecount and next_link is None:
        # A $top query without $inlinecount comes back as a bare array (ossobv, django-exact, exactpy).
        return _json_response({"d": records})
    body: dict[str, Any] = {"results": records}
    if total is not None:
        body["__count"] = total
    if next_link is not None:
        body["__next"] = next_link
    return _json_response({"d": body})


def _ordered_page(
    source: Source,
    rows: Iterable[Any],
    predicate: Callable[[Any], bool] | None,
    options: QueryOptions,
    after: Any,
    limit: int,
) -> tuple[list[Any], bool]:
    """$orderby: sort the matching rows (key as the last tie-breaker), then continue after the skiptoken row."""
    matching = [row for row in rows if predicate is None or predicate(row)]
    for name, descending in reversed([*options.orderby, (source.entity.key, False)]):
        extract = source.extractor(name)
        # None sorts first ascending, as SQL Server does.
        matching.sort(key=lambda row, e=extract: (e(row) is not None, e(row)), reverse=descending)
    start = 0
    if after is not None:
        keys = [source.key_of(row) for row in matching]
        start = keys.index(after) + 1 if after in keys else 0
    start += options.skip
    page = matching[start : start + limit]
    return page, start + limit < len(matching)


def _next_link(ctx: RequestContext, route: Route, options: QueryOptions, token: str, top: int | None) -> str:
    entity = route.entity
    path = entity.path
    if route.navigation is not None:
        path = f"{path}({format_key(route.key, entity.key_type)})/{route.navigation}"
    params = [f"{name}={quote(value, safe=',/')}" for name, value in options.raw.items()]
    if top is not None:
        params.append(f"$top={top}")
    params.append(f"$skiptoken={quote(token, safe='')}")
    return f"{_prefix(ctx)}/{path}?{'&'.join(params)}"


def _entity_uri(ctx_prefix: str, entity: EntitySet, key: Any) -> str:
    # Bulk and sync records point at the regular endpoint (their __metadata uri is the CRUD resource).
    return f"{ctx_prefix}/{entity.path}({format_key(key, entity.key_type)})"


def _render(
    ctx: RequestContext | None, source: Source, row: Any, options: QueryOptions, prefix: str | None = None
) -> dict[str, Any]:
    entity = source.entity
    prefix = prefix if prefix is not None else _prefix(ctx)  # type: ignore[arg-type]
    key = source.key_of(row)
    uri = _entity_uri(prefix, entity, key)
    record: dict[str, Any] = {"__metadata": {"uri": uri, "type": entity.type_name}}
    if options.select is not None:
        names: Iterable[str] = options.select
    else:
        names = (p.name for p in entity.properties if not p.is_navigation)
    for name in names:
        record[name] = source.extractor(name)(row)
    navigation_uri = _navigation_base(prefix, source, row, uri)
    for prop in entity.properties:
        if not prop.is_navigation:
            continue
        name = prop.name
        selected = options.select is None or name in options.select_nav
        collection = _collection_path(entity, name)
        if name in options.expand and collection is not None:
            line_entity = ENTITY_SETS[collection]
            line_source = _source_for_lines(source, line_entity)
            line_options = QueryOptions(select=options.select_nav.get(name))
            parent = _parent_key(source, row)
            record[name] = {
                "results": [
                    _render(ctx, line_source, line, line_options, prefix) for line in line_source.children(parent)
                ]
            }
        elif name in options.expand:
            # A single-valued reference the sandbox keeps empty (no division classes are defined).
            record[name] = None
        elif selected and not prop.methods.startswith("P"):
            record[name] = {"__deferred": {"uri": f"{navigation_uri}/{name}"}}
    return record


def _collection_path(entity: EntitySet, name: str) -> str | None:
    """The entity set behind a collection property, also for sync/bulk rows (they share the CRUD set's children)."""
    if name in entity.navigations:
        return entity.navigations[name]
    crud = _CRUD_BY_TABLE.get(entity.table or "")
    return crud.navigations.get(name) if crud is not None else None


def _parent_key(source: Source, row: Any) -> Any:
    """The key child rows point at: the table key (a sync row's own key is its Timestamp)."""
    entity = source.entity
    if entity.kind in ("sync", "bulk") and source.store is not None and entity.table is not None:
        if entity.table == "SalesInvoiceLines" and entity.kind == "sync":
            return None
        return source.extractor(source.store.tables[entity.table].key)(row)
    return source.key_of(row)


def _navigation_base(prefix: str, source: Source, row: Any, uri: str) -> str:
    """Deferred links of sync and bulk rows point at the CRUD resource, where the collection can be read."""
    entity = source.entity
    crud = _CRUD_BY_TABLE.get(entity.table or "")
    if entity.kind not in ("sync", "bulk") or crud is None:
        return uri
    parent = _parent_key(source, row)
    return uri if parent is None else _entity_uri(prefix, crud, parent)


def _source_for_lines(parent: Source, line_entity: EntitySet) -> Source:
    return Source(parent.ctx, line_entity, parent.store)


def _edm_map(entity: EntitySet) -> dict[str, str]:
    edm = {p.name: p.edm for p in entity.properties}
    for name, path in entity.navigations.items():
        for prop in ENTITY_SETS[path].properties:
            edm.setdefault(f"{name}/{prop.name}", prop.edm)
    return edm


def _atom(body: str) -> Response:
    return Response(body, content_type="application/atom+xml;type=feed;charset=utf-8")


# ------------------------------------------------------------------------------------------ writes


def _actor(ctx: RequestContext) -> writes.Actor:
    return writes.Actor(
        user_id=str(ctx.user.user_id),
        full_name=ctx.user.full_name,
        now=to_wall(ctx.now()),
        client_id=str(ctx.app.client_id) if ctx.app.client_id is not None else None,
        app_name=getattr(ctx.app, "name", None),
    )


def _read_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    if "xml" in (request.mimetype or ""):
        # KB FAQ: XML is accepted as a body too (NOTES.md: OData); Atom, as Exact answers without Accept JSON.
        return parse_atom_entry(raw)
    try:
        return json.loads(raw or b"null")
    except ValueError:
        raise ODataError(writes.STREAM_ERROR) from None


def _metadata(ctx: RequestContext, service: str) -> Response:
    """`…/{service}/$metadata`: the service's entity types as an OData v2 EDMX document (NOTES.md: OData)."""
    wanted = "current" if ctx.division is None else service
    sets = [
        e
        for e in ENTITY_SETS.values()
        if e.path.rsplit("/", 1)[0] == wanted and (e.kind == "me") == (ctx.division is None)
    ]
    if not sets or wanted != service:
        raise ODataError(f"Resource not found for the segment '{service.rsplit('/', 1)[-1]}'.", status=404)
    return Response(render_metadata(sets), content_type="application/xml;charset=utf-8")


def _write(ctx: RequestContext, request: Request, route: Route, method: str) -> Response:
    entity = route.entity
    if method == "POST" and route.key is not None:
        return exact_error(405, "Method not allowed")
    if method in ("PUT", "DELETE") and route.key is None:
        return exact_error(405, "Method not allowed")
    store = _store(ctx)
    body = _read_body(request) if method in ("POST", "PUT") else None
    actor = _actor(ctx)
    with ctx.world.lock:
        if method == "POST" and entity.path == "salesinvoice/InvoiceSalesOrders":
            result = writes.invoice_sales_orders(store, entity, body, actor)
        elif method == "POST" and entity.kind == "action":
            result = writes.print_invoice(store, entity, body, actor)
        elif method == "POST":
            result = writes.create(store, entity, body, actor)
        else:
            assert entity.table is not None
            if route.key not in store.tables[entity.table].rows:
                raise ODataError(f"Resource not found for the segment '{entity.path.rsplit('/', 1)[-1]}'.", status=404)
            if method == "PUT":
                result = writes.update(store, entity, route.key, body, actor)
            else:
                result = writes.delete(store, entity, route.key, actor)
        response = _write_response(ctx, request, entity, result, method)
    _emit(ctx, store, result)
    return response


def _write_response(
    ctx: RequestContext, request: Request, entity: EntitySet, result: writes.WriteResult, method: str
) -> Response:
    if method != "POST":
        return Response(status=204)
    if entity.kind == "action":
        source: Source = DictSource(ctx, entity, [result.record or {}])
        row = source.rows[0]  # type: ignore[attr-defined]
    else:
        source = _source(ctx, entity)
        row = source.get(result.key)
    representation = "return=representation" in request.headers.get("Prefer", "")
    record = _render(ctx, source, row, QueryOptions())
    if not representation:
        # KB Tips: without Prefer: return=representation "the entity will contain all properties with the
        # NULL value" apart from the key.
        record = {
            name: (value if name in ("__metadata", entity.key) or isinstance(value, dict) else None)
            for name, value in record.items()
        }
    headers = {"Location": record["__metadata"]["uri"]}
    if _wants_json(request):
        return _json_response({"d": record}, status=201, headers=headers)
    response = _atom(render_atom_entry(record, _edm_map(entity)))
    response.status_code = 201
    response.headers.update(headers)
    return response


def _emit(ctx: RequestContext, store: DivisionStore, result: writes.WriteResult) -> None:
    prefix = _prefix(ctx)
    for topic, action, path, key in result.events:
        entity = ENTITY_SETS[path]
        ctx.events.emit(
            division=store.code,
            topic=topic,
            action=action,
            key=UUID(key),
            endpoint_url=_entity_uri(prefix, entity, key),
        )
    if result.subscription is not None:
        ctx.events.subscription_created(division=store.code, subscription=result.subscription)
    if result.changed_subscription is not None:
        changed = getattr(ctx.events, "subscription_changed", None)
        if changed is not None:
            before, after = result.changed_subscription
            changed(division=store.code, before=before, after=after)
    if result.deleted_subscription is not None:
        # Not in the frozen EventSink contract: the platform's sink offers it; the store stays the source of truth.
        forget = getattr(ctx.events, "subscription_deleted", None)
        if forget is not None:
            forget(subscription_id=result.deleted_subscription)


# ------------------------------------------------------------------------------------------ dump


_DUMP_SETS = [
    "crm/Accounts",
    "crm/Contacts",
    "salesinvoice/SalesInvoices",
    "salesinvoice/SalesInvoiceLines",
    "salesentry/SalesEntries",
    "salesentry/SalesEntryLines",
    "purchaseentry/PurchaseEntries",
    "purchaseentry/PurchaseEntryLines",
    "cashflow/Payments",
    "generaljournalentry/GeneralJournalEntries",
    "generaljournalentry/GeneralJournalEntryLines",
    "salesorder/SalesOrders",
    "salesorder/SalesOrderLines",
    "project/Projects",
    "project/TimeTransactions",
    "project/CostTransactions",
    "payroll/Employees",
    "documents/Documents",
    "documents/DocumentAttachments",
    "financial/GLAccounts",
    "vat/VATCodes",
    "financial/Journals",
    "logistics/Items",
    "cashflow/Receivables",
    "financialtransaction/TransactionLines",
    "webhooks/WebhookSubscriptions",
    "sync/Deleted",
]


def dump_store(store: DivisionStore, base_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every record of a division per entity name, rendered as GET returns it (lines deferred)."""
    prefix = f"{base_url}/api/v1/{store.code}"
    dumped: dict[str, list[dict[str, Any]]] = {}
    for path in _DUMP_SETS:
        entity = ENTITY_SETS[path]
        source: Source = DeletedSource(None, entity, store) if entity.kind == "deleted" else Source(None, entity, store)
        rows: Iterable[Row] = source.rows_after(None, None)
        records = [_render(None, source, row, QueryOptions(), prefix) for row in rows]
        dumped[entity.schema] = json.loads(json.dumps(records, default=_json_default))
    return dumped
