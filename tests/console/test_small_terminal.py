"""The console at 80x24, the size the README promises (issue 26): faults a new user met."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from jobdeck.console.screens.help import HELP_KEYS
from jobdeck.console.screens.schedules import SchedulesScreen
from jobdeck.console.widgets.job_table import JobTable
from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.schedules import new_schedule
from jobdeck.core.schedules.scheduler import fire_for

from .conftest import open_console


def bottom_line(app: object) -> str:
    return app.screen._compositor.render_strips()[-1].text  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_the_footer_is_cut_cleanly_at_80_columns(service: JobService) -> None:
    """Textual's footer docked "^p palette" over the keys that did not fit, which left stray
    characters beside it (`^p paletteH`, `P P`); below 100 columns it is left out."""
    async with open_console(service, size=(80, 24)) as c:
        await c.until(lambda: "Search" in bottom_line(c.app), what="the footer")
        assert "palette" not in bottom_line(c.app)
    async with open_console(service, size=(120, 34)) as c:
        await c.until(lambda: "palette" in bottom_line(c.app), what="the palette key")


def test_the_help_says_what_space_does() -> None:
    """Space selects a row; the help used to say it paged down."""
    keys = {key: what for _title, rows in HELP_KEYS for key, what in rows}
    assert "space" not in keys["PgUp PgDn"]
    assert "select" in keys["space"]


@pytest.fixture
async def memory_service(prefix: str) -> AsyncIterator[JobService]:
    """A paused queue on the memory engine: rows stay where they are."""
    async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as svc:
        await svc.pause_queue()
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


@pytest.mark.slow
async def test_a_click_selects_the_row_under_the_pointer(memory_service: JobService) -> None:
    """The table took the screen's y for its own: a click landed four rows off (the header
    and the tab bar above it)."""
    await memory_service.submit_jobs([{"name": f"job-{n}"} for n in range(30)])
    async with open_console(memory_service, size=(80, 24)) as c:
        table = c.app.table()
        await c.until(lambda: table.total == 30, what="the rows")
        for line in (1, 3, 7):  # line 0 is the columns' header
            await c.pilot.click(JobTable, offset=(20, line))
            await c.pilot.pause()
            assert table.cursor == line - 1
            assert table.selected.name == f"job-{line - 1}"


@pytest.mark.slow
async def test_a_schedules_jobs_can_be_told_apart(memory_service: JobService) -> None:
    """A scheduler's job ids all begin `sched:<schedule>:`: cut from the end they all read
    `sched:hea…`; they now read by the tick they were queued for."""
    spec = new_schedule("heartbeat", "ping", every=30)
    now_ms = await memory_service.backend.now_ms()
    first = now_ms - now_ms % 30_000 - 60_000
    backend = memory_service.backend
    await backend.put_schedule(spec.name, spec.to_json(), spec.timing, first, spec.job)
    for tick in (first, first + 30_000):
        await backend.fire_schedules([fire_for(spec, tick, tick + 30_000, tick, 0)])
    async with open_console(memory_service, size=(80, 24)) as c:
        table = c.app.table()
        await c.until(lambda: table.total == 2, what="the rows")
        lines = [table.render_line(y).text for y in (1, 2)]
        shown = [line.split()[0] for line in lines]
        assert shown[0] != shown[1], lines
        for tick, cell in zip((first, first + 30_000), shown, strict=True):
            local = time.localtime(tick / 1000)
            when = time.strftime("%H:%M" if local.tm_sec == 0 else "%H:%M:%S", local)
            assert cell.endswith(when), cell


def screen_lines(app: object) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]  # type: ignore[attr-defined]


def _labels_and_hint(line: str) -> tuple[str, str]:
    """The tab bar cut where its right end begins (two spaces or more after a label)."""
    labels, _, hint = line.rstrip().rpartition("  ")
    return labels, hint


@pytest.mark.slow
async def test_every_tab_is_on_the_bar_at_80_columns(memory_service: JobService) -> None:
    """At 80 columns the bar left out Schedules and Limits, and the selection counter ran
    into the last label (`5 History 4 selected · 5…`)."""
    await memory_service.submit_jobs([{"name": f"job-{n}"} for n in range(1_245)])
    async with open_console(memory_service, size=(80, 24)) as c:
        await c.until(lambda: c.app.table().total == 1_245, what="the rows")
        await c.press("down", "space", "down", "shift+down", "shift+down")
        await c.until(lambda: "selected" in screen_lines(c.app)[3], what="the counter")
        bar = screen_lines(c.app)[3]
        assert "6 Sched" in bar and "7 Lim" in bar, bar
        labels, hint = _labels_and_hint(bar)
        assert labels.rstrip().endswith(("7 Lim", "7 Limits")), bar
        assert hint == "4 selected · 5/1,245", bar
        for key, active in (("6", "[6 Schedules]"), ("7", "[7 Limits]"), ("3", "[3 Dead letter]")):
            await c.press(key)
            await c.until(lambda a=active: a in screen_lines(c.app)[3], what=active)
            assert "1 Pend" in screen_lines(c.app)[3] and "7 Lim" in screen_lines(c.app)[3]


@pytest.mark.slow
async def test_the_schedules_tab_at_80_columns(memory_service: JobService) -> None:
    """The Schedules tab dropped the header, its title wrapped onto a second line, and its
    Last / Last job columns were past the right edge with no key to reach them."""
    await memory_service.add_schedule(
        "nightly-backup", "backup.run", cron="0 3 * * *", timezone="Europe/Berlin"
    )
    await memory_service.trigger_schedule("nightly-backup")
    async with open_console(memory_service, size=(80, 24)) as c:
        await c.press("6")
        screen = c.app.screen
        assert isinstance(screen, SchedulesScreen)
        await c.until(lambda: screen.loaded and screen.table.row_count == 1, what="the row")
        await c.pilot.pause(0.1)
        lines = screen_lines(c.app)
        assert "jobdeck" in lines[0] and "queue q" in lines[0], lines[:5]  # the header
        assert "[6 Schedules]" in lines[3] and lines[3].rstrip().endswith("1 schedule")
        assert lines[4].split()[:3] == ["Name", "Job", "When"], lines[4]  # not a wrapped title
        assert "Last job" not in lines[4]
        assert "Columns" in lines[-1]  # the footer says how to reach the rest
        for _ in range(3):
            await c.press("right")
        lines = screen_lines(c.app)
        assert "Last job" in lines[4] and "pending" in lines[5], lines[4:6]
        for _ in range(6):
            await c.press("left")
        assert screen_lines(c.app)[4].split()[0] == "Name"
