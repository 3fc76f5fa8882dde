"""The console at 80x24, the size the README promises (issue 26): faults a new user met."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import AsyncIterator

import pytest
from textual.binding import Binding

from jobdeck.console.keys.bindings import APP_BINDINGS, MAIN_BINDINGS, action_name
from jobdeck.console.live.state import ConsoleState
from jobdeck.console.screens.help import HELP, HELP_KEYS, keys_of
from jobdeck.console.screens.limits import LimitsScreen
from jobdeck.console.screens.schedules import SchedulesScreen
from jobdeck.console.screens.time_mode import TimeModeScreen
from jobdeck.console.timemode.mode import TimeMode
from jobdeck.console.widgets.job_table import JobTable
from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.schedules import new_schedule
from jobdeck.core.schedules.scheduler import fire_for

from .conftest import open_console
from .scenario import T0, frozen_clock, open_past


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


def test_the_help_reads_its_keys_from_the_bindings() -> None:
    """The help names actions; its keys come from the bindings, so a key rebound reads the
    same in the help as in the footer, and every action a key runs is in the help."""
    assert keys_of(("mark",), [Binding("x", "mark", "Select")]) == "x"
    with pytest.raises(LookupError):
        keys_of(("page",), [Binding("x", "mark", "Select")])
    explained = {
        (where, action)
        for _title, where, rows in HELP
        for actions, _what in rows
        if not isinstance(actions, str)
        for action in actions
    }
    screens = {
        "main": [*JobTable.BINDINGS, *MAIN_BINDINGS, *APP_BINDINGS],
        "schedules": SchedulesScreen.BINDINGS,
        "limits": LimitsScreen.BINDINGS,
    }
    for where, bindings in screens.items():
        for binding in bindings:
            action = action_name(binding)
            if action.startswith("app.") or action in ("back", "mark_move") or "pool_" in action:
                continue  # the tabs, esc, shift+arrows and the pool's twins: said in words
            assert (where, action) in explained, f"{binding} is not in the help"


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
        # the footer says how to reach the rest
        await c.until(lambda: "←→ Columns" in screen_lines(c.app)[-1], what="the footer")
        for _ in range(4):  # a column a press (three here; the read may widen one meanwhile)
            if "Last job" in screen_lines(c.app)[4]:
                break
            await c.press("right")
        lines = screen_lines(c.app)
        assert "Last job" in lines[4] and "pending" in lines[5], lines[4:6]
        # the next second's read keeps the view where it is (it used to snap back left)
        screen.show(list(screen.rows))
        await c.pilot.pause()
        assert screen_lines(c.app)[4].split()[0] == "Job", screen_lines(c.app)[4]
        for _ in range(6):
            await c.press("left")
        assert screen_lines(c.app)[4].split()[0] == "Name"


@pytest.mark.slow
async def test_the_footer_ends_with_help_and_quit_at_80_columns(
    memory_service: JobService,
) -> None:
    """At 80 columns the footer ran past the right edge and cut "? Help" off; the keys that
    do not fit are now left out, never `?` and `q`, and `p` says it is the queue's."""
    await memory_service.submit_jobs([{"name": "job"}])
    await memory_service.resume_queue()
    async with open_console(memory_service, size=(80, 24)) as c:
        await c.until(lambda: "Help" in bottom_line(c.app), what="the footer")
        line = bottom_line(c.app).rstrip()
        assert line.endswith("? Help q Quit"), line
        assert "p Pause queue" in line and "palette" not in line, line
    async with open_console(memory_service, size=(120, 34)) as c:
        await c.until(lambda: "palette" in bottom_line(c.app), what="the palette key")
        line = bottom_line(c.app)
        assert "? Help q Quit" in line and "p Pause queue" in line, line


@pytest.mark.slow
async def test_p_says_whose_pause_it_is(memory_service: JobService) -> None:
    """`p` pauses the selected schedule on the Schedules tab and the queue elsewhere: the
    footer says which, and for a paused schedule that it resumes it."""
    await memory_service.add_schedule("a-tick", "ping", every=30)
    await memory_service.add_schedule("b-tick", "ping", every=60)
    await memory_service.pause_schedule("b-tick")
    async with open_console(memory_service, size=(80, 24)) as c:
        await c.press("6")
        screen = c.app.screen
        await c.until(lambda: screen.table.row_count == 2, what="the schedules")
        await c.until(lambda: "p Pause schedule" in bottom_line(c.app), what="pause schedule")
        assert "queue" not in bottom_line(c.app)
        await c.press("down")
        await c.until(lambda: "p Resume schedule" in bottom_line(c.app), what="resume")


