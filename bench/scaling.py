#!/usr/bin/env python3
"""Scaling table: jobs/s draining no-op jobs against worker processes and concurrency, with
Redis's CPU and the workers' CPU per job, to show where Redis, not Python, is the limit.

    python bench/scaling.py [--jobs 20000] [--procs 1,2,4] [--concurrency 1,10,100,1000]
                            [--rounds 3] [--port 0] [--bin DIR]

For every cell (P `jobdeck worker` processes at concurrency C each) and round, on a private
redis-server (FLUSHALL between cells), the queue is paused, N no-op jobs are queued (bulk,
untimed), the P workers are started and left until all are registered and idle, CPU counters
are read (INFO cpu of the queue server; /proc utime+stime of each worker process), and the
queue is resumed: jobs/s runs from the resume to the last job's completion as the completion
probe saw it (bench/peers/completion.py, on a second private server). So unlike run.py's
drain, worker start-up is *not* in these figures: this table is about steady throughput.

Why pause/resume rather than timing from spawn: a table against process count would
otherwise mostly measure how long P interpreters take to import on 2 cores.

Columns: Redis CPU as a share of one core (Redis runs commands on one thread, so near 1.0 it is
the limit), Redis CPU µs per job, the worker processes' CPU µs per job (their threads
included: the probe's flusher thread too), and the machine's 1-minute load average. The cell's
"limit" is a reading of those: other work on the machine when the load average is over twice
the cores and ours used less than 90% of them; Redis at >= 0.9 core; else the machine when
Redis + workers use >= 70% of its cores (the rest goes to the probe's flusher, the harness,
the kernel's loopback and the machine's other tenants); else the worker when one process uses
>= 0.9 of a core; else neither (latency-bound: slots wait on round trips). Rows are rotated
every round so no cell always runs first. Output: bench/results/scaling.json (every sample)
and scaling.md (medians).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bench.peers.base import (  # noqa: E402
    ENV_CONCURRENCY,
    ENV_CONTROL_URL,
    ENV_REDIS_URL,
    ENV_VARIANT,
    WorkerSpec,
)
from bench.peers.completion import (  # noqa: E402
    KEY_DONE,
    KEY_FIRST_DONE,
    KEY_FIRST_START,
    KEY_LAST_DONE,
    KEY_REMAINING,
)
from bench.peers.jobdeck_peer import PREFIX, QUEUE, JobdeckPeer  # noqa: E402
from bench.procs import ChildError, Worker  # noqa: E402
from bench.redis_server import RedisServer  # noqa: E402
from bench.stats import commandstats  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int, tid: int | None = None) -> float:
    """CPU seconds (user + system) of process `pid` (all threads), or of its thread `tid`,
    from /proc."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


class Bench:
    """The two private servers, a jobdeck service on the measured one, and worker spawning."""

    def __init__(self, queue_url: str, control_url: str, bin_dir: str, log_dir: Path) -> None:
        from jobdeck.core import JobService

        self.queue_url, self.control_url = queue_url, control_url
        self.bin_dir, self.log_dir = bin_dir, log_dir
        self.queue = redis.Redis.from_url(queue_url)
        self.control = redis.Redis.from_url(control_url)
        self.loop = asyncio.new_event_loop()
        self.service = JobService(url=queue_url, queue=QUEUE, prefix=PREFIX)
        self._seq = 0

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def close(self) -> None:
        self.run(self.service.close())
        self.loop.close()

    def reset(self) -> None:
        for server in (self.queue, self.control):
            server.flushall()
            server.script_flush()
            server.config_resetstat()

    def fill_paused(self, n: int, kind: str = "noop") -> None:
        """N jobs queued behind a paused queue, then the probe armed for them."""

        async def fill() -> None:
            await self.service.initialize()
            await self.service.pause_queue()
            for start in range(0, n, 1000):
                specs = [{"name": kind} for _ in range(min(1000, n - start))]
                await self.service.submit_jobs(specs)

        self.run(fill())
        self.control.delete(KEY_DONE, KEY_FIRST_DONE, KEY_FIRST_START, KEY_LAST_DONE)
        self.control.set(KEY_REMAINING, n)

    def env(self, concurrency: int) -> dict[str, str]:
        env = dict(os.environ)
        for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"):  # as run.py does
            env.pop(name, None)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        env[ENV_REDIS_URL] = self.queue_url
        env[ENV_CONTROL_URL] = self.control_url
        env[ENV_CONCURRENCY] = str(concurrency)
        env[ENV_VARIANT] = "default"
        return env

    def spawn(self, concurrency: int, argv: list[str] | None = None) -> Worker:
        self._seq += 1
        spec = WorkerSpec(self.bin_dir, self.queue_url, concurrency, "default")
        log = self.log_dir / f"{self._seq:04d}-worker-c{concurrency}.log"
        return Worker(argv or JobdeckPeer.worker_argv(spec), self.env(concurrency), ROOT, log)

    def wait_registered(self, workers: list[Worker], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.run(self.service.list_workers())) < len(workers):
            for worker in workers:
                worker.check_alive()
            if time.monotonic() > deadline:
                raise ChildError(f"{len(workers)} workers did not register in {timeout:.0f}s")
            time.sleep(0.05)

    def resume_and_wait(self, workers: list[Worker], timeout: float) -> float:
        """Resume the queue; the wall-clock time the probe saw the last job finish."""
        self.run(self.service.resume_queue())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            item = self.control.blpop([KEY_DONE], timeout=0.5)
            if item is not None:
                return float(item[1])
            for worker in workers:
                worker.check_alive()
        left = self.control.get(KEY_REMAINING)
        raise ChildError(f"timed out after {timeout:.0f}s; {left} job(s) not done")


