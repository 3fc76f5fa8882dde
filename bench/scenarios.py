"""The benchmark scenarios: what is submitted, how the worker is started, what is timed.

Every run starts from an empty queue server (FLUSHALL, scripts and functions flushed, stats
reset) and runs the peer's client and worker as separate processes. Times come from
`time.time()` in the job itself (via the completion probe) and in the harness, on one machine,
so they share one clock.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peers import PeerRow
from bench.peers.base import (
    ENV_CONCURRENCY,
    ENV_CONTROL_URL,
    ENV_REDIS_URL,
    ENV_VARIANT,
    SLEEP_SECONDS,
    WorkerSpec,
)
from bench.peers.completion import (
    KEY_DONE,
    KEY_FIRST_DONE,
    KEY_FIRST_START,
    KEY_LAST_DONE,
    KEY_REMAINING,
    KEY_STARTS,
)
from bench.procs import ChildError, Client, Worker
from bench.stats import (
    MonitorCounter,
    commandstats,
    commandstats_usec,
    delta,
    memory_by_pattern,
    percentile,
)


@dataclass(frozen=True)
class Sizes:
    """Job counts and limits; FULL is the issue's spec, QUICK a smoke test."""

    enqueue_n: int = 10_000
    drain_n: int = 10_000
    drain_concurrency: tuple[int, ...] = (10, 100)
    sleep_n: int = 2_000
    sleep_concurrency: int = 100
    latency_n: int = 200
    latency_interval: float = 0.02
    latency_concurrency: int = 10
    commands_n: int = 100
    commands_concurrency: int = 10
    #: Memory per pending job is the marginal cost from memory_n to memory_n2 pending jobs,
    #: so what a queue allocates once (a fresh server's first script call, a stream's first
    #: node) cancels out.
    memory_n: int = 10_000
    memory_n2: int = 50_000
    #: Many producers sharing one client: coroutines for an asyncio client, threads for a
    #: blocking one (as many as a threaded web server's workers).
    concurrent_n: int = 20_000
    async_producers: int = 100
    sync_producers: int = 16
    #: Drains of jobs whose body makes one Redis round trip (job kind "rt").
    drain_rt_concurrency: tuple[int, ...] = (10, 100)
    #: Drain and sleep runs stop counting after this many seconds of worker time and report
    #: completed jobs / elapsed time (marked "capped"): a peer doing 80 jobs/s would otherwise
    #: need two minutes per run, and its rate is steady long before that.
    drain_cap: float = 15.0
    #: Anything else that has not finished after this many seconds is recorded as failed.
    run_timeout: float = 120.0

    @property
    def sleep_ideal(self) -> float:
        return self.sleep_n * SLEEP_SECONDS / self.sleep_concurrency


FULL = Sizes()
QUICK = Sizes(enqueue_n=1_000, memory_n=1_000, memory_n2=5_000, drain_n=1_000,
              sleep_n=400, latency_n=50, drain_cap=10.0, concurrent_n=2_000,
              run_timeout=60.0)


