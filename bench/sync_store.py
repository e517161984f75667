"""The local store and its sync engine against the Exact sandbox: four measurements printed side by side in one run.

(a) Backfill of N invoices x 3 lines (a full copy through `bulk/…`, then the change feed): vendor calls per 1,000
    rows, rows per second with the rate limits off, and the peak RSS of the process executing the run (a child
    process of its own: `--child-run`) at a small and a large N. An initial copy emits no per-record events (one
    sync.completed: unified_models/store_events.py); what they cost is measured on the small copy once more, into
    an emptied store whose resource had completed before, so every record is news (an invoice.created each,
    written batch by batch with the rows).
(b) The large backfill again under Exact's minutely limit with the minute compressed: its time as a share of the
    theoretical best (see `best_time`), and the 429s.
(c) A 100-record page of invoices from the store through the API (`GET …/invoices?page_size=100`: key check,
    permissions, DRF, the store selector) next to a bare Django view returning the same 100 rows of the same table
    (one query, JsonResponse), both through the same middleware in this process: latency p50/p95 and requests/s.
(d) A fleet: K connections, each its own division, backfilled; then one idle cycle of every resource as beat
    schedules it (`sync_schedule`: each run at its connection's offset in the period) executed by one worker
    (a single loop running each run at its time): vendor calls per resource per connection per cycle, and the
    most calls started in any one second next to the average.

Everything runs as an operator would: PostgreSQL (a database it drops and creates), a redis-server of its own,
production settings, the Exact sandbox in-process over real HTTP.

    .venv/bin/python bench/sync_store.py                       # small: 1,000/10,000 invoices, 50 connections
    .venv/bin/python bench/sync_store.py --full                # 10,000/100,000 invoices, 1,000 connections
    .venv/bin/python bench/sync_store.py --only a,c --large 30000

The machine may be shared: times are noisy, counts are exact.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import free_port, own_redis, recreate_database  # noqa: E402

CLIENT_ID = "3f1c2a4e-0000-4000-8000-0000000000d7"
LINES = 3
SMALL = {"small": 1_000, "large": 10_000, "b_limit": 5, "fleet": 50, "fleet_period": 15.0}
FULL = {"small": 10_000, "large": 100_000, "b_limit": 60, "fleet": 1_000, "fleet_period": 300.0}
A_SMALL, A_LARGE, B_DIVISION, FLEET_FIRST = 201, 202, 203, 10_000


# ---------------------------------------------------------------------------------------------- the bare view (c)


def bare_page(request: Any, connection_id: str) -> Any:
    """The same 100 rows of the same table, with nothing around them: one query, one JsonResponse."""
    from django.http import JsonResponse

    from unified_models.store.models import StoredRecord

    rows = (
        StoredRecord.objects.filter(connection_id=connection_id, resource="invoices", deleted_at__isnull=True)
        .order_by("record_id")
        .values_list("data", flat=True)[:100]
    )
    return JsonResponse({"results": list(rows)})


def _urlpatterns() -> list[Any]:
    from django.urls import include, path

    return [path("bench/bare/<str:connection_id>", bare_page), path("", include("gateway.urls"))]


def __getattr__(name: str) -> Any:  # ROOT_URLCONF = "bench.sync_store" during (c)
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


# ---------------------------------------------------------------------------------------------- set-up


def bench_env(*, database_url: str, redis_url: str, sandbox_url: str, keys: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "gateway.settings.production",
        "DJANGO_SECRET_KEY": "sync-store-benchmark-" + uuid.uuid4().hex,
        "LEDGERBRIDGE_CREDENTIAL_KEYS": keys,
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "EXACT_SANDBOX_URL": sandbox_url,
        "EXACT_CLIENT_ID": CLIENT_ID,
        "EXACT_CLIENT_SECRET": "sync-store-client-secret",
        "EXACT_WEBHOOK_SECRET": "sync-store-webhook-secret",
        "LEDGERBRIDGE_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "EXACT_HTTP_TIMEOUT": "120",
        "API_RATE_LIMIT": "10000000/min",
        "DATABASE_CONN_MAX_AGE": "60",  # as deployed (deploy/kubernetes/base/configmap.yaml)
        "LOG_LEVEL": "WARNING",
    }


def setup_world(sandbox: Any, env: dict[str, str], fleet: int) -> dict[str, Any]:
    """App and user in the sandbox, the divisions of every part, and one consent (one token chain, like a user
    with many administrations) with a connection per division."""
    from connectors.registry import reset_registry
    from tests.fixtures.exact import ExactWorld
    from tests.tenants.factories import ApiKeyFactory, WorkspaceFactory, connect_via_sandbox

    control = sandbox.control
    control.reset()
    world = ExactWorld(
        server=sandbox,
        control=control,
        public_url=env["LEDGERBRIDGE_PUBLIC_URL"],
        client_id=env["EXACT_CLIENT_ID"],
        client_secret=env["EXACT_CLIENT_SECRET"],
        webhook_secret=env["EXACT_WEBHOOK_SECRET"],
    )
    control.register_app(
        client_id=world.client_id,
        client_secret=world.client_secret,
        webhook_secret=world.webhook_secret,
        redirect_uris=[world.redirect_uri],
        name="Sync bench",
    )
    user = control.register_user(username="bench@example.test", full_name="Bench", region="nl")
    world.user_id = str(user["user_id"])
    codes = [A_SMALL, A_LARGE, B_DIVISION, *range(FLEET_FIRST, FLEET_FIRST + fleet)]
    for code in codes:
        control.register_division(code=code, name=f"Bench {code} B.V.", region="nl", users=[world.user_id])
    control.set_current_division(world.user_id, A_SMALL)
    limits_off(control)
    reset_registry()
    workspace = WorkspaceFactory()
    api_key = ApiKeyFactory(workspace=workspace)
    _, connections = connect_via_sandbox(world, workspace=workspace, divisions=None, connect=tuple(codes))
    return {"world": world, "api_key": api_key.secret, "connections": dict(zip(codes, connections, strict=True))}


def limits_off(control: Any) -> None:
    control.set_limits(minutely_limit=100_000_000, daily_limit=1_000_000_000, minute_window_seconds=60.0)


def total_calls(control: Any) -> int:
    calls = control.counters()["calls"]
    return sum(sum(by_status.values()) for endpoint, by_status in calls.items() if not endpoint.startswith("oauth2"))


# ---------------------------------------------------------------------------------------------- (a) and (b)


def _peak_rss_mib() -> float:
    """This process's peak RSS since its exec: VmHWM (ru_maxrss would include the forking parent's, which holds the
    in-process sandbox and its seeded data)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("no VmHWM in /proc/self/status (Linux only)")


