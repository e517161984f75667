"""A vendor rate-limit budget shared by every process: windows the vendor reports, kept in Redis or in-process.

Vendor-neutral: a connector supplies its policy (window lengths, guard, how long a call may wait) and reads its
own headers into Observations; `VendorRateLimiter` turns the budget's answers into the typed vendor errors.

The model. A vendor (Exact first) counts calls in fixed windows (a calendar minute, a day) and reports each
window's limit, what is left and when it resets on every response. We keep, per budget key, one state per
window: its end (`reset_ms`, on the vendor's clock), length, limit and how many calls were reserved in it.

- Before a call, `reserve` takes one unit of every known window, or says how long to wait.
- After a call, `observe` reconciles with what the vendor reported: its count is the truth about calls it has
  processed (other processes, other installs of the same app spend the same budget), ours also covers calls
  still in flight, so we keep the larger of the two.
- When a window ends we predict the next one (same length, full limit, minus calls reserved right at the
  boundary) until a response confirms it. The length is learnt from consecutive resets, never assumed beyond a
  default, so a vendor (or a sandbox) with a 5-second "minute" works.
- Before anything is known about a key, one probe call at a time finds out the limits.
- Clocks: the state is kept in the store's clock (Redis `TIME`, shared by all machines); the vendor's clock
  may differ. Every response bounds the offset (the call was processed inside the reported window and between
  our send and receive times); we assume no offset while the bounds allow it and follow them when they do not.
- A guard interval around each boundary absorbs the rest (network latency, clock error): a call reserved in
  the last `guard_ms` of a window is also charged to the next window, and a new window opens `guard_ms` late.

The decision logic is a set of pure functions over `BudgetState`, so it is unit-tested without Redis. Stores
make each read-decide-write atomic: in Redis the same two decisions (`reserve`, `observe`) run as Lua scripts
inside Redis, one round trip per call before and one after (`_RESERVE_SCRIPT`, `_OBSERVE_SCRIPT`, a line-for-line
port checked against these functions by a differential test); any other change to a Redis state is a
compare-and-set (optimistic; a conflicting writer makes us re-read and decide again). Without Redis a lock in
one process does it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from connectors.base.errors import VendorRateLimited, VendorUnavailable

T = TypeVar("T")

# Window names every connector uses for the same kind of window, so the call log can tell them apart.
MINUTELY = "minutely"
DAILY = "daily"

# State outlives a day so the daily window's count survives idle hours; it is rewritten on every call.
STATE_TTL_MS = 26 * 3600 * 1000


class BudgetExhausted(Exception):
    """No unit left and the wait is longer than the caller accepts; `reset_at` is when the window reopens."""

    def __init__(self, *, key: str, window: str, reset_at: datetime) -> None:
        super().__init__(f"rate-limit budget '{window}' spent until {reset_at.isoformat()}")
        self.key = key
        self.window = window
        self.reset_at = reset_at


class BudgetStoreUnavailable(Exception):
    """The shared store (Redis) could not be read or written."""


@dataclass
class Window:
    """One counted window of a budget; times are epoch milliseconds on the vendor's clock."""

    reset_ms: int
    length_ms: int
    limit: int
    used: int = 0
    # Calls reserved right at the boundary: they may land in the next window, so it starts with them counted.
    carry: int = 0
    # False while the window is only our prediction (the previous one ended, no response has confirmed this one).
    confirmed: bool = True
    last_confirmed_reset_ms: int | None = None
    # True once two resets showed the length; until then a predicted window's end is only a guess.
    length_learnt: bool = False


@dataclass
class BudgetState:
    windows: dict[str, Window] = field(default_factory=dict)
    # Bounds on (vendor clock - store clock) in ms, learnt from responses.
    skew_lo_ms: float | None = None
    skew_hi_ms: float | None = None
    # Store-clock ms until which the single probe call (made while nothing is known) holds the budget.
    probe_until_ms: int | None = None

    def skew_ms(self) -> float:
        """The clock offset we assume: none while the bounds allow it (NTP-synced hosts), else the nearest bound."""
        skew = 0.0
        if self.skew_lo_ms is not None:
            skew = max(skew, self.skew_lo_ms)
        if self.skew_hi_ms is not None:
            skew = min(skew, self.skew_hi_ms)
        return skew

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes | None) -> BudgetState:
        if not text:
            return cls()
        raw = json.loads(text)
        # Sorted, so a tie between windows is broken the same way whoever wrote the text (Python or the Lua port).
        windows = {name: Window(**values) for name, values in sorted(raw.pop("windows", {}).items())}
        return cls(windows=windows, **raw)


