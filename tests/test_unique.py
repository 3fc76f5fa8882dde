"""Unique jobs on both engines: one job per key while it is unfinished, the key released
when the job ends, a window that outlives the job, and 20 concurrent submitters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend

from .waiting import eventually, finished

Factory = Callable[[], JobService]


@pytest.fixture(params=["memory", "redis"])
async def make(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Factory]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
    else:
        url = f"memory://unique-{uuid.uuid4().hex[:8]}"
    made: list[JobService] = []

    def factory() -> JobService:
        made.append(JobService(url, queue="u", prefix=prefix))
        return made[-1]

    yield factory
    for svc in made:
        await svc.close()
    if request.param == "memory":
        MemoryBackend.forget(f"{url.split('://')[1]}/{prefix}/u")


async def test_second_submit_returns_the_first_job_until_it_ends(make: Factory) -> None:
    svc = make()
    first = await svc.submit_job("sync", [42], unique_key="sync:42")
    again = await svc.submit_job("sync", [42], unique_key="sync:42")
    other = await svc.submit_job("sync", [43], unique_key="sync:43")
    assert again == first and other != first
    assert len(await svc.list_jobs("pending")) == 2
    svc.register_handler("sync", lambda n: n)
    await svc.start_workers(1)
    await finished(svc, first)
    await svc.stop_workers()
    fresh = await svc.submit_job("sync", [42], unique_key="sync:42")
    assert fresh != first  # released when the job ended


async def test_cancelling_releases_the_key(make: Factory) -> None:
    svc = make()
    first = await svc.submit_job("sync", unique_key="k", delay=60)
    assert await svc.submit_job("sync", unique_key="k") == first
    assert await svc.cancel_job(first)
    assert await svc.submit_job("sync", unique_key="k") != first


@pytest.mark.slow
async def test_a_window_holds_the_key_after_the_job_ends(make: Factory) -> None:
    svc = make()
    svc.register_handler("ping", lambda: None)
    first = await svc.submit_job("ping", unique_key="ping", unique_for=1.0)
    await svc.start_workers(1)
    await finished(svc, first)
    await svc.stop_workers()
    assert await svc.submit_job("ping", unique_key="ping", unique_for=1.0) == first

    async def released() -> bool:
        return await svc.submit_job("ping", unique_key="ping", unique_for=1.0) != first

    await eventually(released, timeout=5, what="the window to end", interval=0.1)


async def test_twenty_concurrent_submitters_make_one_job(make: Factory) -> None:
    submitters = [make() for _ in range(20)]
    await asyncio.gather(*(svc.initialize() for svc in submitters))
    ids = await asyncio.gather(
        *(svc.submit_job("sync", [i], unique_key="sync:all") for i, svc in enumerate(submitters))
    )
    assert len(set(ids)) == 1
    assert len(await submitters[0].list_jobs("pending")) == 1


async def test_submit_jobs_deduplicates_within_a_batch(make: Factory) -> None:
    svc = make()
    ids = await svc.submit_jobs(
        [{"name": "a", "unique_key": "x"}, {"name": "a", "unique_key": "x"}, {"name": "b"}]
    )
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"unique_key": ""}, "unique_key"),
        ({"unique_key": 5}, "unique_key"),
        ({"unique_for": 10}, "unique_for"),
        ({"unique_key": "k", "unique_for": 0}, "unique_for"),
        ({"unique_key": "k", "unique_for": float("nan")}, "unique_for"),
    ],
)
async def test_bad_unique_options_name_the_field(options: dict, field: str) -> None:
    svc = JobService("memory://unique-bad")
    with pytest.raises(ValueError, match=rf"^{field}"):
        await svc.submit_job("a", **options)