class CallClock:
    """Told about every vendor request (connectors.base.http.observe_requests): when each one started."""

    def __init__(self) -> None:
        self.started: list[float] = []

    def sending(self, request: Any) -> None:
        self.started.append(time.monotonic())

    def answered(self, request: Any, status: int | None, body: bytes, duration_ms: int) -> None:
        pass


def child_run(run_id: str) -> None:
    """In a process of its own (the worker): execute one sync run, report time and peak RSS as JSON."""
    import django

    django.setup()
    from connectors.base.http import observe_requests
    from unified_models.store import services

    clock = CallClock()
    started_at = time.time()
    started = time.perf_counter()
    began = time.monotonic()
    with observe_requests(clock):
        run = services.sync_run_execute(run_id=run_id)
    seconds = time.perf_counter() - started
    peak_mib = _peak_rss_mib()
    print(
        json.dumps(
            {
                "state": run.state,
                "error": run.error,
                "rows": run.rows,
                "calls": run.calls,
                "seconds": seconds,
                "started_at": started_at,
                "call_starts": [moment - began for moment in clock.started],
                "peak_rss_mib": peak_mib,
            }
        )
    )


def backfill(connection: Any, control: Any) -> dict[str, Any]:
    """A full copy of the connection's invoices, executed by a child process; the sandbox's calls and the record
    events it emitted counted."""
    from events.models import Event
    from unified_models.store import services
    from unified_models.store.models import StoredRecord, SyncMode

    control.reset_counters()
    record_events = Event.objects.filter(connection_id=connection.pk, type__startswith="invoice.")
    events_before = record_events.count()
    run = services.sync_run_request(connection=connection, resource="invoices", mode=SyncMode.FULL, trigger="bench")
    output = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child-run", str(run.pk)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    if result["state"] != "succeeded":
        raise SystemExit(f"backfill failed: {result['error']}")
    counters = control.counters()
    result["sandbox_calls"] = total_calls(control)
    result["bulk_calls"] = sum(counters["calls"].get("bulk/SalesInvoice/SalesInvoices", {}).values())
    result["rate_limited"] = counters["rate_limited"]["total"]
    result["stored"] = StoredRecord.objects.filter(
        connection=connection, resource="invoices", deleted_at__isnull=True
    ).count()
    result["record_events"] = record_events.count() - events_before
    return result


