"""unified_models/store/receivers.py: a created or reactivated connection gets its webhook subscriptions queued
once committed; other lifecycle changes queue nothing. Removal at disconnect against the sandbox: test_inbound.py."""

from __future__ import annotations

from typing import Any

import pytest

from tenants.signals import connection_lifecycle_send
from tests.tenants.factories import ConnectionFactory


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "queued"), [("created", 1), ("reactivated", 1), ("needs_reauth", 0), ("disabled", 0)])
def test_subscriptions_are_queued_after_the_commit_for_new_and_returning_connections(
    kind: str, queued: int, django_capture_on_commit_callbacks: Any
) -> None:
    connection = ConnectionFactory()  # no webhook endpoints: the event outbox queues nothing
    with django_capture_on_commit_callbacks() as callbacks:
        connection_lifecycle_send(kind, [connection])
    # Other receivers count the change for the metrics after the commit too; these are the subscription ones.
    subscribing = [callback for callback in callbacks if "inbound_subscribe_enqueue" in callback.__qualname__]
    assert len(subscribing) == queued
