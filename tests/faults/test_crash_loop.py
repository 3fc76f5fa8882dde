"""Scenario 6: a crash-looping job. Its handler takes the whole worker process down each
time (`os._exit(1)`, or SIGKILL of itself); a supervisor (this test) restarts the worker.
After `max_stalls` (3) stalls the job is dead-lettered as "stalled 3 times", and the other
jobs keep flowing: none of them is lost or dead-lettered on its account.

Size: as asked. One crashing job per test (one test per crash mode) in the middle of 300
ordinary 200 ms jobs, 2 worker processes at concurrency 4 (lease 2 s).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest

from .conftest import Harness

pytestmark = pytest.mark.timeout(90)
OTHERS = 300


@pytest.mark.parametrize("mode", ["exit", "kill"])
async def test_crash_looping_job_is_dead_lettered(harness: Harness, figure, mode: str) -> None:
    workers = [harness.worker(4, worker_id=f"loop-{i}") for i in range(2)]
    restarts = 0
    specs = [{"name": "work", "kwargs": {"ms": 200}}] * OTHERS
    specs.insert(40, {"name": "crash", "kwargs": {"mode": mode}, "job_id": "crasher"})
    async with harness.service() as service:
        ids = await service.submit_jobs(specs)
    others = [j for j in ids if j != "crasher"]
    started = time.monotonic()
    crash_done = None
    while time.monotonic() - started < 40:
        for w in workers:  # the supervisor
            if not w.alive():
                w.start(wait=False)
                restarts += 1
        if crash_done is None and harness.statuses(["crasher"])["crasher"] == "failed":
            crash_done = time.monotonic() - started
        if crash_done is not None:
            break
        await asyncio.sleep(0.1)
    harness.wait_terminal(others, timeout=20)

    starts = harness.ledger.count("start")
    error = json.loads(harness.record("crasher")["error"])
    statuses = harness.outcomes(others)
    not_completed = [j for j, s in statuses.items() if s != "completed"]
    lost = [j for j, s in statuses.items() if s not in ("completed", "failed")]
    # Neighbours may share a stall or two with the crasher; never its last one.
    worst_stalls = max(int(harness.record(j).get("stalls") or 0) for j in others)
    # Flow: the longest stretch without another job completing, while the crasher looped.
    crash_runs = sorted(e.t for e in harness.ledger.entries("start") if e.job_id == "crasher")
    done = sorted(
        e.t
        for e in harness.ledger.entries("done")
        if crash_runs[0] - 1 <= e.t <= crash_runs[-1] + 1
    )
    gap = max((b - a for a, b in itertools.pairwise(done)), default=99.0)
    figure(
        f"6 crash-looping job ({mode})",
        f"dead-lettered after {starts['crasher']} runs ({error['message'][:15]!r}) in "
        f"{crash_done:.1f}s; {restarts} restarts; other jobs: "
        f"{len(others) - len(not_completed)}/{len(others)} completed, {len(lost)} lost, "
        f"most stalls {worst_stalls}, longest pause {gap:.2f}s",
        "dead-lettered after a bounded number of stalls ('stalled N times'); others flow",
        f"1 crashing job amid {OTHERS} others of 200 ms, 2x4 workers",
    )
    assert crash_done is not None, harness.logs()
    assert error["type"] == "Stalled"
    assert error["message"].startswith("stalled 3 times")
    assert starts["crasher"] == 3
    assert not lost
    assert not not_completed, [harness.record(j).get("error") for j in not_completed[:5]]
    assert worst_stalls < 3  # max_stalls: none of them was dead-lettered for its neighbour
    assert gap < 2.0