def seed(control: Any, division: int, invoices: int) -> float:
    started = time.perf_counter()
    control.seed(division, accounts=50, invoices=invoices, lines_per_invoice=LINES, seed=division)
    return time.perf_counter() - started


def part_a(setup: dict[str, Any], small: int, large: int) -> dict[str, Any]:
    from unified_models.store.models import StoredRecord

    control = setup["world"].control
    out: dict[str, Any] = {}
    for label, division, invoices in (("small", A_SMALL, small), ("large", A_LARGE, large)):
        seed(control, division, invoices)
        result = backfill(setup["connections"][division], control)
        if result["stored"] != invoices:
            raise SystemExit(f"(a) stored {result['stored']} of {invoices} invoices")
        result["invoices"] = invoices
        result["rows_per_second"] = invoices / result["seconds"]
        result["calls_per_1000"] = result["sandbox_calls"] / (invoices / 1000)
        out[label] = result
    out["rss_ratio"] = out["large"]["peak_rss_mib"] / out["small"]["peak_rss_mib"]
    # The small copy once more into an emptied store whose resource had completed (so it is no initial copy): every
    # record is news, an invoice.created each, written with its batch. What the events cost on top of the engine.
    StoredRecord.objects.filter(connection=setup["connections"][A_SMALL]).delete()
    with_events = backfill(setup["connections"][A_SMALL], control)
    if with_events["record_events"] != small or out["small"]["record_events"] or out["large"]["record_events"]:
        raise SystemExit(f"(a) record events: {with_events['record_events']} (initial copies: none expected)")
    with_events["rows_per_second"] = small / with_events["seconds"]
    out["small_with_events"] = with_events
    return out


def best_time(*, call_starts: list[float], unthrottled: float, limit: int, window: float, started_at: float) -> float:
    """The theoretical best under the limit: the unthrottled run replayed call by call (the same work between
    calls), where a call that would be the (limit+1)-th in its window waits for the next window (windows aligned
    to the epoch, as Exact's calendar minute, from the throttled run's start); no other waiting."""
    started: dict[int, int] = {}
    shift = 0.0  # the waiting added so far
    last = 0.0
    for offset in call_starts:
        moment = offset + shift
        slot = math.floor((started_at + moment) / window)
        while started.get(slot, 0) >= limit:
            slot += 1
            moment = slot * window - started_at
        shift = moment - offset
        started[slot] = started.get(slot, 0) + 1
        last = moment
    tail = unthrottled - (call_starts[-1] if call_starts else 0.0)
    return last + tail


