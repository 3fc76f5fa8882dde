"""Rate, concurrency and fairness, measured with real worker processes (issue 24's figures).

    python bench/flow_limits.py rate         # rate=50 per 1 s, 60 s, 8 workers
    python bench/flow_limits.py concurrency  # concurrency=3 under 40 slots, jobs of 100 ms
    python bench/flow_limits.py fairness     # A queues 100,000, then B 10
    python bench/flow_limits.py all --quick  # shorter runs of all three

Each scenario starts its own redis-server and `jobdeck worker bench.flow_app:service`
processes, and reads what happened from the jobs' records and the event log (the server's
clock: when each claim started a job, when its finish was recorded), never from the workers'
own bookkeeping. Prints the figures; nothing is asserted (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobdeck.core import JobService, JobSpec  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402

QUEUE = "flow"


@contextlib.contextmanager
def workers(url: str, count: int, concurrency: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "jobdeck.core.cli", "--log-level", "warning", "worker",
             "bench.flow_app:service", "--url", url, "--queue", QUEUE, "-c", str(concurrency)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]  # fmt: skip
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def until_workers(service: JobService, n: int) -> None:
    for _ in range(600):  # the workers' registrations are read from the server
        if len(await service.list_workers()) >= n:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"fewer than {n} workers registered in 30 s")


async def until_done(service: JobService, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (await service.get_metrics()).depths["completed"] < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"fewer than {n} jobs done in {timeout:g} s")
        await asyncio.sleep(0.1)


async def times(service: JobService, ids: list[str]) -> list[tuple[float, float]]:
    out = []
    for start in range(0, len(ids), 500):
        jobs = await asyncio.gather(*(service.get_job(i) for i in ids[start : start + 500]))
        out += [(j.started_at or 0.0, j.finished_at or 0.0) for j in jobs if j is not None]
    return out


async def rate(url: str, seconds: float, n_workers: int) -> None:
    per_second = 50
    async with JobService(url, queue=QUEUE) as service:
        await service.set_limit("api", rate=per_second, per=1.0)
        with workers(url, n_workers, 4):
            await until_workers(service, n_workers)
            total = int(per_second * seconds)
            ids = await service.submit_jobs([JobSpec("work", limit="api")] * total)
            began = time.monotonic()
            await until_done(service, total, seconds * 2 + 30)
            wall = time.monotonic() - began
        starts = sorted(s for s, _ in await times(service, ids))
    span = starts[-1] - starts[0]
    # the most starts in any window of 1 s: slide a window over the sorted starts
    most, lo = 0, 0
    for hi, t in enumerate(starts):
        while t - starts[lo] >= 1.0:
            lo += 1
        most = max(most, hi - lo + 1)
    whole = [sum(1 for t in starts if k <= t - starts[0] < k + 1) for k in range(int(span))]
    print(f"rate: {total} jobs under rate={per_second} per 1 s, {n_workers} workers x4, "
          f"drained in {wall:.1f} s")
    mean = sum(whole) / len(whole)
    print(f"  starts per whole second from the first start ({len(whole)} s): mean {mean:.2f} "
          f"({(mean / per_second - 1) * 100:+.2f} % of {per_second}), min {min(whole)}, "
          f"max {max(whole)}")
    print(f"  most starts in any 1 s window (sliding, on the server's clock): {most} "
          f"(limit {per_second})")


async def concurrency(url: str, jobs: int) -> None:
    ms, limit = 100, 3
    async with JobService(url, queue=QUEUE) as service:
        await service.set_limit("k", concurrency=limit)
        with workers(url, 4, 10):
            await until_workers(service, 4)
            ids = await service.submit_jobs([JobSpec("work", kwargs={"ms": ms}, limit="k")] * jobs)
            free = await service.submit_jobs([JobSpec("work", kwargs={"ms": ms})] * 200)
            await until_done(service, jobs + 200, 120)
        spans = await times(service, ids)
        free_spans = await times(service, free)
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    now = peak = 0
    for _, step in edges:
        now += step
        peak = max(peak, now)
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    flow = len(spans) / (last - first)
    print(f"concurrency: {jobs} jobs of {ms} ms under concurrency={limit}, 4 workers x10 "
          "(40 slots), 200 unlimited jobs submitted after them")
    print(f"  most running at once: {peak} (limit {limit})")
    run = sum(e - s for s, e in spans) / len(spans)
    ends = sorted(e for _, e in spans)
    gaps = [min((s for s, _ in spans if s >= e), default=e) - e for e in ends[:-limit]]
    print(f"  the key's flow: {flow:.1f} jobs/s (3 x 1/job time = {limit * 1000 / ms:.0f}); "
          f"a job's start to its recorded finish {run * 1000:.0f} ms, a finish to the next "
          f"start {sum(gaps) / len(gaps) * 1000:.1f} ms on average")
    print(f"  the unlimited jobs all done {max(e for _, e in free_spans) - first:.2f} s "
          f"after the first limited start (the limited ones took {last - first:.2f} s)")


async def fairness(url: str, backlog: int) -> None:
    async with JobService(url, queue=QUEUE) as service:
        for first in range(0, backlog, 10_000):
            await service.submit_jobs(
                [JobSpec("work", group="A")] * min(10_000, backlog - first)
            )
        b_ids = set(await service.submit_jobs([JobSpec("work", group="B")] * 10))
        mark = await service.last_event_id()
        with workers(url, 4, 8):
            order: list[str] = []
            b_seen = 0
            async for event in service.events(after=mark):
                if event.type == "JOB_STARTED":
                    order.append("B" if event.job_id in b_ids else "A")
                    b_seen += order[-1] == "B"
                    if b_seen == 10:
                        break
    a_before = order.index("B") if "B" in order else len(order)
    a_between = order.count("A")
    print(f"fairness: group A queued {backlog:,} jobs, then group B queued 10; 4 workers x8")
    print(f"  A jobs started before B's first: {a_before}; before B's last: {a_between} "
          f"(asked: B's 10 all start before A's next 50)")
    print(f"  start order: {''.join(order)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario", choices=["rate", "concurrency", "fairness", "all"])
    parser.add_argument("--quick", action="store_true", help="shorter runs (10 s, 30, 10,000)")
    args = parser.parse_args()
    chosen = ["rate", "concurrency", "fairness"] if args.scenario == "all" else [args.scenario]
    for name in chosen:
        server = RedisServer().start()
        try:
            if name == "rate":
                asyncio.run(rate(server.url, 10 if args.quick else 60, 8))
            elif name == "concurrency":
                asyncio.run(concurrency(server.url, 30 if args.quick else 300))
            else:
                asyncio.run(fairness(server.url, 10_000 if args.quick else 100_000))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
