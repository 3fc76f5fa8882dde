"""Scenario 15: crash safety of a concurrency limit (issue 24). Two workers run jobs under a
key limited to 2 at once; the worker holding both slots is SIGKILLed mid-job. Its slots come
back when its leases expire (the lease sweep gives each one back and wakes a worker), the
survivor takes the key's held jobs, and the killed jobs run again. Counted from the ledger:
the key never ran more than 2 at once, nothing lost, and the key's jobs flowed again within
a lease and a sweep of the kill.

Size: 30 jobs of 200 ms under `concurrency=2`, 2 workers of 8 slots, lease 2 s.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import LEASE, SWEEP, Harness

pytestmark = pytest.mark.timeout(120)

JOBS = 30


async def test_a_killed_worker_gives_its_slots_back(harness: Harness, figure) -> None:
    victim = harness.worker(8, worker_id="victim")
    async with harness.service() as service:
        await service.set_limit("k", concurrency=2)
        ids = await service.submit_jobs(
            [{"name": "probe", "kwargs": {"ms": 200}, "limit": "k"}] * JOBS
        )
        deadline = time.monotonic() + 10
        while len(harness.ledger.entries("start")) < 2 and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # the ledger is a file: nothing to await
        survivor = harness.worker(8, worker_id="survivor")
        victim.kill()  # holding both of the key's slots, mid-job
        killed_at = time.time()
        leaked = (await service.list_limits())[0]
        finished = harness.wait_terminal(ids, timeout=60)
        after = (await service.list_limits())[0]

    starts = harness.ledger.entries("start")
    dones = harness.ledger.entries("done")
    spans = [(s.t, s.t + 0.2) for s in starts]  # 200 ms each; a killed one counts in full
    edges = sorted([(b, 1) for b, _ in spans] + [(e, -1) for _, e in spans])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    resumed = min((s.t for s in starts if s.pid == survivor.pid), default=float("inf"))
    statuses = harness.outcomes(ids)
    lost = [j for j in ids if statuses[j] != "completed"]
    reran = [j for j, n in harness.ledger.count("start").items() if n > 1]
    figure(
        "15 limit crash safety",
        f"slots in use after the kill {leaked.in_use}, after the drain {after.in_use}; "
        f"the key's jobs flowed again {resumed - killed_at:.2f}s after the kill; most at "
        f"once {peak}; lost {len(lost)}; re-run (killed mid-job) {len(reran)}; drained in "
        f"{finished - killed_at:.1f}s",
        "no leaked slot: the key runs again within a lease of the kill; never above 2",
        f"{JOBS} jobs of 200 ms under concurrency=2; 2 workers x8; lease {LEASE:g}s",
    )
    assert leaked.in_use == 2  # the dead worker's slots, until its leases expire
    assert after.in_use == 0 and after.throttled == 0
    assert resumed - killed_at < LEASE + 2 * SWEEP + 1.5
    assert peak <= 2  # a killed attempt counted as if it ran its 200 ms
    assert not lost
    assert 1 <= len(reran) <= 2
    assert len(dones) >= JOBS