def part_b(
    setup: dict[str, Any], invoices: int, limit: int, unthrottled: dict[str, Any] | None, window: float | None
) -> dict[str, Any]:
    from connectors.exact.ratelimit import budget_key, exact_rate_limiter

    control = setup["world"].control
    seed(control, B_DIVISION, invoices)
    connection = setup["connections"][B_DIVISION]
    if unthrottled is None or unthrottled["invoices"] != invoices:
        # The same copy without limits first (its per-call time is the best case's).
        unthrottled = {**backfill(connection, control), "invoices": invoices}
    per_call = unthrottled["seconds"] / unthrottled["sandbox_calls"]
    if window is None:
        # The window sized so that the limit binds: `limit` calls take half a window at the unthrottled pace. The
        # gateway assumes Exact's 60-second minute until it has seen two resets, so a window of another length
        # surprises it at the first boundary (pass --b-window 60 to keep Exact's length and lower --b-limit).
        window = max(1.0, round(2 * limit * per_call, 1))
    control.set_limits(minutely_limit=limit, daily_limit=1_000_000_000, minute_window_seconds=window)
    exact_rate_limiter().forget(budget_key(CLIENT_ID, B_DIVISION))
    try:
        result = backfill(connection, control)
    finally:
        limits_off(control)
    best = best_time(
        call_starts=unthrottled["call_starts"],
        unthrottled=unthrottled["seconds"],
        limit=limit,
        window=window,
        started_at=result["started_at"],
    )
    return {
        **result,
        "invoices": invoices,
        "limit": limit,
        "window_seconds": window,
        "unthrottled_seconds": unthrottled["seconds"],
        "best_seconds": best,
        "share_of_best": best / result["seconds"],
    }


# ---------------------------------------------------------------------------------------------- (c)


def part_c(setup: dict[str, Any], requests: int) -> dict[str, Any]:
    from django.conf import settings
    from django.test import Client
    from django.urls import clear_url_caches

    connection = setup["connections"][A_LARGE]
    settings.ROOT_URLCONF = "bench.sync_store"
    clear_url_caches()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {setup['api_key']}")
    store_url = f"/api/v1/connections/{connection.pk}/invoices?page_size=100"
    bare_url = f"/bench/bare/{connection.pk}"
    control = setup["world"].control

    first = client.get(store_url)
    bare = client.get(bare_url).json()["results"]
    if first.status_code != 200 or first["X-Data-Source"] != "store":
        raise SystemExit(f"(c) the store page failed: {first.status_code} {first.content[:300]!r}")
    if first.json()["results"] != bare:
        raise SystemExit("(c) the bare view and the store page differ")
    for _ in range(20):  # warm-up
        client.get(store_url)
        client.get(bare_url)
    control.reset_counters()
    times: dict[str, list[float]] = {"store": [], "bare": []}
    for _ in range(requests):
        for name, url in (("store", store_url), ("bare", bare_url)):
            started = time.perf_counter()
            response = client.get(url)
            times[name].append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"(c) {name} answered {response.status_code}")
    out: dict[str, Any] = {"requests": requests, "vendor_calls": total_calls(control)}
    for name, values in times.items():
        ordered = sorted(values)
        out[name] = {
            "p50_ms": 1000 * statistics.median(ordered),
            "p95_ms": 1000 * ordered[int(0.95 * (len(ordered) - 1))],
            "rps": len(values) / sum(values),
        }
    out["p50_ratio"] = out["store"]["p50_ms"] / out["bare"]["p50_ms"]
    out["rps_ratio"] = out["bare"]["rps"] / out["store"]["rps"]
    return out


# ---------------------------------------------------------------------------------------------- (d)


