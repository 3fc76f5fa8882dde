"""The console's pace over a slow link (issue 29): `--refresh`, the `L` key and the palette
set how often live data is drawn, the header says when it is slow, and a tick repaints the
cells that moved on (a row's age), not the rows."""

from __future__ import annotations

import time
from typing import Any

import pytest
from click.testing import CliRunner
from textual.geometry import Region

from jobdeck.console.keys.palette import ACTION_COMMANDS
from jobdeck.console.widgets.header import HeaderStrip
from jobdeck.core import JobService
from jobdeck.core.cli import main

from .conftest import open_console

pytestmark = pytest.mark.slow


def header(c: Any) -> str:
    return c.app.query_one(HeaderStrip).plain


async def test_a_slow_refresh_shows_in_the_header_and_L_steps_through(
    service: JobService,
) -> None:
    async with open_console(service, refresh=5.0) as c:
        assert "⟳ every 5s" in header(c)
        assert c.app.refresher.interval == 5.0  # reads no more often than frames
        await c.press("L")  # 5 s -> 10 s -> live
        assert "⟳ every 10s" in header(c)
        await c.press("L")
        assert "⟳" not in header(c) and c.app.state.refresh == 0.5
        assert c.app.refresher.interval == 0.5  # the test's reconcile interval again
        await c.press("L")
        assert "⟳ every 2s" in header(c)
        assert any("every 2 s" in note for note in c.notes)


async def test_the_palette_sets_the_pace(service: JobService) -> None:
    actions = {action for _title, _help, action in ACTION_COMMANDS}
    assert {"refresh_every(0.5)", "refresh_every(5.0)"} <= actions
    async with open_console(service, size=(80, 24)) as c:
        await c.app.run_action("refresh_every(5.0)")
        await c.pilot.pause()
        assert "⟳ 5s" in header(c)  # the short form at 80 columns


async def test_a_tick_repaints_the_ages_not_the_rows(service: JobService) -> None:
    await service.pause_queue()
    await service.submit_jobs([{"name": "quick"} for _ in range(5)])
    now = [time.time()]
    # No round of reads meanwhile: each one sets the server's clock offset afresh.
    async with open_console(service, clock=lambda: now[0], reconcile_interval=30.0) as c:
        await c.until(lambda: len(c.ids("pending")) == 5, what="five pending rows")
        table = c.app.table()
        now[0] += 20  # "20s"
        c.app._tick()
        await c.pilot.pause()
        dirty: list[Region] = []
        whole = Region(0, 0, table.size.width, table.size.height)
        table.refresh = lambda *regions, **kw: dirty.extend(regions or [whole])  # type: ignore[method-assign]
        now[0] += 1  # every age moves on by a second: "21s"
        c.app._tick()
        widths = table._widths
        waiting = sum(widths[:4]) + 4  # ID, Name, Priority, State and their spaces
        assert dirty, "the ages moved on: something is repainted"
        for region in dirty:
            assert region.height == 1
            assert waiting <= region.x and region.right <= waiting + widths[4], region


def test_refresh_flag_is_checked() -> None:
    result = CliRunner().invoke(main, ["console", "--url", "redis://x", "--refresh", "0"])
    assert result.exit_code == 2 and "--refresh" in result.output
    result = CliRunner().invoke(main, ["demo", "--help"])
    assert "--refresh SECONDS" in result.output
