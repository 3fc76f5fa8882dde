"""The worker's reporter keeps outcomes flowing when the backend misbehaves: it retries
through a lost connection, isolates the one outcome a backend cannot take, drops progress
and handler events (never outcomes) when Redis is full, and says when a lease was lost.

The backend is the real memory engine behind a thin wrapper that fails the calls a test
names, the way a dropped connection or a full Redis would."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from jobdeck.core import JobService, JobStatus
from jobdeck.core.backend.base import Finish, JobEmit, Outcome, ProgressUpdate
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.errors import OutOfMemory
from jobdeck.core.worker.reporter import Reporter

WORKER = "w-reporter"


class Failing:
    """Delegates to a backend; `fail[name]` is a list of exceptions raised by the next calls
    of that method (or a callable deciding from the call's items)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.fail: dict[str, Any] = {}
        self.calls: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.backend, name)

    def _maybe_fail(self, name: str, items: Any) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1
        plan = self.fail.get(name)
        if callable(plan):
            plan(items)
        elif plan:
            raise plan.pop(0)

    async def finish(self, worker_id: str, items: list[Finish]) -> list[bool]:
        self._maybe_fail("finish", items)
        return await self.backend.finish(worker_id, items)

    async def progress(self, items: list[ProgressUpdate]) -> None:
        self._maybe_fail("progress", items)
        await self.backend.progress(items)

    async def job_events(self, items: list[JobEmit]) -> int:
        self._maybe_fail("job_events", items)
        return await self.backend.job_events(items)


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    async with JobService(f"memory://{prefix}", queue="q", prefix=prefix) as svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


async def _claimed(service: JobService, n: int) -> list[Any]:
    await service.submit_jobs([{"name": "x", "args": [i]} for i in range(n)])
    batch = await service.backend.claim(WORKER, n, 30.0)
    assert len(batch.jobs) == n
    return batch.jobs


def _done(claimed: Any) -> Finish:
    return Finish(claimed.id, claimed.token, Outcome.COMPLETED, b"1")


async def _statuses(service: JobService, jobs: list[Any]) -> list[JobStatus]:
    return [(await service.get_job(c.id)).status for c in jobs]  # type: ignore[union-attr]


async def test_outcomes_go_through_a_lost_connection(service: JobService) -> None:
    jobs = await _claimed(service, 3)
    backend = Failing(service.backend)
    backend.fail["finish"] = [RedisConnectionError("gone"), RedisConnectionError("gone")]
    reporter = Reporter(backend, WORKER)  # type: ignore[arg-type]
    reporter.add(*(_done(c) for c in jobs))
    await reporter.flush_all(attempts=5)
    assert backend.calls["finish"] == 3
    assert await _statuses(service, jobs) == [JobStatus.COMPLETED] * 3
    assert reporter.idle


async def test_the_outcome_a_backend_cannot_take_does_not_hold_up_the_others(
    service: JobService, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = await _claimed(service, 3)
    bad = jobs[1].id

    def refuse_bad(items: list[Finish]) -> None:
        if any(item.job_id == bad for item in items):
            raise ValueError("cannot encode this outcome")

    backend = Failing(service.backend)
    backend.fail["finish"] = refuse_bad
    reporter = Reporter(backend, WORKER)  # type: ignore[arg-type]
    reporter.add(*(_done(c) for c in jobs))
    with caplog.at_level(logging.ERROR, "jobdeck.worker"):
        await reporter.flush_all(attempts=2)
    assert await _statuses(service, jobs) == [
        JobStatus.COMPLETED,
        JobStatus.RUNNING,  # its lease will lapse and it runs again
        JobStatus.COMPLETED,
    ]
    assert f"outcome of job {bad} cannot be recorded" in caplog.text


async def test_a_full_redis_drops_progress_and_events_never_outcomes(
    service: JobService, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = await _claimed(service, 2)
    backend = Failing(service.backend)
    backend.fail["progress"] = [OutOfMemory("OOM")]
    backend.fail["job_events"] = [OutOfMemory("OOM")]
    reporter = Reporter(backend, WORKER)  # type: ignore[arg-type]
    reporter.report_progress(jobs[0].id, jobs[0].token, 0.5, "half")
    reporter.report_event(jobs[0].id, jobs[0].token, "app.step", b"{}")
    reporter.add(*(_done(c) for c in jobs))
    with caplog.at_level(logging.WARNING, "jobdeck.worker"):
        await reporter.flush_all(attempts=2)
    assert await _statuses(service, jobs) == [JobStatus.COMPLETED] * 2
    assert "Redis is out of memory" in caplog.text and "dropped" in caplog.text
    assert caplog.text.count("Redis is out of memory") == 1  # said once, not per call


async def test_a_stale_outcome_is_refused_and_said(
    service: JobService, caplog: pytest.LogCaptureFixture
) -> None:
    [job] = await _claimed(service, 1)
    reporter = Reporter(service.backend, WORKER)
    reporter.add(Finish(job.id, "not-the-token", Outcome.COMPLETED, b"1"))
    with caplog.at_level(logging.WARNING, "jobdeck.worker"):
        await reporter.flush_all(attempts=1)
    assert (await service.get_job(job.id)).status == JobStatus.RUNNING  # type: ignore[union-attr]
    assert "refused: lease lost" in caplog.text
