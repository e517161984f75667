"""Unified pages of any size (1-200) over Exact's fixed 60-row pages, with an opaque cursor that resumes exactly.

Exact pages a standard endpoint 60 rows at a time and continues only through the `$skiptoken` of its `__next`
link (NOTES.md: OData; `$skip` is not supported on newer endpoints, and `$orderby` "will significantly
decrease the performance"). Rows come in key order, which is stable. A unified page rarely ends where an Exact
page ends, so the cursor remembers the Exact page it stopped in and where:

    base64url(JSON {"t": skiptoken of that Exact page or null for the first, "o": rows of it already consumed,
                    "k": key of the last row returned})

On resume the Exact page is fetched again with that skiptoken and reading continues after row "k" (or at offset
"o" if that row has gone meanwhile), so no row is returned twice and none is skipped. Pages are read one after
another, never in parallel (KB: parallel paging duplicates or loses rows).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from connectors.base.records import InvalidInput
from connectors.exact.odata import Page as ExactPage

MAX_PAGE_SIZE = 200
# The forms Exact's __next links carry: guid'…' for GUID-keyed sets, 123L for Int64 ones (NOTES.md: OData).
_SKIPTOKEN_RE = re.compile(r"guid'[0-9a-fA-F-]{36}'|\d+L?")


@dataclass(frozen=True)
class Position:
    skiptoken: str | None  # None: Exact's first page
    offset: int = 0
    last_key: str | None = None


def encode_cursor(position: Position) -> str:
    payload = json.dumps({"t": position.skiptoken, "o": position.offset, "k": position.last_key}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Position:
    """The position a cursor names; InvalidInput("cursor") for anything this connector did not issue."""
    if not cursor:
        return Position(skiptoken=None)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        token, offset, key = payload["t"], payload["o"], payload["k"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput("cursor", "Not a cursor of this list; start again from the first page.") from None
    valid = (
        (token is None or (isinstance(token, str) and _SKIPTOKEN_RE.fullmatch(token)))
        and isinstance(offset, int)
        and not isinstance(offset, bool)
        and 0 <= offset <= 10_000
        and (key is None or isinstance(key, str))
    )
    if not valid:
        raise InvalidInput("cursor", "Not a cursor of this list; start again from the first page.")
    return Position(skiptoken=token, offset=offset, last_key=key)


def skiptoken_of(next_url: str) -> str:
    """The `$skiptoken` value of an Exact `__next` link."""
    values = parse_qs(urlsplit(next_url).query).get("$skiptoken")
    if not values or not _SKIPTOKEN_RE.fullmatch(values[0]):
        raise ValueError("Exact's __next link has no usable $skiptoken.")
    return values[0]


def check_page_size(page_size: int) -> int:
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"A page holds 1 to {MAX_PAGE_SIZE} records.")
    return page_size


def read_rows(
    fetch: Callable[[str | None], ExactPage],
    *,
    cursor: str | None,
    page_size: int,
    key: str,
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `page_size` rows from where `cursor` points, and the cursor after them (None at the end).

    `fetch(skiptoken)` reads one Exact page (None: the first). `keep` drops rows after they are read (a filter
    finer than Exact's, e.g. sub-second `updated_after`); dropped rows still advance the position.
    """
    check_page_size(page_size)
    position = decode_cursor(cursor)
    token = position.skiptoken
    page = fetch(token)
    start = min(position.offset, len(page.records))
    if position.last_key is not None:
        keys = [str(row.get(key)) for row in page.records]
        if position.last_key in keys:
            start = keys.index(position.last_key) + 1
    rows: list[dict[str, Any]] = []
    while True:
        records = page.records
        index = start
        while index < len(records):
            row = records[index]
            index += 1
            if keep is not None and not keep(row):
                continue
            rows.append(row)
            if len(rows) == page_size:
                if index < len(records):
                    return rows, encode_cursor(Position(token, index, str(row.get(key))))
                if page.next_url is None:
                    return rows, None
                return rows, encode_cursor(Position(skiptoken_of(page.next_url)))
        if page.next_url is None:
            return rows, None
        token = skiptoken_of(page.next_url)
        page = fetch(token)
        start = 0
