"""The console driven by its keys against a private redis-server with real workers.

Each test opens the app with `App.run_test()`, presses keys as an operator would, and waits
for the effect to show up in the console's state, which is what its widgets draw.
"""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console
from textual.widgets import Input

from jobdeck.console.screens.confirm import ConfirmScreen, CountScreen
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.console.screens.help import HelpScreen
from jobdeck.console.widgets.header import HeaderStrip
from jobdeck.core import JobService, JobStatus

from ..waiting import finished
from ..worker_process import WorkerProcess
from .conftest import make_service, open_console

pytestmark = pytest.mark.slow


def plain(renderable: object, width: int = 118) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def header_text(console) -> str:
    return console.app.query_one(HeaderStrip).plain


async def test_cancel_a_running_job(service: JobService) -> None:
    await service.start_workers(2)
    job_id = await service.submit_job("hold", kwargs={"seconds": 30})
    async with open_console(service) as c:
        await c.press("2")
        await c.until(lambda: c.ids("running") == [job_id], what="the job in Running")
        await c.until(
            lambda: (c.app.table().selected.fraction or 0) > 0, what="progress from events"
        )
        await c.press("c")
        assert isinstance(c.app.screen, ConfirmScreen)
        await c.press("y")
        await c.until(lambda: c.ids("running") == [], what="the job to leave Running")
        assert (await service.get_job(job_id)).status == JobStatus.CANCELLED
        await c.press("5")
        await c.until(lambda: c.ids("history")[:1] == [job_id], what="the job in History")
        assert c.app.state.views["history"].rows[0].status == "cancelled"


async def test_cancel_pending_asks_first(service: JobService) -> None:
    await service.pause_queue()
    keep, drop = await service.submit_jobs([{"name": "quick"}, {"name": "quick"}])
    async with open_console(service) as c:
        await c.until(lambda: c.ids("pending") == [keep, drop])
        await c.press("c")
        await c.press("n")  # declined: nothing happens
        assert not isinstance(c.app.screen, ConfirmScreen)
        assert (await service.get_job(keep)).status == JobStatus.PENDING
        await c.press("down", "c", "y")
        await c.until(lambda: c.ids("pending") == [keep], what="the cancelled row to go")
        assert (await service.get_job(drop)).status == JobStatus.CANCELLED


async def test_retry_a_dead_letter_and_retry_all(service: JobService) -> None:
    await service.start_workers(2)
    first = await service.submit_job("fail_once", ["a"])
    async with open_console(service) as c:
        await c.press("3")
        await c.until(lambda: c.ids("dead") == [first], what="a dead letter")
        await c.press("r")
        await c.until(lambda: c.ids("dead") == [], what="the dead letter to leave")
        await c.until(lambda: any("Requeued" in n for n in c.notes))
        await c.until(
            lambda: c.app.state.depth("completed") == 1, what="the retried job to complete"
        )
        others = await service.submit_jobs([{"name": "fail_once"}, {"name": "fail_once"}])
        await c.until(lambda: sorted(c.ids("dead")) == sorted(others), what="two dead letters")
        await c.press("R")
        assert isinstance(c.app.screen, ConfirmScreen)
        await c.press("y")
        await c.until(lambda: c.ids("dead") == [], what="every dead letter to leave")
        await c.until(lambda: c.app.state.depth("completed") == 3)


async def test_scale_a_worker_process(redis_url: str, prefix: str, service: JobService) -> None:
    worker = WorkerProcess(
        "tests.console.app_tasks:service", redis_url, queue="q", prefix=prefix, concurrency=2
    ).start()
    try:
        async with open_console(service) as c:
            await c.press("4")
            await c.until(lambda: c.ids("workers") == [worker.worker_id], what="the worker row")

            def slots() -> int:
                return c.app.state.worker(worker.worker_id).concurrency

            await c.press("plus")
            await c.until(lambda: slots() == 3, what="3 slots")
            await c.press("minus", "minus")
            await c.until(lambda: slots() == 1, what="1 slot")
            await c.press("minus")  # to zero: asks first
            assert isinstance(c.app.screen, ConfirmScreen)
            await c.press("y")
            await c.until(lambda: slots() == 0, what="0 slots")
            await c.press("s")
            assert isinstance(c.app.screen, CountScreen)
            await c.press("backspace", "4", "enter")
            await c.until(lambda: slots() == 4, what="4 slots")
    finally:
        worker.stop()


async def test_scale_the_embedded_pool(service: JobService) -> None:
    pool = await service.start_workers(2)
    async with open_console(service, embedded_workers=2) as c:
        assert c.app.state.embedded_id == pool.id
        await c.press("plus")  # on the Pending tab: the embedded pool
        await c.until(lambda: pool.concurrency == 3)
        await c.press("4")
        await c.until(lambda: c.ids("workers") == [pool.id])
        assert c.app.state.views["workers"].rows[0].embedded
        await c.press("minus")
        await c.until(lambda: pool.concurrency == 2)


