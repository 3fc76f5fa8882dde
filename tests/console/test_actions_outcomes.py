"""Each action's other endings, against the private redis-server: declined, already done,
nothing to act on, a worker that is gone, and a call that fails. `Actions` is driven alone
(as in test_actions.py); what it says is read from the messages it posts, what it did from
the queue itself."""

from __future__ import annotations

from typing import Any

from jobdeck.console.keys.actions import Actions, Where
from jobdeck.console.live.state import ConsoleState, JobRow
from jobdeck.core import JobService, JobStatus

from ..waiting import finished
from .conftest import make_service


class Harness:
    """`Actions` on `service` with scripted answers to its dialogs (first to last)."""

    def __init__(self, service: Any, *answers: Any) -> None:
        self.state = ConsoleState(queue="q", server="x")
        self.posted: list[Any] = []
        self.asked: list[Any] = []
        self.answers = list(answers)
        self.actions = Actions(service, self.state, self.posted.append, self.ask)

    async def ask(self, screen: Any) -> Any:
        self.asked.append(screen)
        return self.answers.pop(0)

    @property
    def notes(self) -> list[str]:
        return [m.text for m in self.posted if isinstance(m, Actions.Noted)]

    @property
    def acted(self) -> list[str]:
        return [m.what for m in self.posted if isinstance(m, Actions.Acted)]

    def questions(self) -> list[str]:
        return [screen.question for screen in self.asked]


def row(job_id: str, status: str, name: str = "quick") -> JobRow:
    return JobRow(id=job_id, name=name, status=status)


async def dead_letters(service: JobService, n: int) -> list[str]:
    await service.start_workers(2)
    ids = [
        await service.submit_job("boom", ["x"], {"retry": False}, max_retries=0) for _ in range(n)
    ]
    for job_id in ids:
        assert (await finished(service, job_id)).status == JobStatus.FAILED
    await service.stop_workers()
    return ids


async def test_cancel_one_declined_then_done_then_already_finished(service: JobService) -> None:
    await service.pause_queue()
    job_id = await service.submit_job("quick")
    h = Harness(service, False, True, True)
    where = Where(True, "pending", (row(job_id, "pending"),))
    await h.actions.cancel(where)
    assert (await service.get_job(job_id)).status == JobStatus.PENDING  # type: ignore[union-attr]
    assert h.notes == [] and h.acted == []
    await h.actions.cancel(where)
    assert (await service.get_job(job_id)).status == JobStatus.CANCELLED  # type: ignore[union-attr]
    await h.actions.cancel(where)  # the row on screen is stale: the job has finished
    assert h.notes == [f"Cancel requested: {job_id[:8]}", f"{job_id[:8]} had already finished"]
    assert h.acted == ["cancel", "cancel"]
    assert all("interrupted" not in q for q in h.questions())


async def test_cancel_a_running_row_warns_of_the_interrupt(service: JobService) -> None:
    h = Harness(service, False, False)
    await h.actions.cancel(Where(True, "running", (row("j1", "running"),)))
    assert "Cancel this running job?" in h.questions()[0]
    assert "Its handler is interrupted." in h.questions()[0]
    rows = (row("j1", "running"), row("j2", "pending"), row("j3", "running"))
    await h.actions.cancel(Where(True, "running", rows, marked=True))
    assert "Cancel 3 jobs?\n2 of them running" in h.questions()[1]
    assert h.acted == []  # both declined


async def test_cancel_and_retry_skip_rows_they_do_not_apply_to(service: JobService) -> None:
    h = Harness(service)  # any question would fail: there are no answers
    finished_rows = (row("a", "completed"), row("b", "cancelled"))
    await h.actions.cancel(Where(True, "history", finished_rows, marked=True))
    await h.actions.retry(Where(True, "history", finished_rows, marked=True))
    await h.actions.scale(1, None)
    await h.actions.set_count(None)
    assert h.posted == [] and h.asked == []


async def test_retry_one_then_again_and_in_bulk(service: JobService) -> None:
    first, second, third = await dead_letters(service, 3)
    h = Harness(service, False, True)
    one = Where(True, "dead", (row(first, "failed", "boom"),))
    await h.actions.retry(one)  # one row: no question
    assert h.asked == []
    assert (await service.get_job(first)).status == JobStatus.PENDING  # type: ignore[union-attr]
    await h.actions.retry(one)
    assert h.notes == [f"Requeued {first[:8]} (boom)", f"{first[:8]} is no longer a dead letter"]
    both = Where(True, "dead", (row(second, "failed"), row(third, "failed")), marked=True)
    await h.actions.retry(both)  # declined
    assert [j.id for j in await service.list_dead_letters()] != []
    await h.actions.retry(both)
    assert h.questions() == ["Move 2 dead letters back?"] * 2
    assert h.notes[-1] == "2 dead letters requeued"
    assert await service.list_dead_letters() == []
    assert h.acted == ["retry", "retry", "retry"]


