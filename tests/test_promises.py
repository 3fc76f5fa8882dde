"""What the README promises and no other test pinned down: metrics with real figures shared
across processes, graceful stop on SIGINT, `JOBDECK_URL` for submit/stats/worker, a timed-out
plain function's late result ignored, and the memory engine's capped event log.

Real parts: a private redis-server, `jobdeck` subprocesses, the memory engine in-process.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from jobdeck.core import BackendSettings, Events, JobService, JobStatus, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually, finished
from .worker_process import WorkerProcess

ROOT = Path(__file__).resolve().parent.parent
APP, QUEUE = "tests.apps.tasks:service", "apps"
JOBDECK = [sys.executable, "-m", "jobdeck.core.cli"]

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def service(redis_url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(redis_url, queue=QUEUE, prefix=prefix) as service:
        yield service


@pytest.fixture
def spawn(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def spawn(concurrency: int = 2, **options: Any) -> WorkerProcess:
        options.setdefault("lease", 2.0)
        options.setdefault("shutdown_timeout", 1.0)
        env = {"JOBDECK_TEST_URL": redis_url, **options.pop("env", {})}
        worker = WorkerProcess(
            APP,
            redis_url,
            queue=QUEUE,
            prefix=prefix,
            concurrency=concurrency,
            env=env,
            log_dir=tmp_path,
            **options,
        )
        started.append(worker)
        return worker.start()

    yield spawn
    for worker in started:
        worker.stop()


async def _status(service: JobService, job_id: str, status: JobStatus) -> bool:
    job = await service.get_job(job_id)
    return job is not None and job.status == status


# -- metrics across processes -----------------------------------------------------------------
@pytest.mark.slow
async def test_metrics_from_another_process_carry_real_figures(
    service: JobService, spawn: Callable[..., WorkerProcess]
) -> None:
    """Known work, known figures: 30 jobs held 1.5 s behind a paused queue wait at least that
    long; all of them complete within a second, so once that second is whole the rates are
    exactly 30 per window. The worker is another process; this one only reads Redis."""
    await service.pause_queue()
    worker = spawn(concurrency=10)
    ids = await service.submit_jobs([{"name": "add", "args": [i, 1]} for i in range(30)])
    held = time.monotonic()
    await asyncio.sleep(1.5)  # the known wait: nothing may start while paused
    assert all([await _status(service, j, JobStatus.PENDING) for j in ids])
    await service.resume_queue()
    for job_id in ids:
        assert (await finished(service, job_id)).worker == worker.worker_id
    waited = time.monotonic() - held

    async def settled() -> Any:
        metrics = await service.get_metrics(window=60)
        return metrics if sum(metrics.completed_per_second[:-1]) == 30 else None

    metrics = await eventually(settled, 5, "the completions' second to be whole")
    assert metrics.totals["completed"] == 30 and metrics.totals["submitted"] == 30
    assert metrics.depths["completed"] == 30 and metrics.depths["pending"] == 0
    assert metrics.throughput == pytest.approx(30 / 59)
    assert metrics.throughput_10s == pytest.approx(3.0)
    assert metrics.avg_wait is not None and 1.45 <= metrics.avg_wait <= waited + 0.1
    assert metrics.avg_run is not None and 0 <= metrics.avg_run < 0.5
    short = await service.get_metrics(window=5)
    assert short.window == 5 and short.throughput == pytest.approx(30 / 4)


# -- signals ----------------------------------------------------------------------------------
@pytest.mark.slow
async def test_sigint_stops_gracefully_like_sigterm(
    service: JobService, spawn: Callable[..., WorkerProcess], redis_url: str, prefix: str
) -> None:
    r = redis.Redis.from_url(redis_url)
    gate = f"{prefix}:test:gate"
    worker = spawn(concurrency=1, shutdown_timeout=20.0)
    running = await service.submit_job("hold", (gate,))
    await eventually(lambda: _status(service, running, JobStatus.RUNNING), what="a running job")
    waiting = await service.submit_job("add", (1, 2))

    worker.signal(signal.SIGINT)
    # Wait for the worker to say it is stopping (not a fixed sleep): it must then still run.
    await eventually(
        lambda: _true("stopping: finishing running jobs" in worker.log()), what="the stop log"
    )
    assert worker.alive(), "SIGINT killed the worker instead of letting its job finish"
    assert await _status(service, running, JobStatus.RUNNING)
    r.set(gate, 1)
    assert await asyncio.to_thread(worker.wait, 15) == 0
    r.close()

    job = await service.get_job(running)
    assert job is not None and job.status == JobStatus.COMPLETED
    job = await service.get_job(waiting)
    assert job is not None and job.status == JobStatus.PENDING and job.attempts == 0
    assert await service.list_workers() == []


async def _true(value: bool) -> bool:
    return value


# -- JOBDECK_URL ------------------------------------------------------------------------------
def _jobdeck(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JOBDECK, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.mark.slow
async def test_jobdeck_url_stands_in_for_url_in_submit_stats_and_worker(
    redis_url: str, prefix: str, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOBDECK_URL": redis_url}
    env["JOBDECK_TEST_URL"] = redis_url
    where = ["--queue", QUEUE, "--prefix", prefix]
    submitted = await asyncio.to_thread(
        _jobdeck, "submit", "add", "--args", "[20, 22]", *where, env=env
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split()[-1]

    worker = await asyncio.to_thread(
        subprocess.Popen,
        [*JOBDECK, "worker", APP, *where, "--worker-id", f"{prefix}-w"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
    )
    try:
        async with JobService(redis_url, queue=QUEUE, prefix=prefix) as service:
            job = await finished(service, job_id, 20)
            assert job.status == JobStatus.COMPLETED and job.result["sum"] == 42
            assert job.worker == f"{prefix}-w"
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 15)

    stats = await asyncio.to_thread(_jobdeck, "stats", *where, env=env)
    assert stats.returncode == 0, stats.stderr
    assert "completed=1" in stats.stdout and "submitted=1" in stats.stdout, stats.stdout


# -- a timed-out plain function ---------------------------------------------------------------
@pytest.mark.parametrize("engine", ["memory", "redis"])
@pytest.mark.slow
async def test_a_timed_out_plain_functions_late_result_is_ignored(
    engine: str, request: pytest.FixtureRequest, prefix: str
) -> None:
    """A thread cannot be interrupted: the attempt fails at its timeout, and what the
    function returns later is dropped, not recorded as a completion."""
    url = request.getfixturevalue("redis_url") if engine == "redis" else f"memory://{prefix}"
    returned = threading.Event()

    def slow() -> str:
        time.sleep(0.8)
        returned.set()
        return "too late"

    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.5, idle_wait=0.2)
    async with JobService(url, queue="q", prefix=prefix, worker_settings=settings) as service:
        service.register_handler("slow", slow)
        await service.start_workers(1)
        job_id = await service.submit_job("slow", timeout=0.2, max_retries=0)
        events = []

        async def follow() -> None:
            async for event in service.events(after="0-0", block=0.1):
                events.append(event)

        follower = asyncio.create_task(follow())
        job = await finished(service, job_id, 5)
        assert job.status == JobStatus.FAILED and job.error is not None
        assert job.error.type == "Timeout"
        assert await asyncio.to_thread(returned.wait, 10), "the thread never returned"
        # The late return has happened; its outcome, had it been sent, follows at once. A
        # job the pool then submits proves everything before it has been processed.
        marker = await service.submit_job("slow", timeout=5)
        await finished(service, marker, 10)
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
        job = await service.get_job(job_id)
        assert job is not None and job.status == JobStatus.FAILED and job.result is None
        assert [str(e.type) for e in events if e.job_id == job_id] == [
            "JOB_SUBMITTED",
            "JOB_STARTED",
            "JOB_FAILED",
        ]
        assert (await service.get_metrics()).totals.get("completed") == 1  # the marker only
    MemoryBackend.forget(f"{prefix}/{prefix}/q")


# -- the memory engine's event cap ------------------------------------------------------------
async def test_memory_events_are_capped_and_a_trimmed_id_resumes_at_the_oldest_kept(
    prefix: str,
) -> None:
    settings = BackendSettings(events_maxlen=20)
    async with JobService(f"memory://{prefix}", queue="q", settings=settings) as service:
        ids = await service.submit_jobs([{"name": "x", "args": [i]} for i in range(50)])
        events = await service.backend.read_events("0-0", 1000, 0.01)
        assert len(events) == 20, "the log keeps exactly events_maxlen entries"
        assert [e.job_id for e in events] == ids[-20:]
        assert all(e.type == Events.JOB_SUBMITTED for e in events)

        # A reader that stopped at an id since trimmed away gets every event still kept,
        # oldest first, and nothing twice.
        more = await service.submit_jobs([{"name": "x", "args": [i]} for i in range(5)])
        kept = (ids + more)[-20:]
        assert kept[0] == ids[35]
        resumed = await service.backend.read_events(events[2].id, 1000, 0.01)  # ids[32]'s
        assert [e.job_id for e in resumed] == kept
        resumed = await service.backend.read_events(events[-1].id, 1000, 0.01)
        assert [e.job_id for e in resumed] == more
        stale = await service.backend.read_events("1-0", 1000, 0.01)
        assert [e.job_id for e in stale] == kept

        seen = []
        async for event in service.events(after="1-0", block=0.01):
            seen.append(event.job_id)
            if len(seen) == 20:
                break
        assert seen == kept
    MemoryBackend.forget(f"{prefix}/jobdeck/q")