async def test_pause_and_resume(service: JobService) -> None:
    async with open_console(service) as c:
        assert "▶ running" in header_text(c)
        await c.press("p")  # pausing the queue asks first: "no" leaves it running
        assert isinstance(c.app.screen, ConfirmScreen)
        await c.press("n")
        assert not (await service.get_metrics()).paused
        await c.press("p", "y")
        await c.until(lambda: "PAUSED" in header_text(c), what="PAUSED in the header")
        assert (await service.get_metrics()).paused
        await c.press("p")  # resuming does not ask
        await c.until(lambda: "▶ running" in header_text(c), what="running again")
        assert not (await service.get_metrics()).paused


async def test_filter_rows_by_name_or_id(service: JobService) -> None:
    await service.pause_queue()
    ids = await service.submit_jobs(
        [{"name": "alpha"}] * 3 + [{"name": "beta", "args": [n]} for n in range(2)]
    )
    async with open_console(service) as c:
        await c.until(lambda: len(c.ids("pending")) == 5)
        await c.press("slash", "a", "l", "p")
        await c.until(lambda: c.ids("pending") == ids[:3], what="only the alphas")
        await c.until(lambda: "3 matches" in str(c.app.query_one("#filter-info").render()))
        await c.press("escape")
        await c.until(lambda: len(c.ids("pending")) == 5, what="the filter to clear")
        assert not c.app.query_one("#filter-bar").display
        await c.press("slash")
        c.app.query_one("#filter", Input).value = ids[4]  # pasted
        await c.press("enter")
        await c.until(lambda: c.ids("pending") == [ids[4]], what="the job found by its id")
        assert c.app.focused is c.app.table()  # enter keeps the filter, back on the table
        await c.press("escape")
        await c.until(lambda: len(c.ids("pending")) == 5)


async def test_detail_screen(service: JobService) -> None:
    await service.start_workers(1)
    job_id = await service.submit_job("boom", ["disk full"], {"retry": False}, priority="high")
    async with open_console(service) as c:
        await c.press("3")
        await c.until(lambda: c.ids("dead") == [job_id])
        await c.press("enter")
        screen = c.app.screen
        assert isinstance(screen, DetailScreen)
        await c.until(lambda: screen.job is not None, what="the job record")
        text = plain(screen.render_job())
        for expected in (job_id, "boom", "high", "FAILED", '["disk full"]', '"retry": false'):
            assert expected in text, expected
        assert "ValueError: it went disk full" in text
        assert "Traceback (most recent call last)" in text
        assert "submitted" in text and "dead letter" in text  # the timeline
        await c.press("escape")
        assert not isinstance(c.app.screen, DetailScreen)


async def test_help_screen_and_quit(service: JobService) -> None:
    async with open_console(service) as c:
        await c.press("question_mark")
        assert isinstance(c.app.screen, HelpScreen)
        await c.press("escape")
        assert not isinstance(c.app.screen, HelpScreen)
        await c.press("q")
        assert c.app.return_code == 0


async def test_read_only_refuses_every_action(service: JobService) -> None:
    """Each action key pressed where it would act (a scheduled job, a dead letter, a worker),
    and nothing changes."""
    pool = await service.start_workers(2)
    scheduled = await service.submit_job("quick", delay=60)
    dead = await service.submit_job("boom", ["x"], {"retry": False}, max_retries=0)
    assert (await finished(service, dead)).status == JobStatus.FAILED
    since = await service.backend.last_event_id()
    async with open_console(service, read_only=True, embedded_workers=2) as c:
        assert "READ-ONLY" in header_text(c)
        pressed = 0

        async def refuse(*keys: str) -> None:
            nonlocal pressed
            for key in keys:
                await c.press(key)
                assert not isinstance(c.app.screen, (ConfirmScreen, CountScreen)), key
                pressed += 1
                await c.until(
                    lambda want=pressed: sum("Read-only" in n for n in c.notes) == want,
                    what=f"the read-only note for {key}",
                )
                assert not isinstance(c.app.screen, (ConfirmScreen, CountScreen)), key

        await c.until(lambda: c.ids("pending") == [scheduled])
        await refuse("c", "p", "plus", "minus", "s")  # the job, the queue, the embedded pool
        await c.press("3")
        await c.until(lambda: c.ids("dead") == [dead])
        await refuse("r", "R", "c", "P")
        await c.press("4")
        await c.until(lambda: c.ids("workers") == [pool.id])
        await refuse("plus", "minus", "s")
        # An action let through would have made its call by now: two refreshes later.
        fetches = c.app.fetches
        await c.until(lambda: c.app.fetches >= fetches + 2, what="two more refreshes")
    marker = await service.submit_job("quick", delay=60)
    types: list[str] = []
    async for event in service.events(after=since, block=0.1):
        types.append(str(event.type))
        if event.job_id == marker:
            break
    changes = {"JOB_CANCELLED", "JOB_REQUEUED", "JOBS_PURGED", "QUEUE_PAUSED", "QUEUE_RESUMED"}
    changes |= {"JOB_SERVICE_WORKERS_SCALED", "JOB_SERVICE_WORKERS_PAUSED"}
    assert not changes & set(types), types
    assert (await service.get_job(scheduled)).status == JobStatus.SCHEDULED  # type: ignore[union-attr]
    assert [j.id for j in await service.list_dead_letters()] == [dead]
    assert (await service.get_job(dead)).attempts == 1  # type: ignore[union-attr]
    assert pool.concurrency == 2
    assert not (await service.get_metrics()).paused