@pytest.mark.slow
async def test_the_time_mode_agrees_with_itself(prefix: str) -> None:
    """In time mode the header said "scheduled 0" beside scheduled rows (a delayed job goes
    pending without an event: the counts took it out at its submit, not at its due time),
    "workers 0 concurrency 0" (the log holds no workers) and "READ-ONLY"."""
    with frozen_clock() as clock:
        async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as service:
            await service.submit_jobs([{"name": "later", "delay": 30.0}, {"name": "now"}])
            clock.now = T0 + 40  # the delayed one is due at T0 + 30, then both run
            batch = await service.backend.claim("worker-1", 2, 30.0)
            assert len(batch.jobs) == 2
            clock.now = T0 + 50
            async with open_console(service, size=(80, 24), clock=lambda: clock.now) as c:
                await open_past(c.pilot, "t")
                screen = c.app.screen
                assert isinstance(screen, TimeModeScreen)
                c.app.time_mode.cursor = T0 + 10  # the delayed job waits for its time
                screen.show_moment()
                await c.pilot.pause()
                lines = screen_lines(c.app)
                assert "scheduled 1" in lines[1] and "pending 1" in lines[1], lines[1]
                rows = [line.split() for line in lines[5:7]]
                assert sorted(row[3] for row in rows) == ["pending", "scheduled"], rows
                assert "workers" not in lines[2] and "concurrency" not in lines[2], lines[2]
                assert "READ-ONLY" not in lines[0] and "PAST" in lines[0], lines[0]
                c.app.time_mode.cursor = T0 + 35  # due: pending, not yet running
                screen.show_moment()
                await c.pilot.pause()
                lines = screen_lines(c.app)
                assert "scheduled 0" in lines[1] and "pending 2" in lines[1], lines[1]
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


@pytest.mark.slow
async def test_every_count_fits_the_header_at_80_columns(service: JobService) -> None:
    """With jobs waiting and expired, the header's counts ran past 80 columns and the last
    were cut (`cancelled 2  expir`): the labels shorten instead, every count on screen."""
    parent = await service.submit_job("backup", delay=600)
    await service.submit_job("verify", after=[parent])
    late = await service.submit_job("report", expires=0.05)
    await asyncio.sleep(0.1)
    await service.backend.claim("w1", 10, 30.0, ["nothing"])  # finds `late` expired
    assert (await service.get_job(late)).status.value == "expired"  # type: ignore[union-attr]
    async with open_console(service, size=(80, 24)) as c:
        header = c.app.query_one("#header")
        await c.until(lambda: "exp" in header.plain, what="the expired count")
        counts = c.app.screen._compositor.render_strips()[1].text
        for shown in ("pend 0", "sched 1", "run 0", "failed 0", "compl 0", "canc 0", "wait 1"):
            assert shown in counts, counts
        assert counts.rstrip().endswith("exp 1"), counts
    async with open_console(service, size=(120, 34)) as c:  # where they fit: the full words
        header = c.app.query_one("#header")
        await c.until(lambda: "expired 1" in header.plain, what="the expired count")
        assert "waiting 1" in header.plain and "scheduled 1" in header.plain


def test_the_time_modes_bar_says_how_many_counted_jobs_have_rows() -> None:
    """Counts in time mode are exact, rows exist only for jobs the log saw: the counts
    against the rows read as a contradiction until the bar says so."""
    live = ConsoleState(queue="q", server="memory://x")
    screen = TimeModeScreen(TimeMode(None, lambda message: None), live, clock=lambda: T0)
    screen.state.depths = {"pending": 900, "scheduled": 5}
    screen.state.views["pending"].total = 300
    assert screen._shown() == "300 of 905 in the log"
    screen.state.views["pending"].total = 905
    assert screen._shown() == ""
    screen.state.active = "workers"
    assert "not in the event log" in screen._shown()


@pytest.mark.slow
async def test_quitting_at_once_leaves_no_unstarted_work(memory_service: JobService) -> None:
    """`t` (the event log's reader) or `a` (select all) and `q` at once: the work they asked
    for never started, and Python printed "coroutine ... was never awaited" on the terminal
    the console gave back."""
    await memory_service.submit_jobs([{"name": "job"}])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with open_console(memory_service, size=(80, 24)) as c:
            c.app.main.action_mark_all()
            c.app.action_time_mode()
            c.app.exit(0)
        del c
        gc.collect()
    unstarted = [str(w.message) for w in caught if "never awaited" in str(w.message)]
    assert not unstarted, unstarted
