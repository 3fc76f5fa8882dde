"""Scenario 10: priority under backlog. With 10,000 LOW jobs queued and running, 100 HIGH
jobs start within 1 s at p95, and no LOW job is started while a HIGH one waits.

Size: as asked. 10,000 LOW jobs of 50 ms, then 100 HIGH, 2 worker processes at concurrency 8.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from .conftest import Harness, percentile

pytestmark = pytest.mark.timeout(60)


async def test_high_priority_overtakes_backlog(harness: Harness, figure) -> None:
    for i in range(2):
        harness.worker(8, worker_id=f"prio-{i}")
    async with harness.service() as service:
        low = await service.submit_jobs(
            [{"name": "work", "kwargs": {"ms": 50}, "priority": "low"}] * 10_000
        )
        await asyncio.sleep(1.5)
        backlog = harness.r.zcard(harness.key("pending"))
        asked = time.time()
        high = await service.submit_jobs(
            [{"name": "work", "kwargs": {"ms": 50}, "priority": "high"}] * 100
        )
        accepted = time.time()
        harness.wait_terminal(high, timeout=10)

    starts = {e.job_id: e.t for e in harness.ledger.entries("start")}
    latency = [starts[j] - asked for j in high]
    last_high = max(starts[j] for j in high)
    low_set = set(low)
    overtaken = [j for j, t in starts.items() if j in low_set and accepted + 0.05 < t < last_high]
    figure(
        "10 priority under backlog",
        f"HIGH start latency p95 {percentile(latency, 95) * 1000:.0f} ms "
        f"(max {max(latency) * 1000:.0f} ms); LOW started while HIGH waited: {len(overtaken)}",
        "HIGH jobs start within 1 s at p95",
        f"10,000 LOW of 50 ms ({backlog} still queued), then 100 HIGH; 2x8 workers",
    )
    assert backlog >= 8000
    assert percentile(latency, 95) < 1.0
    assert not overtaken
