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

    python bench/workflow_scale.py [--group 10000] [--concurrency 50] [--rounds 5]
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


async def group_run(url: str, cpu: Cpu, size: int, concurrency: int) -> dict[str, Any]:
    from jobdeck.core import JobService, JobSpec, WorkerSettings

    settings = WorkerSettings(idle_wait=0.2)
    service = JobService(url, queue=f"g{uuid.uuid4().hex[:6]}", prefix="wfbench",
                         worker_settings=settings)
    runs = 0

    @service.handler("noop")
    async def noop(n: int) -> int:
        return n

    @service.handler("total")
    async def total(results: list[int]) -> int:
        nonlocal runs
        runs += 1
        return sum(results)

    async with service:
        await service.start_workers(concurrency)
        before, start = cpu(), time.perf_counter()
        group = await service.submit_group(
            [JobSpec("noop", args=[i]) for i in range(size)], then=JobSpec("total")
        )
        submitted = time.perf_counter() - start
        result = await service.result(group.then_id, timeout=600)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", choices=("group", "edges"))
    args = parser.parse_args()
    with RedisServer("workflows") as server:
        assert server.proc is not None
        cpu = Cpu(server.proc.pid)
        if args.only != "edges":
            got = asyncio.run(group_run(server.url, cpu, args.group, args.concurrency))
            print(f"group of {got['jobs']} + then: submit {got['submit_s']:.2f} s, then's "
                  f"result after {got['wall_s']:.2f} s, Redis CPU {got['redis_cpu_s']:.2f} s, "
                  f"then ran {got['then_runs']} time(s), result right: {got['result_ok']}")
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
