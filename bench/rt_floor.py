#!/usr/bin/env python3
"""The floor under the drain-rt rows: the `rt` job's body alone, with no queue around it.

    bench/.venv-peers/bin/python bench/rt_floor.py [--calls 20000] [--rounds 3]
        [--concurrency 10,100]

Each `rt` job makes one Redis round trip (bench/peers/completion.py: a pipeline of INCR and
SET through redis-py). Here that body runs `--calls` times in this process against a private
redis-server, nothing else: from C coroutines on one event loop sharing one `redis.asyncio`
client (what an asyncio worker's jobs do: jobdeck, arq, SAQ, streaq, taskiq), and from C
threads sharing one blocking client (what Dramatiq's, Celery's and RQ's worker threads do).
Per row: calls/s and this process's CPU per call (user + system, so the figure moves little
with the machine's load). A worker that runs the asyncio body can drain at most
1 / (its CPU per call) jobs/s on the core it gets, whatever the queue around it costs:
the gap between that and the queue's own drain-rt figure is the queue's share.
Rounds alternate the rows; medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

COUNT, LAST = "bench:rt:count", "bench:rt:last"


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


async def _asyncio_round(url: str, calls: int, concurrency: int) -> tuple[float, float]:
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(url)

    async def body() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.incr(COUNT)
        pipe.set(LAST, repr(time.time()))
        await pipe.execute()

    async def worker(n: int) -> None:
        for _ in range(n):
            await body()

    await asyncio.gather(*(body() for _ in range(concurrency)))  # connections made
    per = calls // concurrency
    c0, t0 = _cpu(), time.perf_counter()
    await asyncio.gather(*(worker(per) for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    await client.aclose()
    return per * concurrency / wall, cpu / (per * concurrency) * 1e6


def _threads_round(url: str, calls: int, concurrency: int) -> tuple[float, float]:
    import redis

    client = redis.Redis.from_url(url)

    def body() -> None:
        pipe = client.pipeline(transaction=False)
        pipe.incr(COUNT)
        pipe.set(LAST, repr(time.time()))
        pipe.execute()

    per = calls // concurrency
    start = threading.Barrier(concurrency + 1)

    def work() -> None:
        body()
        start.wait()
        for _ in range(per):
            body()

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    for t in threads:
        t.start()
    start.wait()
    c0, t0 = _cpu(), time.perf_counter()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, _cpu() - c0
    client.close()
    return per * concurrency / wall, cpu / (per * concurrency) * 1e6


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calls", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--concurrency", default="10,100")
    args = p.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    rows: dict[str, list[tuple[float, float]]] = {}
    with RedisServer("rt-floor") as server:
        for r in range(args.rounds):
            line = []
            for c in levels:
                for kind in ("asyncio", "threads"):
                    if kind == "asyncio":
                        got = asyncio.run(_asyncio_round(server.url, args.calls, c))
                    else:
                        got = _threads_round(server.url, args.calls, c)
                    rows.setdefault(f"{kind} c{c}", []).append(got)
                    line.append(f"{kind} c{c} {got[0]:,.0f}/s {got[1]:.1f} µs")
            print(f"round {r + 1} (load {os.getloadavg()[0]:.1f}): " + ", ".join(line))
    print(f"\nmedian of {args.rounds} rounds, {args.calls:,} calls per row:")
    for label, samples in rows.items():
        rate = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        print(f"  {label:<14} {rate:>9,.0f} calls/s   CPU {cpu:6.1f} µs/call "
              f"(ceiling on one core: {1e6 / cpu:,.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
