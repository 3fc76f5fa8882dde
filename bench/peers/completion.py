"""What every benchmark job calls to say "I ran": the completion probe.

Why a probe inside the job rather than each library's own status API: the libraries disagree on
whether and how results are kept (arq, SAQ, RQ, streaq keep them; Celery and Dramatiq do not by
default), so "count of finished jobs" would have to be polled differently per peer, and polling
the queue's Redis would disturb the very server being measured.

Why batched: the first version made one Lua round trip per job to the control Redis, which cost
the worker more CPU than jobdeck's own per-job work, so the drain table partly measured the
probe. Now a job only takes the time and updates a few numbers under a lock (about a
microsecond, no I/O, no await), and one flusher thread per worker process sends what has
accumulated every FLUSH_INTERVAL seconds as one EVALSHA to a *separate* control Redis. That
script keeps the remaining count, the earliest start and completion, the latest completion,
and, when the count reaches zero, pushes the latest completion time onto a list the harness
waits on with BLPOP (no polling). Times are taken in the job, so flushing later does not move
them; only the harness's wake-up is up to FLUSH_INTERVAL late, which no figure uses.

The same code runs in every peer's worker (asyncio, threads or processes). The one exception is
a process that dies right after its job (RQ's default forking work horse exits with os._exit):
there `mark_done(flush=True)` sends the batch synchronously, as the old probe did.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from bench.peers.base import ENV_CONTROL_URL

KEY_REMAINING = "bench:remaining"
KEY_DONE = "bench:done"
KEY_FIRST_DONE = "bench:first_done"
KEY_FIRST_START = "bench:first_start"
KEY_LAST_DONE = "bench:last_done"
KEY_STARTS = "bench:starts"
KEYS = (KEY_REMAINING, KEY_DONE, KEY_FIRST_DONE, KEY_STARTS, KEY_FIRST_START, KEY_LAST_DONE)

#: How often a worker process's flusher sends its batch (seconds).
FLUSH_INTERVAL = 0.005

# ARGV: done count, earliest done, latest done, earliest start ('' = none), then index/start
# pairs of latency probes. Min/max are kept in Redis because several worker processes (RQ,
# worker pools) flush independently.
FLUSH_LUA = """
local function keep(key, value, smaller)
  if value == '' then return end
  local old = redis.call('GET', key)
  if not old or (smaller and tonumber(value) < tonumber(old))
     or (not smaller and tonumber(value) > tonumber(old)) then
    redis.call('SET', key, value)
  end
end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
keep(KEYS[5], ARGV[4], true)
local count = tonumber(ARGV[1])
if count == 0 then return -1 end
keep(KEYS[3], ARGV[2], true)
keep(KEYS[6], ARGV[3], false)
local n = redis.call('DECRBY', KEYS[1], count)
-- a batch can step over zero (more completions than armed for): report the crossing once
if n <= 0 and n + count > 0 then redis.call('RPUSH', KEYS[2], redis.call('GET', KEYS[6])) end
return n
"""


class _Batch:
    """What this process's jobs reported since the last flush."""

    def __init__(self) -> None:
        self.count = 0
        self.first_done = 0.0
        self.last_done = 0.0
        self.first_start = 0.0
        self.starts: list[str] = []

    def args(self) -> list[str]:
        return [str(self.count), repr(self.first_done) if self.count else "",
                repr(self.last_done) if self.count else "",
                repr(self.first_start) if self.first_start else "", *self.starts]


