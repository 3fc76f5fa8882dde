"""Real worker processes (`jobdeck worker tests.apps.tasks:service`) on a private redis-server.

The test process is another client of the same queue: it submits, watches the event log and
steers the workers (scale, cancel, pause) through `JobService`, as an operator's console would.
Handlers that must stay in flight wait on a *gate* key the test sets (tests/apps/tasks.py), so
no test depends on a handler taking "about long enough". Leases are 2 s, so recovering the
job of a killed worker takes seconds, not the default half minute.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis

from jobdeck.core import (
    BackendSettings,
    Event,
    Events,
    JobProgress,
    JobService,
    JobSpec,
    JobStatus,
)
from jobdeck.core.keys import key_prefix

from .waiting import eventually, finished
from .worker_process import WorkerProcess, spawned_workers

APP = "tests.apps.tasks:service"
QUEUE = "apps"
LEASE = 2.0
T = TypeVar("T")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


# -- helpers ----------------------------------------------------------------------------------


async def status_of(service: JobService, job_id: str) -> JobStatus:
    job = await service.get_job(job_id)
    assert job is not None
    return job.status


async def running_count(service: JobService) -> int:
    return len(await service.list_jobs(JobStatus.RUNNING))


async def worker_record(service: JobService, worker_id: str) -> Any:
    for record in await service.list_workers():
        if record.id == worker_id:
            return record
    return None


class EventLog:
    """Everything on the queue's event log since it was empty, collected in the background."""

    def __init__(self, service: JobService) -> None:
        self.events: list[Event] = []
        self._task = asyncio.create_task(self._follow(service))

    async def _follow(self, service: JobService) -> None:
        async for event in service.events(after="0-0", block=0.2):
            self.events.append(event)

    def of(self, job_id: str) -> list[Event]:
        return [e for e in self.events if e.job_id == job_id]

    def types(self, job_id: str) -> list[str]:
        return [str(e.type) for e in self.of(job_id)]

    async def wait_for(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
        async def probe() -> Event | None:
            return next((e for e in self.events if predicate(e)), None)

        return await eventually(probe, timeout, "an event")

    async def close(self) -> None:
        # Cancel until it ends: on Python 3.11 redis-py can swallow one cancellation.
        while not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=0.1)
        await asyncio.gather(self._task, return_exceptions=True)


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture
async def service(redis_url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(redis_url, queue=QUEUE, prefix=prefix) as service:
        yield service


@pytest.fixture
async def log(service: JobService) -> AsyncIterator[EventLog]:
    log = EventLog(service)
    yield log
    await log.close()


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def key(prefix: str) -> Callable[[str], str]:
    """Names for the test's gates and traces, under its own prefix."""
    return lambda name: f"{prefix}:test:{name}"


@pytest.fixture
def spawn(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    with spawned_workers(
        APP, redis_url, queue=QUEUE, prefix=prefix, log_dir=tmp_path, lease=LEASE
    ) as spawn:
        yield spawn


# -- handlers, registration -------------------------------------------------------------------
async def test_worker_registers_and_runs_async_and_sync_handlers(
    service: JobService, spawn: Callable[..., WorkerProcess]
) -> None:
    worker = spawn(concurrency=3)
    record = await eventually(
        lambda: worker_record(service, worker.worker_id), what="the worker's registration"
    )
    assert record.host == socket.gethostname()
    assert record.pid == worker.pid
    assert record.queue == QUEUE
    assert record.concurrency == 3
    assert record.running == 0
    assert record.started_at <= time.time()
    assert abs(record.last_heartbeat - time.time()) < 5

    on_loop = await service.submit_job("add", (1, 2))
    on_thread = await service.submit_job("sync_add", (3, 4))
    job = await finished(service, on_loop)
    assert job.status == JobStatus.COMPLETED
    assert job.result == {"sum": 3, "pid": worker.pid, "thread": "MainThread"}
    assert job.worker == worker.worker_id
    job = await finished(service, on_thread)
    assert job.status == JobStatus.COMPLETED
    assert job.result["sum"] == 7
    assert job.result["pid"] == worker.pid
    assert job.result["thread"].startswith("jobdeck-job"), job.result


# -- scaling, pausing -------------------------------------------------------------------------
async def test_scale_up_and_down_with_jobs_in_flight(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    r: redis.Redis,
    key: Callable[[str], str],
) -> None:
    worker = spawn(concurrency=1)
    first_gate, second_gate = key("gate-1"), key("gate-2")
    held = [await service.submit_job("hold", (first_gate,)) for _ in range(4)]

    await eventually(lambda: _equals(running_count(service), 1), what="one running job")
    await asyncio.sleep(0.3)
    assert await running_count(service) == 1, "concurrency 1 ran more than one job"

    started = time.monotonic()
    assert await service.scale_workers(3, worker_id=worker.worker_id) == 1
    await eventually(lambda: _equals(running_count(service), 3), 5, "three running jobs")
    # The promise is a second; a loaded machine gets slack, far below a 5 s heartbeat.
    assert time.monotonic() - started < 2.5, "scaling up took more than a second"
    record = await eventually(
        lambda: _where(worker_record(service, worker.worker_id), concurrency=3, running=3),
        what="the heartbeat to report 3 slots, 3 running",
    )
    assert record.concurrency == 3

    # Down to one slot while three jobs run: none of them is interrupted.
    assert await service.scale_workers(1, worker_id=worker.worker_id) == 1
    await eventually(
        lambda: _where(worker_record(service, worker.worker_id), concurrency=1),
        what="the heartbeat to report 1 slot",
    )
    assert await running_count(service) == 3
    r.set(first_gate, 1)
    for job_id in held:
        job = await finished(service, job_id)
        assert job.status == JobStatus.COMPLETED
        assert job.attempts == 1
        assert log.types(job_id).count("JOB_STARTED") == 1
        assert "JOB_CANCELLED" not in log.types(job_id)
        assert "JOB_REQUEUED" not in log.types(job_id)

    # From now on, one at a time.
    later = [await service.submit_job("hold", (second_gate,)) for _ in range(3)]
    await eventually(lambda: _equals(running_count(service), 1), what="one running job")
    await asyncio.sleep(0.5)
    assert await running_count(service) == 1
    r.set(second_gate, 1)
    for job_id in later:
        assert (await finished(service, job_id)).status == JobStatus.COMPLETED

    scaled = [
        e.data
        for e in log.events
        if e.type == Events.JOB_SERVICE_WORKERS_SCALED and e.data.get("worker") == worker.worker_id
    ]
    assert [(d["previous"], d["concurrency"]) for d in scaled] == [(1, 3), (3, 1)]


async def test_scale_one_worker_or_all_of_them(
    service: JobService, spawn: Callable[..., WorkerProcess]
) -> None:
    first, second = spawn(concurrency=1), spawn(concurrency=1)

    assert await service.scale_workers(2, worker_id=first.worker_id) == 1
    await eventually(
        lambda: _where(worker_record(service, first.worker_id), concurrency=2),
        what="the first worker to have 2 slots",
    )
    assert (await worker_record(service, second.worker_id)).concurrency == 1
    assert await service.scale_workers(5, worker_id="no-such-worker") == 0

    assert await service.scale_workers(0, worker_id="*") == 2
    for worker in (first, second):
        await eventually(
            lambda w=worker: _where(worker_record(service, w.worker_id), concurrency=0),
            what="every worker to have 0 slots",
        )
    job_id = await service.submit_job("add", (1, 1))
    await asyncio.sleep(1.0)
    assert await status_of(service, job_id) == JobStatus.PENDING, "a worker with 0 slots ran it"

    assert await service.scale_workers(1, worker_id="*") == 2
    assert (await finished(service, job_id, 3)).status == JobStatus.COMPLETED


async def test_pause_and_resume_from_another_process(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    r: redis.Redis,
    prefix: str,
) -> None:
    spawn(concurrency=2)
    await service.pause_queue()
    job_id = await service.submit_job("add", (2, 2))
    # The submit left a wake-up token; the idle worker takes it and claims at once. Once it
    # is gone, that claim has run on the paused queue (no fixed sleep needed to show it).
    wake = key_prefix(prefix, QUEUE) + "wake"
    await eventually(lambda: _async(lambda: r.llen(wake) == 0), what="the worker to claim")
    assert await status_of(service, job_id) == JobStatus.PENDING
    assert (await service.get_metrics()).paused

    resumed = time.monotonic()
    await service.resume_queue()
    job = await finished(service, job_id, 5)
    assert job.status == JobStatus.COMPLETED
    # The promise is a second; a loaded machine gets slack, far below a 5 s heartbeat.
    assert time.monotonic() - resumed < 2.5, "resuming took more than a second"
    assert not (await service.get_metrics()).paused
    types = [e.type for e in log.events]
    assert types.index(Events.QUEUE_PAUSED) < types.index(Events.QUEUE_RESUMED)


# -- cancelling, killing, stopping ------------------------------------------------------------
async def test_cancel_running_jobs_from_another_process(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    r: redis.Redis,
    key: Callable[[str], str],
) -> None:
    worker = spawn(concurrency=2)
    gate, trace = key("gate"), key("trace")  # the gate never opens
    on_loop = await service.submit_job("hold", (gate, trace))
    on_thread = await service.submit_job("sync_hold", (gate, trace))
    await eventually(
        lambda: _async(lambda: len(r.lrange(trace, 0, -1)) == 2), what="both jobs to start"
    )

    started = time.monotonic()
    assert await service.cancel_job(on_loop)
    assert await service.cancel_job(on_thread)
    for job_id in (on_loop, on_thread):
        job = await finished(service, job_id, 10)
        assert job.status == JobStatus.CANCELLED
        assert job.result is None
        # The record is written before the event reaches this test's follower: wait for it.
        await eventually(
            lambda job_id=job_id: _async(lambda: "JOB_CANCELLED" in log.types(job_id)),
            what="the cancellation event",
        )
        assert log.types(job_id)[-1] == "JOB_CANCELLED"
        assert "JOB_COMPLETED" not in log.types(job_id)
    assert time.monotonic() - started < 2.0, "cancelling took more than a second or so"

    traces = {t.decode() for t in r.lrange(trace, 0, -1)}
    assert f"cancelled:{on_loop}" in traces  # the coroutine was interrupted
    await eventually(
        lambda: _async(lambda: f"saw-cancel:{on_thread}".encode() in r.lrange(trace, 0, -1)),
        what="the thread to see its cancellation",
    )
    assert not await service.cancel_job(on_loop), "a finished job cannot be cancelled again"
    assert worker.alive()
    after = await service.submit_job("add", (1, 2))
    assert (await finished(service, after)).status == JobStatus.COMPLETED


async def test_killed_worker_job_is_finished_by_another(
    redis_url: str,
    prefix: str,
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    r: redis.Redis,
    key: Callable[[str], str],
) -> None:
    doomed = spawn(concurrency=1)
    gate = key("gate")
    job_id = await service.submit_job("hold", (gate,))
    await eventually(
        lambda: _where(service.get_job(job_id), status=JobStatus.RUNNING, worker=doomed.worker_id),
        what="the job to run on the first worker",
    )
    doomed.kill()
    r.set(gate, 1)
    rescuer = spawn(concurrency=1)

    job = await finished(service, job_id, 15)
    assert job.status == JobStatus.COMPLETED
    assert job.worker == rescuer.worker_id
    assert job.attempts == 2
    assert job.stalls == 1
    # The record is written before the event log's follower reads the completion: wait for it.
    await log.wait_for(lambda e: e.job_id == job_id and e.type == Events.JOB_COMPLETED)
    assert log.types(job_id) == [
        "JOB_SUBMITTED",
        "JOB_STARTED",
        "JOB_REQUEUED",
        "JOB_STARTED",
        "JOB_COMPLETED",
    ]
    requeued = next(e for e in log.of(job_id) if e.type == Events.JOB_REQUEUED)
    assert requeued.data["reason"] == "stalled"
    assert requeued.data["worker"] == doomed.worker_id

    # The dead worker drops out of the registry once it misses heartbeats for the TTL.
    async with JobService(
        redis_url, queue=QUEUE, prefix=prefix, settings=BackendSettings(worker_ttl=1.5)
    ) as watcher:

        async def only_the_rescuer() -> bool:
            ids = {w.id for w in await watcher.list_workers()}
            return ids == {rescuer.worker_id}

        await eventually(only_the_rescuer, 5, "the killed worker to drop out")


async def test_sigterm_lets_the_running_job_finish(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    r: redis.Redis,
    key: Callable[[str], str],
) -> None:
    worker = spawn(concurrency=1, shutdown_timeout=10.0)
    gate = key("gate")
    running = await service.submit_job("hold", (gate,))
    await eventually(
        lambda: _where(service.get_job(running), status=JobStatus.RUNNING), what="a running job"
    )
    waiting = await service.submit_job("add", (1, 2))

    worker.signal(signal.SIGTERM)
    await eventually(  # it has taken the signal (rather than sleeping and hoping it has)
        lambda: _async(lambda: "stopping: finishing running jobs" in worker.log()),
        what="the worker to say it is stopping",
    )
    assert worker.alive(), "the worker quit without letting its job finish"
    assert await status_of(service, running) == JobStatus.RUNNING
    r.set(gate, 1)
    assert await asyncio.to_thread(worker.wait, 10) == 0

    job = await service.get_job(running)
    assert job is not None and job.status == JobStatus.COMPLETED
    assert job.worker == worker.worker_id
    job = await service.get_job(waiting)
    assert job is not None and job.status == JobStatus.PENDING and job.attempts == 0
    assert await worker_record(service, worker.worker_id) is None, "still registered"
    await log.wait_for(
        lambda e: (
            e.type == Events.JOB_SERVICE_WORKERS_STOPPED
            and e.data.get("worker") == worker.worker_id
        )
    )


async def test_second_signal_stops_at_once_and_hands_the_job_back(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    log: EventLog,
    key: Callable[[str], str],
) -> None:
    worker = spawn(concurrency=1, shutdown_timeout=30.0)
    job_id = await service.submit_job("hold", (key("gate"),))  # never opens
    await eventually(
        lambda: _where(service.get_job(job_id), status=JobStatus.RUNNING), what="a running job"
    )
    worker.signal(signal.SIGTERM)
    await eventually(
        lambda: _async(lambda: "stopping: finishing running jobs" in worker.log()),
        what="the worker to say it is stopping",
    )
    assert worker.alive()

    started = time.monotonic()
    worker.signal(signal.SIGTERM)
    await asyncio.to_thread(worker.wait, 10)
    assert time.monotonic() - started < 4.0, "the second signal did not stop the worker at once"

    job = await service.get_job(job_id)
    assert job is not None
    assert job.status == JobStatus.PENDING, "the interrupted job was not handed back"
    assert job.attempts == 0
    requeued = [e for e in log.of(job_id) if e.type == Events.JOB_REQUEUED]
    assert [e.data.get("reason") for e in requeued] == ["shutdown"]


# -- timeouts, progress, bad jobs -------------------------------------------------------------
async def test_timeouts_fail_the_attempt(
    service: JobService, spawn: Callable[..., WorkerProcess], log: EventLog
) -> None:
    worker = spawn(concurrency=2)
    started = time.monotonic()
    on_loop = await service.submit_job("sleep", (10,), timeout=0.3, max_retries=1)
    on_thread = await service.submit_job("sync_sleep", (1.5,), timeout=0.3)

    job = await finished(service, on_loop)
    assert job.status == JobStatus.FAILED
    assert job.attempts == 2
    assert job.error is not None and job.error.type == "Timeout"
    await log.wait_for(  # the event log is read in the background: let it catch up
        lambda e: e.job_id == on_loop and e.type == Events.JOB_FAILED and not e.data["will_retry"]
    )
    failed = [e.data for e in log.of(on_loop) if e.type == Events.JOB_FAILED]
    assert [(d["will_retry"], d["error_type"]) for d in failed] == [
        (True, "Timeout"),
        (False, "Timeout"),
    ]
    job = await finished(service, on_thread)
    assert job.status == JobStatus.FAILED
    assert job.error is not None and job.error.type == "Timeout"
    assert "0.3" in job.error.message
    assert time.monotonic() - started < 5.0

    assert worker.alive()
    after = await service.submit_job("add", (1, 2))
    assert (await finished(service, after)).status == JobStatus.COMPLETED


@pytest.mark.parametrize("handler", ["progress", "sync_progress"])
async def test_progress_is_coalesced_and_the_last_value_lands(
    service: JobService, spawn: Callable[..., WorkerProcess], log: EventLog, handler: str
) -> None:
    spawn(concurrency=1)
    reports = 3000
    job_id = await service.submit_job(handler, (reports,))
    job = await finished(service, job_id)
    assert job.status == JobStatus.COMPLETED
    assert job.progress == JobProgress(1.0, "done")

    await log.wait_for(lambda e: e.job_id == job_id and e.type == Events.JOB_COMPLETED)
    types = log.types(job_id)
    progress = [e.data for e in log.of(job_id) if e.type == Events.JOB_PROGRESS]
    assert 1 <= len(progress) < 50, f"{len(progress)} progress events for {reports} reports"
    assert progress[-1] == {"fraction": 1.0, "message": "done"}
    fractions = [p["fraction"] for p in progress]
    assert fractions == sorted(fractions)
    first, last = types.index("JOB_PROGRESS"), len(types) - 1 - types[::-1].index("JOB_PROGRESS")
    assert types.index("JOB_STARTED") < first and last < types.index("JOB_COMPLETED")


async def test_malformed_records_are_dead_lettered_and_unknown_handlers_wait(
    prefix: str, service: JobService, spawn: Callable[..., WorkerProcess], r: redis.Redis
) -> None:
    worker = spawn(concurrency=2)
    unknown = await service.submit_job("no_such_handler", (1,))

    # Records written by something that is not jobdeck.
    keys = key_prefix(prefix, QUEUE)
    r.hset(keys + "job:bad-args", mapping={"name": "add", "args": "{not json", "priority": "1"})
    r.hset(keys + "job:no-name", mapping={"args": "[]", "kwargs": "{}", "priority": "1"})
    r.hset(keys + "job:bad-kwargs", mapping={"name": "add", "kwargs": "[1, 2]"})
    r.rpush(keys + "pending:1", "bad-args", "no-name", "bad-kwargs")
    r.lpush(keys + "wake", 1, 1, 1)

    expected = {
        "bad-args": ("MalformedRecord", "args"),
        "no-name": ("MalformedRecord", "name"),
        "bad-kwargs": ("MalformedRecord", "kwargs"),
    }
    for job_id, (kind, mentioned) in expected.items():
        job = await finished(service, job_id)
        assert job.status == JobStatus.FAILED, job_id
        assert job.error is not None
        assert job.error.type == kind, (job_id, job.error)
        assert mentioned in job.error.message, (job_id, job.error)
    dead = {job.id for job in await service.list_dead_letters()}
    assert dead == set(expected)
    # No worker has its handler: it waits, unserved, never attempted (issue 22).
    waiting = await service.get_job(unknown)
    assert waiting is not None
    assert (waiting.status, waiting.attempts) == (JobStatus.PENDING, 0)
    assert (await service.get_metrics()).held["unserved"] == {"no_such_handler": 1}

    assert worker.alive()
    after = await service.submit_job("add", (1, 2))
    assert (await finished(service, after)).status == JobStatus.COMPLETED


async def test_two_worker_processes_never_run_the_same_job(
    service: JobService,
    spawn: Callable[..., WorkerProcess],
    r: redis.Redis,
    key: Callable[[str], str],
) -> None:
    first, second = spawn(concurrency=4), spawn(concurrency=4)
    trace = key("ran")
    ids = await service.submit_jobs([JobSpec("record", (trace,)) for _ in range(200)])

    async def all_done() -> bool:
        return (await service.get_metrics()).depths["completed"] == len(ids)

    await eventually(all_done, 30, "200 jobs to complete")
    runs = [entry.decode().rsplit(":", 1) for entry in r.lrange(trace, 0, -1)]
    ran = [job_id for job_id, _ in runs]
    assert len(ran) == len(ids), "some job ran more than once"
    assert set(ran) == set(ids)
    assert {int(pid) for _, pid in runs} == {first.pid, second.pid}


# -- small async adapters for `eventually` ----------------------------------------------------
async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return (await value) == expected


async def _where(value: Awaitable[Any], **expected: Any) -> Any:
    """The awaited object if it is not None and has every attribute value given."""
    obj = await value
    if obj is None or any(getattr(obj, k) != v for k, v in expected.items()):
        return None
    return obj


async def _async(check: Callable[[], T]) -> T:
    return check()
