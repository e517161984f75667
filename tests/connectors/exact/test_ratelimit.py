"""Exact's rate-limit policy: its headers, its budget key, its limiter, and several processes against the sandbox."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings

from connectors.base.errors import VendorRateLimited
from connectors.base.ratelimit import DAILY, MINUTELY, LocalBudgetStore, Observation, RedisBudgetStore, Window
from connectors.exact.ratelimit import budget_key, new_exact_rate_limiter, observations_from_headers
from tests.connectors.exact.client_fixtures import sandbox_access_token
from tests.fixtures.exact import ExactWorld, subprocess_env


def test_headers_give_both_windows_and_a_429_only_the_group_hit() -> None:
    headers = {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4766",
        "X-RateLimit-Reset": "1683936000000",
        "X-RateLimit-Minutely-Limit": "60",
        "X-RateLimit-Minutely-Remaining": "58",
        "X-RateLimit-Minutely-Reset": "1683879540000",
    }
    assert observations_from_headers(headers) == [
        Observation(MINUTELY, 60, 58, 1683879540000),
        Observation(DAILY, 5000, 4766, 1683936000000),
    ]
    minutely_only = {k: v for k, v in headers.items() if "Minutely" in k}
    assert [o.window for o in observations_from_headers(minutely_only)] == [MINUTELY]
    assert observations_from_headers({}) == []
    assert budget_key("app", "0101") == "exact:app:101"


def test_exact_limiter_raises_vendor_rate_limited_with_the_reset() -> None:
    store = LocalBudgetStore()
    limiter = new_exact_rate_limiter(store=store, max_wait=0.5, guard=0.25, probe_timeout=30)
    reset = int(time.time() * 1000) + 40_000
    store.update(
        budget_key("app", 101),
        lambda state, _now: state.windows.update(
            {MINUTELY: Window(reset_ms=reset, length_ms=60_000, limit=60, used=60)}
        ),
    )
    with pytest.raises(VendorRateLimited) as raised:
        limiter.acquire(budget_key("app", 101))
    assert raised.value.status == 429
    assert abs(raised.value.reset_at.timestamp() * 1000 - (reset + 250)) < 1000
    limiter.forget(budget_key("app", 101))
    assert limiter.acquire(budget_key("app", 101)).probe


# ---------------------------------------------------------------------------------------------- acceptance

WINDOW_SECONDS = 3
MINUTELY_LIMIT = 20
WINDOWS = 4
PROCESSES = 3


@pytest.mark.redis
def test_three_processes_share_one_division_budget_without_a_429(exact_world: ExactWorld) -> None:
    """Three OS processes hammer division 101 through Redis; the sandbox's "minute" is 3 s with 20 calls."""
    control = exact_world.control
    control.set_limits(minutely_limit=MINUTELY_LIMIT, minute_window_seconds=WINDOW_SECONDS)
    token = sandbox_access_token(exact_world)
    new_exact_rate_limiter(store=RedisBudgetStore(settings.REDIS_URL or os.environ["REDIS_URL"])).forget(
        budget_key(exact_world.client_id, 101)
    )
    control.reset_limit_usage()
    control.reset_counters()
    env = subprocess_env(
        exact_world,
        REDIS_URL=settings.REDIS_URL or os.environ["REDIS_URL"],
        DJANGO_SETTINGS_MODULE="gateway.settings.test",
        LB_TEST_TOKEN=token,
        LB_TEST_CLIENT_ID=exact_world.client_id,
        LB_TEST_DIVISION="101",
    )
    root = Path(__file__).resolve().parents[3]
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.connectors.exact.ratelimit_worker"],
            cwd=root,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    # Start together just after a window boundary (the sandbox's windows align to the epoch), stop just before
    # the last window ends, so the run spans exactly WINDOWS windows.
    start_at = (math.floor(time.time() / WINDOW_SECONDS) + 1) * WINDOW_SECONDS + 0.05
    stop_at = start_at + WINDOWS * WINDOW_SECONDS - 0.4
    reports = []
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(f"{start_at} {stop_at}\n")
        worker.stdin.flush()
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    counters = control.counters()
    sandbox_ok = counters["calls"]["crm/Accounts"].get("200", 0)
    sandbox_429 = counters["calls"]["crm/Accounts"].get("429", 0)
    per_window: Counter[int] = Counter()  # Exact's minutely reset (s after start) -> calls answered 200 in it
    for report in reports:
        per_window.update({round(int(reset) / 1000 - start_at): n for reset, n in report["ok_windows"].items()})
    # The run's windows end 3, 6, 9, 12 s after it starts; a process still waiting at the deadline may make one
    # more call in the next window: counted as spill, not as budget used.
    run_windows = [round((k + 1) * WINDOW_SECONDS) for k in range(WINDOWS)]
    used = sum(per_window[end] for end in run_windows)
    spill = sum(n for end, n in per_window.items() if end not in run_windows)
    allowed = WINDOWS * MINUTELY_LIMIT
    print(
        f"\n{PROCESSES} processes, window {WINDOW_SECONDS} s x limit {MINUTELY_LIMIT}, {WINDOWS} windows: "
        f"{used} calls answered 200 (allowed {allowed}, {100 * used / allowed:.0f}% used; spill after the "
        f"deadline {spill}); sandbox 429s: {sandbox_429} (rate_limited {counters['rate_limited']}); "
        f"per window {[per_window[end] for end in run_windows]}; "
        f"per process {[sum(r['ok_windows'].values()) for r in reports]}; "
        f"failed fast locally {[r['failed_fast'] for r in reports]}"
    )
    assert sandbox_429 == 0 and counters["rate_limited"].get("total", 0) == 0
    assert all(report["statuses"].get("429", 0) == 0 for report in reports)
    assert max(per_window.values()) <= MINUTELY_LIMIT
    assert used >= 0.8 * allowed
    assert sum(sum(r["ok_windows"].values()) for r in reports) == sandbox_ok == used + spill
