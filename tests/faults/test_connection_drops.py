"""Scenario 4: connection drops. Every 2 s for 20 s, `CLIENT KILL TYPE normal` (and `TYPE
pubsub`) cuts every client's connection, the workers' and the producer's alike, while jobs
run. Workers must recover each time, throughput must come back, nothing may be lost.

Size: as asked. A backlog of 20-60 ms jobs kept topped up, 2 worker processes at
concurrency 8 (lease 2 s), 10 cuts.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from .conftest import Harness

pytestmark = pytest.mark.timeout(120)

DURATION, EVERY, WARMUP = 20.0, 2.0, 3.0


async def _keep_busy(harness: Harness, ids: list[str], stop: asyncio.Event) -> None:
    rng = random.Random(4)
    async with harness.service() as service:
        while not stop.is_set():
            if harness.pending() < 800:
                ids += await service.submit_jobs(
                    [{"name": "work", "kwargs": {"ms": rng.uniform(20, 60)}} for _ in range(800)]
                )
            await asyncio.sleep(0.2)


def _rate(done: list[float], start: float, end: float) -> float:
    return sum(1 for t in done if start <= t < end) / (end - start)


async def test_connection_drops(harness: Harness, figure) -> None:
    workers = [harness.worker(8, worker_id=f"cut-{i}") for i in range(2)]
    ids: list[str] = []
    stop = asyncio.Event()
    producer = asyncio.create_task(_keep_busy(harness, ids, stop))
    await asyncio.sleep(WARMUP)
    cuts: list[tuple[float, int]] = []
    end = time.monotonic() + DURATION
    while time.monotonic() < end:
        killed = int(harness.r.execute_command("CLIENT KILL TYPE normal"))
        killed += int(harness.r.execute_command("CLIENT KILL TYPE pubsub"))
        cuts.append((time.time(), killed))
        await asyncio.sleep(EVERY)
    recovered_at = time.time()
    await asyncio.sleep(2.0)  # the throughput after the last cut
    stop.set()
    await producer
    harness.wait_terminal(ids, timeout=60)

    entries = harness.ledger.entries()
    done = [e.t for e in entries if e.event == "done"]
    first_cut = cuts[0][0]
    baseline = _rate(done, first_cut - 2.0, first_cut)
    # Per cut: the rate over the second half of the 2 s that follow it, and whether every
    # worker started a job within those 2 s.
    after_cut = [_rate(done, t + 1.0, t + EVERY) for t, _ in cuts]
    every_worker_back = all(
        {e.pid for e in entries if e.event == "start" and t < e.t < t + EVERY}
        >= {w.pid for w in workers}
        for t, _ in cuts
    )
    final = _rate(done, recovered_at, recovered_at + 2.0)
    statuses = harness.outcomes(ids)
    lost = [j for j, s in statuses.items() if s != "completed"]
    dup = [j for j, n in harness.event_counts("JOB_COMPLETED").items() if n > 1]
    worst = min(after_cut) / baseline

    figure(
        "4 connection drops",
        f"lost {len(lost)} of {len(ids)}, duplicate completions {len(dup)}; every worker back "
        f"after every cut: {every_worker_back}; throughput baseline {baseline:.0f}/s, worst "
        f"second after a cut {worst:.0%} of it, after the last {final / baseline:.0%}",
        "workers recover each time, throughput recovers, nothing lost",
        f"{len(cuts)} CLIENT KILLs (normal+pubsub, {sum(k for _, k in cuts)} connections) "
        f"every {EVERY:g}s over {DURATION:g}s, 2x8 workers, {len(ids)} jobs",
    )
    assert min(k for _, k in cuts) >= 4, "the cuts did not hit the workers' connections"
    assert not lost, (len(lost), {statuses[j] for j in lost}, lost[:5])
    assert not dup
    assert every_worker_back, harness.logs()
    assert worst >= 0.5, after_cut
    assert final >= 0.7 * baseline
    assert all(w.alive() for w in workers)
