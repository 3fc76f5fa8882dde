"""Control messages as a worker pool obeys them (memory engine, pool in this process): scale
by a count or a delta, pause and resume once each, cancel, and anything malformed or unknown
logged and ignored rather than fatal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jobdeck.core import JobService, JobStatus, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually, finished

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.5, idle_wait=0.2)
    async with JobService(f"memory://{prefix}", queue="q", worker_settings=settings) as svc:
        yield svc
    MemoryBackend.forget(f"{prefix}/jobdeck/q")


async def _true(value: bool) -> bool:
    return value


async def test_control_messages_are_obeyed_and_bad_ones_ignored(
    service: JobService, caplog: pytest.LogCaptureFixture
) -> None:
    gate = asyncio.Event()

    async def hold() -> str:
        await gate.wait()
        return "done"

    service.register_handler("hold", hold)
    pool = await service.start_workers(2)
    send = service.backend.send_control

    with caplog.at_level("WARNING", logger="jobdeck.worker"):
        assert await send({"op": "frobnicate"}, pool.id) == 1
        assert await send({"op": "scale", "concurrency": "many"}, pool.id) == 1
        await eventually(
            lambda: _true("bad control message" in caplog.text), what="the bad message logged"
        )
    assert "ignoring unknown control message" in caplog.text
    assert pool.concurrency == 2 and pool.is_running

    await send({"op": "scale", "delta": 3}, pool.id)
    await eventually(lambda: _true(pool.concurrency == 5), what="a delta of +3")
    await send({"op": "scale", "delta": -9}, pool.id)
    await eventually(lambda: _true(pool.concurrency == 0), what="a delta floored at 0")
    await send({"op": "scale", "concurrency": 2}, pool.id)
    await eventually(lambda: _true(pool.concurrency == 2), what="an exact count")

    since = await service.backend.last_event_id()
    for op in ("pause", "pause", "resume", "resume"):
        await send({"op": op}, pool.id)
    await eventually(lambda: _true(not pool.paused), what="resumed")
    marker = await service.submit_job("hold")  # runs: the pool is taking jobs again
    types = []
    async for event in service.events(after=since, block=0.1):
        types.append(str(event.type))
        if event.job_id == marker and event.type == "JOB_STARTED":
            break
    # each change once: a repeated pause or resume changes nothing and says nothing
    assert types.count("JOB_SERVICE_WORKERS_PAUSED") == 1
    assert types.count("JOB_SERVICE_WORKERS_RESUMED") == 1

    await send({"op": "cancel", "job_id": marker}, pool.id)
    job = await finished(service, marker)
    assert job.status == JobStatus.CANCELLED
    await send({"op": "cancel", "job_id": 42}, pool.id)  # not an id: unknown, ignored
    gate.set()
