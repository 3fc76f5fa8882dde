"""The in-process engine: the Lua scripts' state machine over dicts and sorted lists.

Nothing to install and nothing to run, for tests, demos and single-process apps; the contract
suite (tests/test_backend_contract.py) holds it to the Redis backend's observable behaviour.
Every method does its whole transition before its first `await`, so it is atomic on the event
loop the way a script is atomic in Redis. Clock values are `time.time()` in integer
milliseconds, like the scripts' `NOW`, so scores, leases and the stored `"%.3f"` times agree.

Several services in one process open one store with `MemoryBackend.shared(name)`, as several
processes open one Redis. A store is not thread-safe: use it from one thread (any number of
event loops, one after another, is fine).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from bisect import bisect_left, bisect_right, insort
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any, ClassVar

from ..codec import decode_control, dumps, loads
from ..events import Event
from ..models import JobDefinition
from .base import (
    BackendSettings,
    ClaimBatch,
    ClaimedJob,
    Finish,
    Outcome,
    ProgressUpdate,
    RawMetrics,
    WorkerRecord,
)

__all__ = ["MemoryBackend"]

# The same public status -> set mapping as the Redis backend: dead letters live in "dead".
_STATUS_KEYS = {
    "pending": "pending",
    "scheduled": "scheduled",
    "running": "running",
    "completed": "completed",
    "failed": "dead",
    "cancelled": "cancelled",
}
_WAKE_MAX = 256  # as in _lib.lua: wake-up tokens never pile up past this
_STAT_TTL_S = 900  # per-second buckets expire after this long, like the `stat:<sec>` keys
_CONTROL_TTL_MS = 60_000  # an unread control queue is dropped after this (PEXPIRE in Lua)
# What claim.lua hands back for each leased job; missing fields come back as None.
_CLAIM_FIELDS = ("name", "args", "kwargs", "max_retries", "timeout", "priority", "error", "stalls")
_VALID_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")  # the id check claim.lua applies
_BAD_PER_CLAIM = 1000  # bad pending entries one claim clears beyond its count (claim.lua)

Record = dict[str, Any]
EventKey = tuple[int, int]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _fmt_s(ms: float) -> str:
    return f"{ms / 1000:.3f}"


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
    """Wakes every task waiting on it, whichever event loop each one runs on.

    `asyncio.Condition` binds to the first loop that uses it, but a shared store may outlive a
    loop (pytest runs one per test), so each waiter brings a future of its own loop instead.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                with contextlib.suppress(RuntimeError):  # its loop closed: nobody waits
                    waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, seconds: float) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            await asyncio.wait((waiter,), timeout=max(0.0, seconds))
        finally:
            self._waiters.discard(waiter)


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
        self.sets: dict[str, _ZSet] = {key: _ZSet() for key in _STATUS_KEYS.values()}
        self.workers = _ZSet()  # worker id -> last heartbeat (ms)
        self.worker_info: dict[str, tuple[bytes, int]] = {}  # id -> (json, expires at ms)
        self.control: dict[str, tuple[deque[bytes], int]] = {}  # id -> (queue, expires at)
        self.events: deque[tuple[EventKey, dict[str, Any]]] = deque()
        self.last_event: EventKey = (0, 0)
        self.totals: dict[str, int] = {}
        self.stats: dict[int, dict[str, int]] = {}  # unix second -> counters
        self.seq = 0
        self.tokens = 0
        self.wake = 0  # wake-up tokens, like the length of the `wake` list
        self.paused: str | None = None
        self.work_signal = _Signal()
        self.event_signal = _Signal()
        self.control_signal = _Signal()


