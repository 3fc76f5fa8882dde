"""The time mode (`t`): the queue as it was, rebuilt from the event log, stepped with the
arrow keys; esc goes back to the live view, which kept going meanwhile."""

from __future__ import annotations

from typing import Any

import pytest

from jobdeck.console.screens.time_mode import TimeModeScreen
from jobdeck.core import JobService

from .conftest import open_console

pytestmark = pytest.mark.slow


async def test_time_mode_shows_the_queue_as_it_was(service: JobService) -> None:
    await service.pause_queue()
    old = await service.submit_jobs([{"name": "quick", "args": [n]} for n in range(3)])
    async with open_console(service) as c:
        app = c.app
        await c.press("t")  # the first time: the event log is read, then the time mode opens
        await c.until(lambda: isinstance(app.screen, TimeModeScreen), what="the time mode")
        await c.press("escape")
        await c.until(lambda: len(c.ids("pending")) == 3)
        await c.pilot.pause(2.2)  # the next steps happen more than two seconds later
        await service.cancel_job(old[0])
        new = await service.submit_job("quick", ["late"])
        await c.until(lambda: sorted(c.ids("pending")) == sorted([*old[1:], new]))
        # the table may show a read of the server before the event feed brought the events
        await c.until(lambda: new in app.time_mode.past.lives, what="the new job's events")
        # An event that arrives after a read of the counts that already held it is counted
        # twice until the next reconciliation: the moments are rebuilt from settled counts.
        await c.until(lambda: app.state.depth("cancelled") == 1, what="the counts settled")
        await c.press("t")
        screen = app.screen
        assert isinstance(screen, TimeModeScreen) and app.time_mode.active
        shown = screen.state
        assert {r.id for r in shown.views["pending"].rows} == {*old[1:], new}  # now
        await c.press("left")  # a second back: before the cancel and the submit
        shown = screen.state
        assert {r.id for r in shown.views["pending"].rows} == set(old)
        assert shown.depth("pending") == 3 and shown.depth("cancelled") == 0
        await c.press("c")  # acting on the past is refused
        assert not app.screen.is_modal
        late = await service.submit_job("quick", ["while rewound"])
        await c.until(lambda: late in c.ids("pending"), what="the live state going on")
        assert late not in {r.id for r in screen.state.views["pending"].rows}
        await c.press("escape")
        assert not app.time_mode.active and not isinstance(app.screen, TimeModeScreen)
        await c.until(lambda: late in {r.id for r in app.table("pending").rows}, what="live again")


async def test_chart_panel_counts_what_the_log_holds(service: JobService) -> None:
    from jobdeck.console.screens.charts import ChartScreen

    await service.start_workers(2)
    await service.submit_jobs([{"name": "quick"}] * 4 + [{"name": "boom"}] * 2)
    async with open_console(service) as c:
        await c.until(lambda: c.app.state.depth("completed") == 4, what="the jobs done")
        await c.until(lambda: c.app.state.depth("failed") == 2, what="the failures")
        await c.press("m")  # the event log is read, then the charts open
        await c.until(lambda: isinstance(c.app.screen, ChartScreen), what="the charts")
        screen = c.app.screen
        assert isinstance(screen, ChartScreen)
        assert sum(screen.data.completed) == 4 and sum(screen.data.failed) == 2
        assert "p50" in screen.data.run
        await c.press("n")  # one job name at a time, most frequent first
        assert screen.data.name == "quick" and sum(screen.data.completed) == 4
        await c.press("n")
        assert screen.data.name == "boom" and sum(screen.data.completed) == 0
        await c.press("escape")
        assert not isinstance(c.app.screen, ChartScreen)


async def test_the_event_log_is_read_only_when_the_past_is_asked_for(
    service: JobService, monkeypatch
) -> None:
    """The stored log can hold millions of events, and most operators never time_mode: the
    console reads and keeps nothing of it (nor of the live feed) until `t` or `m`."""
    await service.submit_jobs([{"name": "quick"}] * 3)
    calls: list[str] = []
    event_log = service.event_log

    async def log_read(*args: Any, **kwargs: Any) -> Any:
        calls.append("event_log")
        return await event_log(*args, **kwargs)

    monkeypatch.setattr(service, "event_log", log_read)
    async with open_console(service) as c:
        await c.until(lambda: len(c.ids("pending")) == 3, what="the rows")
        await service.submit_job("quick")  # a live event
        await c.until(lambda: c.app.state.events_seen >= 1, what="the live event")
        assert calls == [] and c.app.time_mode.past.events == 0
        await c.press("t")
        await c.until(lambda: isinstance(c.app.screen, TimeModeScreen), what="the time mode")
        assert "event_log" in calls and c.app.time_mode.past.events >= 4
