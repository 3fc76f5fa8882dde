"""The Limits tab (key 7), a throttled job's row and the header's counts, driven by keys
against a private redis-server (issue 24)."""

from __future__ import annotations

import time

import pytest

from jobdeck.console.screens.confirm import ConfirmScreen, CountScreen
from jobdeck.console.screens.limits import LimitsScreen
from jobdeck.console.screens.main import MainScreen
from jobdeck.console.widgets.columns import COLUMNS
from jobdeck.core import JobService
from jobdeck.core.backend.records import WorkerRecord

from .conftest import open_console

pytestmark = pytest.mark.slow


def cells(screen: LimitsScreen) -> list[list[str]]:
    table = screen.table
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_limits_tab_sets_and_removes_and_the_tables_show_throttled(
    service: JobService,
) -> None:
    await service.set_limit("batch", concurrency=0)
    await service.set_limit("user:*", concurrency=1, rate=10, per=60)
    held = await service.submit_job("export", limit="batch")
    await service.submit_job("resize")
    await service.backend.claim("w1", 10, 30.0, ["export"])  # holds one, parks the other
    async with open_console(service) as c:
        header = c.app.query_one("#header")
        await c.until(
            lambda: "(1 throttled, 1 unserved)" in header.plain, what="the header's counts"
        )
        table = c.app.screen.tables["pending"]
        await c.until(
            lambda: any(row.throttled == "batch" for row in table.rows), what="the held job"
        )
        [row] = [row for row in table.rows if row.id == held]
        state = next(column for column in COLUMNS["pending"] if column.label == "State")
        assert (state.cell(row, 0.0), state.tone(row)) == ("throttled", "warning")

        await c.press("7")
        screen = c.app.screen
        assert isinstance(screen, LimitsScreen)
        await c.until(lambda: screen.table.row_count == 2, what="two limits")
        assert cells(screen) == [
            ["batch", "0 / 0 paused", "-", "1"],
            ["user:* (each key)", "0 / 1 per key", "10 per 60 s", "0"],
        ]
        await c.press("c")
        assert isinstance(c.app.screen, CountScreen)
        await c.press("backspace", "3", "enter")
        await c.until(lambda: cells(screen)[0][1] == "0 / 3", what="concurrency 3")
        assert (await service.list_limits())[0].concurrency == 3
        batch = await service.backend.claim("w1", 10, 30.0, ["export"])
        assert [job.id for job in batch.jobs] == [held]  # the new limit let it start

        await c.press("down", "r")
        await c.press("backspace", "backspace", "0", "enter")  # 0: the rate comes off
        await c.until(lambda: cells(screen)[1][2] == "-", what="no rate")
        assert (await service.list_limits())[1].rate is None

        await c.press("d")
        assert isinstance(c.app.screen, ConfirmScreen)
        await c.press("n")
        assert len(await service.list_limits()) == 2
        await c.press("d", "y")
        await c.until(lambda: screen.table.row_count == 1, what="user:* removed")
        assert [lim.key for lim in await service.list_limits()] == ["batch"]

        await c.press("1")
        assert isinstance(c.app.screen, MainScreen) and c.app.state.active == "pending"


async def test_read_only_console_cannot_change_limits(service: JobService) -> None:
    await service.set_limit("k", concurrency=2)
    async with open_console(service, read_only=True) as c:
        await c.press("7")
        screen = c.app.screen
        await c.until(lambda: screen.table.row_count == 1, what="the limit")
        await c.press("c", "r", "d")
        assert not isinstance(c.app.screen, (ConfirmScreen, CountScreen))
        await c.until(lambda: any("read-only" in n for n in c.notes), what="the refusal")
        assert (await service.list_limits())[0].concurrency == 2


async def test_the_workers_tab_lists_each_workers_handlers(service: JobService) -> None:
    """Issue 22: which job names each worker runs is on its row (and found by `/`)."""
    record = WorkerRecord(
        id="w-handlers", host="h", pid=1, queue=service.queue, concurrency=2, running=0,
        started_at=time.time(), last_heartbeat=time.time(),
        handlers=["mail", "resize"], handler_count=3,
    )  # fmt: skip
    await service.backend.heartbeat(record, [], 30.0)
    async with open_console(service) as c:
        await c.press("4")
        table = c.app.screen.tables["workers"]
        await c.until(lambda: bool(table.rows), what="the worker's row")
        column = next(col for col in COLUMNS["workers"] if col.label == "Handlers")
        assert column.cell(table.rows[0], 0.0) == "mail, resize +1"
        assert table.rows[0].matches("resize")
