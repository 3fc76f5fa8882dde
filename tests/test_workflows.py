"""Workflows over both engines (issue 23 §3): jobs after other jobs, chains, groups with a
`then`, what a parent's end does to its children, and the bad input that writes nothing.

Handlers run in this process on the service's own pool; the claim-time and sweep-time ends of
`expires` are tests/test_expires.py's, the bounded steps at scale tests/test_workflow_steps.py's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC
from typing import Any

import pytest

from jobdeck.core import (
    JobCancelled,
    JobFailed,
    JobService,
    JobSpec,
    JobStatus,
    RetryPolicy,
    WorkerSettings,
    current_job,
)
from jobdeck.core.backend.base import BackendSettings
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually

pytestmark = pytest.mark.timeout(60)
Make = Callable[..., Awaitable[JobService]]


@pytest.fixture(params=["memory", "redis", "cluster"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    if request.param == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    yield f"memory://{prefix}"
    for queue in ("default", "other"):
        MemoryBackend.forget(f"{prefix}/{prefix}/{queue}")


@pytest.fixture
async def make(url: str, prefix: str) -> AsyncIterator[Make]:
    opened: list[JobService] = []

    async def make(queue: str = "default", **options: Any) -> JobService:
        options.setdefault("retry_policy", RetryPolicy(base=0.05, jitter=0.0))
        options.setdefault("worker_settings", WorkerSettings(lease=5.0, heartbeat_interval=0.3))
        service = JobService(url, queue=queue, prefix=prefix, **options)
        await service.initialize()
        opened.append(service)
        return service

    yield make
    for service in opened:
        await service.close()


@pytest.fixture
async def service(make: Make) -> JobService:
    return await make()


class Gate:
    """Handlers that finish only when a test says so: `gate.open(name)`."""

    def __init__(self) -> None:
        self.events: dict[str, asyncio.Event] = {}
        self.ran: list[str] = []

    def event(self, name: str) -> asyncio.Event:
        return self.events.setdefault(name, asyncio.Event())

    def open(self, name: str) -> None:
        self.event(name).set()


def handlers(service: JobService, gate: Gate) -> None:
    @service.handler("step")
    async def step(name: str, *rest: Any) -> str:
        gate.ran.append(name)
        await gate.event(name).wait()
        return f"{name}-done"

    @service.handler("ok")
    async def ok(name: str) -> str:
        gate.ran.append(name)
        return f"{name}-done"

    @service.handler("boom")
    async def boom(name: str) -> None:
        gate.ran.append(name)
        raise RuntimeError(f"{name} broke")

    @service.handler("parents")
    async def parents(name: str) -> dict[str, Any]:
        gate.ran.append(name)
        return current_job().parent_results()

    @service.handler("echo")
    async def echo(*args: Any) -> list[Any]:
        gate.ran.append(str(args[-1]))
        return list(args)


async def status(service: JobService, job_id: str) -> JobStatus:
    job = await service.get_job(job_id)
    assert job is not None
    return job.status


async def settles(service: JobService, job_id: str, expected: JobStatus) -> None:
    async def probe() -> bool:
        return await status(service, job_id) == expected

    await eventually(probe, 10, f"{job_id} to be {expected}")


# -- after= --------------------------------------------------------------------------------------
async def test_a_child_waits_for_every_parent_then_reads_their_results(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    await service.start_workers(4)
    first = await service.submit_job("step", ["a"])
    second = await service.submit_job("step", ["b"])
    child = await service.submit_job("parents", ["c"], after=[first, second])

    job = await service.get_job(child)
    assert job is not None and job.status == JobStatus.WAITING
    assert job.parents == (first, second) and job.waiting_for == 2
    assert (await service.get_metrics()).depths["waiting"] == 1
    gate.open("a")
    await settles(service, first, JobStatus.COMPLETED)
    assert await status(service, child) == JobStatus.WAITING
    assert (await service.get_job(child)).waiting_for == 1  # type: ignore[union-attr]
    gate.open("b")
    assert await service.result(child, timeout=10) == {first: "a-done", second: "b-done"}
    assert gate.ran == ["a", "b", "c"]
    assert (await service.get_metrics()).depths["waiting"] == 0
    family = await service.job_relatives(first)
    assert family.children == [(child, "completed")] and family.children_total == 1
    family = await service.job_relatives(child)
    assert family.parents == [(first, "completed"), (second, "completed")]


async def test_after_parents_that_already_completed_releases_at_once(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    await service.start_workers(2)
    parent = await service.submit_job("ok", ["a"])
    assert await service.result(parent) == "a-done"
    child = await service.submit_job("parents", ["b"], after=[parent])
    assert await service.result(child) == {parent: "a-done"}


async def test_a_delay_counts_from_the_release(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    parent = await service.submit_job("step", ["a"])
    child = await service.submit_job("ok", ["b"], after=[parent], delay=60)
    await service.start_workers(1)
    gate.open("a")
    await settles(service, child, JobStatus.SCHEDULED)
    job = await service.get_job(child)
    assert job is not None and job.scheduled_for is not None
    assert job.scheduled_for - job.created_at > 55


async def test_a_waiting_job_holds_its_unique_key(service: JobService) -> None:
    parent = await service.submit_job("step", ["a"])
    child = await service.submit_job("ok", ["b"], after=[parent], unique_key="nightly")
    assert await service.submit_job("ok", ["c"], unique_key="nightly") == child


# -- a parent that does not complete -------------------------------------------------------
async def test_a_failed_parent_fails_its_children_and_theirs(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    parent = await service.submit_job("boom", ["a"])
    child = await service.submit_job("ok", ["b"], after=[parent])
    grandchild = await service.submit_job("ok", ["c"], after=[child])
    await service.start_workers(2)
    with pytest.raises(JobFailed) as failed:
        await service.result(grandchild, timeout=10)
    assert failed.value.error_type == "ParentFailed" and child in failed.value.message
    with pytest.raises(JobFailed) as failed:
        await service.result(child)
    assert failed.value.error_type == "ParentFailed"
    assert f"parent {parent} failed" in failed.value.message
    assert gate.ran == ["a"]
    assert (await service.get_metrics()).depths["failed"] == 3


async def test_on_parent_failure_run_and_cancel(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    good = await service.submit_job("ok", ["a"])
    bad = await service.submit_job("boom", ["b"])
    runs = await service.submit_job("parents", ["c"], after=[good, bad], on_parent_failure="run")
    stops = await service.submit_job("ok", ["d"], after=[bad], on_parent_failure="cancel")
    await service.start_workers(2)
    assert await service.result(runs, timeout=10) == {good: "a-done"}  # the failed one left out
    with pytest.raises(JobCancelled):
        await service.result(stops)
    assert "d" not in gate.ran


async def test_cancelling_a_parent_cancels_its_children_unless_they_run_anyway(
    service: JobService,
) -> None:
    gate = Gate()
    handlers(service, gate)
    parent = await service.submit_job("step", ["a"])
    child = await service.submit_job("ok", ["b"], after=[parent])
    anyway = await service.submit_job("ok", ["c"], after=[parent], on_parent_failure="run")
    assert await service.cancel_job(parent)
    with pytest.raises(JobCancelled):
        await service.result(child, timeout=5)
    await service.start_workers(1)
    assert await service.result(anyway) == "c-done"
    events = [e async for e in _events(service) if e.job_id == child]
    assert events[-1].data["parent"] == parent and events[-1].data["reason"] == "parent"


async def _events(service: JobService) -> AsyncIterator[Any]:
    for event in await service.event_log():
        yield event


async def test_retrying_a_dead_parent_brings_back_the_children_it_failed(
    service: JobService,
) -> None:
    gate = Gate()
    handlers(service, gate)
    attempts = {"n": 0}

    @service.handler("flaky")
    async def flaky(name: str) -> str:
        attempts["n"] += 1
        if attempts["n"] == 1:
            raise RuntimeError("disk full")
        return "archive.tar"

    backup = await service.submit_job("flaky", ["backup"])
    verify = await service.submit_job("parents", ["verify"], after=[backup])
    prune = await service.submit_job("ok", ["prune"], after=[verify])
    await service.start_workers(2)
    await settles(service, prune, JobStatus.FAILED)
    # retrying the child alone while its parent is dead: it fails again at once
    assert await service.retry_dead_letter(verify)
    await settles(service, verify, JobStatus.FAILED)
    assert await service.retry_dead_letter(backup)
    assert await service.result(prune, timeout=10) == "prune-done"
    assert await service.result(verify) == {backup: "archive.tar"}
    assert gate.ran == ["verify", "prune"]


async def test_retrying_every_dead_letter_brings_a_workflow_back_whole(
    service: JobService,
) -> None:
    gate = Gate()
    handlers(service, gate)
    broken = {"yes": True}

    @service.handler("flaky")
    async def flaky(name: str) -> str:
        if broken["yes"]:
            raise RuntimeError("down")
        return f"{name}-done"

    ids = await service.submit_chain(
        [JobSpec("flaky", ["a"]), JobSpec("ok", ["b"]), JobSpec("ok", ["c"])]
    )
    await service.start_workers(2)
    await settles(service, ids[-1], JobStatus.FAILED)
    broken["yes"] = False
    assert await service.retry_all_dead_letters() == 3
    assert await service.result(ids[-1], timeout=10) == "c-done"
    assert gate.ran == ["b", "c"]


# -- chains and groups ---------------------------------------------------------------------------
async def test_a_chain_runs_in_order_and_may_pass_each_result_on(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    ids = await service.submit_chain(
        [JobSpec("echo", ["a"]), JobSpec("echo", ["b"]), JobSpec("echo", ["c"])],
        pass_results=True,
    )
    await service.start_workers(4)
    assert await service.result(ids[-1], timeout=10) == [[["a"], "b"], "c"]
    assert gate.ran == ["a", "b", "c"]
    plain = await service.submit_chain([JobSpec("ok", ["x"]), JobSpec("ok", ["y"])])
    assert await service.result(plain[-1]) == "y-done"


async def test_a_group_then_gets_every_result_in_order_once(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)
    runs: list[Any] = []

    @service.handler("total")
    async def total(results: list[str], label: str) -> str:
        runs.append(results)
        return f"{label}: {','.join(results)}"

    group = await service.submit_group(
        [JobSpec("step", [name]) for name in "abc"], then=JobSpec("total", ["sum"])
    )
    assert group.then_id is not None and len(group.ids) == 3
    await service.start_workers(4)
    for name in "cba":  # finishing in reverse order: the results still come in the group's
        gate.open(name)
    assert await service.result(group.then_id, timeout=10) == "sum: a-done,b-done,c-done"
    assert runs == [["a-done", "b-done", "c-done"]]


async def test_a_group_then_may_run_on_what_completed(service: JobService) -> None:
    gate = Gate()
    handlers(service, gate)

    @service.handler("collect")
    async def collect(results: list[Any]) -> list[Any]:
        return results

    group = await service.submit_group(
        [JobSpec("ok", ["a"]), JobSpec("boom", ["b"])],
        then={"name": "collect", "on_parent_failure": "run"},
    )
    await service.start_workers(2)
    assert await service.result(group.then_id or "", timeout=10) == ["a-done", None]


# -- results kept for children -----------------------------------------------------------------
async def test_a_parents_result_outlives_its_result_ttl_while_a_child_waits(make: Make) -> None:
    service = await make(settings=BackendSettings(result_ttl=0.2))
    gate = Gate()
    handlers(service, gate)
    quick = await service.submit_job("ok", ["a"])
    slow = await service.submit_job("step", ["b"])
    child = await service.submit_job("parents", ["c"], after=[quick, slow])
    await service.start_workers(2)
    await settles(service, quick, JobStatus.COMPLETED)

    async def record_gone() -> bool:
        return await service.get_job(quick) is None

    await eventually(record_gone, 5, "the parent's record to expire")
    gate.open("b")
    assert await service.result(child, timeout=10) == {quick: "a-done", slow: "b-done"}


# -- bad input: one clear error naming the field, nothing written ----------------------------------
async def test_bad_workflow_input_is_refused_and_writes_nothing(make: Make) -> None:
    service = await make()
    other = await make("other")
    elsewhere = await other.submit_job("ok", ["x"])
    parent = await service.submit_job("step", ["a"])
    before = (await service.get_metrics()).totals.get("submitted", 0)

    cases: list[tuple[Callable[[], Awaitable[Any]], type[Exception], str]] = [
        (lambda: service.submit_job("ok", after=parent), TypeError, "after: expected a list"),
        (lambda: service.submit_job("ok", after=[f"j{i}" for i in range(1_000_000)]),
         ValueError, "after: at most 10000 parents"),
        (lambda: service.submit_job("ok", after=["nope"]), ValueError, "after: no job 'nope'"),
        (lambda: service.submit_job("ok", after=[elsewhere]), ValueError,
         f"after: no job {elsewhere!r} on queue 'default'"),
        (lambda: service.submit_job("ok", after=[parent, parent]), ValueError, "listed twice"),
        (lambda: service.submit_job("ok", job_id="me", after=["me"]), ValueError,
         "cannot wait for itself"),
        (lambda: service.submit_job("ok", after=[parent], on_parent_failure="maybe"),
         ValueError, "on_parent_failure: expected one of fail, run, cancel"),
        (lambda: service.submit_job("ok", on_parent_failure="run"), ValueError,
         "on_parent_failure: only with after="),
        (lambda: service.submit_job("ok", expires=-1), ValueError, "expires: must be a positive"),
        (lambda: service.submit_job("ok", expires=5, delay=10), ValueError,
         "expires: 5s from now comes before the job's delay"),
        (lambda: service.submit_group([]), ValueError, "specs: a group needs at least one job"),
        (lambda: service.submit_group([], then=JobSpec("ok")), ValueError,
         "specs: a group needs at least one job"),
        (lambda: service.submit_group([JobSpec("ok") for _ in range(10_001)], then=JobSpec("ok")),
         ValueError, "specs: a group with a then has at most 10000 jobs, got 10001"),
        (lambda: service.submit_group([JobSpec("ok")], then=JobSpec("ok", expires=-1)),
         ValueError, "then: expires: must be a positive number of seconds"),
        (lambda: service.submit_chain([JobSpec("ok"), JobSpec("ok", meta={"x": "y" * 5000})]),
         ValueError, "job 1: meta: 5008 bytes of JSON, at most 4096"),
        (lambda: service.submit_chain([]), ValueError, "specs: a chain needs at least one job"),
        (lambda: service.submit_jobs([
            JobSpec("ok", job_id="a", after=["b"]), JobSpec("ok", job_id="b", after=["a"])
        ]), ValueError, "job 0: after: a cycle: a -> b -> a"),
        (lambda: service.submit_jobs([
            JobSpec("ok", after=["later"]), JobSpec("ok", job_id="later")
        ]), ValueError, "job 0: after: 'later' is submitted later in this batch"),
        (lambda: service.submit_jobs([
            JobSpec("ok", job_id="fine"), JobSpec("ok", after=["gone"])
        ]), ValueError, "job 1: after: no job 'gone'"),
        (lambda: service.submit_group([JobSpec("ok", after=[parent])]), ValueError,
         "job 0: after: not in a group"),
        (lambda: service.submit_chain([JobSpec("ok"), JobSpec("ok", unique_key="u")]),
         ValueError, "job 1: unique_key: not in a chain"),
        (lambda: service.submit_group([JobSpec("ok")], then={"name": "ok", "after": [parent]}),
         ValueError, "then: after: not on a group's then"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind) as refused:
            await call()
        assert message in str(refused.value), (message, str(refused.value))
    metrics = await service.get_metrics()
    assert metrics.totals.get("submitted", 0) == before
    assert metrics.depths["waiting"] == 0 and metrics.depths["pending"] == 1
    assert await service.get_job("fine") is None and await service.get_job("me") is None


async def test_an_expires_datetime_in_the_past_is_refused(service: JobService) -> None:
    from datetime import datetime, timedelta

    past = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(ValueError, match=r"expires: .* is in the past"):
        await service.submit_job("ok", expires=past)
    soon = datetime.now(UTC) + timedelta(hours=1)
    job = await service.get_job(await service.submit_job("ok", expires=soon))
    assert job is not None and job.expires_at is not None
    assert abs(job.expires_at - soon.timestamp()) < 5
