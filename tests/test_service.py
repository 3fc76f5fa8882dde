"""`JobService`, the public API, over both engines: Redis (a private server) and memory.

Handlers run in this process on a `WorkerPool` started by the service; the real worker
processes are tests/test_workers.py's. The Lua state machine itself is pinned down by
tests/test_backend_contract.py; these tests are about what an application sees.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jobdeck.core import (
    Event,
    Events,
    JobPriority,
    JobService,
    JobSpec,
    JobStatus,
    RetryPolicy,
    WorkerSettings,
    current_job,
)
from jobdeck.core.backend.base import Finish, Outcome
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually, finished

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
FAST_RETRY = RetryPolicy(base=0.2, factor=2.0, jitter=0.0)

pytestmark = pytest.mark.timeout(60)


# -- fixtures and helpers ---------------------------------------------------------------------
@pytest.fixture(params=["memory", "redis", "cluster"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    """Where the jobs live: a private redis-server, a 3-master Redis Cluster (through its
    first node, whichever serves the queue), or a memory store of this test's own."""
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    if request.param == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def make(url: str, prefix: str) -> AsyncIterator[Callable[..., Awaitable[JobService]]]:
    """Open services on one queue; several of them are several processes sharing it."""
    opened: list[JobService] = []

    async def make(**options: Any) -> JobService:
        options.setdefault("retry_policy", FAST_RETRY)
        options.setdefault("worker_settings", WorkerSettings(lease=5.0, heartbeat_interval=0.5))
        service = JobService(url, queue="default", prefix=prefix, **options)
        await service.initialize()
        opened.append(service)
        return service

    yield make
    for service in opened:
        await service.close()


@pytest.fixture
async def service(make: Callable[..., Awaitable[JobService]]) -> JobService:
    return await make()


async def read_events(service: JobService, after: str = "0-0", idle: float = 0.2) -> list[Event]:
    """Every event after `after`, read until the log has stayed quiet for `idle` seconds."""
    events: list[Event] = []

    async def follow() -> None:
        async for event in service.events(after=after, block=idle / 2):
            events.append(event)

    task = asyncio.create_task(follow())
    try:
        seen = -1
        while seen != len(events):
            seen = len(events)
            await asyncio.sleep(idle)
    finally:
        await stop(task)
    return events


