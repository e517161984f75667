"""The subset of Xero's `where` and `order` syntax that clients send, as a small parser; the rest is refused.

Supported: `== != > < >= <=`, `AND`/`&&`, `OR`/`||`, `NOT`, parentheses, dotted fields (`Contact.ContactID`),
`.Contains("x")`, `.StartsWith("x")`, `.EndsWith("x")`, `.ToLower()`, `.ToUpper()` (method names in any case,
as pyxero lower-cases them), literals `"text"`, numbers, `true`/`false`, `null`, `Guid("…")`/`GUID("…")` and
`DateTime(y, m, d[, h, mi, s])` (NOTES.md "Filtering"). Anything else raises WhereError, which the API answers
with a 400 QueryParseException instead of ignoring the filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.xero.sandbox.values import guid

# Field types a resource declares: "str", "guid", "date", "datetime", "decimal", "bool", "int", or a nested schema.
Schema = Mapping[str, Any]
Predicate = Callable[[Mapping[str, Any]], bool]


class WhereError(ValueError):
    """The filter or order cannot be parsed or evaluated; the message is Xero's QueryParseException text."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|>=|<=|&&|\|\||>|<|!|\(|\)|,|\.)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]
    kind: str
    transform: str | None = None


@dataclass(frozen=True)
class _Literal:
    value: Any
    kind: str


