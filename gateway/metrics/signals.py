"""Connection status changes counted from the `connection_lifecycle` signal (tenants/signals.py), once committed."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction

from gateway.metrics.instruments import connection_status_change_observe

# The lifecycle kinds that are a change into a status (created and disconnected are not: a new connection starts
# active, a disconnected one is gone).
STATUS_OF_KIND = {"needs_reauth": "needs_reauth", "reactivated": "active", "disabled": "disabled"}


def connection_lifecycle_count(sender: Any, *, kind: str, connections: list[Any], **_: Any) -> None:
    status = STATUS_OF_KIND.get(kind)
    if status is None:
        return
    by_connector = Counter(connection.connector for connection in connections)

    def count() -> None:
        for connector, changed in by_connector.items():
            connection_status_change_observe(connector=connector, status=status, count=changed)

    # Sent inside the change's transaction: count what was committed, not what was rolled back.
    transaction.on_commit(count)