async def stop(task: asyncio.Task[Any]) -> None:
    """Cancel until it ends: on Python 3.11 redis-py can swallow one cancellation. Whatever
    the task raised besides that is raised here: a broken event stream must not read as
    "no events"."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=0.1)
    if not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


def of(events: list[Event], job_id: str) -> list[str]:
    return [str(e.type) for e in events if e.job_id == job_id]


async def nothing_written(service: JobService) -> None:
    metrics = await service.get_metrics()
    assert metrics.totals.get("submitted", 0) == 0
    assert not any(metrics.depths.values()), metrics.depths
    assert await read_events(service, idle=0.05) == []


# -- validation -------------------------------------------------------------------------------
BAD_SUBMISSIONS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"name": ""}, ValueError, "name"),
    ({"name": 42}, TypeError, "name"),
    ({"name": "x" * 201}, ValueError, "name"),
    ({"args": "not a list"}, TypeError, "args"),
    ({"args": ({1, 2},)}, TypeError, "args"),
    ({"args": (object(),)}, TypeError, "args"),
    ({"args": (b"bytes",)}, TypeError, "args"),
    ({"args": (2**70,)}, TypeError, "args"),
    ({"args": (float("nan"),)}, (TypeError, ValueError), "args"),
    ({"args": ([float("inf")],)}, (TypeError, ValueError), "args"),
    ({"kwargs": [1, 2]}, TypeError, "kwargs"),
    ({"kwargs": {1: "x"}}, TypeError, "kwargs"),
    ({"kwargs": {"when": time}}, TypeError, "kwargs"),
    ({"priority": "urgent"}, ValueError, "priority"),
    ({"priority": 7}, ValueError, "priority"),
    ({"priority": True}, ValueError, "priority"),
    ({"priority": 1.5}, TypeError, "priority"),
    ({"max_retries": -1}, ValueError, "max_retries"),
    ({"max_retries": 1.5}, TypeError, "max_retries"),
    ({"timeout": 0}, ValueError, "timeout"),
    ({"timeout": -1.0}, ValueError, "timeout"),
    ({"timeout": float("nan")}, ValueError, "timeout"),
    ({"timeout": "5"}, TypeError, "timeout"),
    ({"delay": -0.5}, ValueError, "delay"),
    ({"delay": float("inf")}, ValueError, "delay"),
    ({"job_id": "has spaces"}, ValueError, "job_id"),
    ({"job_id": "x" * 129}, ValueError, "job_id"),
]


@pytest.mark.parametrize(
    ("options", "error", "field"),
    BAD_SUBMISSIONS,
    ids=[f"{case[2]}-{i}" for i, case in enumerate(BAD_SUBMISSIONS)],
)
async def test_bad_submissions_are_refused_naming_the_field(
    service: JobService, options: dict[str, Any], error: Any, field: str
) -> None:
    options = {"name": "add", **options}
    name = options.pop("name")
    args = options.pop("args", ())
    kwargs = options.pop("kwargs", None)
    with pytest.raises(error, match=f"^{field}"):
        await service.submit_job(name, args, kwargs, **options)
    await nothing_written(service)


async def test_one_bad_spec_keeps_the_whole_batch_out(service: JobService) -> None:
    specs = [JobSpec("add", (1, 2)), {"name": "add", "args": [3, 4]}, JobSpec("add", ({1},))]
    with pytest.raises(TypeError, match=r"^job 2: args"):
        await service.submit_jobs(specs)
    with pytest.raises(TypeError, match=r"^job 0: unknown field\(s\): colour"):
        await service.submit_jobs([{"name": "add", "colour": "red"}])
    await nothing_written(service)


async def test_bad_arguments_to_the_other_calls(service: JobService) -> None:
    with pytest.raises(ValueError, match="limit"):
        await service.list_jobs(JobStatus.PENDING, limit=0)
    with pytest.raises(ValueError, match="offset"):
        await service.list_jobs(JobStatus.PENDING, offset=-1)
    with pytest.raises(ValueError):
        await service.list_jobs("no-such-status")
    with pytest.raises(ValueError, match="running"):
        await service.purge(JobStatus.RUNNING)
    with pytest.raises(ValueError, match="count"):
        await service.scale_workers(-1)
    for window in (0, -5, 901, 3_000_000, 1.5, True):
        with pytest.raises(ValueError, match="window"):
            await service.get_metrics(window=window)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not callable"):
        service.register_handler("x", 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="name"):
        service.register_handler(" ", print)
    with pytest.raises(RuntimeError, match="only available inside"):
        current_job()
    with pytest.raises(ValueError, match="url"):
        JobService("http://localhost:6379")
    with pytest.raises(ValueError, match="queue"):
        JobService(service.url, queue="no spaces")
    with pytest.raises(ValueError, match="prefix"):
        JobService(service.url, prefix="a/b")


# -- what goes in comes out -------------------------------------------------------------------
async def test_json_round_trip(service: JobService) -> None:
    seen: dict[str, Any] = {}

    async def echo(*args: Any, **kwargs: Any) -> dict[str, Any]:
        seen["args"], seen["kwargs"] = args, kwargs
        return {"args": list(args), "kwargs": kwargs}

    service.register_handler("echo", echo)
    args = (1, -2.5, "naïve ☃ 🎉", None, True, (1, (2, {"a": None})), {"k": "v"}, 2**63 - 1)
    kwargs = {"nested": {"list": [1, 2.0, "3"], "empty": {}}, "blank": "", "zero": 0}
    job_id = await service.submit_job("echo", args, kwargs)

    queued = await service.get_job(job_id)
    assert queued is not None
    as_json = (1, -2.5, "naïve ☃ 🎉", None, True, [1, [2, {"a": None}]], {"k": "v"}, 2**63 - 1)
    assert queued.args == as_json  # tuples travel as JSON arrays
    assert queued.kwargs == kwargs
    assert queued.name == "echo"
    assert queued.status == JobStatus.PENDING

    await service.start_workers(1)
    job = await finished(service, job_id)
    assert job.status == JobStatus.COMPLETED, job.error
    assert seen["args"] == as_json
    assert type(seen["args"][1]) is float and type(seen["args"][7]) is int
    assert seen["kwargs"] == kwargs
    assert job.result == {"args": list(as_json), "kwargs": kwargs}


async def test_a_result_that_is_not_json_fails_the_attempt(service: JobService) -> None:
    service.register_handler("bad_result", lambda: {1, 2, 3})
    await service.start_workers(1)
    job = await finished(service, await service.submit_job("bad_result"))
    assert job.status == JobStatus.FAILED
    assert job.error is not None and job.error.type == "ResultNotJSON"


async def test_explicit_ids_make_submission_idempotent(service: JobService) -> None:
    first = await service.submit_job("add", (1, 2), job_id="order-42")
    again = await service.submit_job("add", (9, 9), job_id="order-42")
    assert first == again == "order-42"
    job = await service.get_job("order-42")
    assert job is not None and job.args == (1, 2)
    assert of(await read_events(service), "order-42") == ["JOB_SUBMITTED"]
    assert await service.get_job("never-submitted") is None


# -- order and time ---------------------------------------------------------------------------
async def test_priority_order_then_fifo_within_a_priority(service: JobService) -> None:
    ran: list[int] = []
    service.register_handler("note", ran.append)
    priorities: list[Any] = [
        JobPriority.LOW,
        JobPriority.NORMAL,
        "high",
        JobPriority.CRITICAL,
        1,
        JobPriority.HIGH,
        "LOW",
        3,
        JobPriority.NORMAL,
        JobPriority.HIGH,
    ]
    ids = [await service.submit_job("note", (i,), priority=p) for i, p in enumerate(priorities)]
    ranks = [int(JobPriority[p.upper()]) if isinstance(p, str) else int(p) for p in priorities]
    expected = sorted(range(len(ids)), key=lambda i: (-ranks[i], i))

    pending = await service.list_jobs(JobStatus.PENDING)
    assert [job.id for job in pending] == [ids[i] for i in expected]
    assert [int(job.priority) for job in pending] == sorted(ranks, reverse=True)
    page = await service.list_jobs(JobStatus.PENDING, limit=3, offset=2)
    assert [job.id for job in page] == [ids[i] for i in expected[2:5]]

    await service.start_workers(1)
    await eventually(lambda: _true(len(ran) == len(ids)), what="every job to run")
    assert ran == expected


async def test_a_delayed_job_waits_until_it_is_due(
    make: Callable[..., Awaitable[JobService]],
) -> None:
    # An idle wait far longer than the delay: a worker that slept it out instead of waking
    # when the job falls due would start it seconds late.
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.5, idle_wait=10.0)
    service = await make(worker_settings=settings)
    service.register_handler("add", lambda a, b: a + b)
    await service.start_workers(2)
    submitted = time.monotonic()
    delayed = await service.submit_job("add", (1, 1), delay=0.6)
    now = await service.submit_job("add", (2, 2))

    job = await service.get_job(delayed)
    assert job is not None and job.status == JobStatus.SCHEDULED
    assert job.scheduled_for is not None
    assert job.scheduled_for - job.created_at == pytest.approx(0.6, abs=0.02)
    assert [j.id for j in await service.list_jobs(JobStatus.SCHEDULED)] == [delayed]

    assert (await finished(service, now)).status == JobStatus.COMPLETED
    assert (await service.get_job(delayed)).status == JobStatus.SCHEDULED  # type: ignore[union-attr]
    job = await finished(service, delayed)
    assert job.status == JobStatus.COMPLETED and job.result == 2
    assert job.started_at is not None and job.started_at >= job.scheduled_for
    assert job.started_at - job.scheduled_for < 2.0, "a due job waited for the idle timeout"
    assert time.monotonic() - submitted >= 0.6


async def test_stopping_an_idle_worker_does_not_wait_out_its_idle_wait(
    make: Callable[..., Awaitable[JobService]],
) -> None:
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.5, idle_wait=30.0)
    service = await make(worker_settings=settings)
    service.register_handler("add", lambda a, b: a + b)
    pool = await service.start_workers(1)
    job = await finished(service, await service.submit_job("add", (1, 2)))
    assert job.status == JobStatus.COMPLETED  # the pool has claimed, and now waits for work
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await pool.stop()
    assert time.monotonic() - started < 5.0, "stop sat out the idle wait"
    assert await service.list_workers() == []


# -- failure, retry, dead letters -------------------------------------------------------------
async def test_retry_with_backoff_then_dead_letter(service: JobService) -> None:
    def broken() -> None:
        raise ValueError(f"nope {current_job().attempt}")

    service.register_handler("broken", broken)
    await service.start_workers(1)
    job_id = await service.submit_job("broken", max_retries=2)
    job = await finished(service, job_id)

    assert job.status == JobStatus.FAILED
    assert job.attempts == 3
    assert job.error is not None
    assert (job.error.type, job.error.message) == ("ValueError", "nope 3")
    assert job.error.traceback is not None and "ValueError: nope 3" in job.error.traceback
    assert [j.id for j in await service.list_dead_letters()] == [job_id]

    events = [e for e in await read_events(service) if e.job_id == job_id]
    assert [str(e.type) for e in events] == [
        "JOB_SUBMITTED",
        *["JOB_STARTED", "JOB_FAILED"] * 3,
    ]
    failures = [e for e in events if e.type == Events.JOB_FAILED]
    assert [(e.data["will_retry"], e.data.get("retry_in")) for e in failures] == [
        (True, 0.2),
        (True, 0.4),
        (False, None),
    ]
    assert [e.status for e in failures] == ["scheduled", "scheduled", "failed"]
    starts = [e for e in events if e.type == Events.JOB_STARTED]
    for failure, next_start in zip(failures, starts[1:], strict=False):
        waited = next_start.timestamp - failure.timestamp
        assert waited >= failure.data["retry_in"] - 0.005, "retried before its backoff"
    totals = (await service.get_metrics()).totals
    assert (totals.get("retried"), totals.get("dead")) == (2, 1)


async def test_retry_from_the_dead_letter_queue(service: JobService) -> None:
    broken = True

    def flaky() -> str:
        if broken:
            raise RuntimeError("dependency down")
        return "ok"

    service.register_handler("flaky", flaky)
    await service.start_workers(1)
    dead = [await service.submit_job("flaky") for _ in range(3)]
    for job_id in dead:
        assert (await finished(service, job_id)).status == JobStatus.FAILED
    assert len(await service.list_dead_letters()) == 3

    broken = False
    assert await service.retry_dead_letter(dead[0])
    job = await finished(service, dead[0])
    assert (job.status, job.result, job.attempts) == (JobStatus.COMPLETED, "ok", 1)
    assert not await service.retry_dead_letter(dead[0]), "a completed job is not a dead letter"
    assert not await service.retry_dead_letter("no-such-job")

    assert await service.retry_all_dead_letters() == 2
    for job_id in dead[1:]:
        assert (await finished(service, job_id)).status == JobStatus.COMPLETED
    assert await service.list_dead_letters() == []
    requeued = [e for e in await read_events(service) if e.type == Events.JOB_REQUEUED]
    assert sorted(e.job_id for e in requeued) == sorted(dead)  # type: ignore[type-var]
    assert {e.data["reason"] for e in requeued} == {"retry"}


async def test_a_handler_raising_timeout_error_is_an_ordinary_failure(
    service: JobService,
) -> None:
    """`TimeoutError` from the handler's own I/O is the handler's error, not the job timeout."""

    async def upstream() -> None:
        raise TimeoutError("upstream did not answer")

    service.register_handler("upstream", upstream)
    await service.start_workers(1)
    started = time.monotonic()
    untimed = await service.submit_job("upstream")
    timed = await service.submit_job("upstream", timeout=30)
    for job_id in (untimed, timed):
        job = await finished(service, job_id, 3)
        assert job.status == JobStatus.FAILED
        assert job.error is not None
        assert (job.error.type, job.error.message) == ("TimeoutError", "upstream did not answer")
        assert job.stalls == 0
    assert time.monotonic() - started < 2


async def test_the_job_timeout_fails_the_attempt(service: JobService) -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    service.register_handler("slow", slow)
    await service.start_workers(1)
    job = await finished(service, await service.submit_job("slow", timeout=0.2), 3)
    assert job.status == JobStatus.FAILED
    assert job.error is not None and job.error.type == "Timeout"
    assert job.run_time is not None and job.run_time < 2


# -- cancel, purge ----------------------------------------------------------------------------
async def test_cancel_pending_scheduled_and_running_jobs(service: JobService) -> None:
    release = asyncio.Event()
    interrupted = asyncio.Event()

    async def wait_forever() -> None:
        try:
            await release.wait()
        except asyncio.CancelledError:
            interrupted.set()
            raise

    service.register_handler("wait", wait_forever)
    pending = await service.submit_job("wait")
    scheduled = await service.submit_job("wait", delay=60)
    assert await service.cancel_job(pending)
    assert await service.cancel_job(scheduled)
    for job_id in (pending, scheduled):
        job = await service.get_job(job_id)
        assert job is not None and job.status == JobStatus.CANCELLED
        assert job.finished_at is not None
    assert await service.list_jobs(JobStatus.PENDING) == []
    assert await service.list_jobs(JobStatus.SCHEDULED) == []

    await service.start_workers(1)
    running = await service.submit_job("wait")
    await eventually(
        lambda: _status_is(service, running, JobStatus.RUNNING), what="the job to start"
    )
    assert await service.cancel_job(running)
    job = await finished(service, running, 3)
    assert job.status == JobStatus.CANCELLED
    assert interrupted.is_set(), "the handler was not interrupted"

    assert not await service.cancel_job(running), "cancelled twice"
    assert not await service.cancel_job("no-such-job")
    service.register_handler("quick", lambda: 1)
    done = await service.submit_job("quick")
    await finished(service, done)
    assert not await service.cancel_job(done), "a completed job cannot be cancelled"

    events = await read_events(service)
    cancelled = {e.job_id: e.data for e in events if e.type == Events.JOB_CANCELLED}
    assert set(cancelled) == {pending, scheduled, running}
    assert cancelled[pending]["was"] == "pending"
    assert cancelled[scheduled]["was"] == "scheduled"
    assert (await service.get_metrics()).depths["cancelled"] == 3


async def test_purge_by_status(service: JobService) -> None:
    service.register_handler("ok", lambda: "ok")
    service.register_handler("bad", lambda: 1 / 0)
    await service.start_workers(2)
    completed = [await service.submit_job("ok") for _ in range(3)]
    failed = await service.submit_job("bad")
    for job_id in [*completed, failed]:
        await finished(service, job_id)
    await service.stop_workers()
    cancelled = await service.submit_job("ok", delay=60)
    await service.cancel_job(cancelled)
    waiting = await service.submit_job("ok", delay=60)

    assert await service.purge(JobStatus.COMPLETED) == 3
    for job_id in completed:
        assert await service.get_job(job_id) is None
    assert await service.list_jobs(JobStatus.COMPLETED) == []
    assert await service.purge(JobStatus.COMPLETED) == 0
    assert await service.purge("failed") == 1
    assert await service.get_job(failed) is None
    assert await service.purge(JobStatus.CANCELLED) == 1
    assert await service.get_job(waiting) is not None, "purge touched another status"
    assert await service.purge(JobStatus.SCHEDULED) == 1
    assert not any((await service.get_metrics()).depths.values())

    purged = [e for e in await read_events(service) if e.type == Events.JOBS_PURGED]
    assert [(e.status, e.data["count"]) for e in purged] == [
        ("completed", 3),
        ("failed", 1),
        ("cancelled", 1),
        ("scheduled", 1),
    ]


# -- metrics, workers -------------------------------------------------------------------------
async def test_metrics(service: JobService) -> None:
    async def work(ok: bool) -> bool:
        await asyncio.sleep(0.05)
        if not ok:
            raise RuntimeError("no")
        return ok

    service.register_handler("work", work)
    await service.start_workers(3)
    ids = [await service.submit_job("work", (i != 0,)) for i in range(5)]
    for job_id in ids:
        await finished(service, job_id)
    await service.submit_job("work", (True,), delay=60)

    metrics = await service.get_metrics()
    assert metrics.depths == {
        "pending": 0,
        "scheduled": 1,
        "running": 0,
        "completed": 4,
        "failed": 1,
        "cancelled": 0,
        "waiting": 0,
        "expired": 0,
    }
    assert metrics.totals["submitted"] == 6
    assert metrics.totals["completed"] == 4
    assert metrics.totals["dead"] == 1
    assert metrics.window == 60
    assert sum(metrics.completed_per_second) == 4
    assert sum(metrics.failed_per_second) == 1
    assert sum(metrics.submitted_per_second) == 6
    assert metrics.avg_run is not None and 0.04 <= metrics.avg_run < 2
    assert metrics.avg_wait is not None and 0 <= metrics.avg_wait < 2
    assert 0 <= metrics.throughput <= 4 / 59 + 1e-9
    assert metrics.paused is False
    short = await service.get_metrics(window=5)
    assert short.window == 5 and sum(short.completed_per_second) == 4

    await service.pause_queue()
    assert (await service.get_metrics()).paused is True


async def test_workers_register_while_they_run(service: JobService) -> None:
    pool = await service.start_workers(3, worker_id="in-process")
    workers = await service.list_workers()
    assert [(w.id, w.pid, w.queue, w.concurrency) for w in workers] == [
        ("in-process", os.getpid(), "default", 3)
    ]
    assert workers[0].running == 0 and workers[0].started_at == pool.started_at
    assert await service.scale_workers(5) == 1
    assert pool.concurrency == 5
    await service.stop_workers()
    assert await service.list_workers() == []


async def test_sync_handlers_run_off_the_event_loop(service: JobService) -> None:
    def blocking() -> str:
        time.sleep(0.3)
        return threading.current_thread().name

    async def on_loop() -> str:
        return threading.current_thread().name

    service.register_handler("blocking", blocking)
    service.register_handler("on_loop", on_loop)
    await service.start_workers(2)
    slow = await service.submit_job("blocking")
    await eventually(lambda: _status_is(service, slow, JobStatus.RUNNING), what="a running job")
    fast = await service.submit_job("on_loop")
    job = await finished(service, fast)
    assert job.result == threading.current_thread().name
    assert (await service.get_job(slow)).status == JobStatus.RUNNING  # type: ignore[union-attr]
    job = await finished(service, slow)
    assert job.result.startswith("jobdeck-job")


# -- events -----------------------------------------------------------------------------------
async def test_events_are_ordered_resumable_and_reach_subscribers(service: JobService) -> None:
    completed: list[str] = []
    everything: list[Event] = []
    service.event_bus.subscribe(Events.JOB_COMPLETED, lambda e: completed.append(e.job_id))
    service.event_bus.subscribe(None, everything.append)
    service.event_bus.subscribe(Events.JOB_COMPLETED, lambda e: 1 / 0)  # must not silence others

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.01)
        return a + b

    service.register_handler("add", add)
    await service.start_workers(3)
    ids = await service.submit_jobs([JobSpec("add", (i, i)) for i in range(6)])
    await eventually(lambda: _true(len(completed) == 6), what="six JOB_COMPLETED callbacks")
    assert sorted(completed) == sorted(ids)

    events = await read_events(service)
    assert [e.id for e in everything if e.job_id] == [e.id for e in events if e.job_id]
    keys = [tuple(map(int, e.id.split("-"))) for e in events]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    for job_id in ids:
        assert of(events, job_id) == ["JOB_SUBMITTED", "JOB_STARTED", "JOB_COMPLETED"]
    done = next(e for e in events if e.type == Events.JOB_COMPLETED)
    assert done.name == "add" and done.status == "completed" and "runtime" in done.data

    middle = len(events) // 2
    resumed = await read_events(service, after=events[middle].id)
    assert [e.id for e in resumed] == [e.id for e in events[middle + 1 :]]


FOLLOWER = """
import asyncio, json, sys
from jobdeck.core import JobService