def _tokenise(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise WhereError(f"Syntax error at position {pos} in '{text}'")
        pos = match.end()
        kind = match.lastgroup
        assert kind is not None
        tokens.append(_Tok(kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, text: str, schema: Schema, type_name: str) -> None:
        self.tokens = _tokenise(text)
        self.pos = 0
        self.schema = schema
        self.type_name = type_name

    # ------------------------------------------------------------------ helpers

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        token = self.peek()
        if token is None:
            raise WhereError("Expression expected")
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        token = self.take()
        if token.text != text:
            raise WhereError(f"'{text}' expected")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "name" and token.text.upper() in words

    def at_op(self, *ops: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "op" and token.text in ops

    # ------------------------------------------------------------------ grammar

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise WhereError(f"Syntax error: unexpected '{self.peek().text}'")  # type: ignore[union-attr]
        return predicate

    def or_expr(self) -> Predicate:
        parts = [self.and_expr()]
        while self.at_word("OR") or self.at_op("||"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expr(self) -> Predicate:
        parts = [self.not_expr()]
        while self.at_word("AND") or self.at_op("&&"):
            self.take()
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def not_expr(self) -> Predicate:
        if self.at_word("NOT") or self.at_op("!"):
            self.take()
            inner = self.not_expr()
            return lambda r: not inner(r)
        return self.comparison()

    def comparison(self) -> Predicate:
        if self.at_op("("):
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        left = self.operand()
        if self.at_op("==", "!=", ">", "<", ">=", "<="):
            op = self.take().text
            right = self.operand()
            return self.compare(left, op, right)
        if isinstance(left, _Field) and left.kind == "bool":
            return lambda r: _resolve(r, left.path) is True
        if callable(left):
            return left
        raise WhereError("Expression of type 'Boolean' expected")

    def operand(self) -> Any:
        token = self.take()
        if token.kind == "string":
            return _Literal(_unquote(token.text), "str")
        if token.kind == "number":
            return _Literal(Decimal(token.text), "decimal")
        if token.kind != "name":
            raise WhereError(f"Syntax error: unexpected '{token.text}'")
        word = token.text
        if word.lower() in ("true", "false"):
            return _Literal(word.lower() == "true", "bool")
        if word.lower() == "null":
            return _Literal(None, "null")
        if word.upper() == "GUID" and self.at_op("("):
            self.take()
            text = self.take()
            self.expect(")")
            value = guid(_unquote(text.text)) if text.kind == "string" else None
            if value is None:
                raise WhereError(f"'{text.text}' is not a valid Guid")
            return _Literal(value, "guid")
        if word == "DateTime" and self.at_op("("):
            return self.datetime_literal()
        return self.field(word)

    def datetime_literal(self) -> _Literal:
        self.expect("(")
        numbers: list[int] = []
        while True:
            token = self.take()
            if token.kind != "number" or "." in token.text:
                raise WhereError("DateTime expects whole numbers: DateTime(2024, 1, 31)")
            numbers.append(int(token.text))
            if self.at_op(","):
                self.take()
                continue
            self.expect(")")
            break
        if len(numbers) not in (3, 6):
            raise WhereError("DateTime expects (year, month, day) or (year, month, day, hour, minute, second)")
        try:
            return _Literal(datetime(*numbers, tzinfo=UTC), "datetime")  # type: ignore[misc]
        except ValueError as exc:
            raise WhereError(f"Invalid DateTime: {exc}") from None

    def field(self, first: str) -> Any:
        path = [first]
        schema: Any = self.schema
        type_name = self.type_name
        names = _lookup(schema, first, type_name)
        path[0], kind = names
        while self.at_op("."):
            self.take()
            name = self.take()
            if name.kind != "name":
                raise WhereError("Identifier expected")
            if self.at_op("("):
                return self.method(_Field(tuple(path), kind), name.text)
            if not isinstance(kind, Mapping):
                raise WhereError(f"No property or field '{name.text}' exists in type '{path[-1]}'")
            resolved, kind = _lookup(kind, name.text, path[-1])
            path.append(resolved)
        if isinstance(kind, Mapping):
            raise WhereError(f"'{'.'.join(path)}' cannot be compared; name one of its fields")
        return _Field(tuple(path), kind)

    def method(self, target: _Field, name: str) -> Any:
        self.expect("(")
        lowered = name.lower()
        if target.kind not in ("str", "guid"):
            raise WhereError(f"No applicable method '{name}' exists in type '{target.kind}'")
        if lowered in ("tolower", "toupper"):
            self.expect(")")
            result = _Field(target.path, "str", lowered)
            # `Name.ToLower()` may itself be followed by a method: Name.ToLower().Contains("x").
            if self.at_op("."):
                self.take()
                nxt = self.take()
                if nxt.kind != "name" or not self.at_op("("):
                    raise WhereError("Method call expected")
                return self.method(result, nxt.text)
            return result
        if lowered not in ("contains", "startswith", "endswith"):
            raise WhereError(f"No applicable method '{name}' exists in type 'String'")
        argument = self.take()
        self.expect(")")
        if argument.kind != "string":
            raise WhereError(f"{name} expects a string argument")
        needle = _unquote(argument.text).lower()
        path, transform = target.path, target.transform

        def test(record: Mapping[str, Any]) -> bool:
            value = _text(_resolve(record, path), transform)
            if value is None:
                return False
            value = value.lower()
            if lowered == "contains":
                return needle in value
            if lowered == "startswith":
                return value.startswith(needle)
            return value.endswith(needle)

        return test

    def compare(self, left: Any, op: str, right: Any) -> Predicate:
        if isinstance(left, _Literal) and isinstance(right, _Field):
            left, right = right, left
            op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
        if not isinstance(left, _Field) or not isinstance(right, _Literal):
            raise WhereError("A comparison needs a field on one side and a value on the other")
        field, literal = left, right
        if literal.kind == "null":
            if op not in ("==", "!="):
                raise WhereError(f"Operator '{op}' incompatible with null")
            return lambda r: (_resolve(r, field.path) is None) == (op == "==")
        expected = _COMPATIBLE.get(field.kind, {field.kind})
        if literal.kind not in expected:
            raise WhereError(
                f"Operator '{op}' incompatible with operand types '{_TYPE_NAMES.get(field.kind, field.kind)}' "
                f"and '{_TYPE_NAMES.get(literal.kind, literal.kind)}'"
            )
        value = literal.value
        if field.kind == "guid":
            value = guid(value)
            if value is None:
                raise WhereError(f"'{literal.value}' is not a valid Guid")
        if field.kind in ("str", "guid") and op not in ("==", "!="):
            raise WhereError(f"Operator '{op}' incompatible with operand types 'String' and 'String'")
        compare = _OPS[op]

        def test(record: Mapping[str, Any]) -> bool:
            current = _resolve(record, field.path)
            if current is None:
                return op == "!="
            if field.kind in ("str", "guid") or field.transform:
                current = _text(current, field.transform)
                return compare(current.lower(), str(value).lower())  # type: ignore[union-attr]
            if field.kind in ("date", "datetime"):
                return compare(_as_datetime(current), value)
            if field.kind in ("decimal", "int"):
                return compare(Decimal(str(current)), value)
            return compare(current, value)

        return test


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
}
_COMPATIBLE = {
    "str": {"str"},
    "guid": {"guid", "str"},
    "date": {"datetime"},
    "datetime": {"datetime"},
    "decimal": {"decimal"},
    "int": {"decimal"},
    "bool": {"bool"},
}
_TYPE_NAMES = {
    "str": "String",
    "guid": "Guid",
    "date": "DateTime",
    "datetime": "DateTime",
    "decimal": "Decimal",
    "int": "Int32",
    "bool": "Boolean",
}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _lookup(schema: Mapping[str, Any], name: str, type_name: str) -> tuple[str, Any]:
    """Field names are matched case-insensitively, as Xero's filters do."""
    for key, kind in schema.items():
        if key.lower() == name.lower():
            return key, kind
    raise WhereError(f"No property or field '{name}' exists in type '{type_name}'")


def _resolve(record: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _text(value: Any, transform: str | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if transform == "tolower":
        return text.lower()
    if transform == "toupper":
        return text.upper()
    return text


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise WhereError(f"'{value}' is not a date")


def parse_where(text: str, schema: Schema, type_name: str) -> Predicate:
    """A predicate over stored records, or WhereError."""
    return _Parser(text, schema, type_name).parse()


def parse_order(text: str, schema: Schema, type_name: str) -> list[tuple[tuple[str, ...], bool]]:
    """`Field [ASC|DESC][, …]` -> [(path, descending)], or WhereError for an unknown field or direction."""
    keys: list[tuple[tuple[str, ...], bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise WhereError(f"Invalid order clause '{part.strip()}'")
        descending = False
        if len(words) == 2:
            direction = words[1].upper()
            if direction not in ("ASC", "DESC", "ASCENDING", "DESCENDING"):
                raise WhereError(f"Invalid order direction '{words[1]}'")
            descending = direction.startswith("DESC")
        path: list[str] = []
        kind: Any = schema
        owner = type_name
        for name in words[0].split("."):
            if not isinstance(kind, Mapping):
                raise WhereError(f"No property or field '{name}' exists in type '{owner}'")
            resolved, kind = _lookup(kind, name, owner)
            path.append(resolved)
            owner = resolved
        if isinstance(kind, Mapping):
            raise WhereError(f"'{words[0]}' cannot be ordered by; name one of its fields")
        keys.append((tuple(path), descending))
    return keys


def sort_records(records: list[Any], keys: list[tuple[tuple[str, ...], bool]]) -> list[Any]:
    """Stable multi-key sort; missing values sort first ascending (last descending)."""
    result = list(records)
    for path, descending in reversed(keys):

        def key(record: Mapping[str, Any], path: tuple[str, ...] = path) -> tuple[int, Any]:
            value = _resolve(record, path)
            if value is None:
                return (0, "")
            if isinstance(value, str):
                return (1, value.lower())
            if isinstance(value, date):
                return (1, _as_datetime(value))
            return (1, value)

        result.sort(key=key, reverse=descending)
    return result
