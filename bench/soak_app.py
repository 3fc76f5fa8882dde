"""The application bench/soak.py runs in its worker processes: handlers for each kind of job
the soak submits, and one schedule."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from jobdeck.core import JobService, current_job

service = JobService(queue="soak", prefix="soak")


@service.handler("ok")
async def ok(ms: float) -> float:
    await asyncio.sleep(ms / 1000)
    return ms


@service.handler("flaky")
async def flaky(ms: float) -> float:
    """Fails its first attempt: retried, then completes."""
    await asyncio.sleep(ms / 1000)
    if current_job().job.attempts == 1:
        raise RuntimeError("first attempts fail")
    return ms


@service.handler("fail")
async def fail() -> None:
    raise ValueError("always fails: a dead letter once its retry fails too")


@service.handler("slow")
async def slow(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


@service.handler("tick")
async def tick() -> str:
    return "tick"


service.schedule("soak-tick", "tick", every=timedelta(seconds=10))
