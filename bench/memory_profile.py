#!/usr/bin/env python3
"""Where a pending job's bytes go in Redis, how they grow with its arguments, and a million.

    python bench/memory_profile.py [--jobs 10000] [--million] [--json bench/results/memory.json]

Each case starts a private redis-server (bench/redis_server.py), submits `--jobs` no-op jobs
with `submit_jobs` (no worker), and reports `used_memory` growth per job and `MEMORY USAGE`
per key kind. Cases: tiny args (`[i]`), then one string argument of 100 B, 1 KB and 10 KB.
`--million` adds a run with 1,000,000 tiny jobs: the total, and how long the first and a
deep page of the pending list take to read (`list_jobs`), which is what the console and the
API do. The event stream is capped (`events_maxlen`, 50,000 by default), so its share per job
falls as the queue grows: at 10,000 jobs every job carries a whole event, at a million a
twentieth of one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402
from bench.stats import memory_by_pattern  # noqa: E402

CHUNK = 1000


async def _fill(url: str, jobs: int, arg_bytes: int, client: Any) -> tuple[int, int]:
    """used_memory before and after: before is read once the service is connected and has
    submitted one job (its scripts loaded, its connections' buffers allocated), so the
    growth is the jobs' own."""
    from jobdeck.core import JobService

    service = JobService(url=url, queue="mem", prefix="jobdeck")
    await service.initialize()
    try:
        await service.submit_job("noop", args=[-1])
        before = int(client.info("memory")["used_memory"])
        for start in range(0, jobs, CHUNK):
            stop = min(jobs, start + CHUNK)
            await service.submit_jobs([
                {"name": "noop", "args": [("x" * arg_bytes) if arg_bytes else i], "kwargs": {}}
                for i in range(start, stop)
            ])
        return before, int(client.info("memory")["used_memory"])
    finally:
        await service.close()


async def _page_times(url: str) -> dict[str, float]:
    from jobdeck.core import JobService

    service = JobService(url=url, queue="mem", prefix="jobdeck")
    await service.initialize()
    try:
        out = {}
        for label, offset in (("first_page_ms", 0), ("page_at_500000_ms", 500_000),
                              ("last_page_ms", 999_950)):
            times = []
            for _ in range(5):
                began = time.perf_counter()
                await service.list_jobs("pending", offset=offset, limit=50)
                times.append((time.perf_counter() - began) * 1000)
            out[label] = sorted(times)[len(times) // 2]
        return out
    finally:
        await service.close()


def measure(jobs: int, arg_bytes: int, pages: bool = False, listpack_value: int = 0
            ) -> dict[str, Any]:
    import redis

    with RedisServer("mem") as server:
        client = redis.Redis(port=server.port)
        if listpack_value:
            client.config_set("hash-max-listpack-value", listpack_value)
        before, after = asyncio.run(_fill(server.url, jobs, arg_bytes, client))
        result: dict[str, Any] = {
            "jobs": jobs, "arg_bytes": arg_bytes, "hash_max_listpack_value": listpack_value or 64,
            "used_memory_per_job": (after - before) / jobs,
            "used_memory_total_mb": (after - before) / 2**20,
        }
        if jobs <= 100_000:
            kinds: dict[str, float] = {}
            for pattern, entry in memory_by_pattern(client).items():
                # "jobdeck:{mem}:job:* (hash)" -> "job"; "...:pending:* (list)" -> "pending"
                kind = pattern.split("}:", 1)[-1].split(" ")[0].split(":")[0] or pattern
                kinds[kind] = kinds.get(kind, 0) + entry["bytes"] / jobs
            result["memory_usage_per_job"] = {k: round(v, 1) for k, v in kinds.items() if v >= 0.5}
        if pages:
            result.update(asyncio.run(_page_times(server.url)))
        client.close()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--million", action="store_true", help="also 1,000,000 tiny jobs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = [measure(args.jobs, size) for size in (0, 100, 1000, 10_000)]
    # A record with any value over hash-max-listpack-value (64 bytes by default) is stored as
    # a hash table, not a listpack: the same jobs on a server configured for 1 KB values.
    rows += [measure(args.jobs, size, listpack_value=1024) for size in (100, 1000)]
    if args.million:
        rows.append(measure(1_000_000, 0, pages=True))
    print("| jobs | args | bytes/job (used_memory) | total | by key (MEMORY USAGE, B/job) |")
    print("|---:|---|---:|---:|---|")
    for row in rows:
        size = "tiny ([i])" if not row["arg_bytes"] else f"{row['arg_bytes']:,} B string"
        if row["hash_max_listpack_value"] != 64:
            size += f", hash-max-listpack-value {row['hash_max_listpack_value']}"
        parts = ", ".join(f"{k} {v:g}" for k, v in row.get("memory_usage_per_job", {}).items())
        print(f"| {row['jobs']:,} | {size} | {row['used_memory_per_job']:,.0f} | "
              f"{row['used_memory_total_mb']:,.1f} MB | {parts} |")
        if "first_page_ms" in row:
            print(f"|  | pages of 50 (median of 5) | first {row['first_page_ms']:.1f} ms, "
                  f"at 500,000 {row['page_at_500000_ms']:.1f} ms, "
                  f"last {row['last_page_ms']:.1f} ms |  |  |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
