"""What `jobdeck worker bench.peers.jobdeck_tasks:service ...` imports: a JobService with the
four benchmark handlers registered. The URL comes from the environment like every other peer's
tasks module; the worker CLI's --url/--queue flags say the same thing explicitly."""

from __future__ import annotations

import asyncio

from bench.peers.base import SLEEP_SECONDS, env_redis_url
from bench.peers.completion import amark_done, amark_started, around_trip
from bench.peers.jobdeck_peer import PREFIX, QUEUE
from jobdeck.core import JobService

service = JobService(url=env_redis_url(), queue=QUEUE, prefix=PREFIX)


async def noop() -> None:
    await amark_done()


async def sleep() -> None:
    await amark_started()
    await asyncio.sleep(SLEEP_SECONDS)
    await amark_done()


async def probe(index: int) -> None:
    await amark_done(index)


async def rt() -> None:
    await around_trip()
    await amark_done()


service.register_handler("noop", noop)
service.register_handler("sleep", sleep)
service.register_handler("probe", probe)
service.register_handler("rt", rt)
