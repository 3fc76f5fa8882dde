"""Scenario 3: Redis restarts under load. With `appendonly yes`, Redis is shut down cleanly
and restarted, then SIGKILLed and restarted, while 2,000 jobs are queued or running and a
producer keeps submitting. No accepted submission may be lost; workers and the event stream
resume within 5 s of Redis answering (each restart includes a real LOADING phase: a per-key
load delay); a console following the event stream misses no event.

Size: as asked. 2,000 jobs of 20-60 ms plus one submission every 20 ms throughout,
2 worker processes at concurrency 8 (lease 2 s), Redis down ~1 s each time.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import pytest

from .conftest import Harness

pytestmark = pytest.mark.timeout(120)

JOBS = 2000
LOAD_DELAY_US = 300  # per key while loading: ~0.6 s of -LOADING for this data set


async def _follow(harness: Harness, seen: list[tuple[str, str, float]]) -> None:
    """The console's part: every event from the start, resuming after each drop."""
    async with harness.service() as service:
        async for event in service.events(after="0-0", block=0.2):
            seen.append((event.id, str(event.type), time.time()))


async def _produce(
    harness: Harness, accepted: list[str], refused: list[str], stop: asyncio.Event
) -> None:
    async with harness.service() as service:
        while not stop.is_set():
            try:
                accepted.append(await service.submit_job("work", kwargs={"ms": 20}))
            except Exception as exc:  # a refused submission is the caller's to retry
                refused.append(type(exc).__name__)
            await asyncio.sleep(0.02)


def _rewrite_aof(harness: Harness) -> None:
    """Compact the AOF into its RDB base, so the next start loads keys one by one (with
    the load delay) and answers -LOADING meanwhile."""
    harness.r.bgrewriteaof()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = harness.r.info("persistence")
        if not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"]:
            return
        time.sleep(0.02)
    raise AssertionError("AOF rewrite did not finish")


async def _completed_at_least(harness: Harness, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(harness.ledger.entries("done")) < n:
        assert time.monotonic() < deadline, f"fewer than {n} jobs done\n{harness.logs()}"
        await asyncio.sleep(0.05)


async def test_redis_restart_loses_nothing(make_harness, figure) -> None:
    harness: Harness = make_harness(
        appendonly=True,
        extra=[
            "--key-load-delay",
            str(LOAD_DELAY_US),
            "--loading-process-events-interval-bytes",
            "1024",
        ],
    )
    workers = [harness.worker(8, worker_id=f"rr-{i}") for i in range(2)]
    rng = random.Random(3)
    async with harness.service() as service:
        ids = await service.submit_jobs(
            [{"name": "work", "kwargs": {"ms": rng.uniform(20, 60)}} for _ in range(JOBS)]
        )
    seen: list[tuple[str, str, float]] = []
    accepted: list[str] = []
    refused: list[str] = []
    stop = asyncio.Event()
    follower = asyncio.create_task(_follow(harness, seen))
    producer = asyncio.create_task(_produce(harness, accepted, refused, stop))

    restarts = []
    for how, after in (("SHUTDOWN", 300), ("SIGKILL", 700)):
        await _completed_at_least(harness, after, 30)
        _rewrite_aof(harness)
        queued = harness.pending() + harness.r.zcard(harness.key("running"))
        if how == "SHUTDOWN":
            harness.server.shutdown()
        else:
            harness.server.kill()
        await asyncio.sleep(1.0)
        harness.server.start()
        restarts.append(
            (
                how,
                queued,
                harness.server.answered_at,
                harness.server.ready_at,
                harness.server.loading_seen,
            )
        )
        answered = harness.server.answered_at
        deadline = time.monotonic() + 10  # until every worker and the console are back
        while time.monotonic() < deadline:
            back = {e.pid for e in harness.ledger.entries("start") if e.t > answered}
            if all(w.pid in back for w in workers) and any(t > answered for *_, t in seen):
                break
            await asyncio.sleep(0.1)

    stop.set()
    await producer
    every = ids + accepted
    harness.wait_terminal(every, timeout=30)
    last = harness.r.xrevrange(harness.key("events"), count=1)[0][0].decode()
    deadline = time.monotonic() + 5
    while not any(eid == last for eid, _, _ in seen[-50:]):  # the console catches up
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    follower.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await follower

    statuses = harness.outcomes(every)
    lost = [j for j in every if statuses[j] != "completed"]
    dup = [j for j, n in harness.event_counts("JOB_COMPLETED").items() if n > 1]
    starts = harness.ledger.entries("start")
    worker_resume, stream_resume = [], []
    for _how, _queued, answered, _ready, _loading in restarts:
        firsts = [
            min((e.t for e in starts if e.pid == w.pid and e.t > answered), default=1e99)
            for w in workers
        ]
        worker_resume.append(max(firsts) - answered)
        stored = [t for eid, kind, t in seen if not kind.startswith("CONNECTION") and t > answered]
        stream_resume.append(min(stored, default=1e99) - answered)
    stream_ids = [eid for eid, _ in harness.events()]
    got = [eid for eid, kind, _ in seen if not kind.startswith("CONNECTION")]
    missed = sorted(set(stream_ids) - set(got))
    repeated = len(got) - len(set(got))

    figure(
        "3 Redis restart (AOF)",
        f"accepted submissions lost {len(lost)} of {len(every)}; duplicate completions "
        f"{len(dup)}; workers resumed {', '.join(f'{x:.2f}' for x in worker_resume)}s and "
        f"stream {', '.join(f'{x:.2f}' for x in stream_resume)}s after Redis answered "
        f"(LOADING seen: {all(r[4] for r in restarts)}); console missed {len(missed)} of "
        f"{len(stream_ids)} events, {repeated} repeated",
        "0 lost; resume within 5 s of Redis answering; console misses no event",
        f"{JOBS} jobs + {len(accepted)} submitted during restarts ({len(refused)} refused "
        f"while down), 2x8 workers, SHUTDOWN then SIGKILL with "
        f"{', '.join(str(r[1]) for r in restarts)} jobs queued/running",
    )
    assert all(r[4] for r in restarts), "no LOADING phase: retry on LOADING was not exercised"
    assert all(r[1] >= 500 for r in restarts), restarts
    assert not lost, (len(lost), lost[:5])
    assert not dup
    assert max(worker_resume) <= 5.0, (worker_resume, harness.logs())
    assert max(stream_resume) <= 5.0, stream_resume
    assert not missed, missed[:10]
    assert all(w.alive() for w in workers), harness.logs()
