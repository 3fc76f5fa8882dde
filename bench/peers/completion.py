"""What every benchmark job calls to say "I ran": the completion probe.

Why a probe inside the job rather than each library's own status API: the libraries disagree on
whether and how results are kept (arq, SAQ, RQ, streaq keep them; Celery and Dramatiq do not by
default), so "count of finished jobs" would have to be polled differently per peer, and polling
the queue's Redis would disturb the very server being measured. Instead each job makes exactly
one round trip to a *separate* control Redis (its own redis-server process), running a small Lua
script that decrements a "remaining" counter, notes the first completion time and, at zero,
pushes the finish time onto a list the harness waits on with BLPOP (no polling at all).

Cost: one extra round trip per job, identical for every peer, and none of it lands on the
measured server (so INFO commandstats there counts only the library's own commands).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

from bench.peers.base import ENV_CONTROL_URL

KEY_REMAINING = "bench:remaining"
KEY_DONE = "bench:done"
KEY_FIRST_DONE = "bench:first_done"
KEY_FIRST_START = "bench:first_start"
KEY_STARTS = "bench:starts"
KEYS = (KEY_REMAINING, KEY_DONE, KEY_FIRST_DONE, KEY_STARTS)

# ARGV[1] = wall-clock time taken by the job, ARGV[2] = probe index or "".
DONE_LUA = """
if ARGV[2] ~= '' then redis.call('HSET', KEYS[4], ARGV[2], ARGV[1]) end
redis.call('SET', KEYS[3], ARGV[1], 'NX')
local n = redis.call('DECR', KEYS[1])
if n == 0 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
return n
"""

_sync: Any = None
_sync_lock = threading.Lock()
_async: dict[int, Any] = {}


def _control_url() -> str:
    return os.environ[ENV_CONTROL_URL]


def _sync_script() -> Any:
    global _sync
    if _sync is None:
        with _sync_lock:  # thread-pool peers may race on the first job
            if _sync is None:
                import redis

                client = redis.Redis.from_url(_control_url())
                _sync = (client, client.register_script(DONE_LUA))
    return _sync


def _async_script() -> Any:
    """One client per event loop: a few peers run more than one loop over a process's life."""
    loop = asyncio.get_running_loop()
    entry = _async.get(id(loop))
    if entry is None or entry[2] is not loop:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(_control_url())
        entry = (client, client.register_script(DONE_LUA), loop)
        _async[id(loop)] = entry
    return entry


def mark_done(index: int | None = None) -> None:
    """Blocking probe for thread/process-based peers. `index` is set for latency probes, and
    the time recorded is taken before any network I/O."""
    now = repr(time.time())
    _client, script = _sync_script()
    script(keys=KEYS, args=(now, "" if index is None else str(index)))


async def amark_done(index: int | None = None) -> None:
    """asyncio probe for asyncio-based peers (same script, same single round trip)."""
    now = repr(time.time())
    _client, script, _loop = _async_script()
    await script(keys=KEYS, args=(now, "" if index is None else str(index)))


def mark_started() -> None:
    """Sleep jobs note the first job start so efficiency can exclude the worker's boot time."""
    now = repr(time.time())
    client, _script = _sync_script()
    client.set(KEY_FIRST_START, now, nx=True)


async def amark_started() -> None:
    now = repr(time.time())
    client, _script, _loop = _async_script()
    await client.set(KEY_FIRST_START, now, nx=True)
