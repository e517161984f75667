"""Reconciliation against the sandbox: invoices we wrote, then one changed and one deleted in Exact by someone else
and one created there with our reference format, come out as changed, missing and orphan; the rest match. That one
edits through Exact's own API (Exact-specific); the period, admin and beat tests run for every connector."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from django.utils import timezone

from events.models import AuditEvent
from tenants.credentials import refresh
from tests.unified_models.conftest import Connected, invoice_body
from unified_models.models import Reconciliation
from unified_models.reconciliation import field_differences, reference_prefix_of

pytestmark = pytest.mark.django_db(transaction=True)


class ExactUser:
    """Someone working in Exact itself: calls the sandbox's REST API directly, not through the gateway."""

    def __init__(self, connected: Connected) -> None:
        self.base = f"{connected.world.server.root_url}/nl/api/v1/{connected.division}/salesinvoice/SalesInvoices"
        token = refresh.access_token_for(connected.connection.credential_id)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def put(self, invoice_id: str, changes: dict) -> None:  # type: ignore[type-arg]
        response = httpx.put(f"{self.base}(guid'{invoice_id}')", json=changes, headers=self.headers)
        assert response.status_code == 204, response.text

    def delete(self, invoice_id: str) -> None:
        response = httpx.delete(f"{self.base}(guid'{invoice_id}')", headers=self.headers)
        assert response.status_code == 204, response.text

    def post(self, body: dict) -> str:  # type: ignore[type-arg]
        response = httpx.post(self.base, json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return str(response.json()["d"]["InvoiceID"])


def test_changed_missing_and_orphan_invoices_are_found_and_the_rest_match(
    mapped: Connected, first_customer_id: str
) -> None:
    invoices = {}
    for n in (1, 2, 3, 4):
        response = mapped.client.post(
            mapped.url("invoices"), invoice_body(first_customer_id, reference=f"REC-{n}"), format="json"
        )
        assert response.status_code == 201, response.json()
        invoices[n] = response.json()
    # An update through the API is ours too: the state we left is what it answered.
    updated = mapped.client.patch(mapped.url(f"invoices/{invoices[4]['id']}"), {"description": "Ours"}, format="json")
    assert updated.status_code == 200

    exact = ExactUser(mapped)
    exact.put(invoices[2]["id"], {"Description": "Changed in Exact"})
    exact.delete(invoices[3]["id"])
    # A copy of what we sent for REC-1, with our reference format, created in Exact by hand.
    ours = json.loads(AuditEvent.objects.get(unified_input__reference="REC-1").vendor_payload)
    # Without our line IDs (the gateway names them on create; Exact refuses an ID it already has).
    lines = [{key: value for key, value in line.items() if key != "ID"} for line in ours["SalesInvoiceLines"]]
    orphan_id = exact.post({**ours, "YourRef": "REC-99", "SalesInvoiceLines": lines})

    today = timezone.now().date().isoformat()
    response = mapped.client.post(
        mapped.url("reconciliations"), {"period_start": today, "period_end": today}, format="json"
    )
    assert response.status_code == 201, response.json()
    report = response.json()
    assert report["status"] == "completed" and report["reference_prefixes"] == ["REC-"]
    outcomes = {item["reference"]: item["outcome"] for item in report["items"] if item["resource"] == "invoices"}
    assert outcomes == {
        "REC-1": "matched",
        "REC-2": "changed",
        "REC-3": "missing",
        "REC-4": "matched",
        "REC-99": "orphan",
    }
    assert report["summary"] == {"matched": 2, "changed": 1, "missing": 1, "orphan": 1}
    changed = next(item for item in report["items"] if item["reference"] == "REC-2")
    assert changed["differences"] == [
        {"field": "description", "written": "March services", "ledger": "Changed in Exact"}
    ]
    orphan = next(item for item in report["items"] if item["outcome"] == "orphan")
    assert orphan["record_id"] == orphan_id and orphan["mutation_id"] is None

    # Stored: listed, retrieved, downloadable as CSV.
    listed = mapped.client.get(mapped.url("reconciliations")).json()["results"]
    assert [row["id"] for row in listed] == [report["id"]]
    assert mapped.client.get(mapped.url(f"reconciliations/{report['id']}")).json()["summary"] == report["summary"]
    exported = mapped.client.get(mapped.url(f"reconciliations/{report['id']}/csv"))
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.content.decode())))
    assert {(row["reference"], row["outcome"], row["field"]) for row in rows} == {
        ("REC-1", "matched", ""),
        ("REC-2", "changed", "description"),
        ("REC-3", "missing", ""),
        ("REC-4", "matched", ""),
        ("REC-99", "orphan", ""),
    }
    assert Reconciliation.objects.get().connection_id == mapped.connection.pk


def test_a_period_without_writes_reports_nothing_and_bad_periods_are_refused(any_mapped: Connected) -> None:
    mapped = any_mapped
    response = mapped.client.post(
        mapped.url("reconciliations"), {"period_start": "2020-01-01", "period_end": "2020-01-31"}, format="json"
    )
    assert response.status_code == 201 and response.json()["items"] == []
    response = mapped.client.post(
        mapped.url("reconciliations"), {"period_start": "2020-02-01", "period_end": "2020-01-31"}, format="json"
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "period_end"


def test_differences_are_field_by_field_and_amounts_compare_as_numbers() -> None:
    written = {"total": "100.00", "status": "open", "lines": [{"quantity": "2", "unit_price": "10.00"}]}
    ledger = {"total": "100.0", "status": "paid", "lines": [{"quantity": "3", "unit_price": "10"}, {"quantity": "1"}]}
    assert field_differences(written, ledger) == [
        {"field": "lines.count", "written": 1, "ledger": 2},
        {"field": "lines.0.quantity", "written": "2", "ledger": "3"},
    ]
    assert (reference_prefix_of("ORDER-4711"), reference_prefix_of("4711"), reference_prefix_of("ABC")) == (
        "ORDER-",
        None,
        None,
    )


def test_reports_are_read_only_in_admin(any_mapped: Connected) -> None:
    mapped = any_mapped
    from django.contrib.auth.models import User
    from django.test import Client

    mapped.client.post(
        mapped.url("reconciliations"), {"period_start": "2020-01-01", "period_end": "2020-01-31"}, format="json"
    )
    report = Reconciliation.objects.get()
    User.objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.login(username="root", password="pw")
    page = admin.get(f"/admin/unified_models/reconciliation/{report.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin.get("/admin/unified_models/reconciliation/").status_code == 200


def test_beat_reconciles_last_month_for_every_active_connection(any_mapped: Connected) -> None:
    mapped = any_mapped
    from datetime import date

    from django.conf import settings

    from unified_models.reconciliation import reconciliation_previous_month
    from unified_models.tasks import reconciliations_monthly

    entry = settings.CELERY_BEAT_SCHEDULE["reconciliations-monthly"]
    assert entry["task"] == reconciliations_monthly.name
    assert reconciliation_previous_month(today=date(2026, 3, 1)) == (date(2026, 2, 1), date(2026, 2, 28))
    assert reconciliations_monthly() == 1
    report = Reconciliation.objects.get()
    assert report.connection_id == mapped.connection.pk and report.status == "completed"
    assert (report.period_start, report.period_end) == reconciliation_previous_month()
