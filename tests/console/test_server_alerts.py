"""The console says what an operator must not miss (issue 9, items 3 and 5): a server that
may evict jobs or is full, and a worker whose event loop a handler blocked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jobdeck.console.widgets.header import HeaderStrip
from jobdeck.core import JobService

from ..redis_server import RedisServer
from ..worker_process import WorkerProcess
from .conftest import make_service, open_console

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def evicting_server() -> Iterator[RedisServer]:
    server = RedisServer(extra=["--maxmemory", "64mb", "--maxmemory-policy", "allkeys-lru"])
    server.start()
    yield server
    server.stop()


def header_text(app: object) -> str:
    return app.query_one(HeaderStrip).plain


async def test_the_header_says_jobs_can_be_evicted(evicting_server: RedisServer, prefix: str):
    service = make_service(evicting_server.url, prefix)
    async with service, open_console(service, size=(80, 24)) as c:
        await c.press("4")  # the workers' round brings the server's warnings
        await c.until(lambda: "EVICTING" in header_text(c.app), what="the eviction flag")
        assert "⚠ EVICTING" in header_text(c.app).splitlines()[0]


async def test_a_safe_server_raises_no_flag(service: JobService) -> None:
    async with open_console(service, size=(80, 24)) as c:
        await c.press("4")
        await c.until(lambda: c.app.state.workers_loaded, what="the workers' round")
        await c.pilot.pause(0.2)
        assert "⚠" not in header_text(c.app)


async def test_a_blocked_event_loop_shows_on_the_worker_and_in_the_header(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(
        "tests.apps.hostile:service",
        redis_url,
        queue="hostile",
        prefix=prefix,
        concurrency=1,
        lease=2.0,
        shutdown_timeout=1.0,
        env={"JOBDECK_TEST_URL": redis_url},
        log_dir=tmp_path,
    ).start()
    service = JobService(redis_url, queue="hostile", prefix=prefix)
    try:
        async with service, open_console(service, size=(120, 34)) as c:
            await c.press("4")
            await service.submit_job("blocks_loop", (f"{prefix}:trace", 1.2))
            await c.until(
                lambda: "LOOP BLOCKED" in header_text(c.app), 15.0, "the blocked-loop flag"
            )
            rows = c.app.state.views["workers"].rows
            assert [row.loop_blocked for row in rows] == [True]
            table = c.app.table("workers")

            def on_screen() -> str:
                return "\n".join(table.render_line(y).text for y in range(table.size.height))

            await c.until(lambda: "LOOP BLOCKED" in on_screen(), what="the worker state")
    finally:
        worker.stop()
