#!/usr/bin/env python3
"""Synchronous producers: `SyncJobService.submit_job` against Dramatiq's `actor.send`, one
thread submitting one job at a time and 16 threads sharing one client, in alternating rounds.

    bench/.venv-peers/bin/python bench/sync_producers.py [--jobs 10000] [--rounds 5]
        [--threads 16] [--pin-redis 1]

Rows, each from a fresh queue on one private redis-server (this process is the client):

- `ping`: a bare `PING` round trip on a blocking socket, one at a time: the floor under any
  one-by-one submit from a thread on this machine (no work in Redis, no Python of anyone's);
- `jobdeck-sync`: `SyncJobService.submit_job`, the calling thread sending the script call;
- `jobdeck-sync-loop`: the same client made to take the path every call took before (a hop to
  its loop thread and back), for the before/after in one run;
- `dramatiq`: `actor.send()` on Dramatiq's RedisBroker (its enqueue script, redis-py);
- `... x16`: the same from `--threads` threads sharing one client (one SyncJobService; one
  Dramatiq broker, whose redis-py pool gives each thread its own connection).

Per row: jobs/s (wall), this process's CPU per job (user + system: the client's own work and
its share of the kernel's loopback work) and Redis's (`INFO cpu`, its socket work included).
The CPU figures move much less with the machine's load than the rates do. The ratios are
taken round by round (each round runs every row back to back) and their median is printed:
on a shared machine whose speed drifts, a ratio within a round means more than a ratio of
medians.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

Submit = Callable[[], Any]


def _redis_cpu(admin: Any) -> float:
    cpu = admin.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def _timed(admin: Any, threads: int, n: int, submit: Submit) -> tuple[float, float, float]:
    """(jobs/s, client CPU µs per job, Redis CPU µs per job) for n submits spread over
    `threads` threads."""
    per = n // threads

    def work() -> None:
        for _ in range(per):
            submit()

    server = _redis_cpu(admin)
    cpu, wall = time.process_time(), time.perf_counter()
    if threads == 1:
        work()
    else:
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server = _redis_cpu(admin) - server
    done = per * threads
    return done / wall, cpu * 1e6 / done, server * 1e6 / done


def _ping(port: int) -> Submit:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def ping() -> None:
        sock.sendall(b"*1\r\n$4\r\nPING\r\n")
        sock.recv(64)

    return ping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--pin-redis",
        type=int,
        default=None,
        metavar="CPU",
        help="run redis-server on this processor only (taskset)",
    )
    args = parser.parse_args()

    server = RedisServer("sync-producers").start()
    if args.pin_redis is not None and server.proc is not None:
        os.sched_setaffinity(server.proc.pid, {args.pin_redis})
    os.environ["BENCH_REDIS_URL"] = server.url
    import redis

    from jobdeck.core import SyncJobService

    admin = redis.Redis.from_url(server.url)
    rows: dict[str, tuple[int, Submit]] = {}
    rows["ping"] = (1, _ping(server.port))
    fast = SyncJobService(server.url, queue="bench", prefix="sync")
    loop = SyncJobService(server.url, queue="bench", prefix="loop")
    fast.submit_job("noop")  # connected, scripts loaded, the calling thread's path open
    loop.submit_job("noop")
    loop._submitter = False  # every call through the loop thread, as before

    def fast_submit() -> Any:
        return fast.submit_job("noop", (), {})

    def loop_submit() -> Any:
        return loop.submit_job("noop", (), {})

    rows["jobdeck-sync"] = (1, fast_submit)
    rows["jobdeck-sync-loop"] = (1, loop_submit)
    try:
        from bench.peers import dramatiq_tasks

        dramatiq_tasks.noop.send()
        rows["dramatiq"] = (1, dramatiq_tasks.noop.send)
    except ImportError:
        print("dramatiq is not installed here: run with bench/.venv-peers/bin/python")
    for name in ("jobdeck-sync", "jobdeck-sync-loop", "dramatiq"):
        if name in rows:
            rows[f"{name} x{args.threads}"] = (args.threads, rows[name][1])

    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in rows}
    ratios: dict[str, list[float]] = {}
    pairs = [
        ("jobdeck-sync", "dramatiq"),
        ("jobdeck-sync", "jobdeck-sync-loop"),
        ("jobdeck-sync", "ping"),
        (f"jobdeck-sync x{args.threads}", f"dramatiq x{args.threads}"),
        (f"jobdeck-sync x{args.threads}", f"jobdeck-sync-loop x{args.threads}"),
    ]
    for index in range(args.rounds):
        order = list(rows)
        shift = index % len(order)
        order = order[shift:] + order[:shift]
        for name in order:
            admin.flushall()
            threads, submit = rows[name]
            results[name].append(_timed(admin, threads, args.jobs, submit))
        line = "  ".join(f"{name} {results[name][-1][0]:,.0f}" for name in rows)
        print(f"round {index + 1} (load {os.getloadavg()[0]:.1f}): {line}", flush=True)
        for a, b in pairs:
            if a in results and b in results:
                ratios.setdefault(f"{a} / {b}", []).append(results[a][-1][0] / results[b][-1][0])
    fast.close()
    loop.close()
    server.stop()
    print(f"\nmedian of {args.rounds} rounds, {args.jobs:,} jobs per row:")
    for name, samples in results.items():
        rate = statistics.median(s[0] for s in samples)
        cpu = statistics.median(s[1] for s in samples)
        server = statistics.median(s[2] for s in samples)
        low, high = min(s[0] for s in samples), max(s[0] for s in samples)
        print(
            f"  {name:26s} {rate:9,.0f} jobs/s  (min {low:,.0f}, max {high:,.0f})  "
            f"CPU µs/job: client {cpu:5.1f}, Redis {server:5.1f}"
        )
    print("ratios, median of the rounds' own ratios (min-max):")
    for label, values in ratios.items():
        print(
            f"  {label:48s} {statistics.median(values):5.2f}  ({min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main()
