"""Workflows in the console (issue 23), driven by keys against a private redis-server: a
waiting job listed in Pending (State `waiting`) and counted in the header, its detail listing
its parents and children with their statuses, `[`/`]` and enter opening a parent's page and
esc coming back; an expired job in History, counted too; and the reducer moving rows on the
workflow events."""

from __future__ import annotations

import asyncio
import io

import pytest
from rich.console import Console

from jobdeck.console.live.reducer import source_status
from jobdeck.console.screens.detail import DetailScreen
from jobdeck.console.widgets.columns import COLUMNS
from jobdeck.core import Event, Events, JobService

from .conftest import open_console

pytestmark = pytest.mark.slow


async def test_waiting_and_expired_jobs_and_a_jobs_family(service: JobService) -> None:
    parent = await service.submit_job("backup", delay=600)
    child = await service.submit_job("verify", after=[parent])
    grandchild = await service.submit_job("prune", after=[child])
    late = await service.submit_job("report", expires=0.05)
    await asyncio.sleep(0.1)
    await service.backend.claim("w1", 10, 30.0, ["nothing"])  # finds `late` expired
    async with open_console(service) as c:
        header = c.app.query_one("#header")
        await c.until(lambda: "waiting 2" in header.plain, what="the waiting count")
        assert "expired 1" in header.plain
        table = c.app.screen.tables["pending"]
        await c.until(lambda: {child, grandchild} <= set(c.ids("pending")), what="the rows")
        row = next(r for r in table.rows if r.id == child)
        state = next(column for column in COLUMNS["pending"] if column.label == "State")
        assert state.cell(row, 0.0) == "waiting"

        c.app.open_detail(child, "verify")
        screen = c.app.screen
        assert isinstance(screen, DetailScreen)
        await c.until(lambda: screen.family is not None, what="the family")
        page = _text(screen)
        assert "Parents" in page and "waiting for 1 of 1" in page
        assert parent in page and "scheduled" in page
        assert grandchild in page and "Children" in page
        await c.press("right_square_bracket", "enter")  # the first listed: its parent
        top = c.app.screen
        assert isinstance(top, DetailScreen) and top.job_id == parent
        await c.until(lambda: top.job is not None, what="the parent's page")
        await c.press("escape")
        assert c.app.screen is screen and c.app.detail_id == child
        await c.press("escape")

        await c.press("5")  # History
        await c.until(lambda: late in c.ids("history"), what="the expired job in History")


def _text(screen: DetailScreen) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(screen.render_job())
    return console.export_text()


def test_the_reducer_knows_where_workflow_events_come_from() -> None:
    def event(kind: Events, status: str, **data: object) -> Event:
        return Event(type=kind, timestamp=0.0, job_id="j", status=status, data=dict(data))

    assert source_status(event(Events.JOB_RELEASED, "pending")) == "waiting"
    assert source_status(event(Events.JOB_EXPIRED, "expired", was="scheduled")) == "scheduled"
    assert source_status(event(Events.JOB_FAILED, "failed", reason="parent")) == "waiting"
    assert source_status(event(Events.JOB_CANCELLED, "cancelled", was="waiting")) == "waiting"
    revived = event(Events.JOB_REQUEUED, "waiting", reason="parent_retried")
    assert source_status(revived) == "failed"
