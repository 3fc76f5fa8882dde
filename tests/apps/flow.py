"""Handlers for tests/test_flow_workers.py and the rolling-deploy fault scenario: two
applications over one queue, `old` without the handler `resize` and `new` with it, and a
handler that records when it ran (`span`), to measure limits from outside the queue.

`JOBDECK_TEST_URL` names the test's private Redis, where `span` appends
`<start> <end> <pid>` (Unix seconds) to the list the test names.
"""

from __future__ import annotations

import asyncio
import os
import time

import redis.asyncio as aioredis

from jobdeck.core import JobService

old = JobService(queue="flow")
new = JobService(queue="flow")

_client: aioredis.Redis | None = None


def _redis() -> aioredis.Redis:
    global _client
    if _client is None:
        _client = aioredis.Redis.from_url(os.environ["JOBDECK_TEST_URL"])
    return _client


async def step(trace: str, ms: float = 0) -> int:
    """Common to both versions: sleeps `ms`, records its run."""
    return await span(trace, ms)


async def resize(trace: str, ms: float = 0) -> int:
    """Only in the new version."""
    return await span(trace, ms)


async def span(trace: str, ms: float = 0) -> int:
    began = time.time()
    await asyncio.sleep(ms / 1000)
    await _redis().rpush(trace, f"{began:.6f} {time.time():.6f} {os.getpid()}")
    return os.getpid()


for app in (old, new):
    app.register_handler("step", step)
    app.register_handler("span", span)
new.register_handler("resize", resize)
