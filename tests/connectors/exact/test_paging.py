"""Unified pages over Exact's 60-row pages (pure, with a fake Exact that pages by skiptoken like the real one)."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base.records import InvalidInput
from connectors.exact.odata import Page
from connectors.exact.paging import Position, decode_cursor, encode_cursor, read_rows


class FakeExact:
    """Rows keyed "k000".."kNNN" in key order; 60 per page; `$skiptoken` is the key of the previous page's last row."""

    def __init__(self, count: int, page_size: int = 60) -> None:
        self.keys = [f"{index:036d}" for index in range(count)]
        self.page_size = page_size
        self.fetches: list[str | None] = []

    def fetch(self, skiptoken: str | None) -> Page:
        self.fetches.append(skiptoken)
        start = 0
        if skiptoken is not None:
            after = skiptoken[len("guid'") : -1]
            start = next((i for i, key in enumerate(self.keys) if key > after), len(self.keys))
        chunk = self.keys[start : start + self.page_size]
        more = start + self.page_size < len(self.keys)
        next_url = f"https://start.exactonline.nl/api/v1/1/x?$select=ID&$skiptoken=guid'{chunk[-1]}'" if more else None
        return Page(records=[{"ID": key} for key in chunk], next_url=next_url)


def _read_all(exact: FakeExact, page_size: int, **kwargs: Any) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        rows, cursor = read_rows(exact.fetch, cursor=cursor, page_size=page_size, key="ID", **kwargs)
        pages.append([row["ID"] for row in rows])
        if cursor is None:
            return pages


@pytest.mark.parametrize(("count", "page_size"), [(500, 37), (500, 200), (500, 60), (120, 60), (59, 200), (0, 10)])
def test_every_row_once_in_order(count: int, page_size: int) -> None:
    exact = FakeExact(count)
    pages = _read_all(exact, page_size)
    flat = [key for page in pages for key in page]
    assert flat == exact.keys
    assert all(len(page) == page_size for page in pages[:-1])


def test_a_page_ending_on_an_exact_page_boundary_continues_with_the_next_skiptoken() -> None:
    exact = FakeExact(180)
    rows, cursor = read_rows(exact.fetch, cursor=None, page_size=60, key="ID")
    assert cursor is not None and decode_cursor(cursor) == Position(skiptoken=f"guid'{rows[-1]['ID']}'")


def test_rows_removed_before_the_resume_fall_back_to_the_offset() -> None:
    exact = FakeExact(100)
    rows, cursor = read_rows(exact.fetch, cursor=None, page_size=10, key="ID")
    position = decode_cursor(cursor)
    assert position == Position(skiptoken=None, offset=10, last_key=rows[-1]["ID"])
    exact.keys.remove(rows[-1]["ID"])  # deleted meanwhile: the offset still points just past it
    more, _ = read_rows(exact.fetch, cursor=cursor, page_size=5, key="ID")
    assert more[0]["ID"] == f"{11:036d}"


def test_keep_drops_rows_but_they_still_advance() -> None:
    exact = FakeExact(200)
    pages = _read_all(exact, 25, keep=lambda row: int(row["ID"]) % 2 == 0)
    assert [key for page in pages for key in page] == [key for key in exact.keys if int(key) % 2 == 0]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        encode_cursor(Position(skiptoken="guid'x' or 1 eq 1")),
        encode_cursor(Position(skiptoken="12L\n")),
        encode_cursor(Position(skiptoken=None, offset=-1)),
    ],
)
def test_foreign_cursors_are_invalid_input(cursor: str) -> None:
    with pytest.raises(InvalidInput) as invalid:
        read_rows(FakeExact(10).fetch, cursor=cursor, page_size=5, key="ID")
    assert invalid.value.field == "cursor"


@pytest.mark.parametrize("page_size", [0, 201, -1])
def test_page_size_is_1_to_200(page_size: int) -> None:
    with pytest.raises(InvalidInput) as invalid:
        read_rows(FakeExact(10).fetch, cursor=None, page_size=page_size, key="ID")
    assert invalid.value.field == "page_size"
