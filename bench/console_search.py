#!/usr/bin/env python3
"""Search over a million jobs: what one keystroke of the console's `/` filter costs.

    python bench/console_search.py [--jobs 1000000] [--budget 20000]

A private redis-server gets `--jobs` pending jobs (bulk submit), a few of which carry a rare
argument. Then, with nothing else running on the queue:
- one step of `search_jobs` with the console's budget (what a keystroke costs): p50/p95 for
  a rare text (the step reads its whole budget) and a common one (it stops at the limit);
- a whole pass for the rare text, step after step, as the console does it;
- an exact id (found at once, whatever the size).
Prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.core import JobService  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402


def ms(samples: list[float]) -> dict[str, float]:
    values = sorted(s * 1000 for s in samples)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(values[max(0, round(len(values) * 0.95) - 1)], 1),
    }


async def timed(call, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def main(jobs: int, budget: int) -> dict[str, object]:
    server = RedisServer().start()
    try:
        service = JobService(server.url, queue="search", prefix="searchbench")
        await service.initialize()
        await service.pause_queue()
        started = time.monotonic()
        rare: list[str] = []
        for start in range(0, jobs, 10_000):
            size = min(10_000, jobs - start)
            specs = [{"name": "tick", "args": [start + i, "user@example.com"]} for i in range(size)]
            specs[size // 2] = {"name": "tick", "args": [f"needle-{start}"]}
            ids = await service.submit_jobs(specs)
            rare.append(ids[size // 2])
        fill_s = time.monotonic() - started
        print(f"filled {jobs:,} jobs in {fill_s:.1f}s", file=sys.stderr, flush=True)

        async def rare_step() -> None:
            await service.search_jobs("needle-5", ["pending"], limit=500, budget=budget)

        async def common_step() -> None:
            await service.search_jobs("example.com", ["pending"], limit=500, budget=budget)

        async def exact() -> None:
            await service.search_jobs(rare[-1], ["pending"], limit=500, budget=1)

        async def whole_pass() -> int:
            cursor, found = None, 0
            while True:
                page = await service.search_jobs(
                    "needle-5", ["pending"], cursor=cursor, limit=500, budget=budget
                )
                found += len(page.jobs)
                if page.done:
                    return found
                cursor = page.cursor

        passes = await timed(whole_pass, 3)
        figures = {
            "jobs": jobs,
            "budget_per_step": budget,
            "fill_s": round(fill_s, 1),
            "step_rare_text": ms(await timed(rare_step, 30)),
            "step_common_text": ms(await timed(common_step, 30)),
            "exact_id": ms(await timed(exact, 30)),
            "full_pass_rare_text_s": round(statistics.median(passes), 2),
            "full_pass_matches": await whole_pass(),
        }
        await service.close()
        return figures
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--budget", type=int, default=5_000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.jobs, args.budget)), indent=2))
