"""Routing and limits with real `jobdeck worker` processes on one Redis (issues 22, 24): a job
waits for a worker that has its handler, and concurrency and rate limits hold across every
worker, measured from the handlers' own records of when they ran."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis

from jobdeck.core import JobService, JobSpec, JobStatus

from .waiting import eventually
from .worker_process import WorkerProcess, spawned_workers

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]
QUEUE = "flow"
Spawn = Callable[..., WorkerProcess]


@pytest.fixture
async def service(redis_url: str, prefix: str) -> AsyncIterator[JobService]:
    async with JobService(redis_url, queue=QUEUE, prefix=prefix) as svc:
        yield svc


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def spawn_old(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Spawn]:
    with spawned_workers(
        "tests.apps.flow:old", redis_url, queue=QUEUE, prefix=prefix, log_dir=tmp_path, lease=5
    ) as spawn:
        yield spawn


@pytest.fixture
def spawn_new(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[Spawn]:
    with spawned_workers(
        "tests.apps.flow:new", redis_url, queue=QUEUE, prefix=prefix, log_dir=tmp_path, lease=5
    ) as spawn:
        yield spawn


def spans(r: redis.Redis, trace: str) -> list[tuple[float, float, int]]:
    out = []
    for raw in r.lrange(trace, 0, -1):
        began, ended, pid = raw.decode().split()
        out.append((float(began), float(ended), int(pid)))
    return out


def most_at_once(runs: list[tuple[float, float, int]]) -> int:
    edges = sorted([(b, 1) for b, _, _ in runs] + [(e, -1) for _, e, _ in runs])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    return peak


async def test_a_job_waits_unserved_for_a_worker_that_has_its_handler(
    service: JobService, spawn_old: Spawn, spawn_new: Spawn, r: redis.Redis, prefix: str
) -> None:
    trace = f"{prefix}:ran"
    spawn_old(concurrency=4)
    await eventually(lambda: _workers(service, 1), what="the old worker")
    resize = await service.submit_jobs([JobSpec("resize", (trace,))] * 20)
    step = await service.submit_jobs([JobSpec("step", (trace,))] * 20)

    async def unserved_and_drained() -> bool:
        m = await service.get_metrics()
        return m.held["unserved"] == {"resize": 20} and m.depths["completed"] == 20

    await eventually(unserved_and_drained, 20, "20 resize jobs unserved, the steps done")
    for job_id in resize:
        job = await service.get_job(job_id)
        assert job is not None and (job.status, job.attempts) == (JobStatus.PENDING, 0)
    assert (await service.get_metrics()).depths["failed"] == 0

    spawn_new(concurrency=4)

    async def all_done() -> bool:
        return (await service.get_metrics()).depths["completed"] == 40

    await eventually(all_done, 30, "the resize jobs to run on the new worker")
    m = await service.get_metrics()
    assert (m.unserved, m.depths["pending"], m.depths["failed"]) == (0, 0, 0)
    assert len(spans(r, trace)) == len(resize) + len(step)  # each ran once


async def test_concurrency_holds_across_worker_processes(
    service: JobService, spawn_new: Spawn, r: redis.Redis, prefix: str
) -> None:
    """concurrency=3 under 3 workers x 8 slots: never more than 3 of the key's jobs at once,
    while unlimited jobs (submitted after them) run beside them."""
    limited, free = f"{prefix}:limited", f"{prefix}:free"
    await service.set_limit("k", concurrency=3)
    for _ in range(3):
        spawn_new(concurrency=8)
    await eventually(lambda: _workers(service, 3), what="three workers")
    await service.submit_jobs([JobSpec("span", (limited, 100), limit="k")] * 18)
    await service.submit_jobs([JobSpec("span", (free, 50))] * 30)

    async def done() -> bool:
        return (await service.get_metrics()).depths["completed"] == 48

    await eventually(done, 30, "every job to run")
    runs = spans(r, limited)
    assert len(runs) == 18
    assert most_at_once(runs) == 3
    assert len({pid for _, _, pid in runs}) > 1  # the limit held across processes
    free_runs = spans(r, free)
    assert max(e for _, e, _ in free_runs) < max(e for _, e, _ in runs)  # flowed past
    limit = (await service.list_limits())[0]
    assert (limit.in_use, limit.throttled) == (0, 0)


async def test_rate_holds_across_worker_processes(
    service: JobService, spawn_new: Spawn, prefix: str
) -> None:
    """rate=5 per 0.5 s under 2 workers: in any 0.5 s, at most 5 starts (on the server's
    clock, where the claim counts them), and the key's jobs keep to the rate."""
    await service.set_limit("api", rate=5, per=0.5)
    for _ in range(2):
        spawn_new(concurrency=8)
    await eventually(lambda: _workers(service, 2), what="two workers")
    ids = await service.submit_jobs([JobSpec("span", (f"{prefix}:ran",), limit="api")] * 20)

    async def done() -> bool:
        return (await service.get_metrics()).depths["completed"] == 20

    await eventually(done, 30, "every job to run")
    starts = sorted([(await service.get_job(i)).started_at or 0 for i in ids])  # type: ignore[union-attr]
    assert all(b - a >= 0.5 - 1e-6 for a, b in zip(starts, starts[5:], strict=False))
    # 20 jobs at 5 per 0.5 s: the last starts 1.5 s after the first, and not much later.
    assert 1.5 - 1e-6 <= starts[-1] - starts[0] < 3.0


async def _workers(service: JobService, n: int) -> bool:
    with contextlib.suppress(Exception):
        return len(await service.list_workers()) >= n
    return False
