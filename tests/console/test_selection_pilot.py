"""Several jobs at once: space, shift+arrows and `a` select; one confirmation names the count;
purge asks first. Against a real Redis."""

from __future__ import annotations

import pytest

from jobdeck.console.screens.confirm import ConfirmScreen
from jobdeck.core import JobService, JobStatus

from .conftest import open_console

pytestmark = pytest.mark.slow


async def test_select_rows_and_cancel_them_together(service: JobService) -> None:
    await service.pause_queue()
    ids = await service.submit_jobs([{"name": "quick", "args": [n]} for n in range(6)])
    async with open_console(service) as c:
        await c.until(lambda: c.ids("pending") == ids)
        await c.press("space", "shift+down", "shift+down")  # rows 0, 1, 2
        assert set(c.app.state.views["pending"].marked) == set(ids[:3])
        await c.press("down", "down", "space", "space")  # toggled on and off again
        assert len(c.app.state.views["pending"].marked) == 3
        assert "3 selected" in c.app.main.position()
        await c.press("c")
        screen = c.app.screen
        assert isinstance(screen, ConfirmScreen) and "Cancel 3 jobs?" in screen.question
        await c.press("y")
        await c.until(lambda: c.ids("pending") == ids[3:], what="three rows gone")
        assert not c.app.state.views["pending"].marked  # the selection is spent
        for job_id in ids[:3]:
            assert (await service.get_job(job_id)).status == JobStatus.CANCELLED


async def test_select_all_matching_the_filter_and_retry(service: JobService) -> None:
    await service.start_workers(2)
    disk = await service.submit_jobs(
        [{"name": "fail_once", "args": [f"disk {n}"]} for n in range(3)]
    )
    other = await service.submit_job("fail_once", ["quota"])
    async with open_console(service) as c:
        await c.press("3")
        await c.until(lambda: len(c.ids("dead")) == 4, what="four dead letters")
        await c.press("slash", *"of disk", "enter")  # error text: "first attempt of disk 0 fails"
        await c.until(lambda: sorted(c.ids("dead")) == sorted(disk), what="the disk ones")
        await c.press("a")
        await c.until(lambda: len(c.app.state.views["dead"].marked) == 3)
        await c.press("r")
        assert "Retry 3 dead letters" in c.app.screen.title_text
        await c.press("y")
        await c.until(lambda: c.app.state.depth("completed") == 3, what="three retried and done")
        assert (await service.get_job(other)).status == JobStatus.FAILED


async def test_purge_from_the_console_asks_first(service: JobService) -> None:
    await service.start_workers(2)
    done = await service.submit_jobs([{"name": "quick"}] * 3)
    async with open_console(service) as c:
        await c.press("5")
        await c.until(lambda: len(c.ids("history")) == 3, what="three completed")
        # A completion that arrives after a read of the counts that held it is counted twice
        # until the next reconciliation: the question quotes settled counts.
        await c.until(lambda: c.app.state.depth("completed") == 3, what="the counts settled")
        await c.press("P")
        screen = c.app.screen
        assert isinstance(screen, ConfirmScreen) and "3 completed" in screen.question
        await c.press("n")
        assert await service.get_job(done[0]) is not None
        await c.press("P", "y")
        await c.until(lambda: c.ids("history") == [], what="history purged")
        assert await service.get_job(done[0]) is None
