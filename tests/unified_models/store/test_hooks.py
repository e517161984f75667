"""unified_models/store/hooks.py: listeners of changes to the stored copy, each registered once, each called
even when another one fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from unified_models.store import hooks

# A resource the app's own listener (unified_models/store_events.py) ignores, so only these listeners act.
CHANGE = hooks.RecordChanges(connection_id="c-1", resource="ledger-accounts", changed=[{"id": "a"}], deleted=["b"])


@pytest.fixture
def heard() -> Iterator[list[tuple[str, hooks.RecordChanges]]]:
    calls: list[tuple[str, hooks.RecordChanges]] = []

    def first(change: hooks.RecordChanges) -> None:
        calls.append(("first", change))

    def failing(change: hooks.RecordChanges) -> None:
        raise RuntimeError("listener bug")

    def last(change: hooks.RecordChanges) -> None:
        calls.append(("last", change))

    for listener in (first, first, failing, last):
        hooks.on_records_changed(listener)
    yield calls
    for listener in (first, failing, last):
        hooks.remove_listener(listener)


def test_every_listener_hears_a_change_once_even_after_one_fails(
    heard: list[tuple[str, hooks.RecordChanges]], caplog: pytest.LogCaptureFixture
) -> None:
    hooks.records_changed(CHANGE)
    assert heard == [("first", CHANGE), ("last", CHANGE)]
    assert "A store change listener failed for ledger-accounts of c-1" in caplog.text


def test_a_removed_listener_hears_nothing_more() -> None:
    calls: list[hooks.RecordChanges] = []
    listener = hooks.on_records_changed(calls.append)
    hooks.records_changed(CHANGE)
    hooks.remove_listener(listener)
    hooks.remove_listener(listener)  # removing twice is harmless
    hooks.records_changed(CHANGE)
    assert calls == [CHANGE]
