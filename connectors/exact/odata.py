"""OData v2 for Exact: query options ($select always), $filter expressions with Exact's literals, page envelopes.

Facts followed (NOTES.md: OData):
- `$select` is "strongly advised", mandatory on bulk endpoints, and some endpoints refuse queries without it;
  never `$select=*` (§4.3). So every query here names its fields.
- Literals (§4.4): strings in single quotes with `''` for a quote, `guid'…'`, `datetime'2017-05-31T00:00:00'`
  (Exact wall-clock time, no offset: §4.6), `123L` for Int64 such as sync Timestamps, `true`/`false`.
- crm/Accounts.Code is 18 characters padded with leading spaces: filter with the padded value or `trim(Code)`.
- Lists are `{"d":{"results":[…],"__next":"…"}}`, or a bare `{"d":[…]}` for `$top` without `$inlinecount`;
  a single entity is `{"d":{…}}` (§4.1). `__next` is an absolute URL; follow it sequentially until absent.
- `$skip` is not supported on newer endpoints; paging goes through `__next` only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from connectors.base.errors import VendorError
from connectors.exact.values import AMSTERDAM, pad_code

_PROPERTY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)?$")


class ODataQueryError(ValueError):
    """A query we refuse to build (no $select, unsafe property name, unsupported literal)."""


# ---------------------------------------------------------------------------------------------- literals


@dataclass(frozen=True)
class Int64:
    """An Edm.Int64 value, written `123L` (sync `Timestamp` filters: `Timestamp gt 1234L`)."""

    value: int


@dataclass(frozen=True)
class Guid:
    """A GUID from text, written `guid'…'` (a `uuid.UUID` works too)."""

    value: str


def literal(value: Any) -> str:
    """`value` as an OData v2 literal in Exact's dialect."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, Int64):
        return f"{int(value.value)}L"
    if isinstance(value, UUID):
        return f"guid'{value}'"
    if isinstance(value, Guid):
        return f"guid'{UUID(value.value)}'"  # UUID() validates, so nothing else can slip into the literal
    if isinstance(value, datetime):
        # Exact reads datetimes as Amsterdam wall-clock time (KB FAQ "CET and not GMT"); no offset in the literal.
        wall = value.astimezone(AMSTERDAM).replace(tzinfo=None) if value.tzinfo else value
        return f"datetime'{wall.replace(microsecond=0).isoformat()}'"
    if isinstance(value, date):
        return f"datetime'{value.isoformat()}T00:00:00'"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ODataQueryError(f"Cannot filter on a non-finite number: {value}")
        return f"{format(value, 'f')}M"
    if isinstance(value, float):
        raise ODataQueryError("Use Decimal for numbers in filters; floats lose digits.")
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ODataQueryError(f"No OData literal for {type(value).__name__}")


# ---------------------------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Filter:
    """A `$filter` expression; combine with `&` and `|` (parenthesised), or with `and_`/`or_`."""

    text: str

    def __and__(self, other: Filter) -> Filter:
        return and_(self, other)

    def __or__(self, other: Filter) -> Filter:
        return or_(self, other)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Operand:
    """The left-hand side of a comparison: a property or a function of one (`trim(Code)`)."""

    text: str


def prop(name: str) -> Operand:
    if not _PROPERTY_RE.match(name):
        raise ODataQueryError(f"Not an OData property name: {name!r}")
    return Operand(name)


def trim(name: str) -> Operand:
    """`trim(Code)`: matches padded codes without padding the value (slower than the padded value; §4.4)."""
    return Operand(f"trim({prop(name).text})")


def _operand(left: str | Operand) -> str:
    return left.text if isinstance(left, Operand) else prop(left).text


def _compare(operator: str) -> Callable[[str | Operand, Any], Filter]:
    def build(left: str | Operand, value: Any) -> Filter:
        return Filter(f"{_operand(left)} {operator} {literal(value)}")

    build.__name__ = operator
    build.__doc__ = f"`<property> {operator} <literal>`"
    return build


eq = _compare("eq")
ne = _compare("ne")
gt = _compare("gt")
ge = _compare("ge")
lt = _compare("lt")
le = _compare("le")


