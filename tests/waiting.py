"""Waiting on conditions instead of sleeping: tests poll with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from jobdeck.core import JobDefinition, JobService

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.01,
) -> T:
    """Poll `probe` until it returns something truthy; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(interval)


async def finished(service: JobService, job_id: str, timeout: float = 10.0) -> JobDefinition:
    async def probe() -> JobDefinition | None:
        job = await service.get_job(job_id)
        return job if job is not None and job.status.is_terminal else None

    return await eventually(probe, timeout, f"job {job_id} to finish")
