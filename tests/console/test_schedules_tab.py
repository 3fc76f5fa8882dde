"""The Schedules tab (key 6) driven by its keys against a private redis-server."""

from __future__ import annotations

import pytest

from jobdeck.console.screens.confirm import ConfirmScreen
from jobdeck.console.screens.main import MainScreen
from jobdeck.console.screens.schedules import SchedulesScreen
from jobdeck.core import JobService

from .conftest import open_console

pytestmark = pytest.mark.slow


def cells(screen: SchedulesScreen) -> list[list[str]]:
    table = screen.table
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_schedules_tab_pause_resume_trigger_remove(service: JobService) -> None:
    await service.add_schedule("nightly", "backup", cron="0 3 * * *", timezone="Europe/Berlin")
    await service.add_schedule("tick", "[bold]x[/bold]\x1b[31m", every=30)
    async with open_console(service) as c:
        await c.press("6")
        screen = c.app.screen
        assert isinstance(screen, SchedulesScreen)
        await c.until(lambda: screen.table.row_count == 2, what="two schedules")
        rows = cells(screen)
        # no worker serves the queue: nothing fires it (it read "active"; `jobdeck schedules
        # list` and the API said unserved)
        assert rows[0][:4] == ["nightly", "backup", "cron 0 3 * * * (Europe/Berlin)", "unserved"]
        assert rows[1][1].startswith("[bold]x[/bold]")  # shown as text, never as markup
        assert "\x1b" not in rows[1][1]

        await c.press("p")
        await c.until(lambda: cells(screen)[0][3] == "paused", what="nightly paused")
        assert (await service.get_schedule("nightly")).paused
        await c.press("p")
        await c.until(lambda: cells(screen)[0][3] == "unserved", what="nightly resumed")

        await c.press("t")
        await c.until(lambda: any("queued job" in n for n in c.notes), what="the trigger")
        info = await service.get_schedule("nightly")
        assert info.last_job_id is not None
        assert (await service.get_job(info.last_job_id)).name == "backup"

        await c.press("down", "d")
        assert isinstance(c.app.screen, ConfirmScreen)
        await c.press("n")
        assert await service.get_schedule("tick") is not None
        await c.press("d")
        await c.press("y")
        await c.until(lambda: screen.table.row_count == 1, what="tick removed")
        assert await service.get_schedule("tick") is None

        await c.press("1")
        assert isinstance(c.app.screen, MainScreen) and c.app.state.active == "pending"


async def test_p_on_the_schedules_tab_never_pauses_the_queue(service: JobService) -> None:
    """With no schedule selected, `p` on the Schedules tab used to fall through to the app's
    `p` and pause the whole queue, without asking."""
    async with open_console(service) as c:
        await c.press("6")
        await c.until(lambda: getattr(c.app.screen, "loaded", False), what="the schedules")
        await c.press("p")
        assert not isinstance(c.app.screen, ConfirmScreen)
        await c.until(lambda: any("No schedule selected" in n for n in c.notes), what="a note")
        assert not (await service.get_metrics()).paused


async def test_read_only_console_cannot_change_schedules(service: JobService) -> None:
    await service.add_schedule("nightly", "backup", cron="0 3 * * *")
    async with open_console(service, read_only=True) as c:
        await c.press("6")
        screen = c.app.screen
        await c.until(lambda: screen.table.row_count == 1, what="the schedule")
        await c.press("p", "t", "d")
        assert not isinstance(c.app.screen, ConfirmScreen)
        await c.until(lambda: any("read-only" in n for n in c.notes), what="the refusal")
        info = await service.get_schedule("nightly")
        assert not info.paused and info.last_job_id is None
        await c.press("escape")
        assert isinstance(c.app.screen, MainScreen)


async def test_a_schedule_reads_active_once_a_worker_serves_its_queue(service: JobService) -> None:
    await service.add_schedule("nightly", "backup", cron="0 3 * * *")
    async with open_console(service) as c:
        await c.press("6")
        screen = c.app.screen
        assert isinstance(screen, SchedulesScreen)
        await c.until(lambda: screen.table.row_count == 1, what="the schedule")
        assert cells(screen)[0][3] == "unserved"
        await service.start_workers(1, scheduler=False)
        await c.until(lambda: cells(screen)[0][3] == "active", timeout=15, what="a worker")
        await service.stop_workers()
