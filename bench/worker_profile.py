#!/usr/bin/env python3
"""Where a worker's CPU goes per no-op job: a sampling profile of one `jobdeck worker`
process draining N jobs, turned into µs per job by part.

    python bench/worker_profile.py [--jobs 50000] [--concurrency 100] [--rate 1000]

Same set-up as bench/scaling.py (private servers, queue paused while N no-op jobs are queued
and the worker starts, then resumed), with py-spy (`pip install py-spy`; not a jobdeck
dependency) sampling the worker from the resume to the last completion. py-spy reads the
process from outside, so unlike cProfile it does not slow the small functions it measures.
Samples of a thread caught waiting (epoll, a condition, the probe's sleep) are dropped: in
this sandbox py-spy's own idle detection does not see them.
The worker's CPU per job comes from /proc (utime + stime over the same window); each part's
share of the non-idle samples turns it into µs per job.

Parts: a sample is charged to the innermost frame of a known part (PARTS below, first match
from the leaf), so asyncio or hiredis work done on behalf of, say, the claim loop counts as
the claim loop's; samples with no such frame are the event loop's own dispatching.
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402
from bench.scaling import Bench, proc_cpu, redis_cpu  # noqa: E402
from bench.stats import commandstats, commandstats_usec  # noqa: E402

#: (part, frame matcher); a matcher is "function (file" as py-spy's raw output spells a frame.
PARTS: tuple[tuple[str, str], ...] = (
    ("probe (benchmark's completion probe)", "completion.py"),
    ("the handler itself (benchmark job)", "jobdeck_tasks.py"),
    ("handler call: context var, timeout scope", "call_handler (core/worker/calls.py"),
    ("decode the claimed record", "decode_record"),
    ("decode the claimed record", "decode_claimed"),
    ("outcome: build the Finish (JSON)", "outcomes.py"),
    ("finish: send batched outcomes", "reporter.py"),
    ("finish: send batched outcomes", "finish (core/backend/redis/leases.py"),
    ("claim: parse the reply", "_claim_batch"),
    ("claim: call (pack, send, await reply)", "claim (core/backend/redis/leases.py"),
    ("claim: call (pack, send, await reply)", "wait_and_claim"),
    ("claim: start job tasks", "._start (core/worker/"),
    ("claim: start job tasks", "._take (core/worker/"),
    ("claim: start job tasks", "._start_next (core/worker/"),
    ("claim loop", "._claim_loop (core/worker/"),
    ("job task: _execute / attempt", "attempt (core/worker/calls.py"),
    ("job task: _execute / attempt", "_execute (core/worker/pool.py"),
    ("heartbeat, control, progress, watchdog", "core/worker/control.py"),
    ("heartbeat, control, progress, watchdog", "core/worker/watchdog.py"),
    ("connection: reply parsing (hiredis)", "data_received (core/backend/fastpath.py"),
    ("connection: send", "core/backend/fastpath.py"),
)


#: Leaf frames of a thread that waits (py-spy cannot always tell an idle thread here).
IDLE_LEAVES = ("select (selectors.py", "Condition.wait (threading.py", "_Probe._run (bench")


def part_of(stack: list[str]) -> str | None:
    """The part a sample belongs to; None for a thread caught waiting."""
    if stack and stack[-1].startswith(IDLE_LEAVES):
        return None
    for frame in reversed(stack):  # leaf last in py-spy's raw format
        for part, match in PARTS:
            if match in frame:
                return part
    if any("_run_once" in f for f in stack):
        return "event loop: dispatching callbacks and tasks"
    return "other (threads, interpreter)"


def read_raw(path: Path) -> collections.Counter[str]:
    """py-spy --format raw: one collapsed stack per line, `frame;frame;... count`."""
    parts: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            frames = stack.split(";")
            if frames and frames[0].startswith("process "):
                frames = frames[1:]
            part = part_of(frames)
            if part is not None:
                parts[part] += int(count)
    return parts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=50_000)
    p.add_argument("--concurrency", type=int, default=100)
    p.add_argument("--kind", default="noop", choices=("noop", "sleep"))
    p.add_argument("--rate", type=int, default=1000, help="py-spy samples per second")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bin", default=str(Path(sys.executable).parent))
    p.add_argument("--py-spy", default=str(Path(sys.executable).parent / "py-spy"))
    args = p.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="worker-profile-"))
    control_port = args.port + 1 if args.port else 0
    with RedisServer("queue", port=args.port) as q, RedisServer("control", port=control_port) as c:
        b = Bench(q.url, c.url, args.bin, out)
        try:
            b.reset()
            b.fill_paused(args.jobs, args.kind)
            worker = b.spawn(args.concurrency)
            try:
                b.wait_registered([worker])
                time.sleep(0.5)
                raw = out / "profile.txt"
                spy = subprocess.Popen(
                    [args.py_spy, "record", "--pid", str(worker.proc.pid), "--rate",
                     str(args.rate), "--nonblocking", "--threads", "--format", "raw", "-o",
                     str(raw)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)  # py-spy attached
                b.queue.config_resetstat()
                cpu0, r0, t0 = proc_cpu(worker.proc.pid), redis_cpu(b.queue), time.time()
                last = b.resume_and_wait([worker], 300.0)
                cpu1, r1, t1 = proc_cpu(worker.proc.pid), redis_cpu(b.queue), time.time()
                calls, usec = commandstats(b.queue), commandstats_usec(b.queue)
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
            finally:
                worker.stop()
        finally:
            b.close()
    n = args.jobs
    per_job = (cpu1 - cpu0) / n * 1e6
    parts = read_raw(raw)
    total = sum(parts.values()) or 1
    print(f"{n:,} {args.kind} jobs at concurrency {args.concurrency}: "
          f"{n / (last - t0):,.0f} jobs/s; "
          f"worker CPU {per_job:.1f} µs/job ({(cpu1 - cpu0) / (t1 - t0):.2f} cores), Redis "
          f"{(r1 - r0) / n * 1e6:.1f} µs/job; load {os.getloadavg()[0]:.1f}; {total} samples")
    print("\n| part | share | µs/job |\n|---|---:|---:|")
    for part, count in parts.most_common():
        print(f"| {part} | {count / total:.1%} | {count / total * per_job:.1f} |")
    print("\nRedis, per job (INFO commandstats; commands run inside scripts are counted both "
          "on their own line and in the script's time):\n\n| command | calls/job | µs/job |"
          "\n|---|---:|---:|")
    for name, count in calls.most_common(15):
        print(f"| {name} | {count / n:.2f} | {usec[name] / n:.1f} |")
    print(f"\nraw stacks: {raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
