#!/usr/bin/env python3
"""Where a worker's CPU goes per no-op job: one `jobdeck worker` process draining N jobs,
first unprofiled (its CPU per job, by thread, from /proc), then the same again under
cProfile, turned into µs per job by part.

    python bench/worker_profile.py [--jobs 20000] [--concurrency 100] [--kind noop|sleep|rt]
                                   [--bin VENV/bin]

Same set-up as bench/scaling.py: private servers, the queue paused while N jobs are queued
and the worker starts, then resumed; for the second pass it is paused and refilled and the
warm, idle worker is profiled from the resume to the last completion. The profiler
(bench/profiled_worker.py, switched on and off by signals) counts the main thread's CPU
time, not wall time: on a shared 2-core machine a wall-clock profile (py-spy, or cProfile's
default clock) charges the time the process waited for a core to whatever line was running.
cProfile's own per-call cost inflates what it measures, so each part's *share* of the
profiled time is applied to the unprofiled main-thread CPU per job.

A part is the cumulative time of the functions named in PARTS (indented rows are inside the
row above); the event loop's own share is what the top-level rows leave of the total.
`--bin` runs another checkout's jobdeck (its venv) for a before/after.
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.peers.base import WorkerSpec  # noqa: E402
from bench.peers.jobdeck_peer import JobdeckPeer  # noqa: E402
from bench.redis_server import RedisServer  # noqa: E402
from bench.scaling import Bench, proc_cpu  # noqa: E402
from bench.stats import commandstats, commandstats_usec  # noqa: E402

#: Rows of the table: (label, function names whose cumulative time it is). A name matches any
#: module's function of that name, so a baseline of an older layout reads the same way.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("claim loop (call, parse, start tasks)", ("claim_loop", "_claim_loop")),
    ("  parse the claim reply", ("claim_batch", "_claim_batch")),
    ("  start job tasks (context, task)", ("take", "_take")),
    ("job tasks (run one job)", ("_execute",)),
    ("  decode the claimed record", ("decode_claimed", "decode_record")),
    ("  call the handler (incl. handler + probe)", ("call_handler",)),
    ("    of which the benchmark's probe", ("amark_done",)),
    ("    of which the rt job's round trip (redis-py)", ("around_trip",)),
    ("  build the outcome (JSON)", ("completed",)),
    ("  start the next job held ahead", ("start_next", "_start_next")),
    ("ack loop (finish: args, pack, send)", ("ack_loop",)),
    ("replies in (parse, wake the caller)", ("data_received",)),
    (
        "heartbeat, control, progress, watchdog",
        ("_heartbeat_loop", "_control_loop", "progress_loop", "_beat"),
    ),
)
_TOP = (
    "claim_loop",
    "_claim_loop",
    "_execute",
    "ack_loop",
    "data_received",
    "_heartbeat_loop",
    "_control_loop",
    "progress_loop",
    "_beat",
)


def cumulative(stats: dict[Any, Any], names: tuple[str, ...]) -> float:
    """Seconds of the first of `names` that the profile has (summed over its modules)."""
    for name in names:
        total = sum(v[3] for k, v in stats.items() if k[2] == name)
        if total:
            return total
    return 0.0


def parts(path: Path) -> tuple[list[tuple[str, float]], float]:
    """(label, seconds) rows and the profile's total, with the event loop's own share
    (epoll, callbacks, task steps) as what the top-level rows leave of the total."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())
    rows = [(label, cumulative(stats, names)) for label, names in PARTS]
    top = sum(cumulative(stats, (name,)) for name in _TOP)
    rows.append(("event loop itself (epoll, callbacks, task steps)", total - top))
    return rows, total


def thread_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds of the main thread and of all the others (probe flusher, watchdog)."""
    main = proc_cpu(pid, pid)
    return main, proc_cpu(pid) - main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--kind", default="noop", choices=("noop", "sleep", "rt"),
                   help="rt: jobs whose body makes one Redis round trip (the drain-rt rows)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument(
        "--bin",
        default=str(Path(sys.executable).parent),
        help="the venv bin/ whose jobdeck runs the worker (an A/B baseline)",
    )
    args = p.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="worker-profile-"))
    prof = out / "worker.pstats"
    n = args.jobs
    control_port = args.port + 1 if args.port else 0
    with RedisServer("queue", port=args.port) as q, RedisServer("control", port=control_port) as c:
        b = Bench(q.url, c.url, args.bin, out)
        try:
            b.reset()
            b.fill_paused(n, args.kind)
            spec = WorkerSpec(args.bin, q.url, args.concurrency, "default")
            argv_ = JobdeckPeer.worker_argv(spec)
            worker = b.spawn(
                args.concurrency,
                [
                    str(Path(args.bin) / "python"),
                    "-m",
                    "bench.profiled_worker",
                    str(prof),
                    *argv_[1:],
                ],
            )
            pid = worker.proc.pid
            try:
                b.wait_registered([worker])
                time.sleep(0.5)
                # 1. unprofiled: the worker's real CPU per job, by thread
                m0, o0, t0 = *thread_cpu(pid), time.time()
                last = b.resume_and_wait([worker], 300.0)
                m1, o1 = thread_cpu(pid)
                rate = n / (last - t0)
                # 2. the same again, profiled: where the main thread's CPU goes
                b.fill_paused(n, args.kind)
                time.sleep(0.3)
                os.kill(pid, signal.SIGUSR1)
                time.sleep(0.2)
                b.queue.config_resetstat()
                b.resume_and_wait([worker], 300.0)
                calls, usec = commandstats(b.queue), commandstats_usec(b.queue)
                os.kill(pid, signal.SIGUSR2)
                deadline = time.monotonic() + 30
                while not prof.exists() and time.monotonic() < deadline:
                    time.sleep(0.1)
                time.sleep(0.5)  # let the dump finish
            finally:
                worker.stop()
        finally:
            b.close()
    main_us, other_us = (m1 - m0) / n * 1e6, (o1 - o0) / n * 1e6
    rows, total = parts(prof)
    scale = main_us / (total / n * 1e6)  # profiled seconds -> unprofiled µs per job
    print(
        f"{n:,} {args.kind} jobs at concurrency {args.concurrency}: {rate:,.0f} jobs/s "
        f"(unprofiled); worker CPU {main_us + other_us:.1f} µs/job = main thread "
        f"{main_us:.1f} + other threads {other_us:.1f} (the probe's flusher, the "
        f"watchdog); load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"profiled: {total / n * 1e6:.1f} µs/job of main-thread CPU (the profiler's own "
        f"cost inflates it; the µs column is scaled back by {scale:.2f})"
    )
    print("\n| part of the main thread | share | µs/job |\n|---|---:|---:|")
    for label, seconds in rows:
        print(f"| {label} | {seconds / total:.1%} | {seconds / total * main_us:.1f} |")
    print(
        "\nRedis, per job (INFO commandstats of the profiled run; commands run inside "
        "scripts count on their own line and in the script's time):\n\n"
        "| command | calls/job | µs/job |\n|---|---:|---:|"
    )
    for name, count in calls.most_common(15):
        print(f"| {name} | {count / n:.2f} | {usec[name] / n:.1f} |")
    print(f"\nprofile: {prof} (python -m pstats)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
