"""The shared rate-limit budget: decision logic (pure), the store, the budget and the limiter's typed errors."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from datetime import UTC, datetime

import pytest

from connectors.base.errors import VendorRateLimited
from connectors.base.ratelimit import (
    DAILY,
    MINUTELY,
    BudgetExhausted,
    BudgetPolicy,
    BudgetState,
    LocalBudgetStore,
    Observation,
    RedisBudgetStore,
    SharedBudget,
    Ticket,
    VendorRateLimiter,
    Window,
    observe,
    reserve,
)

# Lengths assumed until resets show the real ones: a calendar minute and a day, as Exact (the first vendor) counts.
POLICY = BudgetPolicy(
    default_lengths_ms={MINUTELY: 60_000, DAILY: 86_400_000},
    clock_window=MINUTELY,
    guard_ms=250,
    probe_timeout_ms=30_000,
)
KEY = "vendor:app:101"
T0 = 1_700_000_000_000 - (1_700_000_000_000 % 60_000)  # a calendar-minute boundary


def minutely(*, limit: int = 60, remaining: int, reset: int) -> Observation:
    return Observation(window=MINUTELY, limit=limit, remaining=remaining, reset_ms=reset)


def known_state(*, used: int = 0, limit: int = 60, reset: int = T0 + 60_000, length: int = 60_000) -> BudgetState:
    return BudgetState(windows={MINUTELY: Window(reset_ms=reset, length_ms=length, limit=limit, used=used)})


def take(state: BudgetState, now: int) -> Ticket | None:
    return reserve(state, key=KEY, now_ms=now, policy=POLICY).ticket


# ---------------------------------------------------------------------------------------------- pure logic


def test_nothing_known_means_one_probe_at_a_time() -> None:
    state = BudgetState()
    probe = take(state, T0)
    assert probe is not None and probe.probe
    second = reserve(state, key=KEY, now_ms=T0 + 5, policy=POLICY)
    assert second.ticket is None and second.provisional and second.wait_ms <= POLICY.poll_ms
    observe(
        state, ticket=probe, observations=[minutely(remaining=59, reset=T0 + 60_000)], now_ms=T0 + 20, policy=POLICY
    )
    assert state.probe_until_ms is None and state.windows[MINUTELY].used == 1
    assert take(state, T0 + 30) is not None


def test_a_dead_probe_frees_the_budget_after_its_timeout() -> None:
    state = BudgetState()
    assert take(state, T0) is not None
    assert take(state, T0 + 29_000) is None
    assert take(state, T0 + 30_001) is not None


def test_spent_window_says_how_long_to_wait_until_reset_plus_guard() -> None:
    state = known_state(used=59)
    assert take(state, T0 + 10_000) is not None
    decision = reserve(state, key=KEY, now_ms=T0 + 10_000, policy=POLICY)
    assert decision.ticket is None and not decision.provisional
    assert decision.wait_ms == 50_000 + 250 and decision.window == MINUTELY
    # After reset + guard the next window is predicted with the full limit.
    assert take(state, T0 + 60_250) is not None
    window = state.windows[MINUTELY]
    assert (window.reset_ms, window.used, window.confirmed) == (T0 + 120_000, 1, False)


def test_exact_is_the_truth_about_calls_others_made_but_our_in_flight_calls_still_count() -> None:
    state = known_state(used=5)
    ticket = Ticket(key=KEY, sent_ms=T0 + 1000)
    # Another install of the same app used 40 calls: Exact says 15 left.
    observe(
        state, ticket=ticket, observations=[minutely(remaining=15, reset=T0 + 60_000)], now_ms=T0 + 1010, policy=POLICY
    )
    assert state.windows[MINUTELY].used == 45
    # Exact has not processed our other in-flight calls yet: a higher Remaining does not give them back.
    observe(
        state, ticket=ticket, observations=[minutely(remaining=50, reset=T0 + 60_000)], now_ms=T0 + 1020, policy=POLICY
    )
    assert state.windows[MINUTELY].used == 45


def test_calls_at_the_boundary_count_in_both_windows() -> None:
    state = known_state(used=10)
    assert take(state, T0 + 59_900) is not None  # 100 ms before Exact's minute ends: may land after it
    assert state.windows[MINUTELY].carry == 1
    assert take(state, T0 + 60_300) is not None
    assert state.windows[MINUTELY].used == 2  # the carried call plus this one


def test_window_length_is_learnt_from_resets_not_assumed() -> None:
    # The sandbox shortens the "minute" to 3 s: the prediction (60 s) is corrected by the first response.
    state = known_state(used=20, limit=20, reset=T0 + 3000)
    ticket = take(state, T0 + 3300)
    assert ticket is not None and state.windows[MINUTELY].reset_ms == T0 + 63_000
    observe(
        state,
        ticket=ticket,
        observations=[minutely(limit=20, remaining=19, reset=T0 + 6000)],
        now_ms=T0 + 3310,
        policy=POLICY,
    )
    window = state.windows[MINUTELY]
    assert (window.reset_ms, window.length_ms, window.confirmed, window.used) == (T0 + 6000, 3000, True, 1)
    # From now on the guard is a tenth of the window at most, and the next window is predicted 3 s on.
    window.used = 20
    assert reserve(state, key=KEY, now_ms=T0 + 5000, policy=POLICY).wait_ms == 1000 + 250
    assert take(state, T0 + 6250) is not None and state.windows[MINUTELY].reset_ms == T0 + 9000


def test_while_the_window_is_only_predicted_a_spent_budget_polls_instead_of_failing() -> None:
    state = known_state(used=20, limit=20, reset=T0 + 3000)
    for offset in range(20):
        assert take(state, T0 + 3300 + offset) is not None
    decision = reserve(state, key=KEY, now_ms=T0 + 3400, policy=POLICY)
    assert decision.ticket is None and decision.provisional and decision.wait_ms == POLICY.poll_ms


def test_a_late_response_about_an_ended_window_changes_nothing() -> None:
    state = known_state(used=3, reset=T0 + 120_000)
    ticket = Ticket(key=KEY, sent_ms=T0 + 59_000)
    observe(
        state, ticket=ticket, observations=[minutely(remaining=0, reset=T0 + 60_000)], now_ms=T0 + 60_500, policy=POLICY
    )
    assert state.windows[MINUTELY].used == 3 and state.windows[MINUTELY].reset_ms == T0 + 120_000


def test_a_429_marks_the_window_spent_until_its_reset() -> None:
    state = known_state(used=10)
    ticket = Ticket(key=KEY, sent_ms=T0 + 30_000)
    observe(
        state, ticket=ticket, observations=[minutely(remaining=0, reset=T0 + 60_000)], now_ms=T0 + 30_010, policy=POLICY
    )
    decision = reserve(state, key=KEY, now_ms=T0 + 30_020, policy=POLICY)
    assert decision.ticket is None and decision.wait_ms == 29_980 + 250


def test_daily_limit_blocks_until_midnight() -> None:
    midnight = T0 - (T0 % 86_400_000) + 86_400_000
    state = known_state()
    state.windows[DAILY] = Window(reset_ms=midnight, length_ms=86_400_000, limit=5000, used=5000)
    decision = reserve(state, key=KEY, now_ms=T0, policy=POLICY)
    assert decision.window == DAILY and decision.wait_ms == midnight - T0 + 250


def test_a_vendor_clock_far_ahead_does_not_make_us_wait_for_its_future() -> None:
    # The sandbox's clock was advanced 10 minutes: its resets are 10 minutes ahead of ours.
    skew = 600_000
    state = BudgetState()
    probe = take(state, T0 + 1000)
    assert probe is not None
    observe(
        state,
        ticket=probe,
        observations=[minutely(remaining=0, reset=T0 + skew + 60_000)],
        now_ms=T0 + 1010,
        policy=POLICY,
    )
    assert state.skew_ms() >= skew - 60_000
    decision = reserve(state, key=KEY, now_ms=T0 + 1020, policy=POLICY)
    assert decision.ticket is None and decision.wait_ms <= 60_000 + 250


CALENDAR = BudgetPolicy(
    default_lengths_ms={MINUTELY: 60_000, DAILY: 86_400_000},
    clock_window=MINUTELY,
    calendar_windows=True,
    guard_ms=1000,
    probe_timeout_ms=30_000,
)


def _paced_run(*, length: int, limit: int, start: int, policy: BudgetPolicy, calls: int = 120) -> tuple[int, int]:
    """A vendor counting `limit` calls per calendar window of `length` ms (same clock as ours) and one caller
    making `calls` calls one after the other (1.4 s each, processed half way), each when the budget allows it:
    (refused calls, the vendor's most calls in one window)."""
    state, now, counted, refused, made = BudgetState(), start, {}, 0, 0
    while made < calls:
        decision = reserve(state, key=KEY, now_ms=now, policy=policy)
        if decision.ticket is None:
            now += decision.wait_ms
            continue
        window = (now + 700) // length
        reset = (window + 1) * length
        used = counted.get(window, 0)
        if used >= limit:
            refused += 1
            report = minutely(limit=limit, remaining=0, reset=reset)
        else:
            counted[window] = used + 1
            made += 1
            report = minutely(limit=limit, remaining=limit - used - 1, reset=reset)
        now += 1400
        observe(state, ticket=decision.ticket, observations=[report], now_ms=now, policy=policy)
    return refused, max(counted.values())


@pytest.mark.parametrize("offset", [0, 17_300, 52_900, 101_000, 139_700])
def test_a_stretched_calendar_window_is_never_taken_for_a_clock_ahead_of_ours(offset: int) -> None:
    # The bench stretches Exact's minute to 147.9 s (60 calls bind at 1.4 s a call). Its resets are off the
    # minute's boundaries, so the assumed 60 s neither bounds the vendor's clock (which made it look up to 88 s
    # ahead and ended windows early: one 429 per run) nor survives the first gap between two resets.
    refused, busiest = _paced_run(length=147_900, limit=60, start=T0 + offset, policy=CALENDAR)
    assert refused == 0 and busiest in (59, 60)  # one call may be held back at a boundary (the guard)


@pytest.mark.parametrize("offset", [0, 21_100, 44_400, 59_900])
def test_exacts_own_minute_is_used_fully_and_never_overrun(offset: int) -> None:
    refused, busiest = _paced_run(length=60_000, limit=30, start=T0 + offset, policy=CALENDAR)
    assert refused == 0 and busiest in (29, 30)


def test_a_calendar_minute_reset_still_bounds_a_vendor_clock_far_ahead() -> None:
    # As in test_a_vendor_clock_far_ahead_does_not_make_us_wait_for_its_future, with Exact's calendar policy: a
    # reset on a minute boundary is consistent with the minute, so it bounds the clock as before.
    state = BudgetState()
    probe = reserve(state, key=KEY, now_ms=T0 + 1000, policy=CALENDAR).ticket
    assert probe is not None
    observe(
        state,
        ticket=probe,
        observations=[minutely(remaining=0, reset=T0 + 660_000)],
        now_ms=T0 + 1010,
        policy=CALENDAR,
    )
    assert state.skew_ms() >= 540_000


def test_state_survives_json() -> None:
    state = known_state(used=7)
    state.skew_lo_ms, state.probe_until_ms = -12.5, None
    assert BudgetState.from_json(state.to_json()) == state
    assert BudgetState.from_json(None) == BudgetState()


# ---------------------------------------------------------------------------------------------- SharedBudget


def test_shared_budget_waits_briefly_then_fails_fast_for_a_long_wait() -> None:
    store = LocalBudgetStore()
    budget = SharedBudget(store=store, policy=POLICY, max_wait=1.0)
    now = int(time.time() * 1000)
    store.update(
        KEY,
        lambda state, _now: state.windows.update(
            {MINUTELY: Window(reset_ms=now + 300, length_ms=60_000, limit=5, used=5, length_learnt=True)}
        ),
    )
    started = time.monotonic()
    ticket = budget.acquire(KEY)  # waits ~300 ms + guard, within max_wait
    assert 0.4 < time.monotonic() - started < 1.0 and not ticket.probe
    store.update(KEY, lambda state, _now: setattr(state.windows[MINUTELY], "used", 5))
    started = time.monotonic()
    with pytest.raises(BudgetExhausted) as raised:
        budget.acquire(KEY)  # the next window is 60 s away: no waiting
    assert time.monotonic() - started < 0.2
    assert raised.value.reset_at > datetime.now(tz=UTC)


def test_the_limiter_turns_a_spent_budget_into_vendor_rate_limited_with_the_reset() -> None:
    store = LocalBudgetStore()
    limiter = VendorRateLimiter(vendor_name="Vendor", company_noun="company", store=store, policy=POLICY, max_wait=0.5)
    reset = int(time.time() * 1000) + 40_000
    store.update(
        KEY,
        lambda state, _now: state.windows.update(
            {MINUTELY: Window(reset_ms=reset, length_ms=60_000, limit=60, used=60)}
        ),
    )
    with pytest.raises(VendorRateLimited) as raised:
        limiter.acquire(KEY)
    assert raised.value.status == 429 and "Vendor's minutely call limit for this company" in raised.value.message
    assert abs(raised.value.reset_at.timestamp() * 1000 - (reset + 250)) < 1000
    limiter.forget(KEY)
    assert limiter.acquire(KEY).probe


@pytest.mark.redis
def test_redis_store_never_loses_an_update_under_contention() -> None:
    store = RedisBudgetStore(os.environ["REDIS_URL"])
    key = "test:contention"
    store.clear(key)
    policy = BudgetPolicy(default_lengths_ms={}, clock_window=MINUTELY, guard_ms=0, probe_timeout_ms=1000)
    far = int(time.time() * 1000) + 3_600_000
    store.update(
        key,
        lambda state, _now: state.windows.update(
            {MINUTELY: Window(reset_ms=far, length_ms=7_200_000, limit=10_000, used=0)}
        ),
    )
    granted: list[int] = []

    def worker() -> None:
        for _ in range(50):
            if store.update(key, lambda state, now: reserve(state, key=key, now_ms=now, policy=policy)).ticket:
                granted.append(1)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(granted) == 400
    assert store.update(key, lambda state, _now: state.windows[MINUTELY].used) == 400
    store.clear(key)


def _random_state(rng: random.Random, now: int) -> BudgetState:
    """A state around `now`: windows just before, at and after their boundaries and guards, predicted or not."""
    state = BudgetState()
    for name in rng.sample([MINUTELY, DAILY], rng.randint(0, 2)):
        length = rng.choice([3_000, 5_000, 60_000, 86_400_000])
        offset = rng.choice(
            [rng.randint(-200_000, 200_000), rng.choice([-251, -250, -249, -1, 0, 1, 249, 250, 251, 299, 300, 301])]
        )
        if rng.random() < 0.2:
            offset -= length * rng.randint(1, 3)
        limit = rng.randint(1, 60)
        reset = now + offset
        state.windows[name] = Window(
            reset_ms=reset,
            length_ms=length,
            limit=limit,
            used=rng.randint(max(limit - 3, 0), limit + 2) if rng.random() < 0.6 else rng.randint(0, limit),
            carry=rng.randint(0, 3),
            confirmed=rng.random() < 0.6,
            last_confirmed_reset_ms=rng.choice(
                [None, reset - length, reset - 2 * length, reset - rng.randint(1, 9000)]
            ),
            length_learnt=rng.random() < 0.5,
        )
    if rng.random() < 0.5:
        state.skew_lo_ms = rng.choice([-12.5, float(rng.randint(-3000, 0)), rng.randint(-3000, 3000)])
    if rng.random() < 0.5:
        state.skew_hi_ms = rng.choice([7.5, rng.randint(0, 3000), rng.randint(-3000, 3000)])
    if rng.random() < 0.4:
        state.probe_until_ms = now + rng.randint(-2000, 2000)
    return state


def _random_observations(rng: random.Random, state: BudgetState, now: int) -> list[Observation]:
    found = []
    for name in rng.sample([MINUTELY, DAILY, "other"], rng.randint(0, 3)):
        window = state.windows.get(name)
        base = window.reset_ms if window is not None else now + rng.randint(1, 60_000)
        length = window.length_ms if window is not None else 60_000
        reset = rng.choice(
            [base, base + length, base - length, base + rng.randint(-5000, 5000), base + 2 * length, now - now % 60_000]
        )
        limit = rng.choice([0, rng.randint(1, 60), rng.randint(1, 60)])
        found.append(Observation(window=name, limit=limit, remaining=rng.randint(0, limit + 5), reset_ms=reset))
    return found


@pytest.mark.redis
def test_the_redis_scripts_decide_exactly_as_the_python_functions() -> None:
    """Reserve and observe run as Lua inside Redis (one round trip each); over random states and reports they
    leave the same state and answer the same decision as `reserve`/`observe` at the clock Redis used."""
    store = RedisBudgetStore(os.environ["REDIS_URL"])
    client, redis_key = store._redis, store.prefix + "test:differential"
    rng = random.Random(15)
    for case in range(400):
        policy = BudgetPolicy(
            default_lengths_ms={MINUTELY: 60_000, DAILY: 86_400_000},
            clock_window=MINUTELY,
            guard_ms=rng.choice([0, 250, 1000]),
            probe_timeout_ms=30_000,
            calendar_windows=rng.random() < 0.5,
        )
        seconds, micros = client.time()
        before = _random_state(rng, seconds * 1000 + micros // 1000)
        client.set(redis_key, before.to_json())
        expected = BudgetState.from_json(before.to_json())
        if case % 2 == 0:
            granted, probe, now, wait, provisional, window, reopens = store._reserve(
                keys=[redis_key], args=[policy.guard_ms, policy.probe_timeout_ms, policy.poll_ms, 60_000]
            )
            decision = reserve(expected, key="k", now_ms=now, policy=policy)
            answered = (
                (True, bool(probe), now)
                if granted
                else (False, wait, bool(provisional), window.decode() or None, reopens)
            )
            wanted = (
                (True, decision.ticket.probe, decision.ticket.sent_ms)
                if decision.ticket
                else (False, decision.wait_ms, decision.provisional, decision.window, decision.reopens_at_ms)
            )
            assert answered == wanted, (case, before)
        else:
            ticket = Ticket(key="k", sent_ms=seconds * 1000 - rng.randint(0, 500), probe=rng.random() < 0.3)
            observations = _random_observations(rng, before, seconds * 1000)
            now = store._observe(
                keys=[redis_key],
                args=[
                    int(ticket.probe),
                    ticket.sent_ms,
                    json.dumps([[o.window, o.limit, o.remaining, o.reset_ms] for o in observations]),
                    json.dumps(dict(policy.default_lengths_ms)),
                    policy.clock_window,
                    60_000,
                    int(policy.calendar_windows),
                ],
            )
            observe(expected, ticket=ticket, observations=observations, now_ms=now, policy=policy)
        assert BudgetState.from_json(client.get(redis_key)) == expected, (case, before)
    client.delete(redis_key)
