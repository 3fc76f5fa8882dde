"""The seed's quick start runs with only its import line changed: `redis_url=`, its own
synchronous event bus (only `publish_simple`), handlers registered before and after
`initialize()`, `start_workers()` with no count, `submit_job(name, args=(123,))`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from jobdeck.core import JobService  # the seed imported its own JobService here
from jobdeck.core.backend.memory import MemoryBackend

from .apps.seed_events import Events, get_event_bus, reset_event_bus
from .waiting import eventually

pytestmark = pytest.mark.timeout(30)


@pytest.fixture(params=["memory", "redis"])
def seed_url(request: pytest.FixtureRequest) -> Iterator[str]:
    reset_event_bus()
    if request.param == "redis":
        yield request.getfixturevalue("redis_url")
    else:
        yield "memory://seed"
        MemoryBackend.forget("seed/jobdeck/default")
    reset_event_bus()


async def process_item(item_id: int) -> dict[str, Any]:
    return {"item": item_id, "processed": True}


def archive_item(item_id: int) -> str:
    return f"archived {item_id}"


async def test_the_seed_quick_start(seed_url: str) -> None:
    completed: list[Any] = []
    get_event_bus().subscribe(Events.JOB_COMPLETED, completed.append)

    # -- the seed's snippet, verbatim but for the import line --------------------------------
    service = JobService(redis_url=seed_url, event_bus=get_event_bus())
    service.register_handler("process_item", process_item)
    await service.initialize()
    service.register_handler("archive_item", archive_item)
    await service.start_workers()
    job_id = await service.submit_job("process_item", args=(123,))
    other = await service.submit_job("archive_item", args=(123,))
    # ------------------------------------------------------------------------------------------
    try:
        assert await service.result(job_id, timeout=10) == {"item": 123, "processed": True}
        assert await service.result(other, timeout=10) == "archived 123"

        async def heard() -> bool:
            return {e.data["job_id"] for e in completed} == {job_id, other}

        await eventually(heard, what="the seed's subscriber to hear both completions")
        published = get_event_bus().published
        assert {e.source for e in published} == {"job_service"}
        life = [e.event_type for e in published if e.data.get("job_id") == job_id]
        assert life == [Events.JOB_SUBMITTED, Events.JOB_STARTED, Events.JOB_COMPLETED]
        assert Events.JOB_SERVICE_WORKERS_STARTED in [e.event_type for e in published]
        done = next(e for e in completed if e.data["job_id"] == job_id)
        assert done.data["name"] == "process_item" and done.data["status"] == "completed"
        assert isinstance(done.data["runtime"], float) and done.data["event_id"]
        assert (service.pool is not None) and service.pool.concurrency >= 1
    finally:
        await service.close()


def test_url_and_redis_url_cannot_disagree() -> None:
    assert JobService(redis_url="memory://a").url == "memory://a"
    assert JobService("memory://a", redis_url="memory://a").url == "memory://a"
    with pytest.raises(ValueError, match=r"^url, redis_url: give one of them"):
        JobService("memory://a", redis_url="memory://b")


async def test_a_bus_that_raises_is_logged_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def publish_simple(self, event_type: Any, data: Any, source: str | None = None) -> None:
            raise RuntimeError("the seed's bus is down")

    heard: list[Any] = []
    async with JobService("memory://seed-broken", event_bus=Broken()) as service:
        service.subscribe(None, heard.append)
        service.register_handler("x", lambda: 1)
        await service.start_workers(1)
        job_id = await service.submit_job("x")
        assert await service.result(job_id, timeout=10) == 1
        await eventually(lambda: asyncio.sleep(0, result=len(heard) >= 3), what="events")
    assert "the seed's bus is down" in caplog.text
    MemoryBackend.forget("seed-broken/jobdeck/default")