def _join(operator: str, filters: Sequence[Filter]) -> Filter:
    if not filters:
        raise ODataQueryError(f"'{operator}' needs at least one expression")
    if len(filters) == 1:
        return filters[0]
    return Filter(f" {operator} ".join(f"({item.text})" for item in filters))


def and_(*filters: Filter) -> Filter:
    return _join("and", filters)


def or_(*filters: Filter) -> Filter:
    return _join("or", filters)


def substringof(value: str, name: str) -> Filter:
    """`substringof('x',Name) eq true`, Exact's "contains" (§4.4)."""
    return Filter(f"substringof({literal(value)},{prop(name).text}) eq true")


def code_eq(name: str, code: str) -> Filter:
    """`Code eq '                25'`: the padded value Exact stores (fast; crm/Accounts.Code is 18 wide)."""
    return eq(name, pad_code(code))


# ---------------------------------------------------------------------------------------------- query


@dataclass(frozen=True)
class ODataQuery:
    """Query options for one Exact GET; `params()` gives the query string values."""

    select: Sequence[str]
    filter: Filter | str | None = None
    top: int | None = None
    orderby: Sequence[str] | str | None = None
    expand: Sequence[str] | None = None
    inlinecount: bool = False

    def params(self) -> dict[str, str]:
        fields = [self.select] if isinstance(self.select, str) else list(self.select)
        if not fields or any(field.strip() in ("", "*") for field in fields):
            # Exact: never $select=*; some endpoints refuse a query without $select (§4.3).
            raise ODataQueryError("Exact queries must $select named fields")
        for field in fields:
            prop(field.strip())
        params = {"$select": ",".join(field.strip() for field in fields)}
        if self.filter is not None:
            params["$filter"] = str(self.filter)
        if self.top is not None:
            if self.top < 0:
                raise ODataQueryError("$top must not be negative")
            params["$top"] = str(self.top)
        if self.orderby:
            clauses = [self.orderby] if isinstance(self.orderby, str) else list(self.orderby)
            for clause in clauses:
                words = clause.split()
                if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
                    raise ODataQueryError(f"Not an $orderby clause: {clause!r}")
                prop(words[0])
            params["$orderby"] = ",".join(clauses)
        if self.expand:
            for name in self.expand:
                prop(name)
            params["$expand"] = ",".join(self.expand)
        if self.inlinecount:
            params["$inlinecount"] = "allpages"
        return params


# ---------------------------------------------------------------------------------------------- envelopes


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    next_url: str | None
    count: int | None = None


def unwrap_page(body: Any) -> Page:
    """A list response: `{"d":{"results":[…],"__next"?,"__count"?}}` or a bare `{"d":[…]}` (§4.1)."""
    data = body.get("d") if isinstance(body, dict) else None
    if isinstance(data, list):
        return Page(records=data, next_url=None)
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        next_url = data.get("__next")
        count = data.get("__count")
        return Page(
            records=data["results"],
            next_url=next_url if isinstance(next_url, str) and next_url else None,
            count=int(count) if count is not None else None,
        )
    raise VendorError("Exact answered a list request with an unexpected document.")


def unwrap_entity(body: Any) -> dict[str, Any]:
    """A single entity: `{"d":{…}}` (no `results`); a one-item list is accepted as well."""
    data = body.get("d") if isinstance(body, dict) else None
    if isinstance(data, dict) and "results" not in data:
        return data
    if isinstance(data, dict) and isinstance(data.get("results"), list) and len(data["results"]) == 1:
        return data["results"][0]
    if isinstance(data, list) and len(data) == 1:
        return data[0]
    raise VendorError("Exact answered with an unexpected document where one record was expected.")


def follow_pages(first: Callable[[], Any], fetch_next: Callable[[str], Any]) -> Iterator[Page]:
    """The one page follower: the first request, then one per `__next` link, in order (KB: never in parallel).

    `fetch_next(next_url)` reads the page a `__next` link names; a link that repeats ends with a VendorError.
    """
    page = unwrap_page(first())
    seen: set[str] = set()
    while True:
        yield page
        if page.next_url is None:
            return
        if page.next_url in seen:
            # A __next that repeats would loop forever and spend the whole budget.
            raise VendorError("Exact's __next link repeated a page already read.")
        seen.add(page.next_url)
        page = unwrap_page(fetch_next(page.next_url))
