#!/usr/bin/env python3
"""The worst single call of every script, from SLOWLOG, at 1,000,000 jobs with 100 KB args.

    python bench/script_costs.py [--checkout DIR] [--search-budget 5000] [--json FILE]

Builds one private redis-server (bench/redis_server.py) holding 1,000,000 jobs in every
state, with a 100 KB argument (and, for completed jobs, a 100 KB result) on the jobs each
script meets first: 1,000,000 jobs of 100 KB would be 100 GB, so the large ones sit where
the scans start (the head of the pending list and of the old sorted set, the due end of the
scheduled set, the expired leases, both ends of the dead letters and of the completed
history). The layout is printed with the table. Records are written with plain commands in
the format the scripts write, so any checkout's scripts can be measured on them.

Then a child process, importing `DIR`'s jobdeck (default: this checkout; another one for a
before/after, through the path shim of bench/script_ab.py), makes the calls a producer, a
worker, a console and an API make, each one's worst case at this scale: a search step with
a crafted needle (199 'a' and a 'b') over 100 KB of 'a's, pages of 1000 at the heavy ends, a
claim of 200 at the 100 KB head (recovering expired leases and promoting due jobs on the
way), a finish of 200 results of 100 KB, a bulk submit of 1000 jobs of 100 KB, a cancel deep
in line, retrying every dead letter, purges, the dead-letter bound dropping 100 KB letters,
and every other script once. SLOWLOG logs every command (`slowlog-log-slower-than 0`) and is
read after each operation; the table gives, per script, its calls and the longest one (µs,
the server's own clock) with the operation that made it. Target: none above 20 ms.

`--search-budget` lowers the records one search step may read: the scripts before the byte
bound searched 5,000 records a step with a pattern whose cost is text x needle (~90 ms per
crafted 100 KB record), which would hold this server for minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402
from bench.script_ab import checkout_env, use_checkout  # noqa: E402

PREFIX, QUEUE, LEGACY = "bench", "costs", "costs-legacy"
BIG = 100_000
BAND = 2**44
NEEDLE = "a" * 199 + "b"
LOGGED_US = 500

#: (what, how many, how many of them carry 100 KB, where those sit)
LAYOUT = (
    ("pending (list pending:1)", 500_000, 2_000, "head"),
    ("pending, old sorted-set layout (queue costs-legacy)", 100_000, 500, "head"),
    ("scheduled", 100_000, 500, "due now; the rest a day ahead"),
    ("running", 1_000, 100, "leases expired; the rest an hour ahead"),
    ("dead letters", 200_000, 2_000, "1000 oldest and 1000 newest"),
    ("completed (100 KB result too)", 89_000, 2_000, "1000 oldest and 1000 newest"),
    ("cancelled", 10_000, 0, ""),
)


# -- the data set ----------------------------------------------------------------------------
def scaled(scale: float) -> tuple[tuple[str, int, int, str], ...]:
    """LAYOUT with every count times `scale` (a quick try of the benchmark itself)."""
    return tuple(
        (what, max(1, int(total * scale)), min(int(heavy * scale) if heavy else 0,
                                               max(1, int(total * scale))), where)
        for what, total, heavy, where in LAYOUT
    )


def build(url: str, layout: tuple[tuple[str, int, int, str], ...]) -> dict[str, Any]:
    """Write the layout with pipelined commands; returns ids the operations use."""
    import redis

    from jobdeck.core.keys import key_prefix
    from jobdeck.core.submission import prepare

    r = redis.Redis.from_url(url)
    p, lp = key_prefix(PREFIX, QUEUE), key_prefix(PREFIX, LEGACY)
    now_ms = int(time.time() * 1000)
    now_s = f"{now_ms / 1000:.3f}"
    big_fields = dict(prepare("big", ["a" * BIG]).fields)
    small_fields = dict(prepare("small", [1, "x"]).fields)
    pipe = r.pipeline(transaction=False)
    pending = 0

    def flush(force: bool = False) -> None:
        nonlocal pending
        if force or pending >= 5000:
            pipe.execute()
            pending = 0

    def record(key: str, fields: dict[str, Any]) -> None:
        nonlocal pending
        pipe.hset(key, mapping=fields)
        pending += 1
        flush()

    seq = 0

    def ids(tag: str, n: int) -> list[str]:
        nonlocal seq
        out = [f"{tag}{seq + k:07d}" for k in range(n)]
        seq += n
        return out

    made: dict[str, Any] = {}
    # pending list: big head
    total, heavy, _ = layout[0][1:]
    pend = ids("p", total)
    for k, job_id in enumerate(pend):
        record(p + "job:" + job_id, {**(big_fields if k < heavy else small_fields),
                                     "created_at": now_s})
    for first in range(0, total, 10_000):
        pipe.rpush(p + "pending:1", *pend[first : first + 10_000])
        flush()
    made["deep_pending"] = pend[-20:]
    # legacy sorted set
    total, heavy, _ = layout[1][1:]
    old = ids("l", total)
    for k, job_id in enumerate(old):
        record(lp + "job:" + job_id, {**(big_fields if k < heavy else small_fields),
                                      "created_at": now_s, "status": "pending", "seq": k})
    for first in range(0, total, 10_000):
        pipe.zadd(lp + "pending", {j: 2 * BAND + first + n
                                   for n, j in enumerate(old[first : first + 10_000])})
        flush()
    pipe.xadd(lp + "events", {"t": "x"})  # a queue that has been used
    # scheduled
    total, heavy, _ = layout[2][1:]
    sched = ids("s", total)
    for k, job_id in enumerate(sched):
        due = now_ms - 1000 if k < heavy else now_ms + 86_400_000 + k
        record(p + "job:" + job_id, {**(big_fields if k < heavy else small_fields),
                                     "created_at": now_s, "status": "scheduled",
                                     "scheduled_for": f"{due / 1000:.3f}"})
    for first in range(0, total, 10_000):
        part = sched[first : first + 10_000]
        pipe.zadd(p + "scheduled", {j: (now_ms - 1000 if first + n < heavy else
                                        now_ms + 86_400_000 + first + n)
                                    for n, j in enumerate(part)})
        flush()
    made["future_scheduled"] = sched[-10:]
    # running
    total, heavy, _ = layout[3][1:]
    run = ids("r", total)
    for k, job_id in enumerate(run):
        record(p + "job:" + job_id, {**(big_fields if k < heavy else small_fields),
                                     "created_at": now_s, "status": "running",
                                     "token": f"{k}.1", "worker": "gone", "attempts": 1,
                                     "started_at": now_s})
    pipe.zadd(p + "running", {j: (now_ms - 60_000 if k < heavy else now_ms + 3_600_000)
                              for k, j in enumerate(run)})
    made["held"] = [(j, f"{k}.1") for k, j in enumerate(run) if k >= heavy][:100]
    # dead letters, completed, cancelled: both ends heavy
    error = json.dumps({"type": "Boom", "message": "no", "traceback": None})
    for (_what, total, heavy, _), tag, zkey, extra in (
        (layout[4], "d", "dead", {"status": "failed", "error": error}),
        (layout[5], "c", "completed", {"status": "completed", "token": ""}),
        (layout[6], "x", "cancelled", {"status": "cancelled"}),
    ):
        made_ids = ids(tag, total)
        for k, job_id in enumerate(made_ids):
            heavy_one = k < heavy // 2 or k >= total - heavy // 2
            fields = {**(big_fields if heavy_one else small_fields), "created_at": now_s,
                      "finished_at": now_s, **extra}
            if zkey == "completed":
                fields["result"] = json.dumps("r" * BIG) if heavy_one else "null"
            record(p + "job:" + job_id, fields)
        for first in range(0, total, 10_000):
            pipe.zadd(p + zkey, {j: now_ms - 10 * total + 10 * (first + n)
                                 for n, j in enumerate(made_ids[first : first + 10_000])})
            flush()
        made[f"{zkey}_newest"] = made_ids[-1]
        made[f"{zkey}_count"] = total
    pipe.xadd(p + "events", {"t": "x"})
    flush(force=True)
    made["big_id"] = pend[0]
    made["used_memory"] = int(r.info("memory")["used_memory"])
    made["keys"] = int(r.dbsize())
    return made


# -- the operations (in the child, with the checkout being measured) -------------------------
def operations(url: str, made: dict[str, Any], search_budget: int) -> dict[str, Any]:
    import asyncio
    import hashlib

    import redis

    from jobdeck.core import JobService
    from jobdeck.core.backend.base import (
        BackendSettings,
        Finish,
        JobEmit,
        Outcome,
        ProgressUpdate,
        ScheduleFire,
    )
    from jobdeck.core.backend.records import WorkerRecord
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.backend.redis.scripts import SCRIPTS, script_source
    from jobdeck.core.search import search_step

    admin = redis.Redis.from_url(url)
    shas = {hashlib.sha1(script_source(n).encode()).hexdigest().encode(): n for n in SCRIPTS}
    costs: dict[str, list[tuple[int, str]]] = {}
    called: dict[str, int] = {}
    cpu_costs: dict[str, list[float]] = {}

    def cpu() -> float:
        """Redis's main thread CPU µs: unlike SLOWLOG's wall time, not inflated when the
        machine is shared and the server waits for a core mid-script."""
        info = admin.info("cpu")
        return (float(info["used_cpu_user_main_thread"])
                + float(info["used_cpu_sys_main_thread"])) * 1e6

    reads = [cpu() for _ in range(21)]
    overhead = sorted(b - a for a, b in itertools.pairwise(reads))[10]  # one INFO read's
    _count_calls(called, cpu_costs, cpu, overhead)
    worst_cpu: dict[str, tuple[float, str]] = {}

    def measured(what: str) -> None:
        for entry in admin.slowlog_get(2_000_000):
            parts = entry["command"].split(b" ", 2)
            if parts[0] in (b"EVALSHA", b"EVALSHA_RO") and len(parts) > 1:
                costs.setdefault(shas.get(parts[1], "?"), []).append(
                    (int(entry["duration"]), what)
                )
        for name, spent in cpu_costs.items():
            if spent and (name not in worst_cpu or max(spent) > worst_cpu[name][0]):
                worst_cpu[name] = (max(spent), what)
            spent.clear()
        admin.slowlog_reset()

    def keep_all() -> BackendSettings:
        return BackendSettings(history_max=1_000_000, dead_max=1_000_000)

    def worker(wid: str) -> WorkerRecord:
        return WorkerRecord(wid, "host", 1, QUEUE, 200, 0, time.time(), time.time())

    async def run() -> None:
        backend = RedisBackend(url, queue=QUEUE, prefix=PREFIX, settings=keep_all())
        await backend.initialize()
        for name in SCRIPTS:  # loaded beforehand: no NOSCRIPT round in the log
            admin.script_load(script_source(name))
        admin.slowlog_reset()

        async def steps(what: str, status: str, n: int) -> None:
            cursor = None
            for _ in range(n):
                _, cursor, _ = await search_step(
                    backend, NEEDLE, [status], cursor, 50, search_budget
                )
                if cursor is None:
                    break
            measured(what)

        await steps("search pending: crafted needle over the 100 KB head", "pending", 20)
        await steps("search dead letters newest first (100 KB)", "failed", 10)
        await steps("search completed newest first (100 KB args and results)", "completed", 10)
        await backend.list_jobs("pending", 1000, 0, False)
        measured("list: pending page of 1000 at the 100 KB head")
        await backend.list_jobs("pending", 1000, 499_000, False)
        measured("list: pending page of 1000 at offset 499,000")
        await backend.list_jobs("completed", 1000, 0, True)
        measured("list: completed newest 1000 (100 KB args and results)")
        await backend.list_jobs("failed", 1000, 0, False)
        measured("list: dead letters oldest 1000 (100 KB)")
        await backend.get(made["big_id"], 1000)
        measured("peek: a 100 KB record, values capped at 1000 bytes")
        await backend.get(made["big_id"])
        measured("peek: a 100 KB record whole")
        for _ in range(5):
            await backend.metrics(900)
        measured("metrics: window 900 s")
        for job_id in made["deep_pending"]:
            await backend.cancel(job_id)
        measured("cancel: a pending job at position ~500,000")
        for job_id in made["future_scheduled"]:
            await backend.cancel(job_id)
        measured("cancel: a scheduled job")
        leased: list[Any] = []
        for _ in range(10):
            leased += (await backend.claim("w1", 200, 600.0)).jobs
        measured("claim 200 at the 100 KB head (+20 expired 100 KB leases, +500 due)")
        result = json.dumps("r" * BIG).encode()
        done = [Finish(c.id, c.token, Outcome.COMPLETED, result) for c in leased[:200]]
        await backend.finish("w1", done)
        measured("finish: 200 results of 100 KB")
        svc = JobService(url, queue=QUEUE, prefix=PREFIX)
        await svc.submit_jobs([{"name": "big", "args": ["a" * BIG]} for _ in range(1000)])
        await svc.close()
        measured("submit: 1000 jobs of 100 KB in one submit_jobs")
        await backend.heartbeat(worker("w1"), made["held"], 600.0)
        measured("heartbeat: 100 leases, recovering 100 expired 100 KB jobs")
        trimming = RedisBackend(
            url, queue=QUEUE, prefix=PREFIX,
            settings=BackendSettings(history_max=1_000_000, dead_max=150_000),
        )
        await trimming.initialize()
        for _ in range(3):
            await trimming.heartbeat(worker("w2"), [], 600.0)
        await trimming.close()
        measured("heartbeat: dead letters over a lowered bound, 1000 (100 KB) dropped a call")
        legacy = RedisBackend(url, queue=LEGACY, prefix=PREFIX, settings=keep_all())
        await legacy.initialize()
        for _ in range(10):
            await legacy.claim("w1", 200, 600.0)
        measured("claim 200 from the old sorted-set layout (100 KB head)")
        await legacy.close()
        await backend.retry_dead(None)
        measured("retry every dead letter (one pass)")
        await backend.purge("completed")
        measured("purge completed (100 KB at the oldest end)")
        await backend.purge("scheduled")
        measured("purge scheduled")
        # the others, once each
        await backend.send_control({"op": "scale", "delta": 1}, None)
        await backend.list_workers()
        await backend.set_paused(True)
        await backend.set_paused(False)
        await backend.emit("COSTS", {"x": 1})
        await backend.unregister_worker("w2")
        await backend.delete(made["cancelled_newest"])
        measured("control, workers, pause, emit, unregister, delete")
        await backend.put_schedule("s1", b'{"job":"small"}', "every 60", 0, "small")
        await backend.due_schedules(100)
        await backend.list_schedules()
        await backend.set_schedule_paused("s1", True, 0)
        fire = ScheduleFire("s1", None, 0, 1, "fired-1", "small", 1, {"name": "small"})
        await backend.fire_schedules([fire])
        await backend.remove_schedule("s1")
        measured("schedules: put, due, list, pause, fire, remove")
        [one] = (await backend.claim("w3", 1, 600.0)).jobs
        await backend.progress([ProgressUpdate(one.id, one.token, 0.5, "half")])
        await backend.job_events([JobEmit(one.id, one.token, "costs.step", b"{}")])
        measured("progress, a handler's event")
        await backend.close()

    asyncio.run(run())
    worst: dict[str, Any] = {name: {"called": n} for name, n in called.items()}
    for name, (top_cpu, op) in worst_cpu.items():
        worst[name].update(max_cpu_us=round(top_cpu), op=op)
    for name, calls in costs.items():
        top = max(calls)
        worst.setdefault(name, {"called": 0}).update(
            calls=len(calls), max_us=top[0], wall_op=top[1]
        )
    worst["_info_overhead_us"] = {"called": 0, "max_cpu_us": round(overhead)}
    return worst


def _count_calls(
    called: dict[str, int], spent: dict[str, list[float]], cpu: Any, overhead: float
) -> None:
    """Count script calls by name, whichever checkout's connection class runs them, and
    measure each one's Redis CPU (main thread, less one INFO read's): one call at a time, so
    no other call's work is in its figure (a bulk submit's chunks, sent together otherwise,
    go one after the other here)."""
    lock = asyncio.Lock()
    try:
        from jobdeck.core.backend.redis.connection import RedisConnection as owner
    except ImportError:  # before the engine was one class
        from jobdeck.core.backend.redis.engine import RedisEngine as owner  # type: ignore
    attr = "run" if hasattr(owner, "run") else "_run"
    original = getattr(owner, attr)

    async def counted(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        called[name] = called.get(name, 0) + 1
        async with lock:
            before = cpu()
            try:
                return await original(self, name, *args, **kwargs)
            finally:
                spent.setdefault(name, []).append(max(0.0, cpu() - before - overhead))

    setattr(owner, attr, counted)


def _favour(pid: int) -> bool:
    """On a shared machine a script's wall time (SLOWLOG) includes the time its server waited
    for a core; `nice -10` (root only) has the scheduler give this server its core first, so
    the wall time is the script's own. Returns whether it could."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid, -10)
    except OSError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the jobdeck to measure")
    parser.add_argument("--search-budget", type=int, default=5000)
    parser.add_argument("--json", type=Path, help="write the table here too")
    parser.add_argument("--scale", type=float, default=1.0, help="every count times this")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        use_checkout()
        url, made = args.child, json.loads(sys.stdin.read())
        print(json.dumps(operations(url, made, args.search_budget)))
        return
    with RedisServer("script-costs") as server:
        assert server.proc is not None
        niced = _favour(server.proc.pid)
        started = time.monotonic()
        layout = scaled(args.scale)
        made = build(server.url, layout)
        built = time.monotonic() - started
        import redis

        admin = redis.Redis.from_url(server.url)
        admin.config_set("slowlog-max-len", 1_000_000)
        # Calls over 0.5 ms are logged. Not every command: the commands a script runs are
        # logged too, and logging thousands of them would add their cost to the script's.
        admin.config_set("slowlog-log-slower-than", LOGGED_US)
        env = checkout_env(args.checkout)
        reply = subprocess.run(
            [sys.executable, __file__, "--child", server.url,
             "--search-budget", str(args.search_budget)],
            input=json.dumps(made), env=env, capture_output=True, text=True, check=False,
        )
        if reply.returncode:
            sys.exit(reply.stderr[-3000:])
        worst = json.loads(reply.stdout.strip().splitlines()[-1])
    print(f"Data set ({built:.0f} s to build; used_memory {made['used_memory'] >> 20} MiB, "
          f"{made['keys']:,} keys), 100 KB = an argument of {BIG:,} characters:")
    for what, total, heavy, where in layout:
        print(f"  {what:<52} {total:>9,} jobs, {heavy:>5,} of 100 KB {where}")
    print(f"  {'total':<52} {sum(t for _, t, _, _ in layout):>9,} jobs")
    print(f"\nWorst call per script (SLOWLOG; checkout {args.checkout}, search budget "
          f"{args.search_budget} records; server {'at nice -10' if niced else 'not niced'}, "
          f"load average {os.getloadavg()[0]:.1f}):")
    overhead = worst.pop("_info_overhead_us")["max_cpu_us"]
    print(f"| script | calls | worst call, Redis CPU ms | the call | worst wall ms (SLOWLOG; "
          f"calls over {LOGGED_US / 1000:g} ms) |")
    print("|---|---:|---:|---|---:|")
    for name, row in sorted(worst.items(), key=lambda kv: -kv[1].get("max_cpu_us", 0)):
        flag = "" if row.get("max_cpu_us", 0) <= 20_000 else " **over 20 ms**"
        wall = (f"{row['max_us'] / 1000:.2f} ({row['calls']})" if "max_us" in row
                else f"< {LOGGED_US / 1000:g}")
        print(f"| {name} | {row['called']} | {row.get('max_cpu_us', 0) / 1000:.2f}{flag} | "
              f"{row.get('op', '')} | {wall} |")
    print(f"(CPU per call: INFO's main-thread CPU before and after each call, one call at a "
          f"time, less one INFO read's own {overhead} µs)")
    if args.json:
        args.json.write_text(json.dumps({"layout": layout, "made": {
            k: v for k, v in made.items() if k in ("used_memory", "keys")}, "worst": worst,
            "checkout": str(args.checkout), "search_budget": args.search_budget}, indent=1))


if __name__ == "__main__":
    main()
