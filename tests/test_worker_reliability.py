"""A worker survives what hostile but ordinary inputs do to it (issue 9): text that cannot be
encoded, bad entries ahead of good jobs, plain functions that outlive their timeout, and
handlers that block the event loop. Real worker processes on a private redis-server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jobdeck.core import Events, JobService, JobStatus
from jobdeck.core.backend.fastpath import FastConnection
from jobdeck.core.keys import key_prefix

from .waiting import eventually, finished
from .worker_process import WorkerProcess, spawned_workers

APP = "tests.apps.hostile:service"
QUEUE = "hostile"
LEASE = 2.0
LONE = b"caf\xe9.txt".decode(errors="surrogateescape")  # a lone surrogate, as os.listdir gives

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture
async def service(redis_url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(redis_url, queue=QUEUE, prefix=prefix) as service:
        yield service


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def trace(prefix: str) -> str:
    return f"{prefix}:test:trace"


@pytest.fixture
def spawn(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    with spawned_workers(
        APP, redis_url, queue=QUEUE, prefix=prefix, log_dir=tmp_path, lease=LEASE
    ) as spawn:
        yield spawn


def runs(r: redis.Redis, trace: str, job_id: str) -> int:
    return sum(1 for item in r.lrange(trace, 0, -1) if item.decode().startswith(job_id + ":"))


# -- 2. text that cannot be encoded ----------------------------------------------------------
async def test_unencodable_progress_and_error_text_never_wedge_the_worker(
    service: JobService, spawn: Callable[..., WorkerProcess], r: redis.Redis, trace: str
) -> None:
    worker = spawn(concurrency=2)
    progress = await service.submit_job("surrogate_progress", (trace,))
    error = await service.submit_job("surrogate_error", (trace,), max_retries=0)

    job = await finished(service, progress)
    assert job.status == JobStatus.COMPLETED
    assert job.progress.fraction == 0.5 and "caf" in job.progress.message
    job = await finished(service, error)
    assert job.status == JobStatus.FAILED and job.error is not None
    assert job.error.type == "RuntimeError" and "cannot open caf" in job.error.message
    # The surrogate is shown, not lost: the text says which byte it was.
    assert "\\udce9" in job.error.message
    assert runs(r, trace, error) == 1  # max_retries=0 means one run, never three

    # The worker still completes jobs afterwards, and SIGTERM still stops it promptly.
    after = await service.submit_job("quick", (trace,))
    assert (await finished(service, after, 5.0)).status == JobStatus.COMPLETED
    started = time.monotonic()
    assert worker.terminate(10) == 0
    assert time.monotonic() - started < 5.0


async def test_a_name_that_cannot_be_encoded_is_refused_naming_the_field(
    service: JobService,
) -> None:
    with pytest.raises(ValueError, match=r"^name: "):
        await service.submit_job("report-" + LONE)
    with pytest.raises(ValueError, match=r"^job 1: name: "):
        await service.submit_jobs([{"name": "fine"}, {"name": LONE}])
    assert await service.list_jobs(JobStatus.PENDING) == []


async def test_a_command_that_fails_to_encode_leaves_the_connection_in_step(
    redis_url: str, prefix: str
) -> None:
    conn = FastConnection(redis_url)
    try:
        await conn.execute("SET", f"{prefix}:a", "A")
        with pytest.raises(UnicodeEncodeError):
            await conn.execute("SET", f"{prefix}:b", LONE)
        with pytest.raises(UnicodeEncodeError):
            await conn.pipeline(("GET", f"{prefix}:a"), ("SET", f"{prefix}:b", LONE))
        # Every later call gets its own reply, at once.
        assert await asyncio.wait_for(conn.execute("GET", f"{prefix}:a"), 2.0) == b"A"
        assert await asyncio.wait_for(conn.execute("PING"), 2.0) == b"PONG"
    finally:
        await conn.close()


# -- 4. bad entries ahead of good jobs -------------------------------------------------------
async def test_bad_entries_ahead_of_good_jobs_cost_them_milliseconds(
    prefix: str,
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    r: redis.Redis,
    trace: str,
) -> None:
    keys = key_prefix(prefix, QUEUE)
    r.lpush(keys + "pending:1", *(f"missing-{i}" for i in range(60)))  # ahead of every job
    good = [await service.submit_job("quick", (trace,)) for _ in range(5)]
    spawn(concurrency=1)
    started = time.monotonic()
    for job_id in good:
        assert (await finished(service, job_id, 5.0)).status == JobStatus.COMPLETED
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"5 good jobs behind 60 bad entries took {elapsed:.1f}s"
    assert len(await service.list_dead_letters(limit=100)) == 60


# -- 5. a handler that blocks the event loop -------------------------------------------------
async def test_a_blocked_event_loop_is_reported_with_the_job_that_blocks_it(
    service: JobService, spawn: Callable[..., WorkerProcess], trace: str
) -> None:
    worker = spawn(concurrency=2)
    after = "0-0"
    job_id = await service.submit_job("blocks_loop", (trace, 1.2))
    assert (await finished(service, job_id)).status == JobStatus.COMPLETED

    async def blocked_event() -> Any:
        events = await service.backend.read_events(after, 100, 0.1)
        return next((e for e in events if e.type == Events.WORKER_LOOP_BLOCKED), None)

    event = await eventually(blocked_event, 5.0, "a WORKER_LOOP_BLOCKED event")
    assert event.data["job_id"] == job_id and event.data["job_name"] == "blocks_loop"
    assert event.data["worker"] == worker.worker_id and 0.5 <= event.data["seconds"] < 3.0

    async def record() -> Any:
        for w in await service.list_workers():
            if w.id == worker.worker_id and w.loop_blocked:
                return w.loop_blocked
        return None

    blocked = await eventually(record, 5.0, "the worker record to show the stall")
    assert blocked["job_id"] == job_id
    log = worker.log()
    assert "blocked for" in log and f"by job {job_id}" in log and "plain def" in log


async def test_a_completion_after_the_lease_was_lost_is_refused_in_the_log(
    service: JobService, spawn: Callable[..., WorkerProcess], trace: str
) -> None:
    worker = spawn(concurrency=1)
    job_id = await service.submit_job("blocks_loop", (trace, 3.5))

    async def running() -> bool:
        job = await service.get_job(job_id)
        return job is not None and job.status == JobStatus.RUNNING

    await eventually(running, 5.0, "the job to start")
    await asyncio.sleep(LEASE + 0.3)  # the blocked worker cannot renew its lease
    # Another worker (this test) recovers the expired lease and takes the job.
    batch = await service.backend.claim("intruder", 1, 30.0)
    assert [job.id for job in batch.jobs] == [job_id]

    async def refused() -> bool:
        return f"job {job_id}: completion refused: lease lost" in worker.log()

    await eventually(refused, 8.0, "the refused completion in the worker's log")


# -- 6. plain functions that outlive their timeout -------------------------------------------
async def test_timed_out_threads_do_not_starve_later_jobs(
    service: JobService, spawn: Callable[..., WorkerProcess], trace: str
) -> None:
    spawn(concurrency=2)
    stuck = [await service.submit_job("sync_sleep", (trace, 4.0), timeout=0.2) for _ in range(4)]
    for job_id in stuck:
        job = await finished(service, job_id, 5.0)
        assert job.error is not None and job.error.type == "Timeout"
    # Four threads still sleep; later jobs get threads of their own and their full timeout.
    started = time.monotonic()
    later = [await service.submit_job("sync_quick", (trace,), timeout=1.0) for _ in range(4)]
    for job_id in later:
        assert (await finished(service, job_id, 3.0)).status == JobStatus.COMPLETED
    assert time.monotonic() - started < 1.0


# -- 8. the worker's service, and what cancel means for a running job ------------------------
async def test_handlers_submit_follow_up_jobs_where_the_worker_runs(
    service: JobService, spawn: Callable[..., WorkerProcess], trace: str
) -> None:
    """`jobdeck worker app:service --url X` runs the module's own `service` on X, and
    `current_job().service` is the service the worker runs on: no follow-up job vanishes into
    the module's default memory:// queue."""
    spawn(concurrency=2)
    for handler in ("follow_up_module", "follow_up"):
        job = await finished(service, await service.submit_job(handler, (trace,)))
        assert job.status == JobStatus.COMPLETED, job.error
        follow_up = await finished(service, job.result)
        assert follow_up.name == "quick" and follow_up.status == JobStatus.COMPLETED


async def test_cancelling_a_running_job_is_a_request_its_outcome_is_the_final_status(
    service: JobService, spawn: Callable[..., WorkerProcess], trace: str
) -> None:
    spawn(concurrency=1)
    job_id = await service.submit_job("finishes_anyway", (trace,))

    async def running() -> bool:
        job = await service.get_job(job_id)
        return job is not None and job.status == JobStatus.RUNNING

    await eventually(running, 5.0, "the job to start")
    assert await service.cancel_job(job_id) is True  # the request is recorded
    job = await finished(service, job_id)
    assert job.status == JobStatus.COMPLETED and job.result == "finished anyway"
    assert job.cancel_requested
    assert await service.cancel_job(job_id) is False  # finished: nothing to cancel


async def test_a_worker_whose_loop_keeps_failing_exits_with_a_clear_error(
    service: JobService, spawn: Callable[..., WorkerProcess]
) -> None:
    worker = spawn(concurrency=1)
    await service.submit_job("break_heartbeat")
    assert worker.wait(20) == 1
    log = worker.log()
    assert "the heartbeat loop failed (TypeError: heartbeat broken on purpose); restarting" in log
    assert "jobdeck: error: worker stopped: the heartbeat loop failed 6 times" in log
