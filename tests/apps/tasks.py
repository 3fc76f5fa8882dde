"""Handlers for tests/test_workers.py: `jobdeck worker tests.apps.tasks:service --url ...`.

Handlers that wait or leave traces talk to the test's private Redis, named by the environment
variable `JOBDECK_TEST_URL` (the worker fixture sets it): a test opens a *gate* by setting a
key, and reads what handlers recorded from lists. Keys are passed in by the test, under its
own prefix, so concurrent tests never see each other's traces.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from typing import Any

import redis
import redis.asyncio as aioredis

from jobdeck.core import JobService, RetryPolicy, current_job

service = JobService(queue="apps", retry_policy=RetryPolicy(base=0.1, factor=2.0, jitter=0.0))

_sync_client: redis.Redis | None = None
_async_client: aioredis.Redis | None = None


def _sync() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        _sync_client = redis.Redis.from_url(os.environ["JOBDECK_TEST_URL"])
    return _sync_client


def _async() -> aioredis.Redis:
    global _async_client
    if _async_client is None:
        _async_client = aioredis.Redis.from_url(os.environ["JOBDECK_TEST_URL"])
    return _async_client


def _where() -> dict[str, Any]:
    return {"pid": os.getpid(), "thread": threading.current_thread().name}


@service.handler()
async def add(a: int, b: int) -> dict[str, Any]:
    return {"sum": a + b, **_where()}


@service.handler()
def sync_add(a: int, b: int) -> dict[str, Any]:
    return {"sum": a + b, **_where()}


@service.handler()
async def hold(gate: str, trace: str | None = None) -> dict[str, Any]:
    """Run until the test sets the key `gate`. Pushes the job id to `trace` when it starts,
    and `cancelled:<id>` when it is interrupted."""
    client = _async()
    job_id = current_job().job_id
    if trace:
        await client.rpush(trace, f"started:{job_id}")
    try:
        while not await client.exists(gate):  # noqa: ASYNC110 - the gate is in Redis
            await asyncio.sleep(0.02)
    except asyncio.CancelledError:
        if trace:
            await asyncio.shield(client.rpush(trace, f"cancelled:{job_id}"))
        raise
    return _where()


@service.handler()
def sync_hold(gate: str, trace: str | None = None) -> dict[str, Any]:
    """`hold` on a worker thread. A thread cannot be interrupted: it watches
    `current_job().cancelled` and records that it saw the request."""
    client = _sync()
    job = current_job()
    if trace:
        client.rpush(trace, f"started:{job.job_id}")
    while not client.exists(gate):
        if job.cancelled:
            if trace:
                client.rpush(trace, f"saw-cancel:{job.job_id}")
            return {"stopped": True}
        time.sleep(0.02)
    return _where()


@service.handler()
async def sleep(seconds: float) -> str:
    await asyncio.sleep(seconds)
    return "slept"


@service.handler()
def sync_sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@service.handler()
async def progress(reports: int) -> int:
    """Report progress far faster than the pool flushes it; the last value is 1.0 'done'."""
    job = current_job()
    for i in range(reports):
        job.report_progress(i / reports, f"step {i}")
        if i % 100 == 0:
            await asyncio.sleep(0.005)
    job.report_progress(1.0, "done")
    return reports


@service.handler()
def sync_progress(reports: int) -> int:
    job = current_job()
    for i in range(reports):
        job.report_progress(i / reports, f"step {i}")
        if i % 100 == 0:
            time.sleep(0.005)
    job.report_progress(1.0, "done")
    return reports


@service.handler()
async def record(trace: str) -> int:
    """Leave one trace per execution: the test counts how often each job ran."""
    job_id = current_job().job_id
    await _async().rpush(trace, f"{job_id}:{os.getpid()}")
    await asyncio.sleep(0.005)
    return os.getpid()


@service.handler()
def always_fails(message: str = "boom") -> None:
    raise RuntimeError(message)
