#!/usr/bin/env python3
"""Workflows at scale on a private redis-server (issue 23's figures; nothing is asserted).

1. `group`: a group of `--group` no-op jobs with one `then` (fed their results), run by an
   in-process pool of `--concurrency` workers: the time from the submit to the then's result,
   the Redis CPU it took (the server's main thread, /proc/<pid>/task/<pid>/schedstat, so the
   waits of a shared machine do not count), and how many times the then ran (its handler
   counts; it should be once).
2. `edges`: what resolving an edge costs in Redis CPU, at 10 and at 10,000 edges, the calls
   made the way a worker makes them (backend calls, no worker around them):
   - fan-out: one parent with K children; its finish and the steps that follow (claims that
     only advance the work list) release the K, against the finish of a parent with none;
   - fan-in: K parents and one child after all of them; the K parents' finishes count it
     down (the last releases it), against the finishes of K parents with no child;
   - link: the submit of a child after K parents (each checked, then linked), against the
     submit of K plain jobs.
   Cost per edge = (with edges - without) / K, the median of `--rounds` (ten times as many
   at K=10, whose few edges the calls' fixed costs drown).

3. `worst` (`--only worst`): `--thens` jobs waiting on 10,000 completed parents of
   120-character ids each (and one parent that has not run) expire in one sweep: that
   call's Redis CPU, and the worst of the calls that let go of the kept results after it.
   Run it with an older checkout's jobdeck first on `PYTHONPATH` for a before/after.

    python bench/workflow_scale.py [--group 10000] [--concurrency 50] [--rounds 5]
    python bench/workflow_scale.py --only worst [--thens 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_server import RedisServer


class Cpu:
    """The server's main-thread CPU time, in µs."""

    def __init__(self, pid: int) -> None:
        self.stat = Path(f"/proc/{pid}/task/{pid}/schedstat")

    def __call__(self) -> float:
        return int(self.stat.read_text().split()[0]) / 1000


