#!/usr/bin/env python3
"""The plain path as one process: N no-op jobs submitted (half one by one, half in bulk),
then drained by a worker pool in this same process, against a private redis-server this
script starts (or `--url memory://` for the Python alone).

    python bench/submit_drain.py [--jobs 20000] [--concurrency 50] [--tree DIR] [--url URL]

Prints submit and drain rates and this process's CPU µs per job. Meant to be timed whole,
two versions in alternation (`--tree` runs another checkout's `core/`), by a tool that runs
A and B in turn and gives the pair's ratio (`/usr/bin/time` in a loop, or hyperfine), so a
change to the hot path is measured before and after on the same machine, back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


async def _run(url: str, n: int, concurrency: int) -> None:
    from jobdeck.core import JobService

    async with JobService(url, queue="plain", prefix=f"pp{time.monotonic_ns() % 10**8}") as svc:
        async def noop(*args: object) -> None:
            return None

        svc.register_handler("noop", noop)
        half = n // 2
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(half):
            await svc.submit_job("noop", (i, "a"))
        await svc.submit_jobs([{"name": "noop", "args": (i, "a")} for i in range(half, n)])
        _row("submit", n, wall, cpu)
        wall, cpu = time.perf_counter(), time.process_time()
        await svc.start_workers(concurrency)
        while True:
            if (await svc.get_metrics(1)).totals.get("completed", 0) >= n:
                break
            await asyncio.sleep(0.005)
        _row("drain", n, wall, cpu)


def _row(label: str, n: int, wall: float, cpu: float) -> None:
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:8s} {n / wall:10,.0f} jobs/s {cpu * 1e6 / n:8.1f} µs CPU/job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--tree", type=Path, help="a jobdeck checkout whose core/ to run")
    parser.add_argument("--url", help="a server to use instead of a private one")
    opts = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if opts.tree is not None:
        from bench.submit_path import _use_tree

        _use_tree(opts.tree.resolve())
    if opts.url:
        asyncio.run(_run(opts.url, opts.jobs, opts.concurrency))
        return
    from bench.redis_server import RedisServer

    server = RedisServer("plain").start()
    try:
        asyncio.run(_run(server.url, opts.jobs, opts.concurrency))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
