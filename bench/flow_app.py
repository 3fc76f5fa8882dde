"""The application bench/flow_limits.py runs its workers with:
`jobdeck worker bench.flow_app:service`. One handler: `work(ms)` sleeps `ms` milliseconds
without blocking the loop. When each job started and ended is read from its record (the
server's clock), so the handler writes nothing of its own."""

from __future__ import annotations

import asyncio

from jobdeck.core import JobService

service = JobService(queue="flow")


@service.handler()
async def work(ms: float = 0) -> None:
    if ms:
        await asyncio.sleep(ms / 1000)