async def main(url, prefix, after):
    async with JobService(url, queue="default", prefix=prefix) as service:
        print(json.dumps({"ready": True}), flush=True)
        async for e in service.events(after=after or None, block=0.2):
            print(json.dumps({"type": str(e.type), "job": e.job_id, "id": e.id}), flush=True)

asyncio.run(main(*sys.argv[1:]))
"""


class Follower:
    """A separate Python process that prints every event it reads as a JSON line."""

    def __init__(self, url: str, prefix: str, after: str = "") -> None:
        self.args = [sys.executable, "-c", FOLLOWER, url, prefix, after]
        self.lines: list[dict[str, Any]] = []

    async def __aenter__(self) -> Follower:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
        )
        self._reader = asyncio.create_task(self._read())
        await eventually(lambda: _true(bool(self.lines)), 15, "the follower to start")
        assert self.lines.pop(0) == {"ready": True}
        return self

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            self.lines.append(json.loads(line))

    async def __aexit__(self, *exc: object) -> None:
        if self.process.returncode is None:
            self.process.kill()
        await self.process.wait()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)

    def of(self, job_id: str) -> list[str]:
        return [line["type"] for line in self.lines if line["job"] == job_id]


@pytest.mark.parametrize("url", ["redis"], indirect=True)
@pytest.mark.slow
async def test_events_in_order_across_two_processes(
    service: JobService, url: str, prefix: str
) -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.005)
        return a + b

    service.register_handler("add", add)
    async with Follower(url, prefix) as follower:
        # It reads "from now on": once it has seen one of our probes, it sees everything after.
        async def follower_is_live() -> bool:
            probe = await service.submit_job("add", (0, 0))
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                if follower.of(probe):
                    return True
                await asyncio.sleep(0.02)
            return False

        await eventually(follower_is_live, 15, "the follower to see a probe")
        await service.start_workers(4)
        ids = await service.submit_jobs([JobSpec("add", (i, 1)) for i in range(20)])
        for job_id in ids[:5]:
            await service.submit_job("add", (1, 1), job_id=f"{job_id}-again")

        async def all_seen() -> bool:
            return all("JOB_COMPLETED" in follower.of(job_id) for job_id in ids)

        await eventually(all_seen, 15, "the follower to see every job complete")
        for job_id in ids:
            assert follower.of(job_id) == ["JOB_SUBMITTED", "JOB_STARTED", "JOB_COMPLETED"]
        seen_ids = [line["id"] for line in follower.lines]
        keys = [tuple(map(int, i.split("-"))) for i in seen_ids]
        assert keys == sorted(keys) and len(set(keys)) == len(keys)

        # The same log, read here from the follower's first event, in the same order.
        start = follower.lines[0]["id"]
        ours = await read_events(service, after=start)
        theirs = follower.lines[1:]
        assert [e.id for e in ours][: len(theirs)] == [line["id"] for line in theirs]

    # Resume in another process from the middle of what the first one saw.
    middle = len(follower.lines) // 2
    async with Follower(url, prefix, after=follower.lines[middle]["id"]) as resumed:
        expected = follower.lines[middle + 1 :]
        await eventually(
            lambda: _true(len(resumed.lines) >= len(expected)), 15, "the resumed follower"
        )
        assert resumed.lines[: len(expected)] == expected


# -- recovery and concurrency -----------------------------------------------------------------
async def test_an_expired_lease_is_recovered_and_the_late_outcome_refused(
    service: JobService,
) -> None:
    service.register_handler("add", lambda a, b: a + b)
    job_id = await service.submit_job("add", (20, 22))
    # A worker that leased the job and died: it never reports back, its lease runs out.
    batch = await service.backend.claim("ghost", 1, 0.2)
    assert [c.id for c in batch.jobs] == [job_id]
    ghost_token = batch.jobs[0].token

    pool = await service.start_workers(1)
    job = await finished(service, job_id, 5)
    assert (job.status, job.result) == (JobStatus.COMPLETED, 42)
    assert job.worker == pool.id
    assert (job.attempts, job.stalls) == (2, 1)
    events = [e for e in await read_events(service) if e.job_id == job_id]
    assert [str(e.type) for e in events] == [
        "JOB_SUBMITTED",
        "JOB_STARTED",
        "JOB_REQUEUED",
        "JOB_STARTED",
        "JOB_COMPLETED",
    ]
    assert events[2].data["reason"] == "stalled" and events[2].data["worker"] == "ghost"

    late = Finish(job_id, ghost_token, Outcome.COMPLETED, b'"late"')
    assert await service.backend.finish("ghost", [late]) == [False]
    assert (await service.get_job(job_id)).result == 42  # type: ignore[union-attr]


async def test_two_concurrent_takers_never_get_the_same_job(
    make: Callable[..., Awaitable[JobService]],
) -> None:
    ran: list[tuple[str, str]] = []

    async def take() -> None:
        job = current_job()
        ran.append((job.job_id, job.worker_id))
        await asyncio.sleep(0.002)

    first, second = await make(), await make()
    for service in (first, second):
        service.register_handler("take", take)
    ids = await first.submit_jobs([JobSpec("take") for _ in range(300)])
    pools = [await first.start_workers(4), await second.start_workers(4)]

    async def all_done() -> bool:
        return (await first.get_metrics()).depths["completed"] == len(ids)

    await eventually(all_done, 30, "every job to complete")
    taken = [job_id for job_id, _ in ran]
    assert len(taken) == len(ids) and set(taken) == set(ids), "a job ran twice or never"
    assert {worker for _, worker in ran} == {pool.id for pool in pools}
    for job in await first.list_jobs(JobStatus.COMPLETED, limit=300):
        assert job.attempts == 1


# -- the memory engine ------------------------------------------------------------------------
async def test_memory_stores_are_per_name_and_the_default_engine(
    prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JOBDECK_URL", raising=False)
    names = [f"memory://{prefix}-a", f"memory://{prefix}-a", f"memory://{prefix}-b"]
    services = [JobService(name, prefix=prefix) for name in names]
    try:
        one, same, other = services
        job_id = await one.submit_job("add", (1, 2))
        assert (await same.get_job(job_id)) is not None, "same name, same store"
        assert await other.get_job(job_id) is None, "another name, another store"
        assert one.description == f"memory://{prefix}-a/{prefix}/default"

        default = JobService(prefix=prefix)
        assert default.url == "memory://"
        monkeypatch.setenv("JOBDECK_URL", f"memory://{prefix}-a")
        from_env = JobService(prefix=prefix)
        assert await from_env.get_job(job_id) is not None
    finally:
        for name in {f"{prefix}-a", f"{prefix}-b", "default"}:
            MemoryBackend.forget(f"{name}/{prefix}/default")


# -- small async adapters ---------------------------------------------------------------------
async def _true(value: bool) -> bool:
    return value


async def _status_is(service: JobService, job_id: str, status: JobStatus) -> bool:
    job = await service.get_job(job_id)
    return job is not None and job.status == status