async def test_retry_all_counts_and_can_be_declined(service: JobService) -> None:
    h = Harness(service, False, True)
    h.state.metrics = await service.get_metrics()
    await h.actions.retry_all()
    assert h.notes == ["There are no dead letters to retry."] and h.asked == []
    (dead,) = await dead_letters(service, 1)
    h.state.depths = {"failed": 1}
    await h.actions.retry_all()  # declined
    assert [j.id for j in await service.list_dead_letters()] == [dead]
    await h.actions.retry_all()
    assert h.questions() == ["Move the only dead letter back to the pending queue?"] * 2
    assert h.notes[-1] == "1 dead letter requeued"
    assert await service.list_dead_letters() == []
    h.state.depths = {"failed": 1_234}
    h.answers.append(False)
    await h.actions.retry_all()
    assert h.questions()[-1] == "Move all 1,234 dead letters back to the pending queue?"


async def test_purge_with_nothing_there_says_so(service: JobService) -> None:
    h = Harness(service)
    h.state.metrics = await service.get_metrics()
    await h.actions.purge(Where(True, "dead"))
    await h.actions.purge(Where(True, "history"))
    assert h.notes == ["Nothing to purge here."] * 2 and h.asked == []


async def test_purge_dead_letters_names_them(service: JobService) -> None:
    await dead_letters(service, 2)
    h = Harness(service, True)
    h.state.depths = {"failed": 2}
    await h.actions.purge(Where(True, "dead"))
    assert h.questions()[0].startswith("Delete 2 dead letters for good?")
    assert h.notes == ["Purged 2 jobs"]
    assert await service.list_dead_letters() == []


async def test_scale_a_worker_that_is_gone_and_the_ways_to_zero(service: JobService) -> None:
    h = Harness(service, False, 3, 0, False, 2)
    await h.actions.scale(-1, ("w-gone", 0, 0))
    assert h.notes == ["w-gone already runs 0 jobs at once (concurrency 0)."] and h.asked == []
    await h.actions.scale(-1, ("w-gone", 1, 1))  # to zero: asked first, declined
    assert "Scale w-gone to concurrency 0?" in h.questions()[0]
    await h.actions.set_count(("w-gone", 2, 2))  # concurrency 3 for a worker that is not there
    assert h.notes[-1] == "w-gone is gone"
    await h.actions.set_count(("w-gone", 2, 2))  # 0: asked first, declined
    assert len(h.asked) == 4 and "to concurrency 0" in h.questions()[3]
    await h.actions.set_count(("w-gone", 2, 2))  # the same count: nothing to do
    assert len(h.asked) == 5 and h.acted == ["scale"]
    await h.actions.scale(1, ("w-gone", 5, 5))
    assert h.notes[-1] == "w-gone is gone" and h.acted == ["scale", "scale"]
    assert h.actions.asked["w-gone"][0] == 6  # what this console last asked for


async def test_scale_the_embedded_pool_says_from_and_to(service: JobService) -> None:
    pool = await service.start_workers(2)
    h = Harness(service)
    await h.actions.scale(1, (pool.id, 2, 2))
    assert pool.concurrency == 3
    assert h.notes == [f"{pool.id}: concurrency 2 → 3"]


async def test_a_call_that_fails_is_told_as_an_error(redis_url: str, prefix: str) -> None:
    """A service whose server is gone: each action says what failed, and nothing is counted
    as done (no `Acted`, so the console does not read the screen again for nothing)."""
    service = make_service("redis://127.0.0.1:8117/0", prefix)  # nothing listens there
    try:
        h = Harness(service, True, True)
        await h.actions.pause()
        await h.actions.resume()
        await h.actions.cancel(Where(True, "pending", (row("j1", "pending"),)))
        await h.actions.retry(Where(True, "dead", (row("j2", "failed"),)))
        errors = [m for m in h.posted if isinstance(m, Actions.Noted)]
        assert [m.text.split(" failed: ")[0] for m in errors] == [
            "pause",
            "resume",
            "cancel",
            "retry",
        ]
        assert {m.severity for m in errors} == {"error"}
        assert h.acted == []
    finally:
        await service.close()


async def test_pause_and_resume_say_so(service: JobService) -> None:
    h = Harness(service, False, True)  # pausing asks: "no", then "yes"
    await h.actions.pause()
    assert not (await service.get_metrics()).paused and h.acted == []
    await h.actions.pause()
    assert "Pause queue q?" in h.questions()[1]
    assert (await service.get_metrics()).paused
    await h.actions.resume()
    assert not (await service.get_metrics()).paused
    assert h.notes == ["Queue paused: running jobs go on, no new ones start", "Queue resumed"]
    assert h.acted == ["pause", "resume"]
