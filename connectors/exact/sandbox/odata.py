"""OData v2 as Exact Online speaks it: dates, literals, the $filter parser and the query options."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

# Exact sends datetimes as CET/CEST wall-clock time encoded as epoch ms (KB FAQ: "This is in the CET time
# and not GMT"), so the sandbox stores naive Amsterdam wall-clock datetimes, as Exact's SQL columns do.
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
_EPOCH = datetime(1970, 1, 1)
_MS = timedelta(milliseconds=1)
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")

NUMERIC_TYPES = frozenset(
    {"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.Double", "Edm.Decimal", "Edm.Single"}
)
INTEGER_TYPES = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte"})
_CLR_NAMES = {
    "Edm.String": "System.String",
    "Edm.Guid": "System.Guid",
    "Edm.DateTime": "System.DateTime",
    "Edm.Boolean": "System.Boolean",
    "Edm.Int16": "System.Int16",
    "Edm.Int32": "System.Int32",
    "Edm.Int64": "System.Int64",
    "Edm.Byte": "System.Byte",
    "Edm.Double": "System.Double",
    "Edm.Decimal": "System.Decimal",
    "Edm.Single": "System.Single",
}


class ODataError(Exception):
    """A query or body the sandbox rejects the way Exact does; `status` is the HTTP status to answer."""

    def __init__(self, message: str | list[str], status: int = 400) -> None:
        super().__init__(message if isinstance(message, str) else "\r\n".join(message))
        self.messages = [message] if isinstance(message, str) else list(message)
        self.status = status


# ---------------------------------------------------------------------------------------------- dates


def to_wall(moment: datetime) -> datetime:
    """An aware moment as naive Amsterdam wall-clock time; naive values are already wall-clock."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(AMSTERDAM).replace(tzinfo=None)


def wall_to_utc(wall: datetime) -> datetime:
    """Naive Amsterdam wall-clock time back to an aware UTC moment (for Atom <updated>)."""
    return wall.replace(tzinfo=AMSTERDAM).astimezone(UTC)


def format_json_date(wall: datetime) -> str:
    """`/Date(ms)/` where ms encodes the Amsterdam wall-clock time as if it were UTC, as Exact does."""
    return f"/Date({(wall - _EPOCH) // _MS})/"


def parse_datetime_value(value: Any) -> datetime:
    """A date from a request body: ISO-8601 (what Exact wants on POST/PUT) or `/Date(ms)/`.

    Naive ISO values are Amsterdam wall-clock time, as Exact reads them; values with an offset are converted.
    """
    if isinstance(value, datetime):
        return to_wall(value)
    if not isinstance(value, str):
        raise ValueError(value)
    match = _DATE_RE.match(value)
    if match:
        # The ms already encode wall-clock time; an offset suffix (ossobv handles `+hhmm`) is informational.
        return _EPOCH + int(match.group(1)) * _MS
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return to_wall(datetime.fromisoformat(text))


def round_money(amount: Decimal) -> Decimal:
    """Exact rounds amounts half-up to cents per line."""
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def normalize_guid(value: Any) -> str:
    """A GUID as the lowercase 36-character string the sandbox stores."""
    if isinstance(value, UUID):
        return str(value)
    if not isinstance(value, str):
        raise ValueError(value)
    return str(UUID(value))


# ---------------------------------------------------------------------------------------------- $filter

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?:guid|datetime|datetimeoffset|time|X|binary)'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_./]*)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {
    "substringof": 2,
    "startswith": 2,
    "endswith": 2,
    "tolower": 1,
    "toupper": 1,
    "trim": 1,
    "length": 1,
    "year": 1,
    "month": 1,
    "day": 1,
}
_FUNCTION_TYPES = {
    "substringof": "Edm.Boolean",
    "startswith": "Edm.Boolean",
    "endswith": "Edm.Boolean",
    "tolower": "Edm.String",
    "toupper": "Edm.String",
    "trim": "Edm.String",
    "length": "Edm.Int32",
    "year": "Edm.Int32",
    "month": "Edm.Int32",
    "day": "Edm.Int32",
}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


