"""The sync API: status per resource, a triggered run, 409 while one runs, 422 for a resource without a copy."""

from __future__ import annotations

import pytest

from tests.unified_models.conftest import Connected
from unified_models.store import services
from unified_models.store.models import SyncRun

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_sync_status_trigger_and_conflict(connected: Connected) -> None:
    status = connected.client.get(connected.url("sync"))
    assert status.status_code == 200
    by_resource = {row["resource"]: row for row in status.json()["resources"]}
    assert set(by_resource) == {
        "contacts",
        "invoices",
        "ledger-accounts",
        "tax-rates",
        "journals",
        "items",
        "payments",
        "purchase-invoices",
        "journal-entries",
        "sales-orders",
        "projects",
        "time-entries",
        "cost-entries",
        "company",
    }
    assert by_resource["invoices"]["state"] == "never" and not by_resource["invoices"]["reads_from_store"]

    started = connected.client.post(connected.url("sync"), {"mode": "full", "resources": ["invoices"]}, format="json")
    assert started.status_code == 202, started.json()
    (run,) = started.json()["runs"]
    assert run["resource"] == "invoices" and run["mode"] == "full"
    busy = connected.client.post(connected.url("sync"), {"resources": ["invoices", "contacts"]}, format="json")
    assert busy.status_code == 409 and busy.json()["code"] == "sync_running"
    assert busy.json()["run_id"] == run["run_id"]
    assert SyncRun.objects.filter(connection=connected.connection, resource="contacts").count() == 0  # none started
    running = {row["resource"]: row for row in connected.client.get(connected.url("sync")).json()["resources"]}
    assert running["invoices"]["state"] == "queued" and running["invoices"]["running"]["run_id"] == run["run_id"]

    services.sync_run_execute(run_id=run["run_id"])
    done = {row["resource"]: row for row in connected.client.get(connected.url("sync")).json()["resources"]}
    assert done["invoices"]["state"] == "idle" and done["invoices"]["reads_from_store"]
    assert (
        done["invoices"]["record_count"] == len(connected.dump("SalesInvoices")) and done["invoices"]["running"] is None
    )

    unknown = connected.client.post(connected.url("sync"), {"resources": ["mapping"]}, format="json")
    assert unknown.status_code == 422 and unknown.json()["code"] == "sync_not_supported"
    bad_mode = connected.client.post(connected.url("sync"), {"mode": "sometimes"}, format="json")
    assert bad_mode.status_code == 422
