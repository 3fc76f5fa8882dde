"""What `arq bench.peers.arq_tasks.WorkerSettings` imports: the four benchmark jobs and the
worker settings class, configured the way arq's docs show (a WorkerSettings class)."""

from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import RedisSettings

from bench.peers.base import SLEEP_SECONDS, env_concurrency, env_redis_url, env_variant
from bench.peers.completion import amark_done, amark_started, around_trip


async def noop(ctx: dict[str, Any]) -> None:
    await amark_done()


async def sleep(ctx: dict[str, Any]) -> None:
    await amark_started()
    await asyncio.sleep(SLEEP_SECONDS)
    await amark_done()


async def probe(ctx: dict[str, Any], index: int) -> None:
    await amark_done(index)


async def rt(ctx: dict[str, Any]) -> None:
    await around_trip()
    await amark_done()


class WorkerSettings:
    functions = [noop, sleep, probe, rt]
    redis_settings = RedisSettings.from_dsn(env_redis_url())
    max_jobs = env_concurrency()
    if env_variant() == "tuned":
        # arq polls its queue (a sorted set) every poll_delay seconds when idle or when all
        # job slots were full at the last poll; the default 0.5 s dominates latency.
        poll_delay = 0.01
