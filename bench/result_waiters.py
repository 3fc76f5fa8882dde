#!/usr/bin/env python3
"""What `await service.result(...)` costs when many wait at once in one process: N waiters
(default 1,000) on N jobs, against a private redis-server this script starts, first while
nothing happens, then while a worker process drains the jobs. The same N jobs waited on by
N pollers (`get_job` every 0.1 s each, what a waiter without the shared reader would do)
are the yardstick.

    python bench/result_waiters.py [--waiters 1000] [--idle 5]

Per row: this process's CPU, the Redis commands the waiting side sent (XREAD, XREVRANGE,
XINFO and the read-only record reads, EVALSHA_RO; the worker sends none of these), and for
the drain the time from a job's `finished_at` to its waiter's answer (p50, p99). Memory is
measured apart, under tracemalloc: the bytes that stay allocated per waiter while it waits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402
from bench.stats import commandstats, delta, percentile  # noqa: E402
from jobdeck.core import JobService  # noqa: E402

QUEUE = "waiters"
WAITING_SIDE = ("xread", "xrevrange", "xinfo|stream", "evalsha_ro")


def _worker_main(url: str, prefix: str) -> None:
    """`--worker`: a pool that completes every job at once, until SIGTERM."""

    async def run() -> None:
        async with JobService(url, QUEUE, prefix) as service:
            service.register_handler("work", lambda n: n)
            await service.start_workers(8)
            stop = asyncio.Event()
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()

    asyncio.run(run())


def _start_worker(url: str, prefix: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, __file__, "--worker", url, prefix],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


async def _submit(service: JobService, n: int) -> list[str]:
    return await service.submit_jobs([{"name": "work", "args": [i]} for i in range(n)])


async def _memory_per_waiter(url: str, prefix: str, n: int) -> float:
    async with JobService(url, QUEUE, prefix + "m") as service:
        ids = await _submit(service, n)
        for job_id in ids[:10]:  # connected, scripts loaded
            await service.get_job(job_id)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        tasks = [asyncio.create_task(service.result(job_id, timeout=60)) for job_id in ids]
        await _all_waiting(service, n)
        await asyncio.sleep(0.2)
        held = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await service.purge("pending")
    return held / n


async def _waiters(service: JobService, ids: list[str]) -> list[asyncio.Task[float]]:
    async def wait(job_id: str) -> float:
        await service.result(job_id, timeout=120)
        return time.time()

    tasks = [asyncio.create_task(wait(job_id)) for job_id in ids]
    await _all_waiting(service, len(ids))
    return tasks


async def _all_waiting(service: JobService, n: int) -> None:
    while service._results is None or service._results.waiting < n:  # noqa: ASYNC110
        await asyncio.sleep(0.01)


async def _pollers(service: JobService, ids: list[str]) -> list[asyncio.Task[float]]:
    reads = asyncio.Semaphore(16)  # as the waiters' reads (redis-py refuses past 100 at once)

    async def poll(job_id: str) -> float:
        while True:
            async with reads:
                job = await service.get_job(job_id)
            if job is not None and job.status.is_terminal:
                return time.time()
            await asyncio.sleep(0.1)

    return [asyncio.create_task(poll(job_id)) for job_id in ids]


async def _row(url: str, prefix: str, n: int, idle: float, kind: str) -> dict[str, Any]:
    client = redis.Redis.from_url(url)
    async with JobService(url, QUEUE, prefix) as service:
        ids = await _submit(service, n)
        start = _pollers if kind == "pollers" else _waiters
        tasks = await start(service, ids)
        await asyncio.sleep(1.0)  # every waiter past its second read of its record
        # -- idle: nothing finishes ----------------------------------------------------------
        stats, cpu = commandstats(client), time.process_time()
        await asyncio.sleep(idle)
        idle_cpu = time.process_time() - cpu
        idle_cmds = delta(commandstats(client), stats)
        # -- drain: a worker process completes every job ------------------------------------
        stats, cpu, wall = commandstats(client), time.process_time(), time.perf_counter()
        worker = _start_worker(url, prefix)
        try:
            answered = await asyncio.gather(*tasks)
            drain_wall = time.perf_counter() - wall
            drain_cpu = time.process_time() - cpu
            drain_cmds = delta(commandstats(client), stats)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
        jobs = [await service.get_job(job_id) for job_id in ids]
        lags = [at - (job.finished_at or at) for at, job in zip(answered, jobs, strict=True) if job]
    client.close()
    return {
        "kind": kind,
        "idle_cpu_ms_per_s": idle_cpu * 1000 / idle,
        "idle_cmds_per_s": {c: idle_cmds[c] / idle for c in WAITING_SIDE if idle_cmds[c]},
        "drain_wall_s": drain_wall,
        "drain_cpu_ms": drain_cpu * 1000,
        "drain_cmds": {c: drain_cmds[c] for c in WAITING_SIDE if drain_cmds[c]},
        "lag_p50_ms": percentile(lags, 50) * 1000,
        "lag_p99_ms": percentile(lags, 99) * 1000,
    }


def _print(row: dict[str, Any], n: int) -> None:
    def commands(counts: dict[str, float], per: str) -> str:
        return ", ".join(f"{name} {value:,.1f}{per}" for name, value in counts.items()) or "none"

    print(f"{n:,} {row['kind']}:")
    print(
        f"  idle:  {row['idle_cpu_ms_per_s']:6.1f} ms CPU per second;  "
        f"{commands(row['idle_cmds_per_s'], '/s')}"
    )
    print(
        f"  drain: {row['drain_wall_s']:6.2f} s wall, {row['drain_cpu_ms']:7.1f} ms CPU "
        f"({row['drain_cpu_ms'] * 1000 / n:6.1f} µs a job);  "
        f"{commands(row['drain_cmds'], '')}"
    )
    print(
        f"  finished -> answered: p50 {row['lag_p50_ms']:.1f} ms, p99 {row['lag_p99_ms']:.1f} ms"
    )


async def _main(n: int, idle: float) -> None:
    server = RedisServer("waiters").start()
    try:
        prefix = f"rw{os.getpid()}"
        per_waiter = await _memory_per_waiter(server.url, prefix, n)
        print(f"redis-server {server.version()}, {n:,} jobs, idle phase {idle:g} s")
        print(f"memory held per waiter while it waits: {per_waiter:,.0f} bytes")
        for kind in ("waiters", "pollers"):
            _print(await _row(server.url, f"{prefix}{kind[0]}", n, idle, kind), n)
    finally:
        server.stop()


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        _worker_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of the idle phase")
    opts = parser.parse_args()
    asyncio.run(_main(opts.waiters, opts.idle))


if __name__ == "__main__":
    main()
