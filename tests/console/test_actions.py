"""`Actions` alone: handed a service, a state, a message sink and a stand-in for the dialogs,
with no app and no terminal."""

from __future__ import annotations

from typing import Any

from jobdeck.console.keys.actions import Actions, Where
from jobdeck.console.live.state import ConsoleState, JobRow
from jobdeck.console.screens.confirm import ConfirmScreen
from jobdeck.core import JobService, JobStatus


def harness(service: JobService, answer: Any = True):
    state = ConsoleState(queue=service.queue, server="x")
    posted: list[Any] = []
    asked: list[ConfirmScreen] = []

    async def ask(screen: Any) -> Any:
        asked.append(screen)
        return answer

    return Actions(service, state, posted.append, ask), state, posted, asked


async def test_bulk_cancel_asks_once_naming_the_count() -> None:
    async with JobService("memory://actions-bulk", queue="a") as service:
        await service.pause_queue()
        ids = await service.submit_jobs([{"name": "x"}] * 3)
        actions, _, posted, asked = harness(service)
        rows = tuple(JobRow(id=i, name="x", status="pending") for i in ids)
        await actions.cancel(Where(True, "pending", rows, marked=True))
        assert len(asked) == 1 and "Cancel 3 jobs?" in asked[0].question
        for job_id in ids:
            assert (await service.get_job(job_id)).status == JobStatus.CANCELLED
        assert any(isinstance(m, Actions.Acted) and m.bulk for m in posted)
        assert any("3 of 3 jobs" in getattr(m, "text", "") for m in posted)


async def test_declined_purge_leaves_everything() -> None:
    async with JobService("memory://actions-purge", queue="a") as service:
        job_id = await service.submit_job("x")
        await service.cancel_job(job_id)
        actions, state, _, asked = harness(service, answer=False)
        state.depths = {"cancelled": 1}
        await actions.purge(Where(True, "history"))
        assert "1 cancelled" in asked[0].question
        assert await service.get_job(job_id) is not None
        actions.ask = harness(service)[0].ask  # now say yes
        await actions.purge(Where(True, "history"))
        assert await service.get_job(job_id) is None


def test_what_applies_where() -> None:
    service = JobService("memory://actions-where", queue="a")
    actions, state, _, _ = harness(service)
    dead = (JobRow(id="d", name="x", status="failed"),)
    assert actions.applies("retry", Where(True, "dead", dead))
    assert not actions.applies("cancel", Where(True, "dead", dead))
    assert actions.applies("purge", Where(True, "history"))
    assert not actions.applies("purge", Where(True, "pending"))
    assert "tab 3" in (actions.explain("r", Where(True, "pending")) or "")
    state.read_only = True
    assert "Read-only" in (actions.explain("c", Where(True, "pending")) or "")