def part_d(setup: dict[str, Any], fleet: int, period: float) -> dict[str, Any]:
    from django.conf import settings

    from connectors.base.http import observe_requests
    from tenants.models import Connection, ConnectionStatus
    from unified_models.store import services, tasks
    from unified_models.store.models import SyncRunState

    control = setup["world"].control
    connections = [setup["connections"][code] for code in range(FLEET_FIRST, FLEET_FIRST + fleet)]
    resources = services.sync_resources(connections[0])

    started = time.perf_counter()
    control.reset_counters()
    for connection in connections:
        for name in resources:
            run = services.sync_run_request(connection=connection, resource=name, trigger="bench")
            if services.sync_run_execute(run_id=run.pk).state != SyncRunState.SUCCEEDED:
                raise SystemExit(f"(d) the backfill of {name} failed")
    backfill_seconds = time.perf_counter() - started
    backfill_calls = total_calls(control)

    # Only the fleet is scheduled (the connections of the other parts are paused).
    Connection.objects.exclude(pk__in=[c.pk for c in connections]).update(status=ConnectionStatus.DISABLED)
    # Beat's schedule for one period of every resource: the runs it requests and when each may start.
    planned: list[tuple[float, str]] = []
    real_enqueue = tasks.sync_run_enqueue
    tasks.sync_run_enqueue = lambda run_id, countdown=0: planned.append((countdown, str(run_id)))  # type: ignore[assignment]
    schedule = dict(settings.LEDGERBRIDGE_SYNC_SCHEDULE)
    settings.LEDGERBRIDGE_SYNC_SCHEDULE = dict.fromkeys(schedule, period)
    try:
        for name in resources:
            tasks.sync_schedule(name)
    finally:
        tasks.sync_run_enqueue = real_enqueue  # type: ignore[assignment]
        settings.LEDGERBRIDGE_SYNC_SCHEDULE = schedule
    planned.sort()

    # One worker: each run at its time (at once when the worker is behind).
    control.reset_counters()
    clock = CallClock()
    lag = 0.0
    began = time.monotonic()
    with observe_requests(clock):
        for offset, run_id in planned:
            wait = began + offset - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            lag = max(lag, -wait)
            if services.sync_run_execute(run_id=run_id).state != SyncRunState.SUCCEEDED:
                raise SystemExit("(d) an idle run failed")
    elapsed = time.monotonic() - began
    calls = total_calls(control)
    per_second = Counter(int(moment - began) for moment in clock.started)
    seconds = max(period, elapsed)
    busiest = max(per_second.values(), default=0)
    return {
        "connections": fleet,
        "resources": len(resources),
        "period_seconds": period,
        "backfill_seconds": backfill_seconds,
        "backfill_calls": backfill_calls,
        "runs": len(planned),
        "idle_calls": calls,
        "observed_calls": len(clock.started),
        "calls_per_resource_per_connection": calls / (fleet * len(resources)),
        "cycle_seconds": elapsed,
        "worker_max_lag_seconds": lag,
        "average_per_second": calls / seconds,
        "max_in_one_second": busiest,
        "max_to_average": busiest / (calls / seconds) if calls else 0.0,
    }


# ---------------------------------------------------------------------------------------------- main


