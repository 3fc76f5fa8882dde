"""The data structures behind the memory engine: what the Redis keys under one queue prefix
hold (sorted sets, lists, hashes), and the value conversions Lua applies to them."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from bisect import bisect_left, bisect_right, insort
from collections import deque
from operator import itemgetter
from typing import Any

from ...keys import STATUS_KEYS

_WAKE_MAX = 256  # as in _lib.lua: wake-up tokens never pile up past this
_STAT_TTL_S = 900  # per-second buckets expire after this long, like the `stat:<sec>` keys
_CONTROL_TTL_MS = 60_000  # an unread control queue is dropped after this (PEXPIRE in Lua)
_CONTROL_MAX = 1000  # messages a control queue keeps at most (CONTROL_MAX in Lua)
# What claim.lua hands back for each leased job; missing fields come back as None.
_CLAIM_FIELDS = (
    "name", "args", "kwargs", "max_retries", "timeout", "priority", "created_at",
    "scheduled_for", "error", "stalls", "meta", "feed",
)
_VALID_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")  # the id check claim.lua applies
_BAD_PER_CLAIM = 1000  # bad pending entries one claim clears beyond its count (claim.lua)

Record = dict[str, Any]
EventKey = tuple[int, int]


def _number(value: Any) -> float | None:
    """Lua's `tonumber(value)` for a stored field: None for anything that is not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _int(value: Any) -> int:
    number = _number(value)
    return 0 if number is None else int(number)


def _pscore(priority: Any, seq: Any) -> int:
    """Pending score as _lib.lua's `pscore`: higher priority first, then submission order."""
    prio = _number(priority)
    return round((3 - (1 if prio is None else prio)) * 2**44 + _int(seq))


def _lua_number(value: float) -> float | int:
    """How Lua prints a number into JSON: integral values without a fraction."""
    return int(value) if value == int(value) else value


def _field(value: Any) -> str | bytes:
    """What redis-py would store: text and bytes as they are, numbers as their repr."""
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    raise TypeError(f"record fields are str, bytes or numbers, not {type(value).__name__}")


def _parse_event_id(event_id: str) -> EventKey:
    ms, _, seq = event_id.partition("-")
    try:
        return int(ms), int(seq or 0)
    except ValueError:
        raise ValueError(f"not an event id: {event_id!r}") from None


