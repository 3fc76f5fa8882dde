"""Every background loop of a worker fails loudly and recovers, or stops the worker with a
clear error (issue 9.2): never a silent wedge. Faults are injected into an in-memory backend."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jobdeck.core import JobService, JobStatus, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.worker.supervise import LoopFailed, supervise

from .waiting import eventually, finished

pytestmark = pytest.mark.timeout(30)
FAST = WorkerSettings(lease=1.0, heartbeat_interval=0.1, idle_wait=0.1)


@pytest.fixture
async def service(prefix: str) -> AsyncIterator[JobService]:
    async with JobService(f"memory://{prefix}", worker_settings=FAST) as service:
        service.register_handler("add", lambda a, b: a + b)
        yield service
    MemoryBackend.forget(f"{prefix}/jobdeck/default")


async def test_a_crashed_loop_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    fatal: list[LoopFailed] = []

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TypeError(f"crash {calls}")

    with caplog.at_level(logging.ERROR, "jobdeck.worker"):
        await supervise("ack", flaky, fatal.append)
    assert calls == 3 and fatal == []
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "the ack loop failed (TypeError: crash 1); restarting it",
        "the ack loop failed (TypeError: crash 2); restarting it",
    ]
    assert all(r.exc_info for r in caplog.records)  # with the traceback


async def test_a_loop_that_keeps_crashing_is_fatal() -> None:
    fatal: list[LoopFailed] = []

    async def broken() -> None:
        raise KeyError("gone")

    await asyncio.wait_for(supervise("heartbeat", broken, fatal.append, max_restarts=2), 5)
    assert len(fatal) == 1
    assert "the heartbeat loop failed 3 times" in str(fatal[0]) and "KeyError" in str(fatal[0])


@pytest.mark.slow
async def test_a_worker_whose_heartbeat_keeps_failing_stops_with_a_clear_error(
    service: JobService,
) -> None:
    pool = await service.start_workers(1)
    job_id = await service.submit_job("add", (1, 2))
    assert (await finished(service, job_id)).status == JobStatus.COMPLETED

    async def broken(*args: Any) -> Any:
        raise TypeError("not a transient fault")

    service.backend.heartbeat = broken  # type: ignore[method-assign]
    failure = await asyncio.wait_for(pool.wait_failed(), 20)
    assert "heartbeat loop failed" in str(failure) and "TypeError" in str(failure)

    async def stopped() -> bool:
        return not pool.is_running and not pool._loops

    await eventually(stopped, 10, "the worker to stop")


async def test_a_worker_id_that_cannot_be_stored_is_refused(service: JobService) -> None:
    with pytest.raises(ValueError, match=r"^worker_id: "):
        await service.start_workers(1, worker_id="w-" + b"\xff".decode(errors="surrogateescape"))