@dataclass(frozen=True)
class Observation:
    """What the vendor reported about one window on one response."""

    window: str
    limit: int
    remaining: int
    reset_ms: int


@dataclass(frozen=True)
class BudgetPolicy:
    # Length assumed per window until two consecutive resets show the real one (Exact: 60 s, 1 day).
    default_lengths_ms: Mapping[str, int]
    # The window whose reports bound the vendor's clock (the shortest gives the tightest bounds).
    clock_window: str
    guard_ms: int
    # How long the probe made while nothing is known may hold the budget (the HTTP timeout).
    probe_timeout_ms: int
    # How soon to look again while the blocking window is only predicted (responses will correct it).
    poll_ms: int = 50
    # The vendor's windows are calendar periods (Exact's minute: each reset a whole multiple of the length since
    # the epoch). Then a reset off the default length's boundaries proves that default wrong (a sandbox's
    # shortened or stretched "minute"), and it is not used to bound the vendor's clock.
    calendar_windows: bool = False

    def guard_for(self, window: Window) -> int:
        # A tenth of the window at most, so a sandbox's shortened window keeps most of its time usable.
        return min(self.guard_ms, window.length_ms // 10)


@dataclass(frozen=True)
class Ticket:
    """One reserved call; hand it back to `observe`/`release` with the response."""

    key: str
    sent_ms: int
    probe: bool = False


@dataclass(frozen=True)
class Decision:
    ticket: Ticket | None
    # When not granted: ms until the blocking window reopens, as far as we know.
    wait_ms: int = 0
    # True when that wait rests on a prediction or a probe in flight: look again soon instead of failing fast.
    provisional: bool = False
    window: str | None = None
    # Store-clock epoch ms when the blocking window reopens.
    reopens_at_ms: int | None = None


# ------------------------------------------------------------------------------------------------ decisions


def _roll(window: Window, vendor_now: float, guard: int) -> None:
    """Move past windows that ended (plus the guard): predict the next one, unconfirmed, full limit."""
    if vendor_now < window.reset_ms + guard:
        return
    periods = math.floor((vendor_now - guard - window.reset_ms) / window.length_ms) + 1
    if window.confirmed:
        window.last_confirmed_reset_ms = window.reset_ms
    window.used = window.carry if periods == 1 else 0
    window.carry = 0
    window.reset_ms += periods * window.length_ms
    window.confirmed = False


def reserve(state: BudgetState, *, key: str, now_ms: int, policy: BudgetPolicy) -> Decision:
    """Take one unit of every known window of `state` (mutated), or say how long to wait."""
    if state.probe_until_ms is not None and state.probe_until_ms <= now_ms:
        state.probe_until_ms = None  # the prober died or timed out; another may probe
    if not state.windows:
        # Nothing known yet (first call, or state expired): one call at a time until a response tells the limits.
        if state.probe_until_ms is not None:
            return Decision(None, wait_ms=policy.poll_ms, provisional=True, reopens_at_ms=now_ms + policy.poll_ms)
        state.probe_until_ms = now_ms + policy.probe_timeout_ms
        return Decision(Ticket(key=key, sent_ms=now_ms, probe=True))
    skew = state.skew_ms()
    vendor_now = now_ms + skew
    blocking: tuple[str, Window, float] | None = None
    for name, window in state.windows.items():
        guard = policy.guard_for(window)
        _roll(window, vendor_now, guard)
        if window.used >= window.limit:
            wait = window.reset_ms + guard - vendor_now
            if blocking is None or wait > blocking[2]:
                blocking = (name, window, wait)
    if blocking is not None:
        name, window, wait = blocking
        # A prediction from a guessed length may end far too late (a sandbox's 3-second "minute" predicted as
        # 60 s): look again soon, responses in flight will correct it.
        provisional = not window.confirmed and not window.length_learnt
        wait_ms = max(1, math.ceil(wait))
        return Decision(
            None,
            wait_ms=min(wait_ms, policy.poll_ms) if provisional else wait_ms,
            provisional=provisional,
            window=name,
            reopens_at_ms=int(now_ms + wait_ms),
        )
    for window in state.windows.values():
        window.used += 1
        if window.reset_ms - vendor_now <= policy.guard_for(window):
            window.carry += 1
    return Decision(Ticket(key=key, sent_ms=now_ms))


def _apply(window: Window, observation: Observation) -> None:
    """Reconcile one window with a response's report about it (the report may be older than our state)."""
    reported_used = max(observation.limit - observation.remaining, 0)
    reset = observation.reset_ms
    if reset == window.reset_ms:
        window.used = max(window.used, reported_used)
    elif reset > window.reset_ms:
        # The vendor is in a later window than ours: adopt it. Our reservations count there only if ours was a
        # prediction (made after the last confirmed window ended), else just those made at the boundary.
        base = window.carry if window.confirmed else window.used
        previous = window.reset_ms if window.confirmed else window.last_confirmed_reset_ms
        gap = reset - previous if previous is not None else 0
        if gap > 0:
            # A gap is a whole number of windows: an upper bound of the length. Until a length is learnt, a gap
            # that is no multiple of the assumed one shows that assumption wrong, and the gap replaces it.
            fits = window.length_learnt or gap % window.length_ms == 0
            window.length_ms = min(window.length_ms, gap) if fits else gap
            window.length_learnt = True
        window.last_confirmed_reset_ms = previous
        window.reset_ms = reset
        window.used = max(base, reported_used)
        window.carry = 0
    elif not window.confirmed and (window.last_confirmed_reset_ms is None or reset > window.last_confirmed_reset_ms):
        # Our prediction was too long (the real window is shorter than assumed): the vendor's window ends at
        # `reset`, and the calls reserved in the predicted window were made in it.
        if window.last_confirmed_reset_ms is not None:
            window.length_ms = min(window.length_ms, reset - window.last_confirmed_reset_ms)
            window.length_learnt = True
        window.reset_ms = reset
        window.used = max(window.used, reported_used)
    else:
        return  # a slow response about a window that already ended: nothing to learn about the budget
    window.limit = observation.limit
    window.confirmed = True


def _bound_skew(state: BudgetState, *, reset_ms: int, length_ms: int | None, sent_ms: int, received_ms: int) -> None:
    # The vendor processed the call inside [reset - length, reset) on its clock and between send and receive on
    # ours, so (vendor - ours) lies in [reset - length - received, reset - sent]. With a length that may be too
    # short (None) only the upper bound holds: the lower one would put the vendor's clock ahead of ours and end
    # each window early (a call into a spent window: a 429).
    low = None if length_ms is None else reset_ms - length_ms - received_ms
    high = reset_ms - sent_ms
    new_low = state.skew_lo_ms if low is None else low if state.skew_lo_ms is None else max(state.skew_lo_ms, low)
    new_high = high if state.skew_hi_ms is None else min(state.skew_hi_ms, high)
    if new_low is not None and new_low > new_high:  # contradiction: a clock was set, or the window changed length
        new_low, new_high = low, high
    state.skew_lo_ms, state.skew_hi_ms = new_low, new_high


def observe(
    state: BudgetState,
    *,
    ticket: Ticket,
    observations: list[Observation],
    now_ms: int,
    policy: BudgetPolicy,
) -> None:
    """Reconcile `state` (mutated) with what the vendor reported on the response to `ticket`'s call."""
    if ticket.probe:
        state.probe_until_ms = None
    for observation in observations:
        if observation.limit <= 0:
            continue
        window = state.windows.get(observation.window)
        if window is None:
            state.windows[observation.window] = Window(
                reset_ms=observation.reset_ms,
                length_ms=policy.default_lengths_ms.get(observation.window, 60_000),
                limit=observation.limit,
                used=max(observation.limit - observation.remaining, 0),
            )
        else:
            _apply(window, observation)
        if observation.window == policy.clock_window:
            clock = state.windows[observation.window]
            length: int | None = clock.length_ms
            if policy.calendar_windows and not clock.length_learnt and observation.reset_ms % clock.length_ms:
                length = None  # the assumed length is not the vendor's: no lower bound from it
            _bound_skew(
                state, reset_ms=observation.reset_ms, length_ms=length, sent_ms=ticket.sent_ms, received_ms=now_ms
            )


# ------------------------------------------------------------------------------------------------ stores


class BudgetStore(Protocol):
    def update(self, key: str, change: Callable[[BudgetState, int], T]) -> T:
        """Run `change(state, now_ms)` on the key's state atomically and save the state it leaves."""
        ...

    def reserve(self, key: str, policy: BudgetPolicy) -> Decision:
        """`reserve` on the key's state, atomically, at the store's clock."""
        ...

    def observe(self, ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> None:
        """`observe` on the ticket's key's state, atomically, at the store's clock."""
        ...

    def clear(self, key: str) -> None: ...


# What `observe_begin` returns: waits for the store's answer to an observe already sent (raises as observe would).
ObserveAnswer = Callable[[], None]


def _answered() -> None:
    """An observe that was done at once: nothing left to await."""


class _DecidingInPython:
    """`reserve` and `observe` as read-decide-write updates (stores whose `update` is already cheap)."""

    def update(self, key: str, change: Callable[[BudgetState, int], T]) -> T:
        raise NotImplementedError

    def reserve(self, key: str, policy: BudgetPolicy) -> Decision:
        return self.update(key, lambda state, now_ms: reserve(state, key=key, now_ms=now_ms, policy=policy))

    def observe(self, ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> None:
        self.update(
            ticket.key,
            lambda state, now_ms: observe(
                state, ticket=ticket, observations=observations, now_ms=now_ms, policy=policy
            ),
        )

    def observe_begin(self, ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> ObserveAnswer:
        """`observe`, with its answer awaited by the function returned (here: done at once)."""
        self.observe(ticket, observations, policy)
        return _answered


# Compare-and-set: write the new state only if nobody wrote since we read (ARGV[1] is the text we read).
_CAS_SCRIPT = """
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] == '') or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


# `reserve` and `observe` above, ported line for line to Lua so each runs inside Redis in one round trip
# (EVALSHA). The state is the same JSON `BudgetState.to_json` writes (cjson keeps 14 significant digits: epoch
# milliseconds have 13). `tests/connectors/base/test_ratelimit.py` runs both over random states and compares.
_DECISIONS_LUA = """
local function clock_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function value(v)
  if v == cjson.null then return nil end
  return v
end

local function load(raw)
  local state = {windows = {}}
  if not raw or raw == '' then return state end
  local data = cjson.decode(raw)
  state.skew_lo_ms = value(data.skew_lo_ms)
  state.skew_hi_ms = value(data.skew_hi_ms)
  state.probe_until_ms = value(data.probe_until_ms)
  for name, w in pairs(value(data.windows) or {}) do
    state.windows[name] = {
      reset_ms = w.reset_ms, length_ms = w.length_ms, limit = w.limit,
      used = value(w.used) or 0, carry = value(w.carry) or 0,
      confirmed = value(w.confirmed) ~= false,
      last_confirmed_reset_ms = value(w.last_confirmed_reset_ms),
      length_learnt = value(w.length_learnt) == true,
    }
  end
  return state
end

local function save(key, state, ttl)
  local windows = {}
  for name, w in pairs(state.windows) do
    windows[name] = {
      reset_ms = w.reset_ms, length_ms = w.length_ms, limit = w.limit, used = w.used, carry = w.carry,
      confirmed = w.confirmed, length_learnt = w.length_learnt,
      last_confirmed_reset_ms = w.last_confirmed_reset_ms or cjson.null,
    }
  end
  local out = {
    windows = windows,
    skew_lo_ms = state.skew_lo_ms or cjson.null,
    skew_hi_ms = state.skew_hi_ms or cjson.null,
    probe_until_ms = state.probe_until_ms or cjson.null,
  }
  redis.call('SET', key, cjson.encode(out), 'PX', ttl)
end

local function sorted_names(state)
  local names = {}
  for name in pairs(state.windows) do names[#names + 1] = name end
  table.sort(names)
  return names
end

local function skew_of(state)
  local skew = 0
  if state.skew_lo_ms ~= nil then skew = math.max(skew, state.skew_lo_ms) end
  if state.skew_hi_ms ~= nil then skew = math.min(skew, state.skew_hi_ms) end
  return skew
end

local function guard_for(w, guard_ms)
  return math.min(guard_ms, math.floor(w.length_ms / 10))
end
"""

_RESERVE_SCRIPT = (
    _DECISIONS_LUA
    + """
-- KEYS[1] the state; ARGV: guard_ms, probe_timeout_ms, poll_ms, ttl_ms.
-- Answers {granted, probe, now_ms, wait_ms, provisional, window, reopens_at_ms}.
local guard_ms, probe_timeout_ms, poll_ms, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local now = clock_ms()
local state = load(redis.call('GET', KEYS[1]))
if state.probe_until_ms ~= nil and state.probe_until_ms <= now then state.probe_until_ms = nil end
if next(state.windows) == nil then
  if state.probe_until_ms ~= nil then
    save(KEYS[1], state, ttl)
    return {0, 0, now, poll_ms, 1, '', now + poll_ms}
  end
  state.probe_until_ms = now + probe_timeout_ms
  save(KEYS[1], state, ttl)
  return {1, 1, now, 0, 0, '', 0}
end
local vendor_now = now + skew_of(state)
local names = sorted_names(state)
local blocking, blocking_wait
for _, name in ipairs(names) do
  local w = state.windows[name]
  local guard = guard_for(w, guard_ms)
  if vendor_now >= w.reset_ms + guard then
    local periods = math.floor((vendor_now - guard - w.reset_ms) / w.length_ms) + 1
    if w.confirmed then w.last_confirmed_reset_ms = w.reset_ms end
    if periods == 1 then w.used = w.carry else w.used = 0 end
    w.carry = 0
    w.reset_ms = w.reset_ms + periods * w.length_ms
    w.confirmed = false
  end
  if w.used >= w.limit then
    local wait = w.reset_ms + guard - vendor_now
    if blocking == nil or wait > blocking_wait then blocking, blocking_wait = name, wait end
  end
end
if blocking ~= nil then
  local w = state.windows[blocking]
  local provisional = (not w.confirmed) and (not w.length_learnt)
  local wait_ms = math.max(1, math.ceil(blocking_wait))
  save(KEYS[1], state, ttl)
  if provisional then return {0, 0, now, math.min(wait_ms, poll_ms), 1, blocking, now + wait_ms} end
  return {0, 0, now, wait_ms, 0, blocking, now + wait_ms}
end
for _, name in ipairs(names) do
  local w = state.windows[name]
  w.used = w.used + 1
  if w.reset_ms - vendor_now <= guard_for(w, guard_ms) then w.carry = w.carry + 1 end
end
save(KEYS[1], state, ttl)
return {1, 0, now, 0, 0, '', 0}
"""
)

_OBSERVE_SCRIPT = (
    _DECISIONS_LUA
    + """
-- KEYS[1] the state; ARGV: probe (0/1), sent_ms, observations [[window, limit, remaining, reset_ms], ...],
-- default lengths {window: ms}, clock window, ttl_ms, calendar windows (0/1). Answers the store's now_ms.
local probe, sent_ms, ttl, calendar_windows = ARGV[1] == '1', tonumber(ARGV[2]), ARGV[6], ARGV[7] == '1'
local observations, defaults, clock_window = cjson.decode(ARGV[3]), cjson.decode(ARGV[4]), ARGV[5]
local now = clock_ms()
local state = load(redis.call('GET', KEYS[1]))
if probe then state.probe_until_ms = nil end
for _, o in ipairs(observations) do
  local name, limit, remaining, reset = o[1], o[2], o[3], o[4]
  if limit > 0 then
    local reported = math.max(limit - remaining, 0)
    local w = state.windows[name]
    if w == nil then
      state.windows[name] = {
        reset_ms = reset, length_ms = defaults[name] or 60000, limit = limit, used = reported, carry = 0,
        confirmed = true, length_learnt = false,
      }
    else
      local applies = true
      if reset == w.reset_ms then
        w.used = math.max(w.used, reported)
      elseif reset > w.reset_ms then
        local base, previous = w.carry, w.reset_ms
        if not w.confirmed then base, previous = w.used, w.last_confirmed_reset_ms end
        local gap = 0
        if previous ~= nil then gap = reset - previous end
        if gap > 0 then
          if w.length_learnt or gap % w.length_ms == 0 then
            w.length_ms = math.min(w.length_ms, gap)
          else
            w.length_ms = gap
          end
          w.length_learnt = true
        end
        w.last_confirmed_reset_ms = previous
        w.reset_ms = reset
        w.used = math.max(base, reported)
        w.carry = 0
      elseif (not w.confirmed) and (w.last_confirmed_reset_ms == nil or reset > w.last_confirmed_reset_ms) then
        if w.last_confirmed_reset_ms ~= nil then
          w.length_ms = math.min(w.length_ms, reset - w.last_confirmed_reset_ms)
          w.length_learnt = true
        end
        w.reset_ms = reset
        w.used = math.max(w.used, reported)
      else
        applies = false
      end
      if applies then
        w.limit = limit
        w.confirmed = true
      end
    end
    if name == clock_window then
      local clock = state.windows[name]
      local low, high = nil, reset - sent_ms
      if not (calendar_windows and not clock.length_learnt and reset % clock.length_ms ~= 0) then
        low = reset - clock.length_ms - now
      end
      local new_low, new_high = state.skew_lo_ms, high
      if low ~= nil then
        new_low = low
        if state.skew_lo_ms ~= nil then new_low = math.max(state.skew_lo_ms, low) end
      end
      if state.skew_hi_ms ~= nil then new_high = math.min(state.skew_hi_ms, high) end
      if new_low ~= nil and new_low > new_high then new_low, new_high = low, high end
      state.skew_lo_ms, state.skew_hi_ms = new_low, new_high
    end
  end
end
save(KEYS[1], state, ttl)
return now
"""
)


class RedisBudgetStore(_DecidingInPython):
    """Budgets in Redis, shared by every process on every machine; the clock is Redis's `TIME`."""

    prefix = "ledgerbridge:ratelimit:"

    def __init__(self, url: str, *, max_attempts: int = 200) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._cas = self._redis.register_script(_CAS_SCRIPT)
        self._reserve = self._redis.register_script(_RESERVE_SCRIPT)
        self._observe = self._redis.register_script(_OBSERVE_SCRIPT)
        self._errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self._no_script: type[Exception] = redis.exceptions.NoScriptError
        self.max_attempts = max_attempts

    def update(self, key: str, change: Callable[[BudgetState, int], T]) -> T:
        redis_key = self.prefix + key
        try:
            for _attempt in range(self.max_attempts):
                pipe = self._redis.pipeline(transaction=False)
                pipe.time()
                pipe.get(redis_key)
                (seconds, micros), raw = pipe.execute()
                state = BudgetState.from_json(raw)
                result = change(state, seconds * 1000 + micros // 1000)
                if self._cas(keys=[redis_key], args=[raw or b"", state.to_json(), STATE_TTL_MS]):
                    return result
                time.sleep(random.uniform(0, 0.002))  # noqa: S311 (jitter, not security); another process wrote first: read again
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the rate-limit store is unavailable ({exc.__class__.__name__})") from None
        raise BudgetStoreUnavailable("the rate-limit store is too contended to update")

    def reserve(self, key: str, policy: BudgetPolicy) -> Decision:
        """`reserve` in one round trip: the Lua port runs on the state inside Redis, at Redis's clock."""
        try:
            granted, probe, now_ms, wait_ms, provisional, window, reopens = self._reserve(
                keys=[self.prefix + key],
                args=[policy.guard_ms, policy.probe_timeout_ms, policy.poll_ms, STATE_TTL_MS],
            )
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the rate-limit store is unavailable ({exc.__class__.__name__})") from None
        if granted:
            return Decision(Ticket(key=key, sent_ms=int(now_ms), probe=bool(probe)))
        return Decision(
            None,
            wait_ms=int(wait_ms),
            provisional=bool(provisional),
            window=window.decode() if window else None,
            reopens_at_ms=int(reopens),
        )

    def observe(self, ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> None:
        """`observe` in one round trip (the Lua port, at Redis's clock)."""
        try:
            self._observe(keys=[self.prefix + ticket.key], args=self._observe_args(ticket, observations, policy))
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the rate-limit store is unavailable ({exc.__class__.__name__})") from None

    def observe_begin(self, ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> ObserveAnswer:
        """`observe`'s script sent now, its answer read by the function returned: the caller does its other I/O
        after a vendor call (the call-log row) while Redis runs it, instead of waiting for one, then the other.
        The same script on the same state; the answer is still awaited, on a connection of the client's pool
        held until then (the function must be called: it gives the connection back)."""
        key, args = self.prefix + ticket.key, self._observe_args(ticket, observations, policy)
        pool = self._redis.connection_pool
        try:
            connection = pool.get_connection()
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the rate-limit store is unavailable ({exc.__class__.__name__})") from None
        try:
            connection.send_command("EVALSHA", self._observe.sha, 1, key, *args)
        except BaseException as exc:
            connection.disconnect()
            pool.release(connection)
            if isinstance(exc, self._errors):
                raise BudgetStoreUnavailable(
                    f"the rate-limit store is unavailable ({exc.__class__.__name__})"
                ) from None
            raise

        def answer() -> None:
            try:
                connection.read_response()
            except self._no_script:
                # Redis lost its script cache (a restart, SCRIPT FLUSH): the answer was read in full, the
                # connection is clean; the script object loads the script and runs it once more.
                pool.release(connection)
                self.observe(ticket, observations, policy)
                return
            except BaseException as exc:
                connection.disconnect()  # the answer may be half read: never hand this connection out again
                pool.release(connection)
                if isinstance(exc, self._errors):
                    raise BudgetStoreUnavailable(
                        f"the rate-limit store is unavailable ({exc.__class__.__name__})"
                    ) from None
                raise
            pool.release(connection)

        return answer

    @staticmethod
    def _observe_args(ticket: Ticket, observations: list[Observation], policy: BudgetPolicy) -> list[object]:
        reported = [[o.window, o.limit, o.remaining, o.reset_ms] for o in observations]
        return [
            1 if ticket.probe else 0,
            ticket.sent_ms,
            json.dumps(reported),
            json.dumps(dict(policy.default_lengths_ms)),
            policy.clock_window,
            STATE_TTL_MS,
            1 if policy.calendar_windows else 0,
        ]

    def clear(self, key: str) -> None:
        self._redis.delete(self.prefix + key)

    def snapshot(self) -> tuple[dict[str, BudgetState], int]:
        """Every budget's state and the store's clock (ms), for metrics; SCAN, so Redis is never blocked."""
        try:
            keys = list(self._redis.scan_iter(match=self.prefix + "*", count=1000))
            seconds, micros = self._redis.time()
            raws = self._redis.mget(keys) if keys else []
        except self._errors as exc:
            raise BudgetStoreUnavailable(f"the rate-limit store is unavailable ({exc.__class__.__name__})") from None
        states = {
            key.decode().removeprefix(self.prefix): BudgetState.from_json(raw)
            for key, raw in zip(keys, raws, strict=True)
            if raw
        }
        return states, seconds * 1000 + micros // 1000


class LocalBudgetStore(_DecidingInPython):
    """Budgets in this process only, for installs without Redis (the local SQLite demo).

    Several processes then each believe they own the whole budget; the vendor's headers, reconciled after every
    call, and its 429s (never retried blindly) remain the backstop. Production sets REDIS_URL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._states: dict[str, str] = {}

    def update(self, key: str, change: Callable[[BudgetState, int], T]) -> T:
        with self._lock:
            state = BudgetState.from_json(self._states.get(key))
            result = change(state, int(time.time() * 1000))
            self._states[key] = state.to_json()
            return result

    def clear(self, key: str) -> None:
        with self._lock:
            self._states.pop(key, None)

    def snapshot(self) -> tuple[dict[str, BudgetState], int]:
        with self._lock:
            return {key: BudgetState.from_json(raw) for key, raw in self._states.items()}, int(time.time() * 1000)


_stores: dict[tuple[int, str], BudgetStore] = {}
_stores_lock = threading.Lock()


def budget_store(redis_url: str) -> BudgetStore:
    """The process's store: Redis when a URL is configured, else in-process (one per process id, fork-safe)."""
    store_key = (os.getpid(), redis_url)
    with _stores_lock:
        store = _stores.get(store_key)
        if store is None:
            store = RedisBudgetStore(redis_url) if redis_url else LocalBudgetStore()
            _stores[store_key] = store
        return store


# ------------------------------------------------------------------------------------------------ the budget


class SharedBudget:
    """Reserve before a call, report after it; waits up to `max_wait` seconds, else raises BudgetExhausted."""

    def __init__(self, *, store: BudgetStore, policy: BudgetPolicy, max_wait: float) -> None:
        self.store = store
        self.policy = policy
        self.max_wait = max_wait

    def acquire(self, key: str) -> Ticket:
        deadline = time.monotonic() + self.max_wait
        while True:
            decision = self.store.reserve(key, self.policy)
            if decision.ticket is not None:
                return decision.ticket
            left = deadline - time.monotonic()
            wait = decision.wait_ms / 1000
            if (not decision.provisional and wait > left) or left <= 0:
                reopens = (decision.reopens_at_ms or 0) / 1000 or time.time() + wait
                raise BudgetExhausted(
                    key=key, window=decision.window or "unknown", reset_at=datetime.fromtimestamp(reopens, tz=UTC)
                )
            # A little jitter so waiting processes do not all retry in the same millisecond.
            time.sleep(min(wait, left) + random.uniform(0, 0.01))  # noqa: S311 (jitter)

    def record(self, ticket: Ticket, observations: list[Observation]) -> None:
        self.store.observe(ticket, observations, self.policy)

    def record_begin(self, ticket: Ticket, observations: list[Observation]) -> ObserveAnswer:
        """`record`, its answer awaited by the function returned (stores that cannot split it do it at once)."""
        begin = getattr(self.store, "observe_begin", None)
        if begin is None:
            self.record(ticket, observations)
            return _answered
        answer: ObserveAnswer = begin(ticket, observations, self.policy)
        return answer

    def release(self, ticket: Ticket) -> None:
        """The call produced no report (transport error, no headers): the unit stays spent, a probe ends."""
        if ticket.probe:
            self.record(ticket, [])

    def clear(self, key: str) -> None:
        self.store.clear(key)


class VendorRateLimiter:
    """The shared budget as a vendor client uses it: reserve before a call, reconcile after, typed errors.

    One instance per process and policy is enough (the state lives in the store). Keys are the connector's
    (app, company) budget keys, e.g. "exact:<client id>:<division>".
    """

    def __init__(
        self, *, vendor_name: str, company_noun: str, store: BudgetStore, policy: BudgetPolicy, max_wait: float
    ) -> None:
        self.vendor_name = vendor_name
        self.company_noun = company_noun
        self.budget = SharedBudget(store=store, policy=policy, max_wait=max_wait)

    def acquire(self, key: str) -> Ticket:
        """Reserve one call, waiting briefly if needed; VendorRateLimited if the wait is long."""
        try:
            return self.budget.acquire(key)
        except BudgetExhausted as exc:
            raise VendorRateLimited(
                f"{self.vendor_name}'s {exc.window} call limit for this {self.company_noun} is used up; it resets at "
                f"{exc.reset_at.isoformat(timespec='seconds')}.",
                reset_at=exc.reset_at,
                budget_window=exc.window,
            ) from None
        except BudgetStoreUnavailable as exc:
            raise VendorUnavailable(f"Cannot check {self.vendor_name}'s rate limit: {exc}.") from None

    def record(self, ticket: Ticket, observations: list[Observation]) -> None:
        """Reconcile with what a response reported (a response that reports nothing only ends a probe)."""
        # The call itself is done; if the store is down the next acquire reports it.
        with contextlib.suppress(BudgetStoreUnavailable):
            self.budget.record(ticket, observations)

    def record_begin(self, ticket: Ticket, observations: list[Observation]) -> ObserveAnswer:
        """`record` sent now, for the caller to do other I/O before awaiting it with the function returned."""
        if type(self).record is not VendorRateLimiter.record:  # a limiter that records its own way (Xero's two)
            self.record(ticket, observations)
            return _answered
        try:
            answer = self.budget.record_begin(ticket, observations)
        except BudgetStoreUnavailable:  # as in `record`: the next acquire reports it
            return _answered

        def answered() -> None:
            with contextlib.suppress(BudgetStoreUnavailable):
                answer()

        return answered

    def release(self, ticket: Ticket) -> None:
        """The call got no response (transport error): the unit stays spent, a probe ends."""
        with contextlib.suppress(BudgetStoreUnavailable):
            self.budget.release(ticket)

    def forget(self, key: str) -> None:
        """Drop what is known about a key; for tests that reset a sandbox's counters."""
        self.budget.clear(key)


# ------------------------------------------------------------------------------------------------ reporting


@dataclass(frozen=True)
class WindowLeft:
    """What one window of one budget has left now (for metrics): the key is the connector's budget key."""

    key: str
    window: str
    limit: int
    remaining: int


def windows_left(state: BudgetState, *, key: str, now_ms: int) -> list[WindowLeft]:
    """Each known window of `state` as it stands at `now_ms` (store clock); an ended window is full again."""
    found = []
    vendor_now = now_ms + state.skew_ms()
    for name, window in state.windows.items():
        used = window.used
        if vendor_now >= window.reset_ms:
            used = window.carry if vendor_now < window.reset_ms + window.length_ms else 0
        found.append(WindowLeft(key=key, window=name, limit=window.limit, remaining=max(window.limit - used, 0)))
    return found


def budgets_left(store: BudgetStore) -> list[WindowLeft]:
    """Every budget the store holds, window by window (RedisBudgetStore: all processes'; local: this one's)."""
    snapshot = getattr(store, "snapshot", None)
    if snapshot is None:
        return []
    found: list[WindowLeft] = []
    states, now_ms = snapshot()
    for key, state in states.items():
        found.extend(windows_left(state, key=key, now_ms=now_ms))
    return found
