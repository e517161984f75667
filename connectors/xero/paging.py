"""Unified pages of any size (1-200) over Xero's pages, with an opaque cursor that resumes where the last page ended.

Xero pages lists with `page` (1-based) and `pageSize` (up to 1000; NOTES.md: Paging), in a stable order. The
unified page size becomes Xero's `pageSize`, so a unified page is one Xero page; the cursor counts the Xero rows
already consumed (`base64url({"o": offset})`), which also resumes correctly when the client changes the page
size between pages (the page containing the offset is fetched and the rows before it skipped). Lists Xero does
not page (Accounts, TaxRates, Items) are read whole and sliced at the same offset.
"""

from __future__ import annotations

import base64
import json

from connectors.base.records import InvalidInput

MAX_PAGE_SIZE = 200
# A cursor beyond this many rows is not one this connector issued (Xero's lists are capped at 100k records).
MAX_OFFSET = 1_000_000


def check_page_size(page_size: int) -> None:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("page_size", f"Between 1 and {MAX_PAGE_SIZE}.")


def encode_cursor(offset: int, part: int = 0) -> str:
    """A cursor at row `offset` of the list's `part` (a list read from two endpoints, e.g. invoices then credit
    notes, has parts 0 and 1)."""
    content: dict[str, int] = {"o": offset} if part == 0 else {"o": offset, "p": part}
    payload = json.dumps(content, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor names; InvalidInput("cursor") for anything this connector did not issue."""
    part, offset = decode_cursor_part(cursor)
    if part != 0:
        raise InvalidInput("cursor", "Not a cursor of this list; start again from the first page.")
    return offset


def decode_cursor_part(cursor: str | None, parts: int = 1) -> tuple[int, int]:
    """The (part, offset) a cursor names, for a list of `parts` parts; InvalidInput("cursor") for anything this
    connector did not issue."""
    if not cursor:
        return 0, 0
    refused = InvalidInput("cursor", "Not a cursor of this list; start again from the first page.")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        content = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        offset, part = content["o"], content.get("p", 0)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise refused from None
    for value in (offset, part):
        if not isinstance(value, int) or isinstance(value, bool):
            raise refused
    if not 0 <= part < max(parts, 1) or not (offset > 0 if part == 0 else offset >= 0) or offset > MAX_OFFSET:
        raise refused
    return part, offset


def page_window(offset: int, page_size: int) -> tuple[int, int]:
    """Xero's page number holding row `offset` with pages of `page_size`, and how many of its rows to skip."""
    return offset // page_size + 1, offset % page_size
