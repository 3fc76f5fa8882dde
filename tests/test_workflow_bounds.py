"""Each call's bound whatever the data (issue 23: no call holds the engine long), on both
engines where the bound is one of steps, on Redis where it is one of bytes read:

- a call takes at most STEP items of the work list, a stale one (its job gone or moved on)
  costing a step too, so a work list of any length drains over calls, never in one;
- a claim's pops expire at most EXPIRE_AT_POP jobs besides its sweep's (the claim stops as if
  full and the next one goes on), so a backlog of expired jobs never makes one claim long;
- (Redis) a call reads at most BYTES of parent lists and one list more: the sweep that
  expires many jobs with long parent lists copies what fits and leaves the rest to later
  steps, which read the copies a window at a time; every kept result is let go in the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from jobdeck.core import JobService, JobSpec
from jobdeck.core.backend.base import Finish, Outcome
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.backend.memory.expiry import EXPIRE_AT_POP
from jobdeck.core.backend.memory.workflows import STEP
from jobdeck.core.backend.redis import RedisBackend

from .test_workflow_steps import leftovers
from .waiting import eventually

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(params=["memory", "redis"])
def url(request: pytest.FixtureRequest, prefix: str) -> Iterator[str]:
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
        return
    yield f"memory://{prefix}"
    MemoryBackend.forget(f"{prefix}/{prefix}/default")


@pytest.fixture
async def service(url: str, prefix: str) -> AsyncIterator[JobService]:
    service = JobService(url, prefix=prefix)
    await service.initialize()
    yield service
    await service.close()


def _base(service: JobService) -> str:
    return f"{service.prefix}:{{{service.queue}}}:"


async def work_items(service: JobService) -> list[str]:
    backend = service.backend
    if isinstance(backend, RedisBackend):
        return [i.decode() for i in await backend.client.lrange(_base(service) + "wf", 0, -1)]
    assert isinstance(backend, MemoryBackend)
    return [" ".join(str(part) for part in item) for item in backend._lib.s.flows.work]


async def wake_ups(service: JobService, clear: bool = False) -> int:
    """The wake-ups left for idle workers (the `wake` list; the memory engine's count)."""
    backend = service.backend
    if isinstance(backend, RedisBackend):
        key = _base(service) + "wake"
        if clear:
            await backend.client.delete(key)
        return int(await backend.client.llen(key))
    assert isinstance(backend, MemoryBackend)
    if clear:
        backend._lib.s.wake = 0
    return backend._lib.s.wake


async def add_stale_items(service: JobService, count: int) -> None:
    """Steps of jobs that no longer exist (linking them finds nothing to do)."""
    backend = service.backend
    if isinstance(backend, RedisBackend):
        items = [f"l gone-{i} 0 1" for i in range(count)]
        await backend.client.rpush(_base(service) + "wf", *items)
        return
    assert isinstance(backend, MemoryBackend)
    backend._lib.s.flows.work.extend(("l", f"gone-{i}", "0", 0) for i in range(count))


async def test_a_call_takes_at_most_a_step_of_the_work_list_stale_or_not(
    service: JobService,
) -> None:
    await add_stale_items(service, 3 * STEP)
    await service.backend.claim("w1", 0, 5.0)  # a claim advances the work list
    assert len(await work_items(service)) >= 2 * STEP
    await service.backend.claim("w1", 0, 5.0)
    assert len(await work_items(service)) >= STEP
    for _ in range(2):
        await service.backend.claim("w1", 0, 5.0)
    assert await work_items(service) == []


async def test_a_claim_expires_a_bounded_number_of_the_jobs_it_pops(
    service: JobService,
) -> None:
    total = 4 * EXPIRE_AT_POP
    ids = await service.submit_jobs([JobSpec("noop", expires=0.3) for _ in range(total)])
    await asyncio.sleep(0.4)
    # its sweep ends the first EXPIRE_AT_POP (100); its pops end at most EXPIRE_AT_POP more
    await wake_ups(service, clear=True)
    batch = await service.backend.claim("w1", 1, 5.0)  # its bound met at a batch's end
    assert batch.jobs == []
    expired = (await service.get_metrics()).depths["expired"]
    assert 0 < expired <= 2 * EXPIRE_AT_POP, expired
    assert await wake_ups(service) >= 1  # a worker claims again at once, not after its wait
    for _ in range(4):
        assert (await service.backend.claim("w1", 10, 5.0)).jobs == []
    metrics = await service.get_metrics()
    assert metrics.depths["expired"] == total and metrics.depths["pending"] == 0
    assert {(await service.get_job(i)).status.value for i in ids[:: EXPIRE_AT_POP]} == {  # type: ignore[union-attr]
        "expired"
    }


async def waiting_on_long_lists(
    service: JobService, expires: float | None, gated: bool = True
) -> list[str]:
    """Eight waiting jobs, each after 2,000 completed parents of 120-character ids (a list of
    242 KB, each result kept for them) and one parent, `gate`, that has not run (`gated`;
    else they are released)."""
    parents = [f"p{i:04d}-" + "x" * 114 for i in range(2_000)]
    await service.submit_jobs([JobSpec("noop", job_id=p) for p in parents])
    gate = await service.submit_job("noop", job_id="gate", delay=600)
    while batch := (await service.backend.claim("w1", 500, 30.0)).jobs:
        done = [Finish(j.id, j.token, Outcome.COMPLETED, b"1", event_data=b"{}") for j in batch]
        await service.backend.finish("w1", done)
    thens = await service.submit_jobs(
        [JobSpec("noop", after=[*parents, gate][: None if gated else -1], expires=expires)
         for _ in range(8)]
    )
    while await work_items(service):  # linked, each pinning 2,000 results
        await service.backend.claim("w1", 0, 5.0)
    client = service.backend.client  # type: ignore[attr-defined]
    assert len(await client.hkeys(_base(service) + "res:" + parents[0])) == 9
    if not gated:
        await service.cancel_job(gate)
    return thens


async def let_go(service: JobService) -> None:
    """Claims advance the work list until it is empty; then nothing of the workflows is
    left."""

    async def drained() -> bool:
        await service.backend.claim("w1", 0, 5.0)
        return not await work_items(service)

    await eventually(drained, 60, "the work list to be done")
    assert await leftovers(service) == []


async def test_a_sweep_reads_a_bounded_number_of_bytes_of_parent_lists(
    redis_url: str, prefix: str
) -> None:
    """The eight expire in one sweep: the call copies the lists that fit in its bytes (four,
    about 1 MB) and leaves the others to later calls; every result kept for them is let go
    in the end, across the copies' windows."""
    service = JobService(redis_url, prefix=prefix)
    await service.initialize()
    try:
        thens = await waiting_on_long_lists(service, expires=2.0)
        await asyncio.sleep(2.1)
        await service.backend.claim("w1", 0, 5.0)  # the sweep expires all eight
        assert (await service.get_metrics()).depths["expired"] == 8
        client = service.backend.client  # type: ignore[attr-defined]
        copies = [k async for k in client.scan_iter(_base(service) + "ua:*")]
        later = [i for i in await work_items(service) if i.startswith("U ")]
        assert 1 <= len(copies) <= 5 and len(later) == 8 - len(copies), (copies, later)
        await service.cancel_job("gate")  # its edges to them go too
        await let_go(service)
        assert {(await service.get_job(t)).status.value for t in thens} == {"expired"}  # type: ignore[union-attr]
    finally:
        await service.close()


async def test_a_purge_reads_a_bounded_number_of_bytes_of_parent_lists(
    redis_url: str, prefix: str
) -> None:
    """The eight purged while they wait: the call copies the lists that fit in its bytes and
    keeps the other records aside (ug:<id>) for later steps to copy; nothing is left."""
    service = JobService(redis_url, prefix=prefix)
    await service.initialize()
    try:
        thens = await waiting_on_long_lists(service, expires=None)
        assert await service.purge("waiting") == 8
        client = service.backend.client  # type: ignore[attr-defined]
        copies = [k async for k in client.scan_iter(_base(service) + "ua:*")]
        aside = [k async for k in client.scan_iter(_base(service) + "ug:*")]
        assert 1 <= len(copies) <= 5 and len(aside) == 8 - len(copies), (copies, aside)
        assert [await service.get_job(t) for t in thens] == [None] * 8
        await service.cancel_job("gate")
        await let_go(service)
    finally:
        await service.close()


async def test_a_finish_reads_a_bounded_number_of_bytes_of_parent_lists(
    redis_url: str, prefix: str
) -> None:
    """The eight, released, complete in one finish call: it copies the lists that fit in its
    bytes and leaves the others to later steps, which set those records' expiry (their result
    ttl) once they copied their lists: a record never expires before its list is read."""
    service = JobService(redis_url, prefix=prefix)
    await service.initialize()
    try:
        thens = await waiting_on_long_lists(service, expires=None, gated=False)
        batch = (await service.backend.claim("w1", 8, 30.0)).jobs
        assert sorted(j.id for j in batch) == sorted(thens)
        done = [Finish(j.id, j.token, Outcome.COMPLETED, b"2", event_data=b"{}") for j in batch]
        assert await service.backend.finish("w1", done) == [True] * 8
        client = service.backend.client  # type: ignore[attr-defined]
        later = [i.split()[1] for i in await work_items(service) if i.startswith("U ")]
        assert 3 <= len(later) <= 7, later
        assert {await client.pttl(_base(service) + "job:" + t) for t in later} == {-1}
        await let_go(service)
        ttls = [await client.pttl(_base(service) + "job:" + t) for t in thens]
        assert all(ttl > 0 for ttl in ttls), ttls
    finally:
        await service.close()
