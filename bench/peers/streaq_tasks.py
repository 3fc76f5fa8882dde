"""What `streaq run bench.peers.streaq_tasks:worker` imports: a streaq Worker with the four
jobs registered via `@worker.task`, as in streaq's README. The client imports it too, since
streaq enqueues through the registered task objects."""

from __future__ import annotations

import asyncio

from streaq import Worker

from bench.peers.base import SLEEP_SECONDS, env_concurrency, env_redis_url
from bench.peers.completion import amark_done, amark_started, around_trip

worker = Worker(redis_url=env_redis_url(), concurrency=env_concurrency())


@worker.task
async def noop() -> None:
    await amark_done()


@worker.task
async def sleep() -> None:
    await amark_started()
    await asyncio.sleep(SLEEP_SECONDS)
    await amark_done()


@worker.task
async def probe(index: int) -> None:
    await amark_done(index)


@worker.task
async def rt() -> None:
    await around_trip()
    await amark_done()
