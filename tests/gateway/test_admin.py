"""gateway/admin.py: worker heartbeats listed read-only for staff, and the operations overview page (staff only)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from gateway.models import WorkerHeartbeat


@pytest.mark.django_db
def test_heartbeats_are_listed_by_queue_and_cannot_be_edited(admin_client: Client) -> None:
    beat = WorkerHeartbeat.objects.create(hostname="celery@h5-admin", queue="vendor", last_seen_at=timezone.now())

    listing = admin_client.get("/admin/gateway/workerheartbeat/", {"queue": "vendor"})
    assert listing.status_code == 200 and "celery@h5-admin" in listing.content.decode()
    change = admin_client.post(
        f"/admin/gateway/workerheartbeat/{beat.pk}/change/",
        {"hostname": "renamed", "queue": "sync", "last_seen_at_0": "2020-01-01", "last_seen_at_1": "00:00:00"},
    )
    assert change.status_code in (200, 302, 403)
    beat.refresh_from_db()
    assert (beat.hostname, beat.queue) == ("celery@h5-admin", "vendor")


@pytest.mark.django_db
def test_the_operations_overview_is_for_staff_only(admin_client: Client, client: Client) -> None:
    page = admin_client.get("/admin/operations/")
    assert page.status_code == 200 and "Operations overview" in page.content.decode()
    anonymous = client.get("/admin/operations/")
    assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