@dataclass
class Sample:
    """One measurement: a scenario, a row, a round. `value` is the headline number."""

    scenario: str
    row: str
    round: int
    ok: bool
    value: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class Harness:
    """Shared state for the scenarios: the two private Redis servers, paths and sizes.

    `queue` is the measured server every peer uses; `control` carries only the completion
    probe's traffic, so the measured server sees nothing but the library's own commands.
    """

    def __init__(self, root: Path, queue_url: str, control_url: str, sizes: Sizes,
                 log_dir: Path, bin_dir: str, python: str) -> None:
        import redis

        self.root = root
        self.queue_url = queue_url
        self.control_url = control_url
        self.sizes = sizes
        self.log_dir = log_dir
        self.bin_dir = bin_dir
        self.python = python
        self.queue = redis.Redis.from_url(queue_url)
        self.control = redis.Redis.from_url(control_url, decode_responses=True)
        self._seq = 0

    # -- plumbing --------------------------------------------------------------------------
    def reset(self) -> None:
        """A fresh database for every run."""
        for server in (self.queue, self.control):
            server.flushall()
            server.script_flush()
            server.function_flush()
            server.config_resetstat()

    def env(self, row: PeerRow, concurrency: int) -> dict[str, str]:
        env = dict(os.environ)
        # The sandbox exports these; a user's worker would not run with them (unbuffered
        # per-job log writes, no bytecode cache at start-up), so no peer gets them.
        for name in ("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(self.root), *filter(None, [env.get("PYTHONPATH")])])
        env[ENV_REDIS_URL] = self.queue_url
        env[ENV_CONTROL_URL] = self.control_url
        env[ENV_CONCURRENCY] = str(concurrency)
        env[ENV_VARIANT] = row.variant
        return env

    def _log(self, row: PeerRow, what: str) -> Path:
        self._seq += 1
        return self.log_dir / f"{self._seq:04d}-{row.label}-{what}.log"

    @contextmanager
    def client(self, row: PeerRow) -> Iterator[Client]:
        client = Client(row.module, self.queue_url, row.variant, self.env(row, 1), self.root,
                        self._log(row, "client"), python=self.python)
        try:
            yield client
        finally:
            client.close()

    @contextmanager
    def worker(self, row: PeerRow, concurrency: int) -> Iterator[Worker]:
        spec = WorkerSpec(self.bin_dir, self.queue_url, concurrency, row.variant)
        worker = Worker(row.adapter.worker_argv(spec), self.env(row, concurrency), self.root,
                        self._log(row, f"worker-c{concurrency}"))
        try:
            yield worker
        finally:
            worker.stop()

    def expect(self, n: int) -> None:
        """Arm the completion probe for the next n jobs."""
        self.control.delete(KEY_DONE, KEY_FIRST_DONE, KEY_FIRST_START, KEY_LAST_DONE)
        self.control.set(KEY_REMAINING, n)

    def wait_done(self, worker: Worker, timeout: float | None = None) -> float:
        """Block (BLPOP, no polling) until the probe reports the last job; returns the
        wall-clock time the last job finished. Fails if the worker dies or time runs out."""
        last = self.wait_done_or_cap(worker, timeout or self.sizes.run_timeout)
        if last is None:
            remaining = self.control.get(KEY_REMAINING)
            raise ChildError(f"timed out; {remaining} job(s) still not done")
        return last

    def wait_done_or_cap(self, worker: Worker, cap: float) -> float | None:
        """Like wait_done, but returns None once `cap` seconds have passed since the worker
        was started (the caller then reads how many jobs got done)."""
        deadline = worker.started_at + cap
        while True:
            left = deadline - time.time()
            if left <= 0:
                return None
            item = self.control.blpop([KEY_DONE], timeout=max(0.01, min(1.0, left)))
            if item is not None:
                return float(item[1])
            worker.check_alive()

    def remaining(self) -> int:
        return int(self.control.get(KEY_REMAINING) or 0)

    def submit(self, client: Client, kind: str, n: int, start: int = 0) -> float:
        reply = client.request(self.sizes.run_timeout, op="submit", kind=kind, start=start, n=n)
        return float(reply["elapsed"])

    def first(self, key: str) -> float:
        value = self.control.get(key)
        if value is None:
            raise ChildError(f"probe key {key} was never set")
        return float(value)


# --- scenarios ------------------------------------------------------------------------------


def run_enqueue(h: Harness, row: PeerRow) -> Sample:
    """N single submits in a loop from one client (asyncio or blocking): jobs/s."""
    n = h.sizes.enqueue_n
    h.reset()
    with h.client(row) as client:
        elapsed = h.submit(client, "noop", n)
    return Sample("enqueue", row.label, 0, True, n / elapsed, {"elapsed_s": elapsed, "jobs": n})


def run_enqueue_bulk(h: Harness, row: PeerRow) -> Sample:
    """The same N jobs through the library's bulk-submit call: jobs/s."""
    n = h.sizes.enqueue_n
    h.reset()
    with h.client(row) as client:
        reply = client.request(h.sizes.run_timeout, op="submit_bulk", kind="noop", start=0, n=n)
    elapsed = float(reply["elapsed"])
    return Sample("enqueue-bulk", row.label, 0, True, n / elapsed,
                  {"elapsed_s": elapsed, "jobs": n})


def run_enqueue_concurrent(h: Harness, row: PeerRow) -> Sample:
    """Many producers sharing one client, each submitting one job at a time: 100 coroutines
    on an asyncio client, 16 threads on a blocking one. jobs/s over all of them."""
    s = h.sizes
    n = s.concurrent_n
    producers = s.async_producers if row.adapter.is_async else s.sync_producers
    h.reset()
    with h.client(row) as client:
        reply = client.request(s.run_timeout, op="concurrent", kind="noop", start=0, n=n,
                               producers=producers)
    elapsed = float(reply["elapsed"])
    return Sample("enqueue-concurrent", row.label, 0, True, n / elapsed,
                  {"elapsed_s": elapsed, "jobs": n, "producers": producers,
                   "producer_kind": "coroutines" if row.adapter.is_async else "threads"})


def _drain(h: Harness, row: PeerRow, kind: str, n: int, concurrency: int) -> dict[str, Any]:
    """Queue n jobs with no worker running (untimed, as fast as the client allows), then start
    the worker and time it to the last completion, or to the cap. Returns times relative to
    the worker's start, and how many jobs were done."""
    h.reset()
    h.expect(n)
    with h.client(row) as client:
        reply = client.request(h.sizes.run_timeout, op="fill", kind=kind, start=0, n=n)
    with h.worker(row, concurrency) as worker:
        last = h.wait_done_or_cap(worker, h.sizes.drain_cap)
        capped_at = time.time()
        done = n - h.remaining() if last is None else n
    started = worker.started_at
    out: dict[str, Any] = {
        "fill_s": reply["elapsed"], "done": done, "capped": last is None,
        "total_s": (capped_at if last is None else last) - started,
    }
    if done == 0:
        raise ChildError(f"no job finished within {h.sizes.drain_cap:.0f}s of worker start")
    out["first_done_s"] = h.first(KEY_FIRST_DONE) - started
    if kind == "sleep":
        out["first_start_s"] = h.first(KEY_FIRST_START) - started
    return out


def run_drain(h: Harness, row: PeerRow, concurrency: int, kind: str = "noop") -> Sample:
    """N queued no-op jobs, one worker process at `concurrency`: jobs/s from worker start
    (process spawn) to the last completion; also the rate after the first completion.
    `kind="rt"`: jobs whose body makes one Redis round trip (completion.round_trip)."""
    n = h.sizes.drain_n
    t = _drain(h, row, kind, n, concurrency)
    done = t["done"]
    steady_s = t["total_s"] - t["first_done_s"]
    extra = {**t, "jobs": n, "concurrency": concurrency,
             "steady_jobs_per_s": (done - 1) / steady_s if steady_s > 0 else None}
    key = f"drain-c{concurrency}" if kind == "noop" else f"drain-{kind}-c{concurrency}"
    return Sample(key, row.label, 0, True, done / t["total_s"], extra)


def run_sleep(h: Harness, row: PeerRow) -> Sample:
    """N queued 50 ms sleep jobs at concurrency C: efficiency = ideal / actual, where actual
    runs from the first job's start to the last completion (the worker's boot time is what
    drain measures; here it would swamp a 1 s ideal). Efficiency from worker spawn is kept too.
    """
    s = h.sizes
    t = _drain(h, row, "sleep", s.sleep_n, s.sleep_concurrency)
    # ideal time for the jobs actually done (all of them unless the run was capped)
    ideal = t["done"] * SLEEP_SECONDS / s.sleep_concurrency
    actual = t["total_s"] - t["first_start_s"]
    extra = {**t, "jobs": s.sleep_n, "concurrency": s.sleep_concurrency, "ideal_s": ideal,
             "actual_s": actual, "efficiency_incl_boot": ideal / t["total_s"]}
    return Sample("sleep", row.label, 0, True, ideal / actual, extra)


def run_latency(h: Harness, row: PeerRow) -> Sample:
    """Idle, warmed-up worker; N probe jobs submitted `interval` apart; submit-to-start
    latency per job (job start time taken in the job, submit time in the client)."""
    s = h.sizes
    warm = 5
    h.reset()
    h.expect(warm)
    with h.client(row) as client, h.worker(row, s.latency_concurrency) as worker:
        h.submit(client, "noop", warm)  # also proves the worker is up and consuming
        h.wait_done(worker)
        time.sleep(0.5)  # let it go idle (poll loops back off, blocking reads re-arm)
        h.expect(s.latency_n)
        timeout = s.run_timeout + s.latency_n * s.latency_interval
        reply = client.request(timeout, op="paced", kind="probe", start=warm,
                               n=s.latency_n, interval=s.latency_interval)
        h.wait_done(worker)
    starts = h.control.hgetall(KEY_STARTS)
    submits: dict[str, float] = reply["submits"]
    lat_ms = [(float(starts[i]) - t) * 1000 for i, t in submits.items()]
    extra = {"p50_ms": percentile(lat_ms, 50), "p95_ms": percentile(lat_ms, 95),
             "p99_ms": percentile(lat_ms, 99), "max_ms": max(lat_ms), "jobs": len(lat_ms)}
    return Sample("latency", row.label, 0, True, extra["p50_ms"], extra)


def _per_job(counts: Counter[str], n: int) -> float:
    return sum(counts.values()) / n


def run_commands(h: Harness, row: PeerRow) -> Sample:
    """Redis commands per job on the measured server, submit side and worker side apart.

    Three windows, each opened with CONFIG RESETSTAT and closed by reading INFO
    commandstats (every executed command, including those run inside Lua scripts), with a
    MONITOR tap alongside that counts commands *sent by clients* separately from Lua ones:
      submit  - the client submits N jobs, no worker running (connection already warm);
      cold    - the worker starts and drains those (plus 10 warm-up jobs): per job, start-up
                included;
      steady  - the warm worker handles N more jobs while the client submits them; the worker
                side is this window minus the submit window.
    """
    s = h.sizes
    n, warm, settle = s.commands_n, 10, 0.3
    h.reset()
    monitor = MonitorCounter(h.queue_url)
    try:
        with h.client(row) as client:
            h.submit(client, "noop", warm)  # connect, load scripts: not per-job costs
            h.queue.config_resetstat()
            m0 = monitor.mark(h.queue)
            h.submit(client, "noop", n, start=warm)
            m1 = monitor.mark(h.queue)
            submit = commandstats(h.queue)
            submit_usec = commandstats_usec(h.queue)

            h.expect(warm + n)
            h.queue.config_resetstat()
            m2 = monitor.mark(h.queue)
            with h.worker(row, s.commands_concurrency) as worker:
                h.wait_done(worker)
                time.sleep(settle)  # let the last jobs' acks/results land
                m3 = monitor.mark(h.queue)
                boot = commandstats(h.queue)

                h.expect(n)
                h.queue.config_resetstat()
                m4 = monitor.mark(h.queue)
                h.submit(client, "noop", n, start=warm + n)
                h.wait_done(worker)
                time.sleep(settle)
                m5 = monitor.mark(h.queue)
                steady = commandstats(h.queue)
                steady_usec = commandstats_usec(h.queue)
    finally:
        monitor.close()

    sent = lambda a, b: delta(a[0], b[0])  # noqa: E731 - (counts, by_name) pairs
    submit_sent, boot_sent, steady_sent = sent(m1, m0), sent(m3, m2), sent(m5, m4)
    worker_total = delta(steady, submit)
    worker_sent = steady_sent["client"] - submit_sent["client"]
    # Server time per job life (submit + claim + finish + events): the steady window holds the
    # client's submits and the warm worker's work for n jobs. MONITOR is running, which adds
    # its own cost to each command's usec, so these are upper bounds (see run_redis_time).
    worker_usec = delta(steady_usec, submit_usec)
    extra = {
        "jobs": n,
        "submit_sent_per_job": submit_sent["client"] / n,
        "submit_total_per_job": _per_job(submit, n),
        "worker_sent_per_job": max(worker_sent, 0) / n,
        "worker_total_per_job": _per_job(worker_total, n),
        "cold_sent_per_job": boot_sent["client"] / (warm + n),
        "cold_total_per_job": _per_job(boot, warm + n),
        "submit_usec_per_job": sum(submit_usec.values()) / n,
        "worker_usec_per_job": sum(worker_usec.values()) / n,
        "life_usec_per_job": sum(steady_usec.values()) / n,
        "submit_commands": dict(submit.most_common()),
        "worker_commands": dict(worker_total.most_common()),
        "submit_sent_by_name": dict(delta(m1[1], m0[1]).most_common()),
        "steady_sent_by_name": dict(delta(m5[1], m4[1]).most_common()),
    }
    value = extra["submit_sent_per_job"] + extra["worker_sent_per_job"]
    return Sample("commands", row.label, 0, True, value, extra)


def _server_cpu(client: Any) -> float:
    """Redis process CPU seconds (user + sys, main thread included), from INFO cpu."""
    cpu = client.info("cpu")
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


_SCRIPT_CALLS = ("evalsha", "eval", "fcall", "evalsha_ro", "eval_ro", "fcall_ro")


def _top_level_usec(usec: Counter[str], calls_inside_scripts: bool) -> float:
    """commandstats counts a command run inside a script twice in time (its own entry, and
    inside the script's usec). For a script-based queue the top level is the script calls plus
    commands no script runs; we approximate it as script usec + the rest only when the peer
    uses no scripts, else script usec alone (jobdeck sends nothing else per job)."""
    scripts = sum(v for k, v in usec.items() if k in _SCRIPT_CALLS)
    return float(scripts if calls_inside_scripts and scripts else sum(usec.values()))


def run_redis_time(h: Harness, row: PeerRow, bulk: bool = False) -> Sample:
    """Redis server time per job life (submit, claim, finish, events), no MONITOR attached:
    10 warm-up submits, N submits timed by the server (one per round trip, or with `bulk`
    through the library's bulk call, as a producer with many jobs at hand would), then a
    worker drains all of them.

    Two figures: `usec` from INFO commandstats (wall time inside each command, so preemption
    on a loaded machine inflates it) and Redis process CPU (used_cpu_user + used_cpu_sys
    delta, which also covers reading and writing sockets, and is much less moved by load; it
    includes the worker's idle polling and start-up). The headline is Redis CPU per job;
    both are in the JSON."""
    n = h.sizes.memory_n
    h.reset()
    with h.client(row) as client:
        h.submit(client, "noop", 10)
        h.queue.config_resetstat()
        cpu0 = _server_cpu(h.queue)
        if bulk:
            client.request(h.sizes.run_timeout, op="submit_bulk", kind="noop", start=10, n=n)
        else:
            h.submit(client, "noop", n, start=10)
        cpu1 = _server_cpu(h.queue)
        submit_usec = commandstats_usec(h.queue)
        submit_calls = commandstats(h.queue)
    h.expect(n + 10)
    h.queue.config_resetstat()
    cpu2 = _server_cpu(h.queue)
    with h.worker(row, 10) as worker:
        h.wait_done(worker)
        time.sleep(0.3)
        cpu3 = _server_cpu(h.queue)
        worker_usec = commandstats_usec(h.queue)
        worker_calls = commandstats(h.queue)
    scripted = any(k in _SCRIPT_CALLS for k in (*submit_usec, *worker_usec))
    submit_total = _top_level_usec(submit_usec, scripted) / n
    worker_total = _top_level_usec(worker_usec, scripted) / (n + 10)
    extra = {
        "jobs": n, "submit_usec_per_job": submit_total, "worker_usec_per_job": worker_total,
        "submit_cpu_usec_per_job": (cpu1 - cpu0) * 1e6 / n,
        "worker_cpu_usec_per_job": (cpu3 - cpu2) * 1e6 / (n + 10),
        "submit_calls_per_job": sum(submit_calls.values()) / n,
        "worker_calls_per_job": sum(worker_calls.values()) / (n + 10),
        "submit_usec": dict(submit_usec.most_common()),
        "worker_usec": dict(worker_usec.most_common()),
        "note": "worker side includes start-up and idle polling during the drain",
    }
    # Headline: Redis CPU per job, the one figure comparable across peers (commandstats usec
    # double-counts commands run inside scripts and cannot be split for a peer that mixes
    # scripts and plain commands); the commandstats figure stays in the JSON.
    extra["commandstats_usec_per_job"] = submit_total + worker_total
    cpu = extra["submit_cpu_usec_per_job"] + extra["worker_cpu_usec_per_job"]
    return Sample("redis-time-bulk" if bulk else "redis-time", row.label, 0, True, cpu, extra)


def run_redis_time_bulk(h: Harness, row: PeerRow) -> Sample:
    return run_redis_time(h, row, bulk=True)


def run_memory(h: Harness, row: PeerRow) -> Sample:
    """Redis memory per pending job, the marginal cost: N1 tiny no-op jobs queued, then
    N2 - N1 more, no worker; the headline is the used_memory growth over the second fill
    divided by its jobs, so whatever a queue allocates once (a fresh server's first script
    call and keys, a stream's first node, a list's head) cancels out, for every peer alike.
    Also kept: the first fill's delta / N1 (every byte, one-time ones included) and MEMORY
    USAGE summed per key pattern at N2 so the bytes can be attributed. Deterministic,
    load-independent.

    Ten jobs are queued and flushed first, for every peer: a fresh server's first script
    call allocates ~360 KB once (measured on 7.0)."""
    n1, n2 = h.sizes.memory_n, h.sizes.memory_n2
    h.reset()
    with h.client(row) as client:
        client.request(h.sizes.run_timeout, op="fill", kind="noop", start=0, n=10)
        h.queue.flushall()
        before = int(h.queue.info("memory")["used_memory"])
        client.request(h.sizes.run_timeout, op="fill", kind="noop", start=10, n=n1)
        middle = int(h.queue.info("memory")["used_memory"])
        client.request(h.sizes.run_timeout, op="fill", kind="noop", start=10 + n1, n=n2 - n1)
    after = int(h.queue.info("memory")["used_memory"])
    patterns = memory_by_pattern(h.queue)
    per_job = {k: round(v["bytes"] / n2, 1)
               for k, v in sorted(patterns.items(), key=lambda kv: -kv[1]["bytes"])}
    extra = {"jobs": n2, "first_jobs": n1, "used_memory_delta": after - middle,
             "first_fill_per_job": (middle - before) / n1, "keys": h.queue.dbsize(),
             "memory_usage_per_job": per_job,
             "memory_usage_keys": {k: v["keys"] for k, v in patterns.items()}}
    return Sample("memory", row.label, 0, True, (after - middle) / (n2 - n1), extra)


@dataclass(frozen=True)
class Scenario:
    """A scenario as the runner sees it."""

    key: str
    group: str
    title: str
    unit: str
    higher_is_better: bool
    run: Callable[[Harness, PeerRow], Sample]
    applies: Callable[[PeerRow], bool] = lambda row: True
    every_round: bool = True  # False: deterministic enough to run once


def _default_only(row: PeerRow) -> bool:
    # the tuned rows only change worker settings; their client is the default one
    return row.variant == "default"


def _with_worker(row: PeerRow) -> bool:
    # a client-only row (jobdeck-sync) shares the jobdeck row's worker: no second drain row
    return not row.adapter.client_only


def scenarios(sizes: Sizes) -> list[Scenario]:
    drains = [
        Scenario(f"drain-c{c}", "drain", f"drain {sizes.drain_n:,} no-op jobs, concurrency {c}",
                 "jobs/s", True, lambda h, r, c=c: run_drain(h, r, c), _with_worker)
        for c in sizes.drain_concurrency
    ]
    drains += [
        Scenario(f"drain-rt-c{c}", "drain",
                 f"drain {sizes.drain_n:,} jobs whose body makes one Redis round trip, "
                 f"concurrency {c}", "jobs/s", True,
                 lambda h, r, c=c: run_drain(h, r, c, "rt"), _with_worker)
        for c in sizes.drain_rt_concurrency
    ]
    return [
        Scenario("enqueue", "enqueue", f"enqueue {sizes.enqueue_n:,} jobs, one at a time",
                 "jobs/s", True, run_enqueue, _default_only),
        Scenario("enqueue-bulk", "enqueue", f"enqueue {sizes.enqueue_n:,} jobs, bulk API",
                 "jobs/s", True, run_enqueue_bulk,
                 lambda r: _default_only(r) and r.adapter.supports_bulk),
        Scenario("enqueue-concurrent", "enqueue",
                 f"enqueue {sizes.concurrent_n:,} jobs from many producers sharing one client "
                 f"({sizes.async_producers} coroutines, or {sizes.sync_producers} threads for "
                 "a blocking client), one at a time each", "jobs/s", True,
                 run_enqueue_concurrent, _default_only),
        *drains,
        Scenario("sleep", "sleep",
                 f"{sizes.sleep_n:,} x {SLEEP_SECONDS * 1000:.0f} ms sleep jobs, concurrency "
                 f"{sizes.sleep_concurrency} (ideal {sizes.sleep_ideal:.2f} s)",
                 "efficiency", True, run_sleep, _with_worker),
        Scenario("latency", "latency",
                 f"submit-to-start latency, {sizes.latency_n} jobs "
                 f"{sizes.latency_interval * 1000:.0f} ms apart, idle worker",
                 "ms (p50)", False, run_latency, _with_worker),
        Scenario("commands", "commands",
                 f"Redis commands per job ({sizes.commands_n} jobs, worker concurrency "
                 f"{sizes.commands_concurrency})",
                 "commands/job", False, run_commands, _with_worker, every_round=False),
        Scenario("memory", "memory",
                 f"Redis memory per pending job (the marginal cost from {sizes.memory_n:,} to "
                 f"{sizes.memory_n2:,} queued no-op jobs, used_memory delta, all keys)",
                 "bytes/job", False, run_memory,
                 lambda r: _default_only(r) and _with_worker(r), every_round=False),
        Scenario("redis-time", "redis-time",
                 f"Redis server time per job life ({sizes.memory_n:,} jobs: submit, claim, "
                 "finish, events; Redis CPU)", "µs/job", False, run_redis_time,
                 lambda r: _default_only(r) and _with_worker(r), every_round=False),
        Scenario("redis-time-bulk", "redis-time",
                 f"Redis server time per job life, submitted in bulk ({sizes.memory_n:,} "
                 "jobs: bulk submit, claim, finish, events; Redis CPU)", "µs/job", False,
                 run_redis_time_bulk,
                 lambda r: _default_only(r) and r.adapter.supports_bulk and _with_worker(r),
                 every_round=False),
    ]


def run_one(scenario: Scenario, h: Harness, row: PeerRow, round_no: int) -> Sample:
    """Run and never raise: a failure becomes a failed Sample with the reason."""
    started = time.monotonic()
    try:
        sample = scenario.run(h, row)
    except Exception as exc:
        sample = Sample(scenario.key, row.label, round_no, False,
                        error=f"{type(exc).__name__}: {exc}"[:2000])
    sample.round = round_no
    sample.extra["wall_s"] = round(time.monotonic() - started, 2)
    # other work on the machine skews a run: keep the 1-minute load average next to it
    sample.extra["load1"] = round(os.getloadavg()[0], 2)
    return sample
