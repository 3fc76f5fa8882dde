#!/usr/bin/env python3
"""Search latency over a large queue, through the HTTP API (the dashboard's filter).

    python bench/search_api.py [--jobs 1000000] [--budget 10000]

A private redis-server holds `--jobs` pending jobs (the queue paused, so they stay), each
with a name out of 20 and args like ["customer-123456", 123456]; one job in 100,000 has
"needle-7Q" in its args. `create_app` is served by uvicorn over real HTTP (tests' ServedApp)
and a client asks `GET /api/v1/search` as the dashboard does:
1. the first step of a rare text (`needle-7q`, any case): what a keystroke costs;
2. the whole search for it, step after step with the cursor until the lists end: how long
   finding every match in the queue takes, and each step's latency;
3. an exact id and an id's first 10 characters (the exact id is read first, whatever the
   scan); 4. a common name (`send_email`: one job in 20), whose first step fills a page.
Latencies are wall time at the client (p50 / p95 / max over repeated requests).
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.redis_server import RedisServer  # noqa: E402
from jobdeck.core import JobService  # noqa: E402
from jobdeck.web import create_app  # noqa: E402
from tests.dashboard.served import ServedApp  # noqa: E402

NAMES = ["send_email", *(f"task_{n:02d}" for n in range(19))]
NEEDLE_EVERY = 100_000


async def fill(service: JobService, jobs: int) -> list[str]:
    await service.pause_queue()
    ids: list[str] = []
    chunk = 10_000
    for first in range(0, jobs, chunk):
        specs = []
        for n in range(first, min(jobs, first + chunk)):
            tag = f"needle-7Q-{n}" if n % NEEDLE_EVERY == 7 else f"customer-{n:06d}"
            specs.append({"name": NAMES[n % len(NAMES)], "args": [tag, n]})
        ids += await service.submit_jobs(specs)
    return ids


def timed(client: httpx.Client, params: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    reply = client.get("/api/v1/search", params=params)
    elapsed = time.perf_counter() - start
    reply.raise_for_status()
    return elapsed, reply.json()


def figures(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    print(
        f"{label:46s} p50 {statistics.median(ms):7.1f} ms  p95 {p95:7.1f} ms  "
        f"max {ms[-1]:7.1f} ms  ({len(ms)} requests)"
    )


def main() -> None:
    logging.getLogger("jobdeck").setLevel(logging.ERROR)  # no worker serves them: by design
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--budget", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    options = parser.parse_args()
    with RedisServer("search-api") as server:
        served = ServedApp(
            lambda: JobService(server.url, queue="big", prefix="search"), create_app
        ).start()
        try:
            assert served.service is not None
            started = time.perf_counter()
            ids = served.call(fill(served.service, options.jobs), timeout=3600)
            print(
                f"redis {server.version()}, {options.jobs:,} pending jobs filled in "
                f"{time.perf_counter() - started:.0f} s; budget {options.budget:,} records "
                "a request"
            )
            rng = random.Random(3)
            with httpx.Client(base_url=served.url.rstrip("/"), timeout=600) as client:
                base = {"budget": options.budget}
                figures(
                    "first step, rare text",
                    [
                        timed(client, {**base, "text": "needle-7q"})[0]
                        for _ in range(options.repeat)
                    ],
                )
                steps: list[float] = []
                found = 0
                cursor = None
                whole = time.perf_counter()
                while True:
                    params = {**base, "text": "needle-7q", **({"cursor": cursor} if cursor else {})}
                    elapsed, page = timed(client, params)
                    steps.append(elapsed)
                    found += len(page["jobs"])
                    cursor = page["cursor"]
                    if cursor is None:
                        break
                total = time.perf_counter() - whole
                print(
                    f"whole search, rare text: {total:.1f} s in {len(steps)} steps, "
                    f"{found} matches of {len(range(7, options.jobs, NEEDLE_EVERY))}"
                )
                figures("  each step", steps)
                figures(
                    "exact id",
                    [
                        timed(client, {**base, "text": rng.choice(ids)})[0]
                        for _ in range(options.repeat)
                    ],
                )
                figures(
                    "an id's first 10 characters (first step)",
                    [
                        timed(client, {**base, "text": rng.choice(ids)[:10]})[0]
                        for _ in range(options.repeat)
                    ],
                )
                figures(
                    "common name, a page of 50 (first step)",
                    [
                        timed(client, {**base, "text": "send_email", "limit": 50})[0]
                        for _ in range(options.repeat)
                    ],
                )
        finally:
            served.stop()


if __name__ == "__main__":
    main()
