"""What `saq bench.peers.saq_tasks.settings` imports: the jobs and the settings dict, as in
SAQ's README (queue, functions, concurrency)."""

from __future__ import annotations

import asyncio
from typing import Any

from saq import Queue

from bench.peers.base import SLEEP_SECONDS, env_concurrency, env_redis_url
from bench.peers.completion import amark_done, amark_started, around_trip


async def noop(ctx: dict[str, Any]) -> None:
    await amark_done()


async def sleep(ctx: dict[str, Any]) -> None:
    await amark_started()
    await asyncio.sleep(SLEEP_SECONDS)
    await amark_done()


async def probe(ctx: dict[str, Any], *, index: int) -> None:
    await amark_done(index)


async def rt(ctx: dict[str, Any]) -> None:
    await around_trip()
    await amark_done()


settings = {
    "queue": Queue.from_url(env_redis_url()),
    "functions": [noop, sleep, probe, rt],
    "concurrency": env_concurrency(),
}
