"""A worker cut off from Redis stops its own jobs before their leases run out, so another
worker that takes them up after the lease never runs beside it; and a job it held claimed
ahead does not start once its lease may be another worker's (issue 28, item 15).

The worker keeps its own clock of each lease: from the claim's reply, moved on by each
heartbeat that got through. Nothing here depends on the engine: the cut-off is a proxy in
front of a real Redis (tests/reply_dropper.py) that drops every connection and refuses new
ones."""

from __future__ import annotations

import asyncio
import time

from jobdeck.core import JobService
from jobdeck.core.backend.base import ClaimedJob, Finish, Outcome
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.core.worker.reporter import Reporter
from jobdeck.core.worker.settings import WorkerSettings
from jobdeck.core.worker.slots import Slots

from .reply_dropper import ReplyDropper
from .waiting import eventually

LEASE = 2.0
SETTINGS = WorkerSettings(lease=LEASE, heartbeat_interval=0.5, idle_wait=0.5)


async def test_a_worker_cut_off_stops_its_job_before_another_takes_it(
    redis_server, prefix: str
) -> None:
    proxy = await ReplyDropper(redis_server.port).start()
    timeline: dict[str, float] = {}

    async def long(worker: str) -> None:
        timeline[f"{worker} started"] = time.monotonic()
        try:
            await asyncio.sleep(30)
        finally:
            timeline.setdefault(f"{worker} stopped", time.monotonic())

    a = JobService(proxy.url, queue="q", prefix=prefix, worker_settings=SETTINGS)
    b = JobService(redis_server.url, queue="q", prefix=prefix, worker_settings=SETTINGS)
    a.register_handler("long", lambda: long("A"))
    b.register_handler("long", lambda: long("B"))
    try:
        await a.start_workers(1, worker_id="A", scheduler=False)
        job_id = await b.submit_job("long")
        await eventually(lambda: _true("A started" in timeline), what="A to start the job")
        proxy.cut()
        cut_at = time.monotonic()
        await b.start_workers(1, worker_id="B", scheduler=False)
        await eventually(
            lambda: _true("B started" in timeline), timeout=LEASE + 10, what="B to take it up"
        )
        assert "A stopped" in timeline, "A still runs the job B now runs"
        assert timeline["A stopped"] < timeline["B started"]
        assert timeline["A stopped"] - cut_at < LEASE + 0.5
        assert (await b.get_job(job_id)).attempts == 2  # type: ignore[union-attr]
    finally:
        proxy.restore()
        await b.stop_workers(graceful=False)
        await a.stop_workers(graceful=False)
        await a.close()
        await b.close()
        await proxy.close()


async def _true(value: bool) -> bool:
    return value


async def test_a_job_held_ahead_does_not_start_once_its_lease_may_be_gone() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def attempt(claimed: ClaimedJob, ctx: object, at: float) -> Finish:
        started.append(claimed.id)
        await release.wait()
        return Finish(claimed.id, claimed.token, Outcome.COMPLETED, b"null")

    slots = Slots("w1", 1, SETTINGS, Reporter(MemoryBackend(), "w1"), attempt, max_stalls=3)
    slots._run_time = 0.0  # short jobs lately: one job is held claimed ahead
    now = time.monotonic()
    slots.take([ClaimedJob("first", "t1", {}), ClaimedJob("ahead", "t2", {})], now + LEASE)
    await asyncio.sleep(0)
    assert started == ["first"] and [c.id for c, _ in slots.ready] == ["ahead"]
    slots.leased_until["ahead"] = time.monotonic() - 0.1  # no heartbeat got through since
    release.set()
    await asyncio.sleep(0.05)
    assert started == ["first"]  # "ahead" was dropped, not started
    assert not slots.ready and "ahead" not in slots.leased_until


async def test_a_job_held_ahead_is_dropped_when_its_lease_runs_out() -> None:
    async def attempt(claimed: ClaimedJob, ctx: object, at: float) -> Finish:
        await asyncio.sleep(30)
        raise AssertionError("unreachable")

    slots = Slots("w1", 1, SETTINGS, Reporter(MemoryBackend(), "w1"), attempt, max_stalls=3)
    slots._run_time = 0.0
    slots.take([ClaimedJob("first", "t1", {}), ClaimedJob("ahead", "t2", {})], time.monotonic())
    await asyncio.sleep(0)
    assert sorted(slots.expire_leases()) == ["ahead", "first"]
    await asyncio.sleep(0.05)
    assert not slots.ready and not slots.running