def run_cell(b: Bench, procs: int, concurrency: int, n: int, timeout: float) -> dict[str, Any]:
    b.reset()
    b.fill_paused(n)
    workers = [b.spawn(concurrency) for _ in range(procs)]
    try:
        b.wait_registered(workers)
        time.sleep(0.5)  # start-up CPU (imports, connects) settles before counting
        cpu0 = [proc_cpu(w.proc.pid) for w in workers]
        b.queue.config_resetstat()
        r0, t0 = redis_cpu(b.queue), time.time()
        last = b.resume_and_wait(workers, timeout)
        t1 = time.time()
        r1 = redis_cpu(b.queue)
        calls = commandstats(b.queue)
        cpu1 = [proc_cpu(w.proc.pid) for w in workers]
    finally:
        for worker in workers:
            worker.stop()
    elapsed, window = last - t0, t1 - t0
    worker_cpu = sum(cpu1) - sum(cpu0)
    return {
        "procs": procs,
        "concurrency": concurrency,
        "jobs": n,
        "elapsed_s": round(elapsed, 4),
        "jobs_per_s": n / elapsed,
        "redis_cores": (r1 - r0) / window,
        "redis_us_per_job": (r1 - r0) / n * 1e6,
        "worker_cores": worker_cpu / window,
        "worker_us_per_job": worker_cpu / n * 1e6,
        "load1": round(os.getloadavg()[0], 2),
        # round trips: script calls (claims, finishes, heartbeats) and wake-up waits per job
        "evalsha_per_job": calls["evalsha"] / n,
        "blpop_per_job": calls["blpop"] / n,
    }


def limit(row: dict[str, float], cpus: int) -> str:
    """Which resource a cell ran out of (see the module docstring)."""
    if row["load1"] > 2 * cpus and row["redis_cores"] + row["worker_cores"] < cpus * 0.9:
        return "other work on the machine"
    if row["redis_cores"] >= 0.9:
        return "Redis"
    if row["redis_cores"] + row["worker_cores"] >= 0.7 * cpus:
        return f"machine ({cpus} cores)"
    if row["worker_cores"] / row["procs"] >= 0.9:
        return "worker (Python)"
    return "round trips"