class _Probe:
    """One per process (re-made after a fork): the batch, its lock and the flusher thread."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.batch = _Batch()
        self.script: Any = None
        self.thread: threading.Thread | None = None

    def record(self, done: float | None, start: float | None, index: int | None) -> None:
        with self.lock:
            b = self.batch
            if done is not None:
                if not b.count or done < b.first_done:
                    b.first_done = done
                b.last_done = max(b.last_done, done)
                b.count += 1
                if index is not None:
                    b.starts += (str(index), repr(done))
            if start is not None and (not b.first_start or start < b.first_start):
                b.first_start = start
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="bench-probe",
                                               daemon=True)
                self.thread.start()

    def flush(self) -> None:
        with self.lock:
            batch, self.batch = self.batch, _Batch()
        if batch.count or batch.first_start:
            if self.script is None:
                import redis

                client = redis.Redis.from_url(os.environ[ENV_CONTROL_URL])
                self.script = client.register_script(FLUSH_LUA)
            self.script(keys=KEYS, args=batch.args())

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_INTERVAL)
            try:
                self.flush()
            except Exception:  # control server gone (run over): nothing left to report to
                return


_probe: _Probe | None = None
_probe_lock = threading.Lock()

# -- the "rt" job's body: one Redis round trip ------------------------------------------------
#
# What a job that records something does (the harness style the referee used: every
# job body makes one Redis pipeline): INCR a counter and SET the time, pipelined, one round
# trip to the control server (never the measured one), through redis-py: the blocking client
# in thread and process peers, the asyncio client in asyncio peers. One client per process
# (per event loop for asyncio), made on first use, so its connect is not a per-job cost.

KEY_RT_COUNT = "bench:rt:count"
KEY_RT_LAST = "bench:rt:last"

_rt_sync: tuple[int, Any] | None = None
_rt_sync_lock = threading.Lock()
_rt_async: dict[int, tuple[Any, Any]] = {}


def round_trip() -> None:
    """The body of a blocking `rt` job."""
    global _rt_sync
    entry = _rt_sync
    if entry is None or entry[0] != os.getpid():  # first use, or a forked work horse
        with _rt_sync_lock:
            if _rt_sync is None or _rt_sync[0] != os.getpid():
                import redis

                _rt_sync = (os.getpid(), redis.Redis.from_url(os.environ[ENV_CONTROL_URL]))
            entry = _rt_sync
    pipe = entry[1].pipeline(transaction=False)
    pipe.incr(KEY_RT_COUNT)
    pipe.set(KEY_RT_LAST, repr(time.time()))
    pipe.execute()


async def around_trip() -> None:
    """The body of an asyncio `rt` job."""
    import asyncio

    loop = asyncio.get_running_loop()
    entry = _rt_async.get(id(loop))
    if entry is None or entry[0] is not loop:
        import redis.asyncio as aioredis

        entry = (loop, aioredis.Redis.from_url(os.environ[ENV_CONTROL_URL]))
        _rt_async[id(loop)] = entry
    pipe = entry[1].pipeline(transaction=False)
    pipe.incr(KEY_RT_COUNT)
    pipe.set(KEY_RT_LAST, repr(time.time()))
    await pipe.execute()


def _get() -> _Probe:
    global _probe
    probe = _probe
    if probe is None or probe.pid != os.getpid():  # first use, or a forked child
        with _probe_lock:
            if _probe is None or _probe.pid != os.getpid():
                _probe = _Probe()
            probe = _probe
    return probe


def mark_done(index: int | None = None, *, flush: bool = False) -> None:
    """A job finished (`index` is set for latency probes: the time is then also its start).
    The time is taken first; `flush=True` sends the batch now (a process about to exit)."""
    now = time.time()
    probe = _get()
    probe.record(now, None, index)
    if flush:
        probe.flush()


async def amark_done(index: int | None = None) -> None:
    """asyncio spelling of mark_done (no await inside: nothing here blocks)."""
    now = time.time()
    _get().record(now, None, index)


def mark_started(*, flush: bool = False) -> None:
    """Sleep jobs note their start so efficiency can exclude the worker's boot time."""
    now = time.time()
    probe = _get()
    probe.record(None, now, None)
    if flush:
        probe.flush()


async def amark_started() -> None:
    now = time.time()
    _get().record(None, now, None)
