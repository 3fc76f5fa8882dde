"""Workflows at scale, both engines: a call resolves at most STEP edges (500) and leaves the
rest to the work list every claim and heartbeat advances, so a parent with thousands of
children, a chain of thousands failing at once, and a `then` after thousands of jobs each
end with every child released (or ended) exactly once; and nothing is left behind (no kept
result, edge list, copy or work item) once the jobs have ended."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest

from jobdeck.core import Events, JobService, JobSpec, JobStatus, WorkerSettings
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.redis import RedisBackend

from .waiting import eventually

pytestmark = pytest.mark.timeout(120)
N = 1_200  # past two steps' worth of edges


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    settings = WorkerSettings(lease=5.0, heartbeat_interval=0.2, idle_wait=0.2)
    service = JobService(url, prefix=prefix, worker_settings=settings)
    await service.initialize()

    @service.handler("noop")
    async def noop(*args: object) -> int:
        return 1

    @service.handler("count")
    async def count(results: list[int]) -> int:
        return sum(results)

    @service.handler("boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    yield service
    await service.close()


async def leftovers(service: JobService) -> list[str]:
    """Workflow state still stored: kept results, edge lists, copies, the work list."""
    backend = service.backend
    if isinstance(backend, RedisBackend):
        base = f"{service.prefix}:{{{service.queue}}}:"
        found = []
        for kind in ("res:", "kids:", "ua:", "ug:", "wf", "exp"):
            found += [k.decode() async for k in backend.client.scan_iter(f"{base}{kind}*")]
        return [k for k in found if not k.endswith((":waiting", ":expired"))]
    assert isinstance(backend, MemoryBackend)
    flows = backend._lib.s.flows
    return [
        *(f"res:{k}" for k in flows.kept),
        *(f"kids:{k}" for k, v in flows.kids.items() if v),
        *(f"ua:{k}" for k in flows.unpins),
        *(["wf"] if flows.work else []),
        *(["exp"] if len(flows.expiring) else []),
    ]


async def nothing_left(service: JobService) -> None:
    """The work list drains by itself (each call wakes a worker while work is left)."""

    async def probe() -> bool:
        return await leftovers(service) == []

    await eventually(probe, 30, "the workflow state to be let go")


async def all_done(service: JobService, ids: list[str], status: JobStatus) -> None:
    async def probe() -> bool:
        metrics = await service.get_metrics()
        wanted = {"completed": "completed", "failed": "failed"}[status.value]
        return metrics.depths[wanted] >= len(ids) and metrics.depths["waiting"] == 0

    await eventually(probe, 60, f"{len(ids)} jobs to be {status}")


def released(events: list, ids: set[str]) -> Counter[str]:
    return Counter(e.job_id for e in events if e.type == Events.JOB_RELEASED and e.job_id in ids)


async def test_a_parent_with_thousands_of_children_releases_each_once(service: JobService) -> None:
    parent = await service.submit_job("noop", delay=0.3)
    children = await service.submit_jobs([JobSpec("noop", after=[parent]) for _ in range(N)])
    assert (await service.get_metrics()).depths["waiting"] == N
    await service.start_workers(8)
    await all_done(service, [parent, *children], JobStatus.COMPLETED)
    counts = released(await service.event_log(), set(children))
    assert len(counts) == N and set(counts.values()) == {1}
    family = await service.job_relatives(parent, limit=10)
    assert family.children_total == N and len(family.children) == 10
    await nothing_left(service)


async def test_a_failed_head_fails_a_long_chain_in_bounded_steps(service: JobService) -> None:
    ids = await service.submit_chain([JobSpec("boom"), *(JobSpec("noop") for _ in range(N))])
    await service.start_workers(2)
    await all_done(service, ids, JobStatus.FAILED)
    last = await service.get_job(ids[-1])
    assert last is not None and last.error is not None and last.error.type == "ParentFailed"
    assert (await service.get_metrics()).totals["dead"] == N + 1
    await nothing_left(service)


async def test_a_then_after_thousands_runs_once_with_every_result(service: JobService) -> None:
    group = await service.submit_group(
        [JobSpec("noop") for _ in range(2 * N)], then=JobSpec("count")
    )
    assert group.then_id is not None
    await service.start_workers(8)
    assert await service.result(group.then_id, timeout=60) == 2 * N
    starts = [e for e in await service.event_log() if e.job_id == group.then_id]
    assert [e.type for e in starts].count(Events.JOB_STARTED) == 1
    await nothing_left(service)
