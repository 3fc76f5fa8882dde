"""Jobs claimed ahead of free slots (core/worker/slots.py): held only while jobs are short,
started the moment a slot frees, and handed back, never lost or run twice, when the pool
stops, pauses, shrinks, is told to cancel one, or holds one too long.

An in-process pool on a private redis-server: its handlers wait on an asyncio.Event the test
sets, so which jobs hold the slots is the test's choice, not the timing's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jobdeck.core import Events, JobService, JobStatus, WorkerSettings
from jobdeck.core.worker import WorkerPool

from .waiting import eventually, finished

pytestmark = pytest.mark.timeout(60)

QUEUE = "ahead"


class Handlers:
    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.ran: list[int] = []

    async def quick(self, n: int) -> int:
        self.ran.append(n)
        return n

    async def held(self, n: int) -> int:
        self.ran.append(n)
        await self.gate.wait()
        return n


@pytest.fixture
def handlers() -> Handlers:
    return Handlers()


def _service(redis_url: str, prefix: str, handlers: Handlers, **settings: float) -> JobService:
    service = JobService(redis_url, queue=QUEUE, prefix=prefix)
    service.worker_settings = WorkerSettings(lease=2.0, heartbeat_interval=0.2, **settings)
    service.register_handler("quick", handlers.quick)
    service.register_handler("held", handlers.held)
    return service


@pytest.fixture
async def service(redis_url: str, prefix: str, handlers: Handlers) -> AsyncIterator[JobService]:
    async with _service(redis_url, prefix, handlers) as service:
        yield service
        await service.stop_workers(graceful=False)


async def _two_slots_held_two_ahead(
    service: JobService, handlers: Handlers
) -> tuple[WorkerPool, list[str]]:
    """A pool of 2 whose slots are held by `held` jobs, with two `quick` jobs claimed ahead."""
    pool = await service.start_workers(2, scheduler=False)
    for job_id in await service.submit_jobs([{"name": "quick", "args": [n]} for n in (1, 2)]):
        await finished(service, job_id)  # short jobs: the pool now claims ahead
    await service.submit_jobs([{"name": "held", "args": [n]} for n in (10, 11)])
    await eventually(lambda: _true(len(pool._slots.running) == 2), what="both slots held")
    ahead = await service.submit_jobs([{"name": "quick", "args": [n]} for n in (20, 21)])
    await eventually(lambda: _true(len(pool._slots.ready) == 2), what="two jobs claimed ahead")
    return pool, ahead


async def _true(value: bool) -> bool:
    return value


async def _status(service: JobService, job_id: str) -> JobStatus:
    job = await service.get_job(job_id)
    assert job is not None
    return job.status


async def test_jobs_claimed_ahead_start_when_a_slot_frees(
    service: JobService, handlers: Handlers
) -> None:
    pool, ahead = await _two_slots_held_two_ahead(service, handlers)
    assert [await _status(service, j) for j in ahead] == [JobStatus.RUNNING] * 2
    assert 20 not in handlers.ran  # leased to this worker, not started
    handlers.gate.set()
    for job_id in ahead:
        assert (await finished(service, job_id)).status == JobStatus.COMPLETED
    assert sorted(handlers.ran) == [1, 2, 10, 11, 20, 21]  # each ran once
    assert not pool._slots.ready


async def test_a_job_claimed_ahead_is_cancelled_without_running(
    service: JobService, handlers: Handlers
) -> None:
    _pool, ahead = await _two_slots_held_two_ahead(service, handlers)
    assert await service.cancel_job(ahead[0])
    job = await finished(service, ahead[0])
    assert job.status == JobStatus.CANCELLED
    cancelled = [
        e
        for e in await service.event_log()
        if e.job_id == ahead[0] and e.type == Events.JOB_CANCELLED
    ]
    assert [e.data.get("reason") for e in cancelled] == ["cancelled before it started"]
    handlers.gate.set()
    assert (await finished(service, ahead[1])).status == JobStatus.COMPLETED
    assert 20 not in handlers.ran


async def test_stop_pause_and_scale_down_hand_jobs_claimed_ahead_back(
    service: JobService, handlers: Handlers
) -> None:
    pool, ahead = await _two_slots_held_two_ahead(service, handlers)
    pool.set_paused(True)
    assert not pool._slots.ready
    await eventually(
        lambda: _all_pending(service, ahead), what="paused: jobs claimed ahead back to pending"
    )
    pool.set_paused(False)
    await eventually(lambda: _true(len(pool._slots.ready) == 2), what="claimed ahead again")
    await pool.scale(1)
    assert not pool._slots.ready
    await eventually(lambda: _all_pending(service, ahead), what="scaled down: back to pending")
    await pool.scale(2)
    await eventually(lambda: _true(len(pool._slots.ready) == 2), what="claimed ahead again")

    stopping = asyncio.create_task(service.stop_workers(graceful=True, timeout=10))
    await eventually(lambda: _all_pending(service, ahead), what="stopping: back to pending")
    handlers.gate.set()  # the running jobs end; the ones held ahead never start here
    await stopping
    assert 20 not in handlers.ran and 21 not in handlers.ran
    for job_id in ahead:
        job = await service.get_job(job_id)
        assert job is not None and job.status == JobStatus.PENDING
        assert job.attempts == 0  # handed back: the attempt does not count


async def _all_pending(service: JobService, job_ids: list[str]) -> bool:
    return all([await _status(service, j) == JobStatus.PENDING for j in job_ids])


async def test_long_jobs_are_not_claimed_ahead_and_stale_ones_go_back(
    redis_url: str, prefix: str, handlers: Handlers
) -> None:
    async with _service(redis_url, prefix, handlers, prefetch_below=0.05) as service:
        try:
            pool, ahead = await _two_slots_held_two_ahead(service, handlers)
            # Held ahead for longer than short jobs run: the next heartbeat hands them back,
            # and the pool claims nothing ahead until short jobs are seen again.
            await eventually(lambda: _all_pending(service, ahead), what="stale ones back")
            assert not pool._slots.ready
            await asyncio.sleep(0.5)  # two more heartbeats: not claimed again meanwhile
            assert await _all_pending(service, ahead) and not pool._slots.ready
            assert pool._slots.ahead() == 0
            handlers.gate.set()
            for job_id in ahead:
                assert (await finished(service, job_id)).status == JobStatus.COMPLETED
        finally:
            await service.stop_workers(graceful=False)


async def test_no_claiming_ahead_when_turned_off(
    redis_url: str, prefix: str, handlers: Handlers
) -> None:
    async with _service(redis_url, prefix, handlers, prefetch_below=0.0) as service:
        try:
            pool = await service.start_workers(2, scheduler=False)
            for job_id in await service.submit_jobs([{"name": "quick", "args": [1]}]):
                await finished(service, job_id)
            await service.submit_jobs([{"name": "held", "args": [n]} for n in (10, 11)])
            await eventually(lambda: _true(len(pool._slots.running) == 2), what="both slots held")
            ahead = await service.submit_jobs([{"name": "quick", "args": [n]} for n in (20, 21)])
            await asyncio.sleep(0.3)
            assert not pool._slots.ready and await _all_pending(service, ahead)
            handlers.gate.set()
        finally:
            await service.stop_workers(graceful=False)


@pytest.mark.slow
async def test_heartbeats_keep_the_leases_of_jobs_claimed_ahead(
    redis_url: str, prefix: str, handlers: Handlers
) -> None:
    async with _service(redis_url, prefix, handlers, prefetch_below=5.0) as service:
        try:
            pool, ahead = await _two_slots_held_two_ahead(service, handlers)
            await asyncio.sleep(3.0)  # longer than the 2 s lease, shorter than stale
            assert len(pool._slots.ready) == 2
            for job_id in ahead:
                job = await service.get_job(job_id)
                assert job is not None and job.status == JobStatus.RUNNING and job.stalls == 0
            handlers.gate.set()
            for job_id in ahead:
                assert (await finished(service, job_id)).status == JobStatus.COMPLETED
            assert sorted(handlers.ran) == [1, 2, 10, 11, 20, 21]
        finally:
            await service.stop_workers(graceful=False)


async def test_growing_the_pool_starts_the_jobs_held_ahead_first(
    service: JobService, handlers: Handlers
) -> None:
    pool, ahead = await _two_slots_held_two_ahead(service, handlers)
    await pool.scale(4)
    # At once, not after being handed back as stale (held > 1 s) and claimed again.
    await eventually(
        lambda: _true({20, 21} <= set(handlers.ran)), timeout=0.8, what="held jobs started"
    )
    for job_id in ahead:
        assert (await finished(service, job_id)).status == JobStatus.COMPLETED
    handlers.gate.set()
