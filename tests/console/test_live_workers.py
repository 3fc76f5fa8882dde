"""A scale or pause sent to a worker in another process shows in the Workers tab within about
a second: the worker writes its record at once and says so with an event, instead of waiting
for its next heartbeat (5 s). The worker is a real `jobdeck worker` subprocess."""

from __future__ import annotations

import time

import pytest

from jobdeck.core import JobService

from ..worker_process import WorkerProcess
from .conftest import open_console

pytestmark = pytest.mark.slow

# The promise is one second; a machine shared by eight test runs gets some slack, still far
# below the five seconds a heartbeat would take.
_LANDS_WITHIN = 1.8


async def test_scale_and_pause_land_at_once(redis_url: str, prefix: str, service: JobService):
    worker = WorkerProcess(
        "tests.console.app_tasks:service", redis_url, queue="q", prefix=prefix, concurrency=2
    ).start()
    try:
        async with open_console(service) as c:
            await c.press("4")
            await c.until(lambda: c.ids("workers") == [worker.worker_id], what="the worker row")

            def row():
                return c.app.state.views["workers"].rows[0]

            async def record():
                [found] = [w for w in await service.list_workers() if w.id == worker.worker_id]
                return found

            for key, slots in (("plus", 3), ("plus", 4), ("minus", 3)):
                await c.press(key)
                pressed = time.monotonic()
                await c.until(lambda s=slots: row().concurrency == s, timeout=_LANDS_WITHIN)
                # The record itself is fresh, so the next read of the workers does not
                # bring the old figure back.
                assert (await record()).concurrency == slots
                assert time.monotonic() - pressed < _LANDS_WITHIN

            await service.backend.send_control({"op": "pause"}, worker.worker_id)
            await c.until(lambda: row().paused, timeout=_LANDS_WITHIN, what="paused")
            assert (await record()).paused
            await service.backend.send_control({"op": "resume"}, worker.worker_id)
            await c.until(lambda: not row().paused, timeout=_LANDS_WITHIN, what="resumed")

            await c.press("p", "y")  # the whole queue (asked first): every row says so at once
            await c.until(lambda: row().queue_paused, timeout=_LANDS_WITHIN, what="queue paused")
    finally:
        worker.stop()