async def group_run(
    url: str, cpu: Cpu, size: int, concurrency: int, then: bool = True
) -> dict[str, Any]:
    """The group with its then (or, `then=False`, the same jobs alone: the baseline)."""
    from jobdeck.core import JobService, JobSpec, WorkerSettings

    settings = WorkerSettings(idle_wait=0.2)
    service = JobService(url, queue=f"g{uuid.uuid4().hex[:6]}", prefix="wfbench",
                         worker_settings=settings)
    runs = ran = 0
    all_ran = asyncio.Event()

    @service.handler("noop")
    async def noop(n: int) -> int:
        nonlocal ran
        ran += 1
        if ran == size:
            all_ran.set()
        return n

    @service.handler("total")
    async def total(results: list[int]) -> int:
        nonlocal runs
        runs += 1
        return sum(results)

    async with service:
        await service.start_workers(concurrency)
        before, start = cpu(), time.perf_counter()
        specs = [JobSpec("noop", args=[i]) for i in range(size)]
        if then:
            group = await service.submit_group(specs, then=JobSpec("total"))
        else:
            await service.submit_group(specs)
        submitted = time.perf_counter() - start
        if then:
            assert group.then_id is not None
            result = await service.result(group.then_id, timeout=600)
        else:
            await asyncio.wait_for(all_ran.wait(), 600)
            result = size * (size - 1) // 2
        wall, spent = time.perf_counter() - start, cpu() - before
        await asyncio.sleep(1.0)  # a second run would show by now
        await service.stop_workers()
    return {"jobs": size, "submit_s": submitted, "wall_s": wall, "redis_cpu_s": spent / 1e6,
            "then_runs": runs, "result_ok": result == size * (size - 1) // 2}


async def edge_costs(url: str, cpu: Cpu, k: int) -> dict[str, float]:
    """Redis CPU µs per edge at K edges: fan-out, fan-in and linking (see the module)."""
    from jobdeck.core import JobSpec
    from jobdeck.core.backend.base import Finish, Outcome
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.submission import prepare_all

    backend = RedisBackend(url, queue=f"e{uuid.uuid4().hex[:6]}", prefix="wfbench")
    await backend.initialize()

    async def submit(specs: list[JobSpec]) -> float:
        spent = 0.0
        jobs = prepare_all(specs)
        for at in range(0, len(jobs), 1000):  # the service's submit chunks
            before = cpu()
            await backend.submit(jobs[at:at + 1000])
            spent += cpu() - before
        return spent

    async def finish_all(ids: set[str]) -> float:
        """Claims until every id is leased (others too), then finishes the ids: the CPU of
        the finishes and of the steps they leave (claims of 0 until the work list is empty)."""
        leased = []
        while len(leased) < len(ids):
            leased += [j for j in (await backend.claim("w", 500, 60.0)).jobs]
        mine = [j for j in leased if j.id in ids]
        before = cpu()
        for at in range(0, len(mine), 500):
            await backend.finish("w", [Finish(j.id, j.token, Outcome.COMPLETED, b"1",
                                              event_data=b"{}") for j in mine[at:at + 500]])
        while await backend.client.exists(f"wfbench:{{{backend.queue}}}:wf"):
            await backend.claim("w", 0, 60.0)
        spent = cpu() - before
        others = [j for j in leased if j.id not in ids]
        for at in range(0, len(others), 500):
            await backend.finish("w", [Finish(j.id, j.token, Outcome.COMPLETED, b"1",
                                              event_data=b"{}") for j in others[at:at + 500]])
        return spent

    async def drain() -> None:
        while got := (await backend.claim("w", 500, 60.0)).jobs:
            await backend.finish("w", [Finish(j.id, j.token, Outcome.COMPLETED, b"1",
                                              event_data=b"{}") for j in got])

    out: dict[str, float] = {}
    # fan-out: a parent with K children, against a parent with none
    parent = f"p{uuid.uuid4().hex[:8]}"
    await submit([JobSpec("noop", job_id=parent)])
    await submit([JobSpec("noop", after=[parent]) for _ in range(k)])
    with_kids = await finish_all({parent})
    await drain()
    alone = f"a{uuid.uuid4().hex[:8]}"
    await submit([JobSpec("noop", job_id=alone)])
    without = await finish_all({alone})
    await drain()
    out["fan_out"] = (with_kids - without) / k
    # fan-in: K parents and one child after all of them, against K parents alone
    parents = [f"q{uuid.uuid4().hex[:12]}" for _ in range(k)]
    await submit([JobSpec("noop", job_id=p) for p in parents])
    plain = await submit([JobSpec("noop") for _ in range(k)])
    linked = await submit([JobSpec("noop", after=parents)])
    while await backend.client.exists(f"wfbench:{{{backend.queue}}}:wf"):
        before = cpu()
        await backend.claim("w", 0, 60.0)
        linked += cpu() - before
    out["link"] = (linked - plain / k) / k  # the child's submit, less one plain job's
    await drain_except(backend, set(parents))
    with_child = await finish_all(set(parents))
    await drain()
    lone = [f"r{uuid.uuid4().hex[:12]}" for _ in range(k)]
    await submit([JobSpec("noop", job_id=p) for p in lone])
    without = await finish_all(set(lone))
    await drain()
    out["fan_in"] = (with_child - without) / k
    await backend.close()
    return out


async def drain_except(backend: Any, keep: set[str]) -> None:
    """Run everything pending but `keep` (the plain jobs submitted for the link baseline)."""
    from jobdeck.core.backend.base import Finish, Outcome

    held = []
    while got := (await backend.claim("w", 500, 60.0)).jobs:
        done = [j for j in got if j.id not in keep]
        held += [j for j in got if j.id in keep]
        if done:
            await backend.finish("w", [Finish(j.id, j.token, Outcome.COMPLETED, b"1",
                                              event_data=b"{}") for j in done])
    for at in range(0, len(held), 500):  # back to pending: attempts not counted
        await backend.finish("w", [Finish(j.id, j.token, Outcome.RELEASE, b"",
                                          event_data=b"{}") for j in held[at:at + 500]])


async def worst_call(url: str, cpu: Cpu, thens: int, parents: int) -> dict[str, float]:
    """`thens` waiting jobs, each after the same `parents` completed jobs of 120-character
    ids (lists of ~1.2 MB) and one that has not run, expire at once: the Redis CPU
    of the claim whose sweep expires them, and the worst call among those that follow until
    every kept result is let go."""
    from jobdeck.core import JobSpec
    from jobdeck.core.backend.base import Finish, Outcome
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.submission import prepare_all

    backend = RedisBackend(url, queue=f"w{uuid.uuid4().hex[:6]}", prefix="wfbench")
    await backend.initialize()
    base = f"wfbench:{{{backend.queue}}}:"
    ids = [f"p{i:05d}-" + "x" * 113 for i in range(parents)]
    for at in range(0, parents, 1000):
        await backend.submit(prepare_all([JobSpec("noop", job_id=p) for p in ids[at:at + 1000]]))
    while got := (await backend.claim("w", 500, 60.0)).jobs:
        await backend.finish("w", [Finish(j.id, j.token, Outcome.COMPLETED, b"1",
                                          event_data=b"{}") for j in got])
    await backend.submit(prepare_all([JobSpec("noop", job_id="gate", delay=3600)]))
    due = time.monotonic() + 90
    for _ in range(thens):
        await backend.submit(prepare_all([JobSpec("noop", after=[*ids, "gate"], expires=90)]))
    while await backend.client.exists(base + "wf"):
        await backend.claim("w", 0, 60.0)
    await asyncio.sleep(max(0.0, due - time.monotonic()) + 0.5)  # their time passes
    before = cpu()
    await backend.claim("w", 0, 60.0)
    sweep = cpu() - before
    worst, calls = 0.0, 0
    while any([await backend.client.exists(base + "wf"),
               *[1 async for _ in backend.client.scan_iter(base + "ua:*", count=1000)]]):
        before = cpu()
        await backend.claim("w", 0, 60.0)
        worst, calls = max(worst, cpu() - before), calls + 1
    await backend.close()
    return {"sweep_ms": sweep / 1000, "worst_after_ms": worst / 1000, "calls": calls}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("group", "edges", "worst"))
    parser.add_argument("--thens", type=int, default=20, help="jobs that expire (--only worst)")
    args = parser.parse_args()
    with RedisServer("workflows") as server:
        assert server.proc is not None
        cpu = Cpu(server.proc.pid)
        if args.only == "worst":
            got = asyncio.run(worst_call(server.url, cpu, args.thens, 9_999))
            print(f"{args.thens} jobs after 9,999 parents of 120-character ids expire in one "
                  f"sweep: that claim {got['sweep_ms']:.1f} ms of Redis CPU; then "
                  f"{got['calls']} calls to let go of every kept result, the worst "
                  f"{got['worst_after_ms']:.1f} ms")
            return
        if args.only != "edges":
            got = asyncio.run(group_run(server.url, cpu, args.group, args.concurrency))
            print(f"group of {got['jobs']} + then: submit {got['submit_s']:.2f} s, then's "
                  f"result after {got['wall_s']:.2f} s, Redis CPU {got['redis_cpu_s']:.2f} s, "
                  f"then ran {got['then_runs']} time(s), result right: {got['result_ok']}")
            alone = asyncio.run(
                group_run(server.url, cpu, args.group, args.concurrency, then=False)
            )
            print(f"the same {alone['jobs']} jobs, no then: submit {alone['submit_s']:.2f} s, "
                  f"all ran after {alone['wall_s']:.2f} s, Redis CPU "
                  f"{alone['redis_cpu_s']:.2f} s")
        if args.only == "group":
            return
        print("Redis CPU µs per edge (median of rounds): K, fan-out, fan-in, link")
        for k in (10, 10_000):
            times = args.rounds * (10 if k < 1000 else 1)  # a small K's figure is noisier
            rounds = [asyncio.run(edge_costs(server.url, cpu, k)) for _ in range(times)]
            med = {name: statistics.median(r[name] for r in rounds) for name in rounds[0]}
            print(f"K={k:>6}: fan-out {med['fan_out']:6.2f}  fan-in {med['fan_in']:6.2f}  "
                  f"link {med['link']:6.2f}")


if __name__ == "__main__":
    main()
