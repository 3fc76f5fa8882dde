"""Scenario 14: release under crashes (issue 23). Thousands of parents complete while worker
processes are SIGKILLed and every client connection is cut: each child must be released
exactly once, never before its last parent completed, and none lost.

A parent's finish and its children's release are one script call, so a crash can fall only
before it (the parent runs again and releases then) or after it (the release is on record);
a reply lost with a cut connection is sent again and refused as stale. This shows it: 2,000
parents of 20-200 ms, 2,000 children of 1-3 parents each (some parents shared, some children
after other children), submitted over 15 s to 3 worker processes at concurrency 8 (lease
2 s); one worker SIGKILLed every 1.5 s and `CLIENT KILL TYPE normal` every 1 s, for 18 s.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from .conftest import LEASE, SWEEP, Harness

pytestmark = pytest.mark.timeout(150)

PARENTS, DURATION, KILL_EVERY, CUT_EVERY = 2000, 18.0, 1.5, 1.0


def _plan(rng: random.Random) -> list[dict]:
    """Parents and children interleaved in batches of 50, so releases happen throughout;
    each child waits for 1-3 jobs submitted before it (parents, or earlier children)."""
    specs: list[dict] = []
    for _ in range(PARENTS // 25):
        batch = []
        for _ in range(25):
            pid = f"p-{len(specs) + len(batch)}"
            batch.append({"name": "work", "job_id": pid, "kwargs": {"ms": rng.uniform(20, 200)}})
        known = [s["job_id"] for s in specs[-400:]] + [s["job_id"] for s in batch]
        for k in range(25):
            parents = rng.sample(known, rng.randint(1, 3))
            batch.append(
                {
                    "name": "child",
                    "job_id": f"c-{len(specs)}-{k}",
                    "kwargs": {"ms": rng.uniform(5, 50)},
                    "after": parents,
                }
            )
        specs += batch
    return specs


async def _produce(harness: Harness, specs: list[dict], seconds: float) -> list[str]:
    ids: list[str] = []
    batches = [specs[i : i + 50] for i in range(0, len(specs), 50)]
    async with harness.service() as service:
        for batch in batches:
            for _ in range(20):  # a cut connection fails a submit: the same ids again are safe
                try:
                    ids += await service.submit_jobs(batch)
                    break
                except Exception:
                    await asyncio.sleep(0.05)
            else:
                raise AssertionError("a batch could not be submitted")
            await asyncio.sleep(seconds / len(batches))
    return ids


async def test_release_under_crashes(harness: Harness, figure) -> None:
    rng = random.Random(14)
    specs = _plan(rng)
    parents_of = {s["job_id"]: s["after"] for s in specs if "after" in s}
    workers = [harness.worker(8, worker_id=f"flow-{i}") for i in range(3)]
    producer = asyncio.create_task(_produce(harness, specs, DURATION - 3))
    kills = cuts = 0
    end = time.monotonic() + DURATION
    next_kill, next_cut = time.monotonic() + KILL_EVERY, time.monotonic() + CUT_EVERY
    while time.monotonic() < end:
        await asyncio.sleep(0.05)
        now = time.monotonic()
        if now >= next_kill:
            next_kill += KILL_EVERY
            victim = rng.choice(workers)
            victim.kill()
            kills += 1
            victim.start(wait=False)
        if now >= next_cut:
            next_cut += CUT_EVERY
            cuts += int(harness.r.execute_command("CLIENT KILL TYPE normal"))
    ids = await producer
    assert len(ids) == len(specs)
    harness.wait_terminal(ids, timeout=LEASE + SWEEP + 60)

    statuses = harness.outcomes(ids)
    lost = [j for j in ids if statuses[j] != "completed"]
    events = harness.events()
    position = {eid: n for n, (eid, _) in enumerate(events)}
    completed_at: dict[str, str] = {}
    released: Counter[str] = Counter()
    released_at: dict[str, str] = {}
    for eid, f in events:
        if f["t"] == "JOB_COMPLETED":
            completed_at.setdefault(f["j"], eid)
        elif f["t"] == "JOB_RELEASED":
            released[f["j"]] += 1
            released_at.setdefault(f["j"], eid)
    duplicated = [j for j, n in released.items() if n > 1]
    never_released = [j for j in parents_of if j not in released]
    early = [
        j
        for j, parents in parents_of.items()
        if j in released_at
        and any(
            p not in completed_at or position[completed_at[p]] > position[released_at[j]]
            for p in parents
        )
    ]
    started_short = [e.job_id for e in harness.ledger.entries("start") if e.extra[:1]
                     and e.extra[0] != e.extra[1]]
    figure(
        "14 release under crashes",
        f"lost {len(lost)}, released twice {len(duplicated)}, released early {len(early)} "
        f"(started before a parent completed: {len(started_short)}), of {len(parents_of)} "
        f"children",
        "0 lost, 0 duplicated, 0 released early, over thousands of parents",
        f"{PARENTS} parents, {len(parents_of)} children of 1-3 parents, 3x8 workers, "
        f"{kills} SIGKILLs and {cuts} cut connections over {DURATION:g}s",
    )
    assert kills >= 10 and cuts >= 30
    assert not lost, (len(lost), {statuses[j] for j in lost}, lost[:5])
    assert not duplicated, duplicated[:5]
    assert not never_released, never_released[:5]
    assert not early, early[:5]
    assert not started_short, started_short[:5]
    assert harness.r.llen(harness.key("wf")) == 0