async def test_a_key_that_does_not_apply_says_why(service: JobService) -> None:
    async with open_console(service) as c:
        await c.press("r")
        assert any("retries a dead letter" in note for note in c.notes)


async def test_a_change_shows_within_half_a_second(
    redis_url: str, prefix: str, service: JobService
) -> None:
    """The event stream, not the periodic reconciliation, brings the change: reconciliation
    is pushed out to 30 s, so the row can only come from the event. The promise is half a
    second; a machine shared by several test runs gets a second of slack."""
    other = make_service(redis_url, prefix)  # another process would do the same
    await other.initialize()  # its first connection is not part of the window
    async with open_console(service, reconcile_interval=30.0) as c:
        await c.pilot.pause(0.3)
        started = time.monotonic()
        job_id = await other.submit_job("quick", priority="critical")
        await c.until(lambda: c.ids("pending")[:1] == [job_id], timeout=5.0)
        assert time.monotonic() - started < 1.5
    await other.close()


async def test_pages_come_from_the_server(service: JobService) -> None:
    await service.pause_queue()
    ids = await service.submit_jobs([{"name": "quick", "args": [n]} for n in range(3000)])
    async with open_console(service, size=(80, 24)) as c:
        table = c.app.table()
        await c.until(lambda: table.total == 3000)
        assert len(table.rows) <= 100  # a window, never the whole queue
        await c.press("end")
        await c.until(lambda: table.selected is not None and table.selected.id == ids[-1])
        assert table.cursor == 2999 and len(table.rows) <= 100
        await c.press("pageup")
        await c.until(lambda: table.selected is not None)
        assert table.selected.id == ids[table.cursor]


async def test_the_footer_waits_for_the_row_a_page_brings(service: JobService) -> None:
    """End deep in a long list: the cursor is on a row not read yet, then on a pending job
    like the one it left. The footer (a rebuild costs ~40 ms) is not rebuilt for the gap."""
    await service.pause_queue()
    ids = await service.submit_jobs([{"name": "quick", "args": [n]} for n in range(3000)])
    async with open_console(service, size=(80, 24)) as c:
        table, app = c.app.table(), c.app
        await c.until(lambda: table.selected is not None)
        await c.pilot.pause(0.3)
        rebuilds = []
        refresh_bindings = app.refresh_bindings
        app.refresh_bindings = lambda: (rebuilds.append(1), refresh_bindings())[1]  # type: ignore[method-assign]
        await c.press("end")
        await c.until(lambda: table.selected is not None and table.selected.id == ids[-1])
        await c.pilot.pause(0.3)
        assert rebuilds == []
        await c.press("2")  # other keys apply on another tab: the footer says so at once
        assert rebuilds == [1]


async def test_reconnects_after_redis_restarts(prefix: str) -> None:
    from ..redis_server import RedisServer

    server = RedisServer().start()
    service = make_service(server.url, prefix)
    await service.initialize()
    try:
        async with open_console(service) as c:
            await c.until(lambda: c.app.state.connection == "connected")
            server.kill()
            await c.until(lambda: "RECONNECTING" in header_text(c), timeout=10, what="reconnecting")
            server.start()
            await c.until(
                lambda: c.app.state.connection == "connected", timeout=15, what="recovery"
            )
            job_id = await service.submit_job("quick")
            await c.until(lambda: c.ids("pending") == [job_id], what="live again")
    finally:
        await service.close()
        server.stop()


async def test_a_timer_that_fires_during_shutdown_does_not_crash_the_console(
    service: JobService,
) -> None:
    """The app's screens are gone a moment before its timers stop; the once-a-second tick
    that lands in between must do nothing, not crash the console on its way out (a CI run saw
    "No screens on stack" from it)."""
    async with open_console(service) as c:
        app = c.app
    assert not app.screen_stack
    app._tick()
