"""Handlers for the dashboard's browser tests, run by a real `jobdeck worker` process.

`fails_first(key)` fails its first attempt (counted in the test's Redis, named by
`JOBDECK_TEST_URL`) and succeeds after, so a dead letter retried from the page completes.
"""

from __future__ import annotations

import asyncio
import os

import redis.asyncio as aioredis

from jobdeck.core import JobService, current_job

service = JobService(queue="dash")
_client: aioredis.Redis | None = None


@service.handler()
async def quick(n: int = 0) -> dict[str, int]:
    return {"n": n}


@service.handler()
async def slow(seconds: float = 30.0) -> str:
    steps = max(1, int(seconds * 4))
    for step in range(steps):
        current_job().report_progress(step / steps, f"step {step + 1} of {steps}")
        await asyncio.sleep(seconds / steps)
    return "done"


@service.handler()
async def fails_first(key: str) -> str:
    global _client
    if _client is None:
        _client = aioredis.Redis.from_url(os.environ["JOBDECK_TEST_URL"])
    if await _client.incr(key) == 1:
        raise RuntimeError("the first attempt fails on purpose")
    return "second time lucky"


@service.handler()
async def emits(count: int = 2) -> int:
    """Emits `count` events of its own (`app.step`), for the job page's timeline."""
    for n in range(count):
        current_job().emit("app.step", {"n": n})
    return count
