"""`expires=` over both engines (issue 23 §2): a job not started by its time ends `expired`,
never run, not a dead letter, decided by the claim that pops it (after the ghost check and
before routing and limits) or by the sweep every claim and heartbeat makes, wherever it
waits: pending (main list, a group's lane, held by a limit), scheduled or waiting."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from jobdeck.core import (
    Events,
    JobCancelled,
    JobExpired,
    JobFailed,
    JobService,
    JobStatus,
    WorkerSettings,
)
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["memory", "redis", "cluster"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    if request.param == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.2, idle_wait=0.2)
    service = JobService(url, prefix=prefix, worker_settings=settings)
    await service.initialize()
    ran: list[str] = []
    service.ran = ran  # type: ignore[attr-defined]

    @service.handler("work")
    async def work(name: str) -> str:
        ran.append(name)
        return name

    @service.handler("hold")
    async def hold(seconds: float) -> None:
        await asyncio.sleep(seconds)

    yield service
    await service.close()


async def expired(service: JobService, job_id: str) -> None:
    async def probe() -> bool:
        job = await service.get_job(job_id)
        return job is not None and job.status == JobStatus.EXPIRED

    await eventually(probe, 10, f"{job_id} to expire")


async def test_a_job_not_started_in_time_expires_and_never_runs(service: JobService) -> None:
    job_id = await service.submit_job("work", ["late"], expires=0.05)
    fresh = await service.submit_job("work", ["fresh"], expires=60)
    await asyncio.sleep(0.1)
    await service.start_workers(1)
    assert await service.result(fresh, timeout=10) == "fresh"
    with pytest.raises(JobExpired) as gone:
        await service.result(job_id, timeout=10)
    assert isinstance(gone.value, JobCancelled) and "expired" in str(gone.value)
    assert service.ran == ["fresh"]  # type: ignore[attr-defined]
    job = await service.get_job(job_id)
    assert job is not None and job.status == JobStatus.EXPIRED and job.started_at is None
    metrics = await service.get_metrics()
    assert metrics.depths["expired"] == 1 and metrics.depths["pending"] == 0
    assert metrics.depths["failed"] == 0 and metrics.totals["expired"] == 1
    assert [e.id for e in await service.list_jobs(JobStatus.EXPIRED)] == [job_id]
    events = [e for e in await service.event_log() if e.job_id == job_id]
    assert events[-1].type == Events.JOB_EXPIRED and events[-1].data == {"was": "pending"}


async def test_expired_jobs_are_swept_while_workers_are_busy(service: JobService) -> None:
    """No claim pops them (the one worker is busy): its heartbeats end them on time, in a
    main list, a held lane and the scheduled set alike, and the counts say so."""
    await service.set_limit("tenant:a", concurrency=0)
    await service.start_workers(1)
    busy = await service.submit_job("hold", [3.0])

    async def started() -> bool:
        job = await service.get_job(busy)
        return job is not None and job.status == JobStatus.RUNNING

    await eventually(started, 5, "the worker to be busy")
    plain = await service.submit_job("work", ["a"], expires=0.2)
    held = await service.submit_job("work", ["b"], expires=0.2, limit="tenant:a")
    later = await service.submit_job("work", ["c"], delay=0.1, expires=0.3)
    for job_id in (plain, held, later):
        await expired(service, job_id)
    metrics = await service.get_metrics()
    assert metrics.depths["pending"] == 0 and metrics.depths["scheduled"] == 0
    assert metrics.depths["expired"] == 3 and metrics.held.get("throttled", {}) == {}
    assert (await service.get_job(busy)).status == JobStatus.RUNNING  # type: ignore[union-attr]


async def test_a_waiting_job_expires_and_its_children_are_cancelled(service: JobService) -> None:
    parent = await service.submit_job("work", ["a"], delay=30)
    child = await service.submit_job("work", ["b"], after=[parent], expires=0.2)
    grandchild = await service.submit_job("work", ["c"], after=[child])
    await service.start_workers(1)
    await expired(service, child)
    with pytest.raises(JobCancelled) as cancelled:
        await service.result(grandchild, timeout=10)
    assert not isinstance(cancelled.value, JobExpired)
    events = [e for e in await service.event_log() if e.job_id == grandchild]
    assert events[-1].data["parent"] == child and "expired" in events[-1].data["message"]
    assert (await service.get_metrics()).depths["waiting"] == 0


async def test_a_started_job_is_not_expired_by_its_time(service: JobService) -> None:
    await service.start_workers(1)
    job_id = await service.submit_job("hold", [0.5], expires=0.2)
    assert await service.result(job_id, timeout=10) is None
    job = await service.get_job(job_id)
    assert job is not None and job.status == JobStatus.COMPLETED


async def test_a_retried_dead_letter_does_not_expire(service: JobService) -> None:
    @service.handler("fails")
    async def fails() -> None:
        raise RuntimeError("no")

    job_id = await service.submit_job("fails", expires=0.3)
    await service.start_workers(1)
    with pytest.raises(JobFailed):
        await service.result(job_id, timeout=10)
    await asyncio.sleep(0.4)
    assert await service.retry_dead_letter(job_id)

    async def failed_again() -> bool:
        job = await service.get_job(job_id)
        return job is not None and job.status == JobStatus.FAILED and job.attempts == 1

    await eventually(failed_again, 10, "the retried job to run again")
