"""Scrape-time gauges from the database, Redis and the broker; a failing collector says so and hides only itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.base.ratelimit import DAILY, MINUTELY, BudgetState, LocalBudgetStore, Window
from gateway.metrics import collectors
from gateway.models import WorkerHeartbeat
from tests.tenants.factories import ConnectionFactory
from unified_models.models import Mutation

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    collectors.cache_clear()
    yield
    collectors.cache_clear()


def _samples(families: list) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:  # type: ignore[type-arg]
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families
        for sample in family.samples
    }


def _scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return _samples(list(collectors.ScrapeTimeCollector().collect()))


def _mutation(connection, *, status: str, error_code: str = "", age: timedelta = timedelta(0)) -> Mutation:  # type: ignore[no-untyped-def]
    mutation = Mutation.objects.create(
        workspace=connection.workspace,
        connection=connection,
        resource="invoices",
        operation="create",
        request={},
        status=status,
        error_code=error_code,
    )
    Mutation.objects.filter(pk=mutation.pk).update(created_at=timezone.now() - age)
    return mutation


def test_connections_by_status_with_every_status_present() -> None:
    ConnectionFactory(status="active")
    ConnectionFactory(status="needs_reauth", company_id="102")
    ConnectionFactory(status="needs_reauth", company_id="103")
    samples = _samples(collectors.connections_collect())
    assert samples[("ledgerbridge_connections", (("connector", "exact"), ("status", "active")))] == 1
    assert samples[("ledgerbridge_connections", (("connector", "exact"), ("status", "needs_reauth")))] == 2
    assert samples[("ledgerbridge_connections", (("connector", "exact"), ("status", "disabled")))] == 0


def test_waiting_writes_by_status_and_cause_with_the_oldest_age() -> None:
    connection = ConnectionFactory()
    _mutation(connection, status="failed", error_code="vendor_validation_failed", age=timedelta(minutes=5))
    _mutation(connection, status="failed", error_code="vendor_unavailable", age=timedelta(hours=2))
    _mutation(connection, status="failed", error_code="connection_needs_reauth", age=timedelta(minutes=1))
    _mutation(connection, status="in_doubt", error_code="vendor_error", age=timedelta(minutes=30))
    _mutation(connection, status="succeeded")
    samples = _samples(collectors.mutations_collect())

    def waiting(status: str, cause: str) -> float:
        return samples[
            ("ledgerbridge_mutations_waiting", (("cause", cause), ("connector", "exact"), ("status", status)))
        ]

    def oldest(status: str, cause: str) -> float:
        key = (
            "ledgerbridge_mutations_oldest_waiting_age_seconds",
            (("cause", cause), ("connector", "exact"), ("status", status)),
        )
        return samples[key]

    assert waiting("failed", "request") == 1  # the caller must change it: replaying sends the same refusal
    assert waiting("failed", "transient") == 2  # vendor down, consent needed: replay once that is fixed
    assert waiting("in_doubt", "none") == 1 and waiting("pending", "none") == 0
    assert 7150 < oldest("failed", "transient") < 7300
    assert 1790 < oldest("in_doubt", "none") < 1900
    assert oldest("sending", "none") == 0


def test_mutation_causes_follow_the_problem_codes() -> None:
    assert collectors.mutation_cause("failed", "invalid_input") == "request"
    assert collectors.mutation_cause("failed", "vendor_refused") == "request"
    assert collectors.mutation_cause("failed", "vendor_rate_limited") == "transient"  # 429
    assert collectors.mutation_cause("failed", "mutation_not_retryable") == "transient"  # 409
    assert collectors.mutation_cause("failed", "internal_error") == "transient"
    assert collectors.mutation_cause("in_doubt", "invalid_input") == "none"


def _budget(daily_left: int, minutely_left: int, now_ms: int) -> BudgetState:
    return BudgetState(
        windows={
            DAILY: Window(reset_ms=now_ms + 3_600_000, length_ms=86_400_000, limit=5000, used=5000 - daily_left),
            MINUTELY: Window(reset_ms=now_ms + 30_000, length_ms=60_000, limit=60, used=60 - minutely_left),
        }
    )


def test_budget_gauges_cover_only_the_busiest_divisions_and_count_every_low_one(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings.REDIS_URL = ""
    settings.LEDGERBRIDGE_METRICS_BUDGET_DIVISIONS = 2
    store = LocalBudgetStore()
    monkeypatch.setattr("connectors.base.ratelimit.budget_store", lambda url: store)
    now_ms = store.snapshot()[1]
    for division, (daily, minutely) in {101: (4000, 50), 102: (300, 60), 103: (100, 2), 104: (2500, 59)}.items():
        store.update(
            f"exact:app-1:{division}",
            lambda state, now, d=daily, m=minutely: state.windows.update(_budget(d, m, now_ms).windows),
        )
    samples = _samples(collectors.budgets_collect())

    remaining = {
        (dict(labels)["division"], dict(labels)["window"]): value
        for (name, labels), value in samples.items()
        if name == "ledgerbridge_vendor_budget_remaining"
    }
    assert remaining == {("103", "day"): 100, ("103", "minute"): 2, ("102", "day"): 300, ("102", "minute"): 60}
    limits = {labels: value for (name, labels), value in samples.items() if name == "ledgerbridge_vendor_budget_limit"}
    assert limits[(("app", "app-1"), ("connector", "exact"), ("division", "103"), ("window", "day"))] == 5000
    low = {
        dict(labels)["window"]: value
        for (name, labels), value in samples.items()
        if name.endswith("low_divisions") and dict(labels)["connector"] == "exact"
    }
    assert low == {"day": 2, "minute": 1}  # 102 and 103 under 500 of 5000; 103 under 6 of 60


def test_an_ended_window_is_full_again() -> None:
    from connectors.base.ratelimit import windows_left

    state = BudgetState(windows={MINUTELY: Window(reset_ms=1_000, length_ms=60_000, limit=60, used=60, carry=3)})
    assert windows_left(state, key="k", now_ms=500)[0].remaining == 0
    assert windows_left(state, key="k", now_ms=2_000)[0].remaining == 57  # the calls reserved at the boundary
    assert windows_left(state, key="k", now_ms=200_000)[0].remaining == 60


def test_heartbeats_per_queue_and_zero_for_a_queue_nobody_serves() -> None:
    seen = timezone.now() - timedelta(seconds=40)
    WorkerHeartbeat.objects.create(hostname="w1", queue="vendor", last_seen_at=seen - timedelta(minutes=5))
    WorkerHeartbeat.objects.create(hostname="w2", queue="vendor", last_seen_at=seen)
    WorkerHeartbeat.objects.create(hostname="w2", queue="", last_seen_at=timezone.now())  # sent directly: no queue
    samples = _samples(collectors.heartbeats_collect())
    assert samples[("ledgerbridge_worker_heartbeat_timestamp_seconds", (("queue", "vendor"),))] == pytest.approx(
        seen.timestamp()
    )
    assert samples[("ledgerbridge_worker_heartbeat_timestamp_seconds", (("queue", "sync"),))] == 0


@pytest.mark.redis
def test_queue_lengths_come_from_the_broker() -> None:
    from gateway.celery import app

    with app.connection_for_write() as connection:
        queue = connection.SimpleQueue("webhooks")
        queue.clear()
        queue.put({"probe": 1})
        queue.put({"probe": 2})
        try:
            samples = _samples(collectors.queues_collect())
            assert samples[("ledgerbridge_celery_queue_length", (("queue", "webhooks"),))] == 2
            assert samples[("ledgerbridge_celery_queue_length", (("queue", "sync"),))] >= 0
        finally:
            queue.clear()
            queue.close()


def test_a_failing_collector_reports_down_and_hides_only_its_own_metrics(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken() -> list:  # type: ignore[type-arg]
        raise ConnectionError("database unreachable")

    monkeypatch.setitem(collectors.COLLECTORS, "mutations", broken)
    samples = _scrape()
    assert samples[("ledgerbridge_collector_up", (("collector", "mutations"),))] == 0
    assert samples[("ledgerbridge_collector_up", (("collector", "connections"),))] == 1
    assert not any(name.startswith("ledgerbridge_mutations_") for name, _ in samples)
    assert any(name == "ledgerbridge_connections" for name, _ in samples)


def test_results_are_cached_between_scrapes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls = []
    monkeypatch.setitem(collectors.COLLECTORS, "connections", lambda: calls.append(1) or [])
    _scrape()
    _scrape()
    assert calls == [1]


def test_sync_and_delivery_gauges_come_from_the_sources_their_engines_register(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # The gateway registers both engines' sources at start (gateway.apps); without a source there is nothing.
    assert set(collectors._sources) == {"sync", "deliveries"}
    monkeypatch.setattr(collectors, "_sources", {})
    collectors.cache_clear()
    assert not any(name.startswith(("ledgerbridge_sync_", "ledgerbridge_outbound_")) for name, _ in _scrape())
    assert ("ledgerbridge_collector_up", (("collector", "sync"),)) not in _scrape()

    collectors.scrape_source_register(
        "sync",
        lambda: collectors.SyncGauges(
            lag_seconds={("exact", "contacts"): 120.0},
            lag_threshold_seconds={("exact", "contacts"): 900.0},
            backfills={("exact", "contacts", "done"): 3, ("exact", "contacts", "running"): 1},
        ),
    )
    collectors.scrape_source_register(
        "deliveries", lambda: collectors.DeliveryGauges(pending=4, oldest_pending_age_seconds=75.0)
    )
    collectors.cache_clear()
    samples = _scrape()
    assert samples[("ledgerbridge_sync_lag_seconds", (("connector", "exact"), ("resource", "contacts")))] == 120
    assert (
        samples[
            ("ledgerbridge_sync_backfills", (("connector", "exact"), ("resource", "contacts"), ("state", "running")))
        ]
        == 1
    )
    assert samples[("ledgerbridge_outbound_deliveries_pending", ())] == 4
    assert samples[("ledgerbridge_outbound_delivery_oldest_pending_age_seconds", ())] == 75
    assert samples[("ledgerbridge_collector_up", (("collector", "sync"),))] == 1
    with pytest.raises(ValueError):
        collectors.scrape_source_register("budgets", lambda: None)