class _Signal:
    """Wakes every task waiting on it, whichever event loop (and thread) each one runs on.

    `asyncio.Condition` binds to the first loop that uses it, but a shared store may outlive a
    loop (pytest runs one per test), and several loops on several threads may share one (a
    `SyncJobService` beside an async service), so each waiter brings a future of its own loop,
    woken on that loop. `version` counts notifications: a waiter that saw the state at one
    version returns at once if a notification came since (none is lost between a look at the
    state and the wait).
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self._lock = threading.Lock()
        self.version = 0

    def notify(self) -> None:
        with self._lock:
            self.version += 1
            waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            _wake(waiter)

    async def wait(self, seconds: float, seen: int | None = None) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with self._lock:
            if seen is not None and seen != self.version:
                return
            self._waiters.add(waiter)
        try:
            await asyncio.wait((waiter,), timeout=max(0.0, seconds))
        finally:
            with self._lock:
                self._waiters.discard(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    """Resolve `waiter` on its own loop: directly from that loop's thread, else through
    call_soon_threadsafe (a future set from another thread would not wake its loop)."""
    try:
        here = asyncio.get_running_loop()
    except RuntimeError:
        here = None
    loop = waiter.get_loop()
    if loop is here:
        if not waiter.done():
            waiter.set_result(None)
        return
    with contextlib.suppress(RuntimeError):  # its loop closed: nobody waits
        loop.call_soon_threadsafe(_resolve, waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _ZSet:
    """A Redis sorted set: members ordered by (score, member), as ZRANGE orders them."""

    __slots__ = ("_order", "_scores")

    def __init__(self) -> None:
        self._scores: dict[str, float] = {}
        self._order: list[tuple[float, str]] = []

    def __len__(self) -> int:
        return len(self._scores)

    def add(self, member: str, score: float, *, only_existing: bool = False) -> None:
        old = self._scores.get(member)
        if old is None:
            if only_existing:  # ZADD XX
                return
        else:
            del self._order[bisect_left(self._order, (old, member))]
        self._scores[member] = score
        insort(self._order, (score, member))

    def remove(self, member: str) -> bool:
        old = self._scores.pop(member, None)
        if old is None:
            return False
        del self._order[bisect_left(self._order, (old, member))]
        return True

    def pop_min(self, count: int) -> list[str]:
        popped = [member for _, member in self._order[: max(0, count)]]
        del self._order[: len(popped)]
        for member in popped:
            del self._scores[member]
        return popped

    def up_to(self, score: float, limit: int | None = None) -> list[str]:
        """Members scored at most `score`, lowest first (ZRANGEBYSCORE -inf score LIMIT)."""
        end = bisect_right(self._order, score, key=itemgetter(0))
        if limit is not None:
            end = min(end, limit)
        return [member for _, member in self._order[:end]]

    def after(self, score: float) -> float | None:
        """The lowest score above `score` (ZRANGEBYSCORE (score +inf LIMIT 0 1)."""
        index = bisect_right(self._order, score, key=itemgetter(0))
        return self._order[index][0] if index < len(self._order) else None

    def count_between(self, lo: float, hi: float) -> int:
        """How many members are scored in [lo, hi)."""
        start, end = self.positions(lo, hi)
        return end - start

    def positions(self, lo: float, hi: float) -> tuple[int, int]:
        """The positions (start, end) of the members scored in [lo, hi)."""
        key = itemgetter(0)
        return bisect_left(self._order, lo, key=key), bisect_left(self._order, hi, key=key)

    def members(self, start: int, end: int) -> list[str]:
        """The members at positions start .. end - 1, lowest first (ZRANGE start end-1)."""
        return [member for _, member in self._order[max(0, start) : max(0, end)]]

    def score(self, member: str) -> float | None:
        return self._scores.get(member)

    def first(self) -> tuple[float, str] | None:
        return self._order[0] if self._order else None

    def items(self) -> list[tuple[float, str]]:
        return list(self._order)

    def page(self, start: int, count: int, reverse: bool) -> list[str]:
        size = len(self._order)
        if reverse:
            lo, hi = max(0, size - start - count), max(0, size - start)
            return [member for _, member in reversed(self._order[lo:hi])]
        return [member for _, member in self._order[start : start + count]]


class _Store:
    """What the Redis keys under one queue prefix hold, as plain Python objects."""

    def __init__(self) -> None:
        self.jobs: dict[str, Record] = {}
        self.expires: dict[str, int] = {}  # job id -> ms: completed records' PEXPIRE
        # completed records past the list's ttl kept by a result_ttl of their own, by expiry
        # (Redis drops them by their PEXPIRE; here they are swept as finishes trim)
        self.kept = _ZSet()
        self.sets: dict[str, _ZSet] = {key: _ZSet() for key in STATUS_KEYS.values()}
        self.workers = _ZSet()  # worker id -> last heartbeat (ms)
        self.worker_info: dict[str, tuple[bytes, int]] = {}  # id -> (json, expires at ms)
        self.control: dict[str, tuple[deque[bytes], int]] = {}  # id -> (queue, expires at)
        self.events: deque[tuple[EventKey, dict[str, Any]]] = deque()
        self.last_event: EventKey = (0, 0)
        self.trimmed_through: EventKey = (0, 0)  # newest event dropped by the cap
        self.totals: dict[str, int] = {}
        self.histograms: dict[str, int] = {}  # as the `hist` hash: "run:250" -> count
        self.stats: dict[int, dict[str, int]] = {}  # unix second -> counters
        self.long: dict[str, dict[int, int]] = {}  # history.py: "hm:c:<hour>" -> {minute: n}
        self.long_expires: dict[str, int] = {}  # its keys' expiry (ms), as EXPIREAT
        self.names: dict[str, int] = {}  # "c:<name>" / "f:<name>" -> count, capped
        self.seq = 0
        self.tokens = 0
        self.wake = 0  # wake-up tokens, like the length of the `wake` list
        self.paused: str | None = None
        self.unique: dict[str, tuple[str, int]] = {}  # key -> (job id, window end ms or 0)
        self.unique_windows = _ZSet()  # keys freed when their window ends (Redis: PEXPIREAT)
        self.schedules: dict[str, Record] = {}  # name -> the `schedule:<name>` hash
        self.schedules_due = _ZSet()  # active schedules by due time (ms)
        from .lanes import Lanes  # lanes builds on this module's structures

        self.lanes = Lanes()  # side lanes of pending jobs, and the limits
        from .workflows import Flows  # (workflows) children, kept results, the work list

        self.flows = Flows()
        # Every engine call holds this while it reads or changes the store: one script at a
        # time, as in Redis, whichever thread's loop it comes from.
        self.lock = threading.RLock()
        self.sessions: dict[str, int] = {}  # web sign-in digest -> expiry (ms), capped
        self.work_signal = _Signal()
        self.event_signal = _Signal()
        self.control_signal = _Signal()
