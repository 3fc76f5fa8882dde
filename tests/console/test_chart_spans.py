"""The chart panel's longer spans (`s`): a day per minute and 30 days per hour, read from the
server's history (counted in Redis by every process), not only the event log's last hour."""

from __future__ import annotations

import pytest

from jobdeck.console.screens.charts import ChartScreen, fit
from jobdeck.core import JobService

from .conftest import open_console

pytestmark = pytest.mark.slow


def test_bars_are_summed_to_fit_the_width() -> None:
    assert fit([1, 2, 3, 4, 5], 10) == ([1, 2, 3, 4, 5], 1)
    assert fit([1, 2, 3, 4, 5], 2) == ([12], 3)  # whole bars, the newest last; 1, 2 left out
    assert fit(list(range(1440)), 80)[1] == 18 and len(fit(list(range(1440)), 80)[0]) == 80


async def test_a_day_and_a_month_from_the_servers_history(service: JobService) -> None:
    await service.start_workers(2)
    await service.submit_jobs([{"name": "quick"}] * 5 + [{"name": "boom"}] * 2)
    async with open_console(service, size=(100, 30)) as c:
        await c.until(lambda: c.app.state.depth("completed") == 5, what="the jobs done")
        await c.until(lambda: c.app.state.depth("failed") == 2, what="the failures")
        await c.press("m")
        await c.until(lambda: isinstance(c.app.screen, ChartScreen), what="the charts")
        screen = c.app.screen
        assert isinstance(screen, ChartScreen) and screen.data.step == 60
        await c.press("s")
        await c.until(lambda: len(screen.data.completed) == 1440, what="a day of minutes")
        assert sum(screen.data.completed) == 5 and sum(screen.data.failed) == 2
        title = screen.render_charts(screen.data, 80).renderables[0]
        assert "the last day" in str(title)
        await c.press("n")
        assert any("last hour" in note for note in c.notes)
        await c.press("s")
        await c.until(lambda: screen.data.step == 3600, what="30 days of hours")
        assert len(screen.data.completed) == 720 and sum(screen.data.submitted) == 7
        await c.press("s")
        await c.until(lambda: screen.data.step == 60 and len(screen.data.completed) < 1440)
        assert screen.data.wait  # the hour again: the event log's, with its times