def table(samples: list[dict[str, Any]], cpus: int) -> str:
    cells: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for s in samples:
        cells.setdefault((s["procs"], s["concurrency"]), []).append(s)
    lines = [
        "| processes | concurrency each | jobs/s median (min-max) | Redis CPU (cores) "
        "| Redis µs/job | worker CPU µs/job | worker cores | load1 | limit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (procs, conc), group in sorted(cells.items()):
        med = {
            key: statistics.median(s[key] for s in group)
            for key in (
                "jobs_per_s",
                "redis_cores",
                "redis_us_per_job",
                "worker_us_per_job",
                "worker_cores",
                "load1",
            )
        }
        med["procs"] = procs
        rates = [s["jobs_per_s"] for s in group]
        lines.append(
            f"| {procs} | {conc:,} | {med['jobs_per_s']:,.0f} ({min(rates):,.0f}-"
            f"{max(rates):,.0f}) | {med['redis_cores']:.2f} | {med['redis_us_per_job']:.0f} "
            f"| {med['worker_us_per_job']:.0f} | {med['worker_cores']:.2f} "
            f"| {med['load1']:.1f} | {limit(med, cpus)} |"
        )
    return "\n".join(lines) + "\n\n" + ceilings(samples) + "\n"


def ceilings(samples: list[dict[str, Any]]) -> str:
    """Where Redis, not Python, becomes the limit, from CPU per job (load-insensitive, unlike
    jobs/s): Redis runs commands on one thread, so it cannot go past 1 s / its µs per job
    whatever the workers do; each worker process adds 1 s / its µs per job, given a core."""
    batched = [s for s in samples if s["concurrency"] >= 100] or samples
    redis_us = statistics.median(s["redis_us_per_job"] for s in batched)
    worker_us = statistics.median(s["worker_us_per_job"] for s in batched)
    procs = int(worker_us // redis_us) + 1  # fewest processes whose ceiling passes Redis's
    return (
        f"Ceilings at concurrency >= 100 (medians of CPU per job): Redis {redis_us:.0f} µs/job "
        f"-> at most {1e6 / redis_us:,.0f} jobs/s on its one thread, whatever the workers do; "
        f"the workers {worker_us:.0f} µs/job -> {1e6 / worker_us:,.0f} jobs/s per core they "
        f"get. So with {procs} or more worker processes, each on a core of its own, Redis is "
        f"the limit. On this 2-core machine Redis and the workers share two cores, so the "
        f"machine is, at about {2e6 / (redis_us + worker_us):,.0f} jobs/s with both cores "
        f"ours (other work on it lowers every row)."
    )


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ints = lambda text: [int(x) for x in text.split(",") if x.strip()]  # noqa: E731
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--procs", type=ints, default=[1, 2, 4])
    p.add_argument("--concurrency", type=ints, default=[1, 10, 100, 1000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--timeout", type=float, default=120.0, help="per cell, seconds")
    p.add_argument(
        "--port",
        type=int,
        default=0,
        help="queue server port (the control server takes the next); 0: free ports",
    )
    p.add_argument(
        "--bin",
        default=str(Path(sys.executable).parent),
        help="the venv bin/ whose `jobdeck` runs the workers (an A/B baseline)",
    )
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    p.add_argument(
        "--render", action="store_true", help="only rewrite scaling.md from scaling.json in --out"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render:
        saved = json.loads((args.out / "scaling.json").read_text())
        md = table(saved["samples"], saved["meta"]["cpus"] or 1)
        (args.out / "scaling.md").write_text(md)
        print(md)
        return 0
    cells = [(p, c) for p in args.procs for c in args.concurrency]
    log_dir = args.out / "raw" / f"scaling-{time.strftime('%Y%m%d-%H%M%S')}"
    log_dir.mkdir(parents=True, exist_ok=True)
    samples: list[dict[str, Any]] = []
    meta = {
        "argv": sys.argv[1:],
        "cpus": os.cpu_count(),
        "bin": args.bin,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_before": os.getloadavg(),
    }
    control_port = args.port + 1 if args.port else 0
    with RedisServer("queue", port=args.port) as q, RedisServer("control", port=control_port) as c:
        b = Bench(q.url, c.url, args.bin, log_dir)
        meta["redis"] = q.version()
        try:
            for round_no in range(args.rounds):
                shift = round_no % len(cells)
                for procs, conc in cells[shift:] + cells[:shift]:
                    row = run_cell(b, procs, conc, args.jobs, args.timeout)
                    row["round"] = round_no
                    samples.append(row)
                    print(
                        f"[round {round_no + 1}/{args.rounds}] {procs} x c{conc:<5} "
                        f"{row['jobs_per_s']:8,.0f} jobs/s  redis {row['redis_cores']:.2f} "
                        f"cores {row['redis_us_per_job']:5.0f} µs/job  workers "
                        f"{row['worker_us_per_job']:5.0f} µs/job  calls/job "
                        f"{row['evalsha_per_job']:.2f}+{row['blpop_per_job']:.2f}  "
                        f"load {row['load1']}",
                        flush=True,
                    )
        finally:
            b.close()
    meta["load_after"] = os.getloadavg()
    md = table(samples, os.cpu_count() or 1)
    (args.out / "scaling.json").write_text(
        json.dumps({"meta": meta, "samples": samples}, indent=1) + "\n"
    )
    (args.out / "scaling.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
