"""The steady traffic for bench/console_load.py, in its own process.

It submits `--rate` jobs a second (normal priority, so they run before the low-priority
backlog) and runs them on a pool of `--slots` slots whose handler takes `--seconds` and
reports progress `--steps` times (once by default). Each job then makes three events and
one per step (submitted, started, progress, completed), so `--rate 250` is about 1,000 events
a second. Prints one JSON line a second: submitted,
completed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.core import JobService, WorkerSettings, current_job  # noqa: E402


async def main(args: argparse.Namespace) -> None:
    service = JobService(
        args.url,
        queue=args.queue,
        prefix=args.prefix,
        worker_settings=WorkerSettings(progress_interval=0.1),
    )

    @service.handler()
    async def tick(n: int = 0) -> int:
        for step in range(args.steps):
            await asyncio.sleep(args.seconds / (args.steps + 1))
            current_job().report_progress((step + 1) / (args.steps + 1), f"step {step + 1}")
        await asyncio.sleep(args.seconds / (args.steps + 1))
        return n

    await service.initialize()
    await service.start_workers(args.slots, worker_id="bench-load")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    per_tick = max(1, round(args.rate / 20))
    submitted, started = 0, time.monotonic()
    next_report = started + 1
    while not stop.is_set():
        due = started + submitted / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            continue
        await service.submit_jobs(
            [{"name": "tick", "args": [submitted + i]} for i in range(per_tick)]
        )
        submitted += per_tick
        if time.monotonic() >= next_report:
            next_report += 1
            print(
                json.dumps({"submitted": submitted, "completed": service.pool.processed}),
                flush=True,
            )
    await service.stop_workers(graceful=False)
    await service.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--queue", default="bench")
    parser.add_argument("--prefix", default="jobdeck")
    parser.add_argument("--rate", type=float, default=250.0, help="jobs submitted per second")
    parser.add_argument("--slots", type=int, default=25, help="rate x seconds keeps up")
    parser.add_argument("--seconds", type=float, default=0.1, help="run time of one job")
    parser.add_argument("--steps", type=int, default=1, help="progress reports per job")
    asyncio.run(main(parser.parse_args()))
