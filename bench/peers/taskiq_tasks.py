"""What `taskiq worker bench.peers.taskiq_tasks:broker` imports: the broker set up as in the
taskiq-redis README (RedisStreamBroker with RedisAsyncResultBackend) and the four tasks."""

from __future__ import annotations

import asyncio

from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from bench.peers.base import SLEEP_SECONDS, env_redis_url
from bench.peers.completion import amark_done, amark_started, around_trip

broker = RedisStreamBroker(url=env_redis_url()).with_result_backend(
    RedisAsyncResultBackend(redis_url=env_redis_url())
)


@broker.task(task_name="noop")
async def noop() -> None:
    await amark_done()


@broker.task(task_name="sleep")
async def sleep() -> None:
    await amark_started()
    await asyncio.sleep(SLEEP_SECONDS)
    await amark_done()


@broker.task(task_name="probe")
async def probe(index: int) -> None:
    await amark_done(index)


@broker.task(task_name="rt")
async def rt() -> None:
    await around_trip()
    await amark_done()
