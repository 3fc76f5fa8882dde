"""Scenario 14: a rolling deploy (issue 22). Three workers of the old version of the
application (no handler for `resize`) run under load; three of the new version (which has it)
start; the old ones are stopped one by one (SIGTERM, each finishing what it runs) while jobs
keep coming. Old workers park the `resize` jobs they claim instead of failing them; the new
ones run them. Counted from the handlers' ledger: nothing lost, nothing dead-lettered,
nothing run twice, and no attempt spent on a worker that lacks the handler.

Size: 2,400 jobs of 20 ms (a third `resize`) submitted in 12 bursts over ~6 s, 3 old and 3
new workers of 8 slots, lease 2 s.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import Harness

pytestmark = pytest.mark.timeout(120)

OLD = "tests.faults.apps.faultapp:old"
BURSTS, PER_BURST = 12, 200


async def test_rolling_deploy(harness: Harness, figure) -> None:
    olds = [harness.worker(8, app=OLD, worker_id=f"old-{i}") for i in range(3)]
    ids: list[str] = []
    resize: list[str] = []
    peak_unserved = 0
    async with harness.service() as service:

        async def burst() -> None:
            specs = [
                {"name": "resize" if i % 3 == 0 else "work", "kwargs": {"ms": 20}}
                for i in range(PER_BURST)
            ]
            got = await service.submit_jobs(specs)
            ids.extend(got)
            resize.extend(
                job_id for job_id, spec in zip(got, specs, strict=True) if spec["name"] == "resize"
            )

        started = time.time()
        for _ in range(3):  # only old workers: resize jobs wait, unserved
            await burst()
            await asyncio.sleep(0.5)
            peak_unserved = max(peak_unserved, (await service.get_metrics()).unserved)
        news = [harness.worker(8, worker_id=f"new-{i}") for i in range(3)]
        stops = []
        for n in range(BURSTS - 3):
            await burst()
            await asyncio.sleep(0.5)
            if n % 3 == 2 and olds:  # an old worker leaves every 1.5 s
                old = olds.pop(0)
                stops.append(asyncio.to_thread(old.terminate, 20))
        for old in olds:
            stops.append(asyncio.to_thread(old.terminate, 20))
        codes = await asyncio.gather(*stops)
        finished = harness.wait_terminal(ids, timeout=60)
        m = await service.get_metrics()

    statuses = harness.outcomes(ids)
    lost = [j for j in ids if statuses[j] != "completed"]
    dead = harness.r.zcard(harness.key("dead"))
    runs = harness.ledger.count("start")
    twice = [j for j in ids if runs[j] > 1]
    never = [j for j in ids if runs[j] == 0]
    old_pids = {w.pid for w in harness.workers if w.worker_id.startswith("old-")}
    resize_on_old = [
        e for e in harness.ledger.entries("start") if e.job_id in set(resize) and e.pid in old_pids
    ]
    attempts = [int(harness.record(j).get("attempts") or 0) for j in resize[:200]]
    figure(
        "14 rolling deploy",
        f"lost {len(lost)}, dead-lettered {dead}, run twice {len(twice)}, never run "
        f"{len(never)}; resize on an old worker {len(resize_on_old)}; unserved peak "
        f"{peak_unserved}; drained {finished - started:.1f}s after the first burst",
        "0 lost, 0 dead-lettered, 0 duplicate runs",
        f"{len(ids)} jobs ({len(resize)} resize) in {BURSTS} bursts; 3 old + 3 new workers x8, "
        "old stopped one by one",
    )
    assert codes == [0, 0, 0], harness.logs()
    assert not lost and not never, (lost[:5], never[:5])
    assert dead == 0
    assert not twice, twice[:5]
    assert not resize_on_old
    assert peak_unserved > 0  # the old workers did meet resize jobs, and parked them
    assert max(attempts) == 1  # parking never counted an attempt
    assert (m.unserved, m.depths["pending"]) == (0, 0)
    assert all(w.alive() for w in news)