class MemoryBackend:
    """The `Backend` protocol in one process. `MemoryBackend(name)` has a private store;
    `MemoryBackend.shared(name)` opens the process-wide store of that name."""

    _stores: ClassVar[dict[str, _Store]] = {}

    def __init__(self, name: str = "default", settings: BackendSettings | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"memory store name: expected a non-empty str, got {name!r}")
        self.name = name
        self.settings = settings or BackendSettings()
        self._s = _Store()
        self._interrupts = 0  # bumped by interrupt_wait: this backend's waits end

    @classmethod
    def shared(
        cls, name: str = "default", settings: BackendSettings | None = None
    ) -> MemoryBackend:
        """A backend over the process-wide store `name`: every service in this process that
        opens `memory://name` sees the same jobs, events and workers."""
        backend = cls(name, settings)
        backend._s = cls._stores.setdefault(name, backend._s)
        return backend

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop the shared store `name` (its jobs are gone; open backends keep their copy)."""
        cls._stores.pop(name, None)

    @property
    def description(self) -> str:
        return f"memory://{self.name}"

    async def initialize(self) -> None:
        return None

    async def close(self) -> None:
        return None  # the store lives on, as a Redis server outlives its clients

    # -- the prelude (_lib.lua) ------------------------------------------------------------
    def _job(self, job_id: str, now: int) -> Record | None:
        expires = self._s.expires.get(job_id)
        if expires is not None and expires <= now:
            self._delete(job_id)
        return self._s.jobs.get(job_id)

    def _delete(self, job_id: str) -> None:
        self._s.jobs.pop(job_id, None)
        self._s.expires.pop(job_id, None)

    def _emit(
        self,
        now: int,
        etype: str,
        job_id: str = "",
        name: Any = "",
        status: str = "",
        data: bytes = b"",
    ) -> None:
        s = self._s
        ms, seq = s.last_event
        s.last_event = (now, 0) if now > ms else (ms, seq + 1)
        fields = {
            "t": etype,
            "j": job_id,
            "n": name or "",
            "s": status,
            "ts": _fmt_s(now),
            "d": data,
        }
        s.events.append((s.last_event, fields))
        while len(s.events) > self.settings.events_maxlen:
            s.events.popleft()
        s.event_signal.notify()

    def _wake(self, n: int) -> None:
        if n > 0:
            self._s.wake = min(_WAKE_MAX, self._s.wake + n)
            self._s.work_signal.notify()

    def _stat(self, now: int, **counts: float) -> None:
        sec = now // 1000
        for name, value in counts.items():
            if value:
                bucket = self._s.stats.setdefault(sec, {})
                bucket[name] = bucket.get(name, 0) + round(value)
        if len(self._s.stats) > 2 * _STAT_TTL_S:
            for old in [t for t in self._s.stats if t <= sec - _STAT_TTL_S]:
                del self._s.stats[old]

    def _total(self, **counts: int) -> None:
        for name, value in counts.items():
            if value:
                self._s.totals[name] = self._s.totals.get(name, 0) + value

    def _trim_history(self, now: int, key: str, max_len: int, ttl_ms: int) -> None:
        zset = self._s.sets[key]
        if ttl_ms > 0:
            for job_id in zset.up_to(now - ttl_ms, 1000):
                zset.remove(job_id)
                self._delete(job_id)
        extra = min(len(zset) - max_len, 1000)
        for job_id in zset.pop_min(extra):
            self._delete(job_id)

    def _recover(self, now: int, limit: int, max_stalls: int) -> None:
        """Expired leases: requeue as stalled, dead-letter after `max_stalls`, or cancel a job
        whose cancellation was requested."""
        running, requeued = self._s.sets["running"], 0
        for job_id in running.up_to(now, limit):
            running.remove(job_id)
            rec = self._job(job_id, now)
            if rec is None:
                continue
            stalls = _int(rec.get("stalls")) + 1
            rec["stalls"] = str(stalls)
            rec.pop("token", None)
            name = rec.get("name")
            data = dumps({"reason": "stalled", "stalls": stalls, "worker": rec.get("worker") or ""})
            if rec.get("cancel") == "1":
                rec.update(status="cancelled", finished_at=_fmt_s(now))
                self._s.sets["cancelled"].add(job_id, now)
                self._total(cancelled=1)
                self._emit(now, "JOB_CANCELLED", job_id, name, "cancelled", data)
            elif stalls >= max_stalls:
                message = f"stalled {stalls} times: its worker stopped heartbeating"
                rec.update(
                    status="failed",
                    finished_at=_fmt_s(now),
                    error=dumps({"type": "Stalled", "message": message}),
                )
                self._s.sets["dead"].add(job_id, now)
                self._total(dead=1)
                self._stat(now, failed=1)
                self._emit(
                    now,
                    "JOB_FAILED",
                    job_id,
                    name,
                    "failed",
                    dumps(
                        {
                            "reason": "stalled",
                            "stalls": stalls,
                            "will_retry": False,
                            "error_type": "Stalled",
                            "error": f"stalled {stalls} times",
                        }
                    ),
                )
            else:
                rec["status"] = "pending"
                self._s.sets["pending"].add(job_id, _pscore(rec.get("priority"), rec.get("seq")))
                self._total(requeued=1)
                self._emit(now, "JOB_REQUEUED", job_id, name, "pending", data)
                requeued += 1
        self._wake(requeued)

    def _dead_letter_malformed(self, now: int, job_id: str, message: str) -> None:
        rec = self._s.jobs.setdefault(job_id, {})
        rec.update(
            name="<malformed>",
            status="failed",
            finished_at=_fmt_s(now),
            error=dumps({"type": "MalformedRecord", "message": message}),
        )
        self._s.sets["dead"].add(job_id, now)
        self._emit(
            now,
            "JOB_FAILED",
            job_id,
            "<malformed>",
            "failed",
            dumps(
                {
                    "reason": "malformed",
                    "will_retry": False,
                    "error_type": "MalformedRecord",
                    "error": message,
                }
            ),
        )

    # -- producers -----------------------------------------------------------------------
    async def submit(
        self, jobs: Sequence[tuple[JobDefinition, float]], fields: Sequence[Mapping[str, Any]]
    ) -> list[bool]:
        s, now = self._s, _now_ms()
        created: list[bool] = []
        ready = delayed = 0
        for (job, delay), record in zip(jobs, fields, strict=True):
            delay_ms = int(delay * 1000)
            if self._job(job.id, now) is not None:
                created.append(False)
                continue
            s.seq += 1
            rec: Record = {"created_at": _fmt_s(now), "seq": str(s.seq)}
            for key, value in record.items():
                rec[key.decode() if isinstance(key, bytes) else str(key)] = _field(value)
            if delay_ms > 0:
                status = "scheduled"
                rec.update(status=status, scheduled_for=_fmt_s(now + delay_ms))
                s.sets["scheduled"].add(job.id, now + delay_ms)
                delayed += 1
            else:
                status = rec["status"] = "pending"
                s.sets["pending"].add(job.id, _pscore(int(job.priority), s.seq))
                ready += 1
            s.jobs[job.id] = rec
            self._emit(
                now,
                "JOB_SUBMITTED",
                job.id,
                job.name,
                status,
                dumps({"priority": int(job.priority), "delay": _lua_number(delay_ms / 1000)}),
            )
            created.append(True)
        if delayed:
            self._wake(1)
        self._wake(ready)
        self._total(submitted=ready + delayed)
        self._stat(now, submitted=ready + delayed)
        return created

    async def cancel(self, job_id: str) -> str | None:
        s, now = self._s, _now_ms()
        rec = self._job(job_id, now)
        if rec is None:
            return None
        status = rec.get("status")
        if status in ("pending", "scheduled"):
            if not s.sets[status].remove(job_id):
                return None
            rec.update(status="cancelled", finished_at=_fmt_s(now))
            s.sets["cancelled"].add(job_id, now)
            self._total(cancelled=1)
            self._emit(
                now, "JOB_CANCELLED", job_id, rec.get("name"), "cancelled", dumps({"was": status})
            )
            return status
        if status == "running":
            rec["cancel"] = "1"
            worker = rec.get("worker")
            if worker is not None:
                self._push_control(now, worker, dumps({"op": "cancel", "job_id": job_id}))
            return status
        return None

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        s, now = self._s, _now_ms()
        dead = s.sets["dead"]
        ids = [member for _, member in dead.items()] if job_ids is None else list(job_ids)
        moved = 0
        for job_id in ids:
            if not dead.remove(job_id):
                continue
            rec = self._job(job_id, now)
            if rec is None:
                continue
            s.seq += 1
            rec.update(status="pending", attempts="0", stalls="0", seq=str(s.seq))
            for name in ("finished_at", "cancel", "scheduled_for"):
                rec.pop(name, None)
            s.sets["pending"].add(job_id, _pscore(rec.get("priority"), s.seq))
            self._emit(
                now, "JOB_REQUEUED", job_id, rec.get("name"), "pending", b'{"reason":"retry"}'
            )
            moved += 1
        self._wake(moved)
        self._total(retried_dead=moved)
        return moved

    async def purge(self, status: str) -> int:
        key, now = _STATUS_KEYS[status], _now_ms()
        removed = self._s.sets[key].pop_min(len(self._s.sets[key]))
        for job_id in removed:
            self._delete(job_id)
        if removed:
            self._emit(now, "JOBS_PURGED", "", "", status, dumps({"count": len(removed)}))
        return len(removed)

    async def set_paused(self, paused: bool) -> None:
        s, now = self._s, _now_ms()
        if paused and s.paused is None:
            s.paused = _fmt_s(now)
            self._emit(now, "QUEUE_PAUSED")
        elif not paused and s.paused is not None:
            s.paused = None
            self._emit(now, "QUEUE_RESUMED")
            self._wake(_WAKE_MAX)

    # -- reading -------------------------------------------------------------------------
    async def get(self, job_id: str) -> Mapping[Any, Any] | None:
        rec = self._job(job_id, _now_ms())
        return dict(rec) if rec is not None else None

    async def list(
        self, status: str, limit: int, offset: int, newest_first: bool
    ) -> list[tuple[str, Mapping[Any, Any]]]:
        if limit <= 0:
            return []
        now = _now_ms()
        ids = self._s.sets[_STATUS_KEYS[status]].page(max(0, offset), limit, newest_first)
        return [(job_id, dict(self._job(job_id, now) or {})) for job_id in ids]

    async def metrics(self, window: int) -> RawMetrics:
        s, now = self._s, _now_ms()
        sec = now // 1000
        buckets = [
            dict(s.stats.get(t, {})) if t > sec - _STAT_TTL_S else {}
            for t in range(sec - window + 1, sec + 1)
        ]
        return RawMetrics(
            now=float(_fmt_s(now)),
            depths={name: len(s.sets[key]) for name, key in _STATUS_KEYS.items()},
            totals=dict(s.totals),
            buckets=buckets,
            paused=s.paused is not None,
        )

    def _drop_stale_workers(self, now: int) -> None:
        """ZREMRANGEBYSCORE on `workers`, plus what Redis would have expired by now."""
        s = self._s
        for worker_id in s.workers.up_to(now - int(self.settings.worker_ttl * 1000)):
            s.workers.remove(worker_id)
        for worker_id in [w for w, (_, expires) in s.worker_info.items() if expires <= now]:
            del s.worker_info[worker_id]
        for worker_id in [w for w, (_, expires) in s.control.items() if expires <= now]:
            del s.control[worker_id]

    async def list_queues(self) -> list[str]:
        # Shared stores are named "<store>/<prefix>/<queue>" (see open_backend): the queues
        # of a prefix are its sibling stores in this process.
        head, sep, _queue = self.name.rpartition("/")
        if not sep:
            return []
        return sorted(
            name.rpartition("/")[2]
            for name, store in self._stores.items()
            if name.rpartition("/")[0] == head and store.last_event != (0, 0)
        )

    async def list_workers(self) -> list[WorkerRecord]:
        s, now = self._s, _now_ms()
        self._drop_stale_workers(now)
        workers = []
        for score, worker_id in s.workers.items():
            info = s.worker_info.get(worker_id)
            if info is None:
                continue
            try:
                data = loads(info[0])
                data["last_heartbeat"] = score / 1000
                workers.append(WorkerRecord(**data))
            except (TypeError, ValueError):
                continue  # a record we cannot read is not a worker we can show
        return workers

    def _events_after(self, floor: EventKey, count: int) -> list[Event]:
        events = self._s.events
        start = bisect_right(events, floor, key=itemgetter(0))
        newer = len(events) - start
        if newer <= 0:
            return []
        if start <= newer:  # walk from whichever end is nearer
            chosen = list(islice(events, start, start + count))
        else:
            chosen = list(islice(reversed(events), newer))[::-1][:count]
        return [Event.from_fields(f"{key[0]}-{key[1]}", fields) for key, fields in chosen]

    async def read_events(self, after: str | None, count: int, block: float) -> list[Event]:
        floor = self._s.last_event if after in (None, "$") else _parse_event_id(after)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.001, block)
        while True:
            found = self._events_after(floor, max(1, count))
            remaining = deadline - loop.time()
            if found or remaining <= 0:
                return found
            await self._s.event_signal.wait(remaining)

    async def last_event_id(self) -> str:
        if not self._s.events:
            return "0-0"
        ms, seq = self._s.events[-1][0]
        return f"{ms}-{seq}"

    async def emit(self, event_type: str, data: Mapping[str, Any]) -> None:
        self._emit(_now_ms(), event_type, data=dumps(dict(data)))

    # -- workers -------------------------------------------------------------------------
    def _next_due(self, now: int) -> float | None:
        first = self._s.sets["scheduled"].first()
        return None if first is None else max(0, first[0] - now) / 1000

    async def claim(self, worker_id: str, count: int, lease: float) -> ClaimBatch:
        s, now = self._s, _now_ms()
        self._recover(now, 20, self.settings.max_stalls)
        pending, scheduled = s.sets["pending"], s.sets["scheduled"]
        for job_id in scheduled.up_to(now, 500):
            scheduled.remove(job_id)
            rec = self._job(job_id, now)
            if rec is None:
                pending.add(job_id, 0)  # the pop below reports it as malformed
                continue
            s.seq += 1
            rec.update(status="pending", seq=str(s.seq))
            pending.add(job_id, _pscore(rec.get("priority"), s.seq))
        if s.paused is not None or count <= 0:
            return ClaimBatch([], paused=s.paused is not None, next_due=self._next_due(now))
        jobs: list[ClaimedJob] = []
        started, wait_ms, dead = 0, 0.0, 0
        for popped in self._pop_runnable(count):
            job_id, fault = popped, None
            if not _VALID_ID.fullmatch(popped):
                s.seq += 1
                job_id = f"malformed-{s.seq}"
                raw = popped.encode()
                s.jobs.setdefault(job_id, {}).update(raw_id=raw[:4096], raw_id_length=str(len(raw)))
                fault = f"pending member is not a jobdeck id ({len(raw)} bytes, kept as raw_id)"
            elif self._job(job_id, now) is None:
                fault = "job record is missing"
            if fault is not None:
                self._dead_letter_malformed(now, job_id, fault)
                dead += 1
                continue
            rec = s.jobs[job_id]
            s.tokens += 1
            token = str(s.tokens)
            attempts = _int(rec.get("attempts")) + 1
            rec.update(
                attempts=str(attempts),
                status="running",
                token=token,
                worker=worker_id,
                started_at=_fmt_s(now),
            )
            s.sets["running"].add(job_id, now + int(lease * 1000))
            ready = _number(rec.get("scheduled_for"))
            if ready is None:
                ready = _number(rec.get("created_at"))
            if ready is not None:
                wait_ms += max(0.0, now - ready * 1000)
            started += 1
            self._emit(
                now,
                "JOB_STARTED",
                job_id,
                rec.get("name"),
                "running",
                dumps({"worker": worker_id, "attempt": attempts}),
            )
            fields = {name: rec.get(name) for name in _CLAIM_FIELDS}
            fields.update(attempts=str(attempts), status="running")
            jobs.append(ClaimedJob(job_id, token, fields))
        self._stat(now, started=started, wait_ms=wait_ms, failed=dead)
        self._total(dead=dead)
        if not pending:
            s.wake = 0
        return ClaimBatch(jobs, paused=False, next_due=self._next_due(now))

    def _pop_runnable(self, count: int) -> Iterator[str]:
        """Pending ids until `count` of them were runnable: a bad entry (dead-lettered by the
        caller) does not use up a slot, so valid jobs behind a run of bad ones start in this
        claim instead of after the worker's idle wait. At most `_BAD_PER_CLAIM` extra."""
        pending, wanted, extra = self._s.sets["pending"], count, 0
        while wanted > 0 and extra <= _BAD_PER_CLAIM:
            batch = pending.pop_min(wanted)
            if not batch:
                return
            for job_id in batch:
                before = len(self._s.sets["running"])
                yield job_id
                if len(self._s.sets["running"]) > before:
                    wanted -= 1
                else:
                    extra += 1

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        s, now = self._s, _now_ms()
        now_s, ttl = _fmt_s(now), int(self.settings.result_ttl * 1000)
        out: list[bool] = []
        done = dead = cancelled = retried = released = 0
        run_ms = 0.0
        for item in items:
            job_id = item.job_id
            rec = self._job(job_id, now)
            if rec is None or rec.get("token") != item.token or rec.get("status") != "running":
                out.append(False)
                continue
            out.append(True)
            s.sets["running"].remove(job_id)
            del rec["token"]
            started = _number(rec.get("started_at"))
            if started is not None:
                run_ms += max(0.0, now - started * 1000)
            name, data = rec.get("name"), item.event_data
            if item.outcome == Outcome.COMPLETED:
                rec.update(status="completed", result=item.payload, finished_at=now_s)
                s.sets["completed"].add(job_id, now)
                if ttl > 0:
                    s.expires[job_id] = now + ttl
                done += 1
                self._emit(now, "JOB_COMPLETED", job_id, name, "completed", data)
            elif item.outcome == Outcome.RETRY:
                due = now + int(item.delay * 1000)
                rec.update(status="scheduled", error=item.payload, scheduled_for=_fmt_s(due))
                s.sets["scheduled"].add(job_id, due)
                retried += 1
                self._emit(now, "JOB_FAILED", job_id, name, "scheduled", data)
            elif item.outcome == Outcome.RELEASE:
                # Handed back by a worker shutting down: first in line again, attempt not counted.
                rec.update(attempts=str(_int(rec.get("attempts")) - 1), status="pending")
                s.sets["pending"].add(job_id, _pscore(rec.get("priority"), rec.get("seq")))
                released += 1
                self._emit(now, "JOB_REQUEUED", job_id, name, "pending", data)
            elif item.outcome == Outcome.CANCELLED:
                rec.update(status="cancelled", finished_at=now_s)
                s.sets["cancelled"].add(job_id, now)
                cancelled += 1
                self._emit(now, "JOB_CANCELLED", job_id, name, "cancelled", data)
            else:
                rec.update(status="failed", error=item.payload, finished_at=now_s)
                s.sets["dead"].add(job_id, now)
                dead += 1
                self._emit(now, "JOB_FAILED", job_id, name, "failed", data)
        if done:
            self._trim_history(now, "completed", self.settings.history_max, ttl)
        if cancelled:
            self._trim_history(now, "cancelled", self.settings.history_max, 0)
        if retried:
            self._wake(1)
        self._wake(released)
        self._total(
            completed=done, dead=dead, cancelled=cancelled, retried=retried, requeued=released
        )
        self._stat(
            now,
            completed=done,
            failed=dead + retried,
            run_ms=run_ms,
            finished=done + dead + retried,
        )
        return out

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        now = _now_ms()
        for item in items:
            rec = self._job(item.job_id, now)
            if rec is not None and rec.get("token") == item.token:
                rec["progress"] = dumps([item.fraction, item.message])
                self._emit(
                    now,
                    "JOB_PROGRESS",
                    item.job_id,
                    rec.get("name"),
                    "running",
                    dumps({"fraction": item.fraction, "message": item.message}),
                )

    async def heartbeat(
        self, worker: WorkerRecord, leases: Sequence[tuple[str, str]], lease: float
    ) -> tuple[list[str], list[str]]:
        s, now = self._s, _now_ms()
        ttl_ms = int(self.settings.worker_ttl * 1000)
        s.worker_info[worker.id] = (dumps(worker.to_dict()), now + ttl_ms)
        s.workers.add(worker.id, now)
        lost: list[str] = []
        cancel: list[str] = []
        for job_id, token in leases:
            rec = self._job(job_id, now)
            if rec is not None and rec.get("token") == token:
                s.sets["running"].add(job_id, now + int(lease * 1000), only_existing=True)
                if rec.get("cancel") == "1":
                    cancel.append(job_id)
            else:
                lost.append(job_id)
        self._recover(now, 100, self.settings.max_stalls)
        self._drop_stale_workers(now)
        return lost, cancel

    async def unregister_worker(self, worker_id: str) -> None:
        self._s.workers.remove(worker_id)
        self._s.worker_info.pop(worker_id, None)
        self._s.control.pop(worker_id, None)

    async def wait_and_claim(
        self, worker_id: str, count: int, lease: float, timeout: float
    ) -> ClaimBatch:
        await self.wait_for_work(timeout)
        return await self.claim(worker_id, count, lease)

    async def wait_for_work(self, timeout: float) -> None:
        """Take one wake-up token, waiting up to `timeout` for one (BLPOP on `wake`)."""
        s = self._s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.01, timeout)
        interrupts = self._interrupts
        while s.wake <= 0:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._interrupts != interrupts:
                return
            await s.work_signal.wait(remaining)
        s.wake -= 1

    async def interrupt_wait(self) -> None:
        self._interrupts += 1
        self._s.work_signal.notify()

    def _push_control(self, now: int, worker_id: str, message: bytes) -> None:
        queue = self._control_queue(worker_id, now)
        if queue is None:
            queue = deque()
        queue.append(message)
        self._s.control[worker_id] = (queue, now + _CONTROL_TTL_MS)
        self._s.control_signal.notify()

    def _control_queue(self, worker_id: str, now: int) -> deque[bytes] | None:
        entry = self._s.control.get(worker_id)
        if entry is not None and entry[1] <= now:
            del self._s.control[worker_id]
            return None
        return None if entry is None else entry[0]

    async def send_control(self, message: Mapping[str, Any], worker_id: str | None) -> int:
        s, now = self._s, _now_ms()
        target, payload = worker_id or "*", dumps(dict(message))
        oldest = now - int(self.settings.worker_ttl * 1000)
        sent = 0
        for score, live in s.workers.items():
            if score >= oldest and target in ("*", live):
                self._push_control(now, live, payload)
                sent += 1
        return sent

    async def next_control(
        self,
        worker_id: str,
        timeout: float,
    ) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.01, timeout)
        while not (queue := self._control_queue(worker_id, _now_ms())):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._s.control_signal.wait(remaining)
        raw = [queue.popleft() for _ in range(min(len(queue), 101))]  # BLPOP, then LPOP 100
        if not queue:
            del self._s.control[worker_id]
        return decode_control(raw)

    async def server_warnings(self) -> list[str]:
        return []