def report(results: dict[str, Any]) -> None:
    if "a" in results:
        a = results["a"]
        print("(a) backfill of invoices x 3 lines, limits off (the run executed by a child process)")
        for label in ("small", "large"):
            r = a[label]
            print(
                f"    {r['invoices']:>8,} invoices: {r['sandbox_calls']:>4} vendor calls ({r['bulk_calls']} bulk pages)"
                f" = {r['calls_per_1000']:.3f} per 1,000 rows; {r['seconds']:.1f} s = {r['rows_per_second']:,.0f}"
                f" invoices/s; peak RSS {r['peak_rss_mib']:.0f} MiB; 429s {r['rate_limited']}"
            )
        print(f"    peak RSS large / small: {a['rss_ratio']:.2f}")
        e = a["small_with_events"]
        print(
            "    (initial copies: no per-record events, one sync.completed each)\n"
            f"    the small copy again, every record news: {e['record_events']:,} invoice.created events batched with"
            f" the rows: {e['seconds']:.1f} s = {e['rows_per_second']:,.0f} invoices/s"
        )
    if "b" in results:
        b = results["b"]
        print(
            f"(b) the same copy of {b['invoices']:,} invoices under {b['limit']} calls per {b['window_seconds']} s"
            f" window\n    {b['sandbox_calls']} calls in {b['seconds']:.1f} s; unthrottled"
            f" {b['unthrottled_seconds']:.1f} s; theoretical best {b['best_seconds']:.1f} s; share of best"
            f" {100 * b['share_of_best']:.1f} %; 429s {b['rate_limited']}"
        )
    if "c" in results:
        c = results["c"]
        print(f"(c) 100-invoice page, {c['requests']} requests each, interleaved, in-process through all middleware")
        for name in ("store", "bare"):
            r = c[name]
            print(f"    {name:5}: p50 {r['p50_ms']:.2f} ms, p95 {r['p95_ms']:.2f} ms, {r['rps']:.0f} requests/s")
        print(
            f"    store / bare p50: {c['p50_ratio']:.2f}; bare / store requests/s: {c['rps_ratio']:.2f};"
            f" vendor calls during the reads: {c['vendor_calls']}"
        )
    if "d" in results:
        d = results["d"]
        print(
            f"(d) fleet of {d['connections']:,} connections x {d['resources']} resources, one idle cycle of"
            f" {d['period_seconds']:.0f} s on one worker\n    backfill first: {d['backfill_calls']:,} calls in"
            f" {d['backfill_seconds']:.0f} s\n    idle: {d['runs']:,} runs, {d['idle_calls']:,} vendor calls ="
            f" {d['calls_per_resource_per_connection']:.3f} per resource per connection; busiest second"
            f" {d['max_in_one_second']} calls vs average {d['average_per_second']:.2f}/s"
            f" ({d['max_to_average']:.2f}x); cycle took {d['cycle_seconds']:.1f} s, worker lag at most"
            f" {d['worker_max_lag_seconds']:.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="10,000/100,000 invoices and 1,000 connections")
    parser.add_argument("--only", default="a,b,c,d", help="comma list of the parts to run")
    parser.add_argument("--small", type=int, help="(a) the small number of invoices")
    parser.add_argument("--large", type=int, help="(a), (b) and (c): the large number of invoices")
    parser.add_argument("--b-limit", type=int, help="(b) calls per window (Exact: 60)")
    parser.add_argument("--b-window", type=float, help="(b) seconds of the window (default: sized so the limit binds)")
    parser.add_argument("--fleet", type=int, help="(d) connections")
    parser.add_argument("--fleet-period", type=float, help="(d) seconds of the schedule's period")
    parser.add_argument("--requests", type=int, default=300, help="(c) requests per view")
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sync_bench")
    )
    parser.add_argument("--json", action="store_true", help="also print the raw results as JSON")
    parser.add_argument("--child-run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_run:
        child_run(args.child_run)
        return
    scale = dict(FULL if args.full else SMALL)
    for name in ("small", "large", "b_limit", "fleet", "fleet_period"):
        if getattr(args, name) is not None:
            scale[name] = getattr(args, name)
    parts = set(args.only.split(","))

    from cryptography.fernet import Fernet

    from connectors.exact.sandbox.server import SandboxServer

    work = Path(tempfile.mkdtemp(prefix="ledgerbridge-sync-bench-"))
    sandbox = SandboxServer(port=0, webhook_validation_delay=0).start()
    try:
        with own_redis(work) as redis_url:
            env = bench_env(
                database_url=args.database_url,
                redis_url=redis_url,
                sandbox_url=sandbox.root_url,
                keys=Fernet.generate_key().decode(),
            )
            recreate_database(args.database_url)
            os.environ.update(env)
            import django

            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            setup = setup_world(sandbox, env, fleet=int(scale["fleet"]) if "d" in parts else 0)
            results: dict[str, Any] = {"scale": scale}
            if "a" in parts or "c" in parts:
                results["a"] = part_a(setup, int(scale["small"]), int(scale["large"]))
            if "b" in parts:
                large = results.get("a", {}).get("large")
                results["b"] = part_b(setup, int(scale["large"]), int(scale["b_limit"]), large, args.b_window)
            if "c" in parts:
                results["c"] = part_c(setup, args.requests)
            if "d" in parts:
                results["d"] = part_d(setup, int(scale["fleet"]), float(scale["fleet_period"]))
            print(f"scale: {json.dumps(scale)}")
            report(results)
            if args.json:
                print(json.dumps(results, indent=2, default=str))
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
