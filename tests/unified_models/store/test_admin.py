"""unified_models/store/admin.py: the sync actions queue a run per selected copy (full or incremental) and leave
a copy whose run is live alone, saying so; runs are not added by hand."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.tenants.factories import ConnectionFactory
from unified_models.store import services
from unified_models.store.models import SyncMode, SyncRun, SyncState


@pytest.mark.django_db
@pytest.mark.parametrize(("action", "mode"), [("resync_full", SyncMode.FULL), ("sync_changes", SyncMode.INCREMENTAL)])
def test_a_sync_action_queues_a_run_per_copy_and_leaves_live_ones_alone(
    admin_client: Client, django_capture_on_commit_callbacks: Any, action: str, mode: str
) -> None:
    connection = ConnectionFactory()
    live = services.sync_run_request(connection=connection, resource="contacts", trigger="api")
    services.sync_state_get(connection=connection, resource="invoices")
    states = list(SyncState.objects.filter(connection=connection))

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            "/admin/store/syncstate/",
            {"action": action, "_selected_action": [str(state.pk) for state in states]},
            follow=True,
        )

    text = response.content.decode()
    assert f"1 {mode} run(s) queued." in text and "1 already running; left alone." in text
    (queued,) = SyncRun.objects.filter(trigger="admin")
    assert (queued.resource, queued.mode) == ("invoices", mode)
    assert SyncState.objects.get(connection=connection, resource="contacts").current_run_id == live.pk
    assert len([c for c in callbacks if "sync_run_enqueue" in c.__qualname__]) == 1


@pytest.mark.django_db
def test_runs_and_states_are_not_added_by_hand(admin_client: Client) -> None:
    assert admin_client.get("/admin/store/syncrun/add/").status_code == 403
    assert admin_client.get("/admin/store/syncstate/add/").status_code == 403
