#!/usr/bin/env python3
"""Before and after for the three costs issue 28 measured (items 1, 6, 7): a search step over
100 KB records, retrying 1,000,000 dead letters, cancelling a pending job at depth 1,000,000.

    python bench/bound_figures.py --checkout DIR [--dead 1000000] [--pending 1000000]

For one checkout (its scripts and its `RedisBackend`, imported through the path shim of
bench/script_ab.py, in a child process), on a private redis-server (its process at nice -10
when run as root, so SLOWLOG's wall time is the script's own on a shared machine):
1. search: 20 pending jobs with an argument of 100,000 'a' at the head of the list; one search
   step of at most 20 records for an ordinary text ('zzzz', no match) and for a crafted one (199
   'a' then 'b': a pattern that ignores case compares it at every position). The step's time,
   and per record, from SLOWLOG.
2. cancel: 1,000,000 pending jobs; cancelling the 1,000,000th (LREM scans the list to it), and
   the 500,000th, each five times.
3. retry every dead letter: 1,000,000 dead letters; `retry_all_dead_letters()`: its calls,
   the longest, their total, and how far Redis memory rose meanwhile (a copy of the set).
Records are written with plain commands in the format every version reads.
"""

from __future__ import annotations

import argparse
import asyncio
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
from bench.script_costs import _favour  # noqa: E402

PREFIX, QUEUE = "fig", "fig"
CRAFTED = "a" * 199 + "b"


def build(url: str, pending: int, dead: int) -> None:
    import redis

    from jobdeck.core.keys import key_prefix

    r = redis.Redis.from_url(url)
    p = key_prefix(PREFIX, QUEUE)
    now = time.time()
    pipe = r.pipeline(transaction=False)
    big = json.dumps(["a" * 100_000])
    for n in range(20):
        pipe.hset(p + f"job:s{n}", mapping={"name": "big", "args": big, "created_at": now})
    pipe.rpush(p + "pending:3", *[f"s{n}" for n in range(20)])  # searched first
    for n in range(pending):
        pipe.hset(p + f"job:p{n:07d}", mapping={"name": "small", "args": "[1]",
                                                 "created_at": now})
        if n % 10_000 == 9_999:
            pipe.rpush(p + "pending:1", *[f"p{k:07d}" for k in range(n - 9_999, n + 1)])
            pipe.execute()
    for n in range(dead):
        pipe.hset(p + f"job:d{n:07d}", mapping={"name": "small", "args": "[1]",
                                                 "status": "failed", "created_at": now,
                                                 "finished_at": now})
        if n % 10_000 == 9_999:
            pipe.zadd(p + "dead", {f"d{k:07d}": now * 1000 - dead + k
                                   for k in range(n - 9_999, n + 1)})
            pipe.execute()
    pipe.xadd(p + "events", {"t": "x"})
    pipe.execute()


def measure(url: str, pending: int) -> dict[str, Any]:
    import redis

    from jobdeck.core.backend.redis import RedisBackend
    admin = redis.Redis.from_url(url, socket_timeout=120)  # an old search holds Redis seconds
    out: dict[str, Any] = {}

    def when_free() -> None:
        """Until Redis answers again: a script past lua-time-limit (5 s) makes it answer
        BUSY to everyone, the case the byte bound prevents."""
        while True:
            try:
                admin.ping()
                return
            except redis.exceptions.ResponseError:
                time.sleep(0.2)

    def cpu_ms() -> float:
        """Redis's main-thread CPU: what a call cost, whatever the machine's load."""
        when_free()
        info = admin.info("cpu")
        used = float(info["used_cpu_user_main_thread"]) + float(info["used_cpu_sys_main_thread"])
        return used * 1000

    def scripts() -> list[int]:
        found = [int(e["duration"]) for e in admin.slowlog_get(1_000_000)
                 if e["command"].startswith(b"EVALSHA")]
        admin.slowlog_reset()
        return found

    async def run() -> None:
        backend = RedisBackend(url, queue=QUEUE, prefix=PREFIX)
        await backend.initialize()
        await backend.search("pending", "warm", 0, 1, 1, False)
        await backend.cancel("nothing")
        await backend.retry_dead(["nothing"])  # scripts loaded
        admin.config_set("slowlog-log-slower-than", 100)
        admin.slowlog_reset()
        for text in ("zzzz", CRAFTED):
            cpu = cpu_ms()
            try:
                await backend.search("pending", text, 0, 20, 50, False)
            except Exception as exc:  # the old scripts: BUSY to its own retry, a timeout
                out[f"search_{'plain' if text == 'zzzz' else 'crafted'}_error"] = str(exc)[:80]
            when_free()
            took = max(scripts())
            label = "plain" if text == "zzzz" else "crafted"
            out[f"search_{label}_ms"] = took / 1000
            out[f"search_{label}_cpu_ms"] = round(cpu_ms() - cpu, 2)
        for label, position in (("tail", pending - 1), ("middle", pending // 2)):
            times = []
            cpu = cpu_ms()
            for k in range(5):
                await backend.cancel(f"p{position - k:07d}")
                times += scripts()
            out[f"cancel_{label}_ms"] = max(times) / 1000 if times else "< 0.1"
            out[f"cancel_{label}_cpu_ms_each"] = round((cpu_ms() - cpu) / 5, 3)
        base = int(admin.info("memory")["used_memory"])
        peak = [base]
        stop = asyncio.Event()

        async def watch_copies() -> None:
            """Redis memory while the pass runs, every 10 ms: a copy of the dead set shows."""
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], int(admin.info("memory")["used_memory"]))
                except redis.exceptions.ResponseError:  # BUSY: a call held Redis over 5 s
                    out["retry_all_redis_answered_busy"] = True
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch_copies())
        cpu = cpu_ms()
        started = time.monotonic()
        moved = await backend.retry_dead(None)
        wall = time.monotonic() - started
        cpu = cpu_ms() - cpu
        stop.set()
        await watcher
        calls = scripts()
        out.update(
            retry_all_moved=moved,
            retry_all_calls=len(calls),
            retry_all_longest_ms=max(calls) / 1000,
            retry_all_total_ms=sum(calls) / 1000,
            retry_all_cpu_ms=round(cpu, 1),  # with the INFO reads of the memory watch
            retry_all_wall_s=round(wall, 1),
            retry_all_memory_rise_mb=round((peak[0] - base) / 2**20, 1),
        )
        await backend.close()

    asyncio.run(run())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", type=Path, default=ROOT)
    parser.add_argument("--pending", type=int, default=1_000_000)
    parser.add_argument("--dead", type=int, default=1_000_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        use_checkout()
        print(json.dumps(measure(args.child, args.pending)))
        return
    with RedisServer("figures") as server:
        assert server.proc is not None
        niced = _favour(server.proc.pid)
        build(server.url, args.pending, args.dead)
        import redis

        redis.Redis.from_url(server.url).config_set("slowlog-max-len", 1_000_000)
        env = checkout_env(args.checkout)
        reply = subprocess.run(
            [sys.executable, __file__, "--child", server.url, "--pending", str(args.pending)],
            env=env, capture_output=True, text=True, check=False,
        )
        if reply.returncode:
            sys.exit(reply.stderr[-3000:])
        figures = json.loads(reply.stdout.strip().splitlines()[-1])
    print(json.dumps({"checkout": str(args.checkout), "niced": niced,
                      "load": round(os.getloadavg()[0], 1), **figures}, indent=1))


if __name__ == "__main__":
    main()
