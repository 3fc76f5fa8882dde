#!/usr/bin/env python3
"""Where the microseconds of a submit go: client CPU, Redis CPU and the script's own time per
job, next to the floors a submit cannot go below, in interleaved rounds.

    .venv/bin/python bench/enqueue_profile.py [--jobs 10000] [--rounds 3] [--port 0]

The harness (`bench/run.py --scenarios enqueue,enqueue-bulk`) gives jobs/s against the peers;
this says why. One private redis-server (`--port`, or a free one), one process, and per round:

- `ping`: `PING` awaited one at a time on jobdeck's connection: the round-trip floor of the
  event loop and the socket;
- `evalsha`: the submit script called directly with a ready-made argument list (a fresh id
  each): what one-by-one submits would cost with no Python of jobdeck's own;
- `submit_job`: `JobService.submit_job` one at a time, as the harness does;
- `submit_jobs`: `JobService.submit_jobs` of all N, split into `validate` (checking and
  encoding every spec, which must finish before anything is written) and `store` (the
  chunks' script calls).

Per job: wall µs, this process's CPU µs (user + system: includes the kernel's socket work),
Redis's CPU µs (`used_cpu_user + used_cpu_sys`: includes its socket I/O) and the scripts'
µs from `INFO commandstats` (EVALSHA usec; on a loaded machine it includes time the server
was preempted). Comparing the rows of one round says what a change to the client can win;
the `evalsha` row is the part only the script (or the machine) can change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402


def _info(reply: bytes) -> dict[str, str]:
    return dict(line.split(":", 1) for line in reply.decode().splitlines() if ":" in line)


async def _measure(conn: Any, n: int, body: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    await conn.execute("CONFIG", "RESETSTAT")
    cpu = _info(await conn.execute("INFO", "cpu"))
    redis_before = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])
    wall, mine = time.perf_counter(), time.process_time()
    await body()
    wall, mine = time.perf_counter() - wall, time.process_time() - mine
    cpu = _info(await conn.execute("INFO", "cpu"))
    redis_cpu = float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]) - redis_before
    stats = _info(await conn.execute("INFO", "commandstats"))
    evalsha = stats.get("cmdstat_evalsha", "usec=0,")
    script = int(evalsha.split("usec=")[1].split(",")[0]) / 1e6
    per = 1e6 / n
    return {
        "wall": wall * per,
        "client": mine * per,
        "redis": redis_cpu * per,
        "script": script * per,
        "rate": n / wall,
    }


async def _round(url: str, n: int, prefix: str) -> dict[str, dict[str, float]]:
    from jobdeck.core import JobService
    from jobdeck.core.ids import new_id
    from jobdeck.core.submission import prepare_spec, submit_in_chunks

    service = JobService(url=url, queue="bench", prefix=prefix)
    await service.initialize()
    backend: Any = service.backend
    conn = backend.connection
    for _ in range(10):  # scripts loaded, connection warm
        await service.submit_job("noop", (), {})
    base = conn.script_command("submit")
    record = ("name", "noop", "status", "pending")

    async def ping() -> None:
        for _ in range(n):
            await conn.execute("PING")

    async def evalsha() -> None:
        for _ in range(n):
            await conn.execute(*base, 1, new_id(), "noop", 1, 0, "", 0, "", "", 4, *record)

    async def submit_job() -> None:
        for _ in range(n):
            await service.submit_job("noop", (), {})

    stages: dict[str, float] = {}

    async def submit_jobs() -> None:
        started = time.perf_counter()
        specs = [{"name": "noop", "args": (), "kwargs": {}} for _ in range(n)]
        prepared = [prepare_spec(spec) for spec in specs]  # what submit_jobs does first
        stages["validate"] = (time.perf_counter() - started) * 1e6 / n
        stored = time.perf_counter()
        await submit_in_chunks(backend, prepared)
        stages["store"] = (time.perf_counter() - stored) * 1e6 / n

    async def submit_jobs_whole() -> None:
        await service.submit_jobs([{"name": "noop", "args": (), "kwargs": {}} for _ in range(n)])

    rows = {}
    for name, body in (
        ("ping", ping),
        ("evalsha", evalsha),
        ("submit_job", submit_job),
        ("submit_jobs", submit_jobs_whole),
        ("submit_jobs staged", submit_jobs),
    ):
        rows[name] = await _measure(conn, n, body)
    rows["submit_jobs staged"].update(stages)
    await service.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=0, help="redis-server port (0: a free one)")
    args = parser.parse_args()
    server = RedisServer("enqueue-profile", port=args.port).start()
    try:
        results: dict[str, list[dict[str, float]]] = {}
        for index in range(args.rounds):
            load = os.getloadavg()[0]
            rows = asyncio.run(_round(server.url, args.jobs, f"profile{index}"))
            print(f"round {index + 1}: load average {load:.1f}")
            for name, row in rows.items():
                results.setdefault(name, []).append(row)
                extra = "".join(f"  {k} {row[k]:5.1f}" for k in ("validate", "store") if k in row)
                print(
                    f"  {name:19s} {row['rate']:9,.0f} jobs/s  wall {row['wall']:6.1f}  "
                    f"client {row['client']:5.1f}  redis {row['redis']:5.1f}  "
                    f"script {row['script']:5.1f} us/job{extra}"
                )
        print(f"median of {args.rounds} rounds (us per job):")
        for name, rows_of in results.items():
            med = {k: statistics.median(r[k] for r in rows_of) for k in rows_of[0]}
            extra = "".join(f"  {k} {med[k]:5.1f}" for k in ("validate", "store") if k in med)
            print(
                f"  {name:19s} {med['rate']:9,.0f} jobs/s  wall {med['wall']:6.1f}  "
                f"client {med['client']:5.1f}  redis {med['redis']:5.1f}  "
                f"script {med['script']:5.1f}{extra}"
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
