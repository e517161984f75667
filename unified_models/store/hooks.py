"""Who hears about changes to the stored copy: listeners get the records a sync or a write changed.

Outbound events (and anything else) subscribe with `on_records_changed(listener)`; a listener is called after the
transaction that stored the change has committed, with the records as the API shows them (without remote_data)
and the ids of records the vendor deleted. A listener that raises is logged and does not affect the others or
the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordChanges:
    connection_id: Any
    resource: str  # unified resource name: contacts, invoices, …
    changed: list[dict[str, Any]]  # new or different records, as the API shows them
    deleted: list[str]  # unified ids of records the vendor reported gone
    created: frozenset[str] = frozenset()  # ids among `changed` that the copy did not hold before


Listener = Callable[[RecordChanges], None]
_listeners: list[Listener] = []


def on_records_changed(listener: Listener) -> Listener:
    """Register a listener (usable as a decorator); registering the same one twice has no effect."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def records_changed(change: RecordChanges) -> None:
    for listener in list(_listeners):
        try:
            listener(change)
        except Exception:
            logger.exception("A store change listener failed for %s of %s", change.resource, change.connection_id)
