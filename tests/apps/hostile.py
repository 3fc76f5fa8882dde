"""Handlers that misbehave on purpose, for tests/test_worker_reliability.py.

Each leaves one trace per execution in a Redis list the test names (`JOBDECK_TEST_URL` is the
test's private server), so a test counts how often a job really ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import redis

from jobdeck.core import JobService, current_job

service = JobService(queue="hostile")

_client: redis.Redis | None = None


def _trace(trace: str) -> None:
    global _client
    if _client is None:
        _client = redis.Redis.from_url(os.environ["JOBDECK_TEST_URL"])
    _client.rpush(trace, f"{current_job().job_id}:{os.getpid()}")


@service.handler()
async def surrogate_progress(trace: str) -> str:
    """Progress text with a lone surrogate, as a filename from os.listdir can carry."""
    _trace(trace)
    current_job().report_progress(0.5, "reading " + b"caf\xe9.txt".decode(errors="surrogateescape"))
    await asyncio.sleep(0.3)  # past a progress flush
    return "done"


@service.handler()
def surrogate_error(trace: str) -> None:
    _trace(trace)
    raise RuntimeError("cannot open " + b"caf\xe9.txt".decode(errors="surrogateescape"))


@service.handler()
async def quick(trace: str) -> str:
    _trace(trace)
    return "ok"


@service.handler()
def sync_quick(trace: str) -> str:
    _trace(trace)
    return "ok"


@service.handler()
def sync_sleep(trace: str, seconds: float) -> str:
    _trace(trace)
    time.sleep(seconds)
    return "slept"


@service.handler()
async def blocks_loop(trace: str, seconds: float) -> str:
    """Wrong on purpose: a blocking call inside an async handler stops the event loop."""
    _trace(trace)
    time.sleep(seconds)  # noqa: ASYNC251
    return "blocked"


@service.handler()
async def follow_up(trace: str) -> str:
    """Submits a job through the service handlers see: it must land where this worker runs."""
    _trace(trace)
    return await current_job().service.submit_job("quick", (trace,))


@service.handler()
async def follow_up_module(trace: str) -> str:
    """Submits through the module's own `service` object, as most applications do."""
    _trace(trace)
    return await service.submit_job("quick", (trace,))


@service.handler()
async def finishes_anyway(trace: str) -> str:
    """Finishes its work even when asked to stop (as a handler may: it was nearly done)."""
    _trace(trace)
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.sleep(30)
    return "finished anyway"


@service.handler()
async def break_heartbeat() -> str:
    """Breaks this worker's heartbeat for good (a bug, not a transient fault): the worker
    must stop with a clear error rather than run on without heartbeats."""
    pool = current_job().service.pool

    async def broken(*args: object) -> None:
        raise TypeError("heartbeat broken on purpose")

    pool.backend.heartbeat = broken
    return "broken"
