"""The console against a 3-master Redis Cluster: it reads, follows events and steers there
as on one server (a smoke test; tests/test_cluster.py covers the engine itself)."""

from __future__ import annotations

import pytest

from jobdeck.core import JobStatus

from .conftest import make_service, open_console

pytestmark = pytest.mark.slow


async def test_console_on_a_cluster(redis_cluster, prefix: str) -> None:
    service = make_service(redis_cluster.url, prefix)
    await service.initialize()
    try:
        assert service.backend.is_cluster
        await service.pause_queue()
        first, second = await service.submit_jobs([{"name": "quick"}, {"name": "quick"}])
        async with open_console(service) as c:
            await c.until(lambda: c.ids("pending") == [first, second], what="pending rows")
            await c.press("c", "y")  # cancel the first, through the console
            await c.until(lambda: c.ids("pending") == [second], what="the cancel to show")
            await c.press("p")  # resume the queue; an embedded pool runs the rest
            await service.start_workers(2)
            await c.until(lambda: c.app.state.depth("completed") == 1, what="a completion")
            await c.until(lambda: c.ids("pending") == [], what="pending to empty")
        assert (await service.get_job(first)).status == JobStatus.CANCELLED
        assert (await service.get_job(second)).status == JobStatus.COMPLETED
    finally:
        await service.close()
