"""Schedules on both engines: the fire-and-advance script, the service API, the scheduler
loop. The multi-process and outage tests are in test_schedules_procs.py."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from jobdeck.core import JobService
from jobdeck.core.backend.base import Backend
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.events import Event, Events
from jobdeck.core.schedules import Scheduler, new_schedule, tick_job_id
from jobdeck.core.schedules.scheduler import fire_for, put_spec

from .waiting import eventually


@pytest.fixture(params=["memory", "redis", "cluster"])
async def service(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[JobService]:
    if request.param == "cluster":
        url = request.getfixturevalue("redis_cluster").url
    elif request.param == "redis":
        url = request.getfixturevalue("redis_url")
    else:
        url = f"memory://sched-{uuid.uuid4().hex[:8]}"
    svc = JobService(url, queue="q", prefix=prefix)
    await svc.initialize()
    yield svc
    await svc.close()
    if request.param == "memory":
        MemoryBackend.forget(f"{url.split('://')[1]}/{prefix}/q")


async def events_of(svc: JobService, *types: str) -> list[Event]:
    """Every stored event of these types, oldest first."""
    events = await svc.backend.read_events("0-0", 100_000, 0.01)
    return [e for e in events if str(e.type) in types]


async def test_two_schedulers_seeing_one_tick_fire_it_once(service: JobService) -> None:
    backend: Backend = service.backend
    spec = new_schedule("s1", "work", every=timedelta(seconds=60))
    tick = 1_000_000_020_000
    assert await backend.put_schedule("s1", spec.to_json(), spec.timing, tick, "work") == 1
    # Both saw the schedule due at `tick` and planned the same fire; only one goes through.
    one = fire_for(spec, tick, tick + 60_000, tick, 0)
    two = fire_for(spec, tick, tick + 60_000, tick, 0)
    assert await backend.fire_schedules([one]) == [True]
    assert await backend.fire_schedules([two]) == [False]
    job = await service.get_job(tick_job_id("s1", tick))
    assert job is not None and job.name == "work" and job.status == "pending"
    fired = await events_of(service, Events.SCHEDULE_FIRED)
    assert [e.data["schedule"] for e in fired] == ["s1"]
    [info] = await service.list_schedules()
    assert info.next_fire == (tick + 60_000) / 1000
    assert info.last_job_id == tick_job_id("s1", tick) and info.last_status == "pending"


async def test_declaring_again_is_idempotent_and_keeps_pause(service: JobService) -> None:
    backend = service.backend
    spec = new_schedule("s2", "work", cron="0 3 * * *", timezone="Europe/Berlin")
    assert await put_spec(backend, spec) == 1
    assert await put_spec(backend, spec) == 0
    assert await service.pause_schedule("s2") is True
    assert await service.pause_schedule("s2") is False
    changed = new_schedule("s2", "work", cron="0 4 * * *", timezone="Europe/Berlin")
    assert await put_spec(backend, changed) == 2
    info = await service.get_schedule("s2")
    assert info is not None and info.paused and info.next_fire is None and info.cron == "0 4 * * *"
    assert await service.resume_schedule("s2") is True
    info = await service.get_schedule("s2")
    assert info is not None and not info.paused and info.next_fire is not None
    assert time.gmtime(info.next_fire).tm_hour in (2, 3)  # 04:00 in Berlin, CET or CEST


async def test_service_api_round_trip(service: JobService) -> None:
    info = await service.add_schedule("nightly", "backup", cron="0 3 * * *", args=["/srv"])
    assert info.to_dict()["cron"] == "0 3 * * *" and info.args == ["/srv"]
    job_id = await service.trigger_schedule("nightly")
    job = await service.get_job(job_id)
    assert job is not None and job.name == "backup" and list(job.args) == ["/srv"]
    again = await service.get_schedule("nightly")
    assert again is not None and again.last_job_id == job_id
    assert again.next_fire == info.next_fire  # a manual trigger leaves the ticks alone
    with pytest.raises(KeyError, match="no schedule named 'nope'"):
        await service.trigger_schedule("nope")
    with pytest.raises(KeyError):
        await service.pause_schedule("nope")
    assert await service.remove_schedule("nightly") is True
    assert await service.remove_schedule("nightly") is False
    assert await service.list_schedules() == []
    types = [str(e.type) for e in await events_of(service, *(t.value for t in Events))]
    for expected in ("SCHEDULE_ADDED", "SCHEDULE_FIRED", "SCHEDULE_REMOVED"):
        assert expected in types


async def test_paused_schedule_does_not_fire(service: JobService) -> None:
    spec = new_schedule("p", "work", every=timedelta(seconds=60))
    await service.backend.put_schedule("p", spec.to_json(), spec.timing, 1000, "work")
    await service.pause_schedule("p")
    scheduler = Scheduler(service.backend)
    await scheduler.run_once()
    assert scheduler.fired == 0
    assert await service.list_jobs("pending") == []


@pytest.mark.slow
async def test_the_scheduler_loop_fires_each_tick_once(service: JobService) -> None:
    service.register_handler("work", lambda: None)
    service.schedule("fast", "work", every=timedelta(seconds=1))
    await service._schedules.write_declared()
    await service.start_workers(2)
    other = Scheduler(service.backend)  # a second scheduler on the same queue
    task = asyncio.get_running_loop().create_task(other.run())
    try:
        await eventually(lambda: _fired_at_least(service, 3), timeout=10)
    finally:
        task.cancel()
        await service.stop_workers()
    fired = await events_of(service, Events.SCHEDULE_FIRED)
    ticks = [e.data["tick"] for e in fired]
    assert len(ticks) == len(set(ticks)) >= 3
    assert ticks == sorted(ticks) and all(b - a == 1 for a, b in itertools.pairwise(ticks))


async def _fired_at_least(service: JobService, count: int) -> bool:
    return len(await events_of(service, Events.SCHEDULE_FIRED)) >= count


async def test_a_malformed_definition_is_listed_not_fired(service: JobService) -> None:
    await service.backend.put_schedule("bad", b"{not json", "[]", 1000, "x")
    [info] = await service.list_schedules()
    assert info.error == "definition: not JSON" and info.job == "<malformed>"
    scheduler = Scheduler(service.backend)
    await scheduler.run_once()
    assert scheduler.fired == 0


def test_schedule_is_a_plain_call_and_validates_at_once() -> None:
    svc = JobService("memory://plain")
    svc.schedule("a", "job", every=30)
    with pytest.raises(ValueError, match=r"^cron"):
        svc.schedule("b", "job", cron="bad")

    @svc.periodic(every=timedelta(minutes=5))
    def cleanup() -> None: ...

    assert "cleanup" in svc.handlers and set(svc._declared) == {"a", "cleanup"}


def test_the_blocking_service_has_the_schedule_and_unique_methods(
    redis_url: str, prefix: str
) -> None:
    from jobdeck.core import ScheduleInfo, SyncJobService

    with SyncJobService(redis_url, "q", prefix) as svc:
        info = svc.add_schedule("s", "work", every=60)
        assert isinstance(info, ScheduleInfo) and [i.name for i in svc.list_schedules()] == ["s"]
        assert svc.pause_schedule("s") and svc.resume_schedule("s")
        assert svc.trigger_schedule("s").startswith("sched:s:manual-")
        assert svc.get_schedule("s") is not None and svc.remove_schedule("s")
        first = svc.submit_job("work", unique_key="k")
        assert svc.submit_job("work", unique_key="k") == first


async def test_first_fire_and_resume_follow_the_servers_clock(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28, item 13: a process whose clock is a day ahead declares, resumes and
    triggers a schedule; its fire times still come from the server's clock (the scheduler
    decides what is due by it), not a day late. On the memory engine the process's clock is
    the engine's: there is nothing to disagree."""
    svc = JobService(redis_url, queue="q", prefix=prefix)
    await svc.initialize()
    try:
        seconds, micros = await svc.backend.client.time()  # type: ignore[attr-defined]
        server_ms = seconds * 1000 + micros // 1000
        ahead = 86_400.0
        real_time, real_time_ns = time.time, time.time_ns
        monkeypatch.setattr(time, "time", lambda: real_time() + ahead)
        monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + int(ahead * 1e9))
        await svc.add_schedule("clock", "work", every=timedelta(seconds=60))

        def due_in() -> float:
            return (info.next_fire or 0) - server_ms / 1000

        info = (await svc.list_schedules())[0]
        assert 0 < due_in() <= 61
        await svc.pause_schedule("clock")
        await svc.resume_schedule("clock")
        info = (await svc.list_schedules())[0]
        assert 0 < due_in() <= 61
        job_id = await svc.trigger_schedule("clock")
        fired = await events_of(svc, Events.SCHEDULE_FIRED)
        assert fired[-1].job_id == job_id
        assert abs(fired[-1].data["tick"] - server_ms / 1000) < 60
    finally:
        await svc.close()
