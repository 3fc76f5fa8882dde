"""An application with a lifespan, for tests/test_lifespan.py: `jobdeck worker
tests.apps.lifespan_app:service --url ... --prefix P`.

Its lifespan opens one real resource, a connection to the test's Redis named after this
process, and counts its openings and closings under the prefix; the handler uses that one
connection (`current_job().state`) and records the server's id of the connection it used.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis

from jobdeck.core import JobService, current_job


@asynccontextmanager
async def lifespan() -> AsyncIterator[dict[str, Any]]:
    # The service's URL and prefix are the worker's (`--url`, `--prefix`) once it starts.
    if os.environ.get("LIFESPAN_APP_FAILS"):
        raise ConnectionRefusedError("the database is down")
    client = aioredis.Redis.from_url(service.url, single_connection_client=True)
    await client.client_setname(f"lifespan-{os.getpid()}")
    await client.incr(f"{service.prefix}:lifespan:opened")
    yield {"redis": client, "prefix": service.prefix}
    # Counted only when the lifespan is left as it should be (its context manager exited),
    # not when the interpreter finalizes an abandoned generator at exit.
    await client.incr(f"{service.prefix}:lifespan:closed")
    await client.aclose()


service = JobService(queue="life", lifespan=lifespan)


@service.handler()
async def use_it(n: int) -> int:
    state = current_job().state
    client: aioredis.Redis = state["redis"]
    await client.rpush(f"{state['prefix']}:lifespan:used", n)
    return int(await client.client_id())