@dataclass(frozen=True)
class FieldRef:
    name: str
    edm: str


@dataclass(frozen=True)
class Literal:
    value: Any
    edm: str | None  # None for `null`


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node
    position: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True)
class Not:
    operand: Node


Node = FieldRef | Literal | Call | Compare | BoolOp | Not


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if not match:
            raise ODataError(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _unquote(body: str) -> str:
    return body[1:-1].replace("''", "'")


def _parse_typed_literal(token: Token) -> Literal:
    prefix, _, quoted = token.text.partition("'")
    body = _unquote("'" + quoted)
    try:
        if prefix == "guid":
            return Literal(normalize_guid(body), "Edm.Guid")
        if prefix in ("datetime", "datetimeoffset"):
            return Literal(parse_datetime_value(body), "Edm.DateTime")
    except ValueError:
        pass
    else:
        raise ODataError(f"Unrecognized '{prefix}' literal '{token.text}' at position {token.position}.")
    raise ODataError(f"Unrecognized '{prefix}' literal '{token.text}' at position {token.position}.")


def _parse_number(token: Token) -> Literal:
    text = token.text
    suffix = text[-1].upper() if text[-1].isalpha() else ""
    digits = text[:-1] if suffix else text
    if suffix == "L":
        return Literal(int(digits), "Edm.Int64")
    if suffix in ("M",):
        return Literal(float(Decimal(digits)), "Edm.Decimal")
    if suffix in ("D", "F") or "." in digits or "e" in digits.lower():
        return Literal(float(digits), "Edm.Double")
    return Literal(int(digits), "Edm.Int32")


class _Parser:
    """Recursive descent over OData v2 boolean expressions (precedence: not > comparison > and > or)."""

    def __init__(self, text: str, properties: Mapping[str, str], type_name: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.properties = properties
        self.type_name = type_name

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise ODataError(f"Expression expected at position {len(self.text)}.")
        self.index += 1
        return token

    def expect(self, text: str) -> None:
        if self.peek() is None:
            raise ODataError(f"'{text}' expected at position {len(self.text)}.")
        token = self.take()
        if token.text != text:
            raise ODataError(f"'{text}' expected at position {token.position}.")

    def keyword(self, *words: str) -> str | None:
        token = self.peek()
        if token is not None and token.kind == "ident" and token.text in words:
            self.index += 1
            return token.text
        return None

    def parse(self) -> Node:
        node = self.parse_or()
        token = self.peek()
        if token is not None:
            raise ODataError(f"Syntax error at position {token.position}.")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.keyword("or"):
            node = BoolOp("or", node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.keyword("and"):
            node = BoolOp("and", node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.keyword("not"):
            return Not(self.parse_not())
        return self.parse_comparison()

    def parse_comparison(self) -> Node:
        left = self.parse_primary()
        token = self.peek()
        if token is not None and token.kind == "ident" and token.text in _COMPARISONS:
            self.index += 1
            right = self.parse_primary()
            self.check_types(token, left, right)
            return Compare(token.text, left, right, token.position)
        return left

    def parse_primary(self) -> Node:
        token = self.take()
        if token.text == "(":
            node = self.parse_or()
            self.expect(")")
            return node
        if token.kind == "string":
            return Literal(_unquote(token.text), "Edm.String")
        if token.kind == "typed":
            return _parse_typed_literal(token)
        if token.kind == "number":
            return _parse_number(token)
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return Literal(token.text == "true", "Edm.Boolean")
            if token.text == "null":
                return Literal(None, None)
            following = self.peek()
            if following is not None and following.text == "(" and token.text in _FUNCTIONS:
                return self.parse_call(token)
            if "/" in token.text:
                # Exact: filtering on navigation properties is not supported (KB OData best practices).
                raise ODataError(
                    f"Filtering on navigation property '{token.text}' is not supported at position {token.position}."
                )
            if token.text not in self.properties:
                raise ODataError(
                    f"No property '{token.text}' exists in type '{self.type_name}' at position {token.position}."
                )
            return FieldRef(token.text, self.properties[token.text])
        raise ODataError(f"Syntax error at position {token.position}.")

    def parse_call(self, name: Token) -> Node:
        self.expect("(")
        args: list[Node] = []
        if self.peek() is not None and self.peek().text != ")":  # type: ignore[union-attr]
            args.append(self.parse_or())
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.index += 1
                args.append(self.parse_or())
        self.expect(")")
        if len(args) != _FUNCTIONS[name.text]:
            raise ODataError(
                f"No function signature for the function with name '{name.text}' matches the specified "
                f"arguments at position {name.position}."
            )
        return Call(name.text, tuple(args))

    def check_types(self, operator: Token, left: Node, right: Node) -> None:
        left_type, right_type = _node_type(left), _node_type(right)
        if left_type is None or right_type is None or left_type == right_type:
            return
        if left_type in NUMERIC_TYPES and right_type in NUMERIC_TYPES:
            return
        raise ODataError(
            f"Operator '{operator.text}' incompatible with operand types "
            f"'{_CLR_NAMES.get(left_type, left_type)}' and '{_CLR_NAMES.get(right_type, right_type)}' "
            f"at position {operator.position}."
        )


def _node_type(node: Node) -> str | None:
    if isinstance(node, FieldRef):
        return node.edm
    if isinstance(node, Literal):
        return node.edm
    if isinstance(node, Call):
        return _FUNCTION_TYPES[node.name]
    return "Edm.Boolean"


def parse_filter(text: str, properties: Mapping[str, str], type_name: str) -> Node:
    """Parse a $filter expression against an entity's properties (name -> Edm type)."""
    if not text.strip():
        raise ODataError("Expression expected at position 0.")
    return _Parser(text, properties, type_name).parse()


def filter_fields(node: Node) -> set[str]:
    """Every property a filter expression refers to."""
    if isinstance(node, FieldRef):
        return {node.name}
    if isinstance(node, Call):
        return set().union(*(filter_fields(arg) for arg in node.args))
    if isinstance(node, Compare | BoolOp):
        return filter_fields(node.left) | filter_fields(node.right)
    if isinstance(node, Not):
        return filter_fields(node.operand)
    return set()


def lower_bound(node: Node, name: str) -> int | None:
    """The exclusive lower bound a conjunction puts on `name` (`Timestamp gt 5L` -> 5, `ge 5L` -> 4)."""
    if isinstance(node, Compare) and isinstance(node.left, FieldRef) and node.left.name == name:
        if isinstance(node.right, Literal) and isinstance(node.right.value, int):
            if node.op == "gt":
                return node.right.value
            if node.op in ("ge", "eq"):
                return node.right.value - 1
        return None
    if isinstance(node, BoolOp) and node.op == "and":
        bounds = [b for b in (lower_bound(node.left, name), lower_bound(node.right, name)) if b is not None]
        return max(bounds) if bounds else None
    return None


Getter = Callable[[str], Any]


def _fold(value: Any) -> Any:
    # Exact runs on SQL Server with a case-insensitive collation, so string comparisons ignore case
    # (observed behaviour of substringof/eq on Exact; not documented by Exact: UNCONFIRMED).
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        return _fold(left) == _fold(right)
    if op == "ne":
        return _fold(left) != _fold(right)
    if left is None or right is None:
        return False
    left, right = _fold(left), _fold(right)
    try:
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
        if op == "lt":
            return left < right
        return left <= right
    except TypeError:
        return False


def _call(name: str, args: list[Any]) -> Any:
    if name == "substringof":
        needle, haystack = args
        return needle is not None and haystack is not None and _fold(needle) in _fold(haystack)
    if name == "startswith":
        value, prefix = args
        return value is not None and prefix is not None and _fold(value).startswith(_fold(prefix))
    if name == "endswith":
        value, suffix = args
        return value is not None and suffix is not None and _fold(value).endswith(_fold(suffix))
    (value,) = args
    if value is None:
        return None
    if name == "tolower":
        return str(value).lower()
    if name == "toupper":
        return str(value).upper()
    if name == "trim":
        return str(value).strip()
    if name == "length":
        return len(str(value))
    if name == "year":
        return value.year
    if name == "month":
        return value.month
    return value.day


def evaluate(node: Node, get: Getter) -> Any:
    """Evaluate a parsed expression for one record (`get(name)` returns a property value)."""
    if isinstance(node, Compare):
        return _compare(node.op, evaluate(node.left, get), evaluate(node.right, get))
    if isinstance(node, BoolOp):
        if node.op == "and":
            return bool(evaluate(node.left, get)) and bool(evaluate(node.right, get))
        return bool(evaluate(node.left, get)) or bool(evaluate(node.right, get))
    if isinstance(node, Not):
        return not evaluate(node.operand, get)
    if isinstance(node, FieldRef):
        return get(node.name)
    if isinstance(node, Literal):
        return node.value
    return _call(node.name, [evaluate(arg, get) for arg in node.args])


# ---------------------------------------------------------------------------------------------- options

_KNOWN_OPTIONS = {
    "$select",
    "$filter",
    "$top",
    "$skiptoken",
    "$expand",
    "$inlinecount",
    "$orderby",
    "$format",
    "$skip",
}


@dataclass
class QueryOptions:
    """The system query options of one request, validated against the entity set."""

    select: list[str] | None = None
    # Line collection -> selected line fields (None = all) for `$select=Lines/Field`.
    select_nav: dict[str, list[str] | None] = field(default_factory=dict)
    expand: list[str] = field(default_factory=list)
    filter: Node | None = None
    orderby: list[tuple[str, bool]] = field(default_factory=list)
    top: int | None = None
    # $skip: matching rows passed over before the page starts (only where allowed, see parse_options).
    skip: int = 0
    skiptoken: str | None = None
    inlinecount: bool = False
    format: str | None = None
    # Original texts, repeated in __next links.
    raw: dict[str, str] = field(default_factory=dict)


def parse_options(
    args: Mapping[str, str],
    *,
    properties: Mapping[str, str],
    navigations: Mapping[str, Mapping[str, str]],
    type_name: str,
    allow_skip: bool = False,
) -> QueryOptions:
    """Parse $select/$filter/$top/... ; unknown properties and unsupported options raise ODataError (400).

    `allow_skip`: $skip (NOTES.md: OData) is "no longer supported for new endpoints that are released after
    March 1st 2017" (bulk, sync); the older CRUD endpoints still take it.
    """
    options = QueryOptions()
    for name in args:
        if name.startswith("$") and name not in _KNOWN_OPTIONS:
            raise ODataError(
                f"The query parameter '{name}' begins with a system-reserved '$' character but is not recognized."
            )
    if "$skip" in args:
        if not allow_skip:
            # Exact: "$skip is no longer supported for new endpoints"; paging goes through $skiptoken.
            raise ODataError("The query parameter '$skip' is not supported. Use the __next link ($skiptoken).")
        try:
            options.skip = int(args["$skip"])
        except ValueError:
            raise ODataError(f"Invalid value '{args['$skip']}' for $skip query option found.") from None
        if options.skip < 0:
            raise ODataError(f"Invalid value '{args['$skip']}' for $skip query option found.")
    if "$expand" in args and args["$expand"].strip():
        for name in (part.strip() for part in args["$expand"].split(",")):
            if name not in navigations:
                raise ODataError(f"No property '{name}' exists in type '{type_name}' at position 0.")
            options.expand.append(name)
        options.raw["$expand"] = args["$expand"]
    if "$select" in args:
        text = args["$select"].strip()
        if not text or text == "*":
            # Exact advises never to use $select=* ; treat it as "everything".
            options.select = None
        else:
            options.select = []
            for item in (part.strip() for part in text.split(",")):
                if "/" in item:
                    navigation, _, sub = item.partition("/")
                    if navigation not in navigations:
                        raise ODataError(f"No property '{navigation}' exists in type '{type_name}' at position 0.")
                    if navigation not in options.expand:
                        raise ODataError(
                            "Only properties specified in $expand can be traversed in $select query options. "
                            f"Selected item: '{item}'."
                        )
                    if sub != "*" and sub not in navigations[navigation]:
                        raise ODataError(f"No property '{sub}' exists in type '{navigation}' at position 0.")
                    selected = options.select_nav.get(navigation, [])
                    if selected is not None:
                        options.select_nav[navigation] = None if sub == "*" else [*selected, sub]
                    continue
                if item in navigations:
                    options.select_nav[item] = None
                    continue
                if item not in properties:
                    raise ODataError(f"No property '{item}' exists in type '{type_name}' at position 0.")
                options.select.append(item)
        options.raw["$select"] = args["$select"]
    if "$filter" in args:
        options.filter = parse_filter(args["$filter"], properties, type_name)
        options.raw["$filter"] = args["$filter"]
    if "$orderby" in args:
        for clause in (part.strip() for part in args["$orderby"].split(",")):
            words = clause.split()
            if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
                raise ODataError(f"Syntax error in $orderby '{args['$orderby']}'.")
            if words[0] not in properties:
                raise ODataError(f"No property '{words[0]}' exists in type '{type_name}' at position 0.")
            options.orderby.append((words[0], len(words) == 2 and words[1] == "desc"))
        options.raw["$orderby"] = args["$orderby"]
    if "$top" in args:
        try:
            options.top = int(args["$top"])
        except ValueError:
            raise ODataError(f"Invalid value '{args['$top']}' for $top query option found.") from None
        if options.top < 0:
            raise ODataError(f"Invalid value '{args['$top']}' for $top query option found.")
    if "$inlinecount" in args:
        value = args["$inlinecount"]
        if value not in ("allpages", "none"):
            raise ODataError(f"Invalid value '{value}' for $inlinecount query option found.")
        options.inlinecount = value == "allpages"
        options.raw["$inlinecount"] = value
    if "$skiptoken" in args:
        options.skiptoken = args["$skiptoken"]
    if "$format" in args:
        options.format = args["$format"]
    return options


def parse_skiptoken(token: str, key_type: str) -> Any:
    """The last key of the previous page: guid'…' for GUID keys, 123L for sync timestamps, 123 for ints."""
    text = token.strip()
    try:
        if key_type == "Edm.Guid":
            if text.startswith("guid'") and text.endswith("'"):
                text = text[5:-1]
            return normalize_guid(text)
        return int(text.rstrip("Ll"))
    except ValueError:
        raise ODataError(f"Invalid $skiptoken '{token}'.") from None


def format_key(value: Any, key_type: str) -> str:
    """A key as it appears in URIs and skiptokens."""
    if key_type == "Edm.Guid":
        return f"guid'{value}'"
    if key_type == "Edm.Int64":
        return f"{value}L"
    return str(value)


def parse_key(text: str, key_type: str) -> Any:
    """The key in `Entity(guid'…')` / `Entity(123L)` / `Entity(123)`; ODataError 400 when malformed."""
    try:
        if key_type == "Edm.Guid":
            if not (text.startswith("guid'") and text.endswith("'")):
                raise ValueError(text)
            return normalize_guid(text[5:-1])
        return int(text.rstrip("Ll"))
    except ValueError:
        raise ODataError(f"Bad Request - Error in query syntax: invalid key '{text}'.") from None
