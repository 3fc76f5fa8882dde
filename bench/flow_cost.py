"""What routing, limits and fairness cost the jobs that use none of them (issues 22, 24).

Two interpreters, A and B, each with its own jobdeck installed (the code after a change and
the code before it), run the same child in turn, A B A B ..., against one private
redis-server: submit N jobs one by one, submit 2N in bulk, drain the 3N through an in-process
worker pool; the ratio A/B is taken pair by pair, so the machine's drift between pairs does
not move it. With `--throttled`, each child first queues a throttled backlog (`--held` jobs
under a key whose one slot is taken by a job that never ends) ahead of the same jobs, so the
drain shows what a throttled head of line costs everything behind it (A only: B may predate
limits).

    python bench/flow_cost.py --a /venv-new/bin/python --b /venv-old/bin/python --pairs 5
    python bench/flow_cost.py --a /venv-new/bin/python --b /venv-new/bin/python --throttled

Prints one line per run and the medians; nothing is asserted (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_server import RedisServer


async def child(url: str, n: int, concurrency: int, held: int, forever: bool) -> dict[str, float]:
    from jobdeck.core import JobService, JobSpec

    service = JobService(url, queue=f"q{uuid.uuid4().hex[:8]}", prefix="flowcost")
    done = asyncio.Event()
    count = 0
    total = 3 * n

    async def noop() -> None:
        nonlocal count
        count += 1
        if count == total:
            done.set()

    async def forever() -> None:
        await asyncio.sleep(3600)

    service.register_handler("noop", noop)
    service.register_handler("forever", forever)
    await service.initialize()
    if held:  # one slot of the key taken for good, `held` jobs throttled behind it
        await service.set_limit("slow", concurrency=1)
        await service.submit_job("forever", limit="slow")
        await service.submit_jobs([JobSpec("noop", limit="slow")] * held)
    elif forever:  # the same slot taken, with nothing throttled: the yardstick
        await service.submit_job("forever")
    began = time.perf_counter()
    for _ in range(n):
        await service.submit_job("noop")
    one_by_one = time.perf_counter() - began
    began = time.perf_counter()
    await service.submit_jobs([JobSpec("noop")] * (2 * n))
    bulk = time.perf_counter() - began
    began = time.perf_counter()
    await service.start_workers(concurrency, scheduler=False)
    await done.wait()
    drain = time.perf_counter() - began
    await service.stop_workers(graceful=False, timeout=1)
    await service.close()
    return {
        "submit_one_per_s": n / one_by_one,
        "submit_bulk_per_s": 2 * n / bulk,
        "drain_per_s": total / drain,
    }


async def redis_time(url: str, n: int, batch: int) -> dict[str, float]:
    """Redis's own CPU time (INFO commandstats) per job for submit, claim and finish, called
    straight through the backend: less swayed by a loaded machine than wall time."""
    import inspect

    import redis.asyncio as aioredis

    from jobdeck.core import JobService, JobSpec
    from jobdeck.core.backend.base import Finish

    service = JobService(url, queue=f"q{uuid.uuid4().hex[:8]}", prefix="flowcost")
    await service.initialize()
    backend = service.backend
    names = ("noop", "forever")
    picky = "handlers" in inspect.signature(backend.claim).parameters
    r = aioredis.from_url(url)

    async def usec() -> float:
        stats = await r.info("commandstats")
        return float(stats.get("cmdstat_evalsha", {}).get("usec", 0))

    before = await usec()
    for first in range(0, n, batch):
        await service.submit_jobs([JobSpec("noop")] * min(batch, n - first))
    submitted = await usec()
    claim_us = finish_us = 0.0
    while True:
        mark = await usec()
        if picky:
            got = await backend.claim("w1", batch, 30.0, names)  # type: ignore[call-arg]
        else:
            got = await backend.claim("w1", batch, 30.0)
        claimed = await usec()
        claim_us += claimed - mark
        if not got.jobs:
            break
        await backend.finish("w1", [Finish(j.id, j.token, "completed", b"null") for j in got.jobs])
        finish_us += await usec() - claimed
    await r.aclose()
    await service.close()
    return {
        "submit_us_per_job": (submitted - before) / n,
        "claim_us_per_job": claim_us / n,
        "finish_us_per_job": finish_us / n,
    }


def run_child(
    python: str, url: str, args: argparse.Namespace, held: int, redis_pid: int
) -> dict[str, float]:
    """One child run; besides its own figures, the CPU it and the Redis server used per job
    (the child's user + system time from wait4, Redis's main thread from schedstat): what
    the work costs, which a loaded machine's waits do not inflate as they do wall time."""
    extra = ["--forever"] if args.throttled else []
    if args.redis_time:
        extra = ["--redis-time", "--batch", str(args.batch)]
    stat = Path(f"/proc/{redis_pid}/task/{redis_pid}/schedstat")
    redis_before = int(stat.read_text().split()[0])
    proc = subprocess.Popen(
        [python, __file__, "--child", url, "--n", str(args.n), "--concurrency",
         str(args.concurrency), "--held", str(held), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"child exited {proc.returncode}")
    redis_ns = int(stat.read_text().split()[0]) - redis_before
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    jobs = 3 * args.n
    figures["client_cpu_us_per_job"] = (usage.ru_utime + usage.ru_stime) / jobs * 1e6
    figures["redis_cpu_us_per_job"] = redis_ns / jobs / 1000
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", default=sys.executable, help="interpreter A (after)")
    parser.add_argument("--b", default=sys.executable, help="interpreter B (before)")
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--held", type=int, default=2000)
    parser.add_argument(
        "--throttled",
        action="store_true",
        help="A with a throttled backlog ahead, against A without",
    )
    parser.add_argument("--child", metavar="URL")
    parser.add_argument("--forever", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--redis-time",
        action="store_true",
        help="Redis CPU per job of submit, claim, finish (no worker)",
    )
    parser.add_argument("--batch", type=int, default=50, help="jobs per call (--redis-time)")
    args = parser.parse_args()
    if args.child and args.redis_time:
        print(json.dumps(asyncio.run(redis_time(args.child, args.n, args.batch))))
        return
    if args.child:
        result = asyncio.run(child(args.child, args.n, args.concurrency, args.held, args.forever))
        print(json.dumps(result))
        return
    ratios: dict[str, list[float]] = {}
    with RedisServer("flowcost") as server:
        for pair in range(args.pairs + 1):  # the first pair warms up and is not counted
            assert server.proc is not None
            pid = server.proc.pid
            a = run_child(args.a, server.url, args, args.held if args.throttled else 0, pid)
            b = run_child(args.b if not args.throttled else args.a, server.url, args, 0, pid)
            line = "  ".join(f"{k} {a[k]:9.2f} / {b[k]:9.2f} = {a[k] / b[k]:.3f}" for k in a)
            print(f"pair {pair}{' (warm-up)' if pair == 0 else ''}: {line}", flush=True)
            if pair:
                for k in a:
                    ratios.setdefault(k, []).append(a[k] / b[k])
    for k, values in ratios.items():
        print(
            f"{k}: A/B median {statistics.median(values):.3f} "
            f"(min {min(values):.3f}, max {max(values):.3f}, {len(values)} pairs)"
        )


if __name__ == "__main__":
    main()
