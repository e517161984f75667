"""The operator overview in admin: staff only, and it shows what needs attention from the same sources as the alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from connectors.base.ratelimit import DAILY, MINUTELY, BudgetState, LocalBudgetStore, Window
from gateway import operations
from gateway.models import WorkerHeartbeat
from tenants.models import CallLog
from tests.tenants.factories import ConnectionFactory
from unified_models.models import Mutation

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    user = get_user_model().objects.create_user("operator", password="pw-0perator!", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def budgets(settings, monkeypatch) -> LocalBudgetStore:  # type: ignore[no-untyped-def]
    store = LocalBudgetStore()
    monkeypatch.setattr("connectors.base.ratelimit.budget_store", lambda url: store)
    now_ms = store.snapshot()[1]
    for division, daily_used in {101: 4700, 102: 100}.items():

        def fill(state: BudgetState, now: int, used: int = daily_used) -> None:
            state.windows[DAILY] = Window(reset_ms=now_ms + 3_600_000, length_ms=86_400_000, limit=5000, used=used)
            state.windows[MINUTELY] = Window(reset_ms=now_ms + 30_000, length_ms=60_000, limit=60, used=1)

        store.update(f"exact:app-1:{division}", fill)
    return store


def test_only_staff_see_it(client: Client) -> None:
    response = client.get("/admin/operations/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_it_shows_what_needs_attention(staff_client: Client, budgets: LocalBudgetStore) -> None:
    ConnectionFactory(company_id="101")
    broken = ConnectionFactory(company_id="102", status="needs_reauth", status_reason="credential: refresh refused")
    Mutation.objects.create(
        workspace=broken.workspace, connection=broken, resource="invoices", operation="create", request={},
        status="failed", error_code="vendor_unavailable",
    )  # fmt: skip
    for status in (404, 404, None, 200):
        CallLog.objects.create(
            connection=broken, method="GET", path="crm/Accounts(guid'5c3b1f0e-0000-4000-8000-000000000001')",
            status=status, duration_ms=12,
        )  # fmt: skip
    WorkerHeartbeat.objects.create(hostname="w1", queue="vendor", last_seen_at=timezone.now())
    WorkerHeartbeat.objects.create(hostname="w1", queue="sync", last_seen_at=timezone.now() - timedelta(minutes=10))

    response = staff_client.get("/admin/operations/")

    assert response.status_code == 200
    page = response.content.decode()
    overview: operations.Overview = response.context["overview"]
    assert overview.connections_by_status == {"active": 1, "needs_reauth": 1, "disabled": 0}
    assert [c.pk for c in overview.connections_needing_attention] == [broken.pk]
    assert "credential: refresh refused" in page
    # Division 101 has 300 of 5,000 daily calls left: under 10 %, listed first and marked.
    assert [(b.division, b.window, b.remaining, b.low) for b in overview.budgets][:2] == [
        ("101", "day", 300, True),
        ("101", "minute", 59, False),
    ]
    assert 'class="low"' in page
    assert overview.writes_by_status[("failed", "transient")]["count"] == 1
    assert [row.endpoint for row in overview.failing_endpoints] == ["crm/Accounts"]
    assert (overview.failing_endpoints[0].calls, overview.failing_endpoints[0].errors) == (4, 3)
    queues = {queue.queue: queue for queue in overview.queues}
    assert not queues["vendor"].stale and queues["sync"].stale and queues["maintenance"].last_heartbeat is None


def test_a_source_that_fails_is_named_and_the_rest_still_shows(staff_client: Client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def unreachable(limit: int) -> list[operations.BudgetRow]:
        raise ConnectionError("redis down")

    monkeypatch.setattr(operations, "budgets_nearest_exhaustion", unreachable)
    ConnectionFactory(status="disabled")
    response = staff_client.get("/admin/operations/")
    assert response.status_code == 200
    assert "could not be read" in response.content.decode()
    assert response.context["overview"].connections_by_status["disabled"] == 1


def test_the_admin_index_links_to_it(staff_client: Client) -> None:
    assert b"/admin/operations/" in staff_client.get("/admin/").content
