#!/usr/bin/env python3
"""Redis time of the hot-path scripts (submit, claim, finish), this checkout against another.

    python bench/script_ab.py --base DIR [--jobs 10000] [--batch 10] [--rounds 3]

DIR is another checkout of jobdeck (for instance `git worktree add --detach /tmp/base main`).
One private redis-server (bench/redis_server.py) serves both sides, one after the other, in
alternating rounds (A B A B ...), each side under a key prefix of its own. Each side runs in
a child process that imports *its* checkout's `RedisBackend` (through a directory on
`sys.path` whose `jobdeck/core` links to the checkout) and makes the backend calls a worker
makes, without a worker around them:
1. `--jobs` submits of one job each (a producer submitting one by one);
2. `--jobs` more in submits of 100 (a bulk producer);
3. claims of `--batch` jobs until the queue is empty, each followed by a finish of the
   batch as completed (a warm worker at that concurrency).
Every call's own time in Redis is read from SLOWLOG (logging every command, µs per call, the
server's clock), by script. The figure is the MEDIAN call of each script over all rounds:
on a shared machine a call preempted mid-script takes many times its time, and a mean (or
INFO commandstats) follows the load, where the median follows the script. p90 is printed
beside it. A change to a hot path should keep the median within noise (a few %).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.redis_server import RedisServer  # noqa: E402

PHASES = ("submit", "submit_bulk", "claim", "finish")
SHIM_VAR, CHECKOUT_VAR = "JOBDECK_BENCH_SHIM", "JOBDECK_BENCH_CHECKOUT"


def _shim(checkout: Path) -> Path:
    """A directory that makes `import jobdeck.core` load `checkout/core`."""
    shim = Path(tempfile.mkdtemp(prefix="script-ab-"))
    (shim / "jobdeck").mkdir()
    (shim / "jobdeck" / "core").symlink_to(checkout.resolve() / "core")
    return shim


def checkout_env(checkout: Path) -> dict[str, str]:
    """The environment of a child that must import `checkout`'s jobdeck (see use_checkout)."""
    return {**os.environ, SHIM_VAR: str(_shim(checkout)), CHECKOUT_VAR: str(checkout.resolve())}


def use_checkout() -> None:
    """In a child: put its checkout's shim first on sys.path, ahead of this repository (whose
    `jobdeck/` folder of links would otherwise win), and check that jobdeck.core is its."""
    shim = os.environ.get(SHIM_VAR)
    if not shim:
        return
    sys.path.insert(0, shim)
    import jobdeck.core

    loaded = Path(jobdeck.core.__file__).resolve()
    wanted = Path(os.environ[CHECKOUT_VAR]) / "core"
    if loaded.parent != wanted:
        raise RuntimeError(f"jobdeck.core came from {loaded}, not {wanted}")


def _child(url: str, jobs: int, batch: int) -> dict[str, list[Any]]:
    """One side's workload; returns each script call's duration (µs) from SLOWLOG."""
    import asyncio

    import redis

    from jobdeck.core.backend.base import Finish, Outcome
    from jobdeck.core.backend.redis import RedisBackend
    from jobdeck.core.backend.redis.scripts import SCRIPTS, script_source
    from jobdeck.core.codec import encode_record
    from jobdeck.core.models import new_job

    admin = redis.Redis.from_url(url)
    shas = {hashlib.sha1(script_source(n).encode()).hexdigest().encode(): n for n in SCRIPTS}
    durations: dict[str, list[int]] = {name: [] for name in PHASES}

    def drain_slowlog() -> None:
        """The script calls logged since the last drain (commands run inside a script are
        logged too, and skipped here)."""
        for entry in admin.slowlog_get(1_000_000):
            command = entry["command"].split(b" ", 7)
            if command[0] != b"EVALSHA" or shas.get(command[1]) not in ("submit", "claim",
                                                                         "finish"):
                continue
            name = shas[command[1]]
            if name == "submit" and command[6] != b"1":
                name = "submit_bulk"
            durations[name].append(int(entry["duration"]))
        admin.slowlog_reset()

    def batch_of(n: int) -> tuple[Any, ...]:
        """submit()'s arguments for `n` jobs, in the contract of the checkout at hand."""
        try:
            from jobdeck.core.submission import prepare
        except ImportError:  # before NewJob: (job, delay) pairs and their records
            made = [new_job("noop", args=[1, "x"]) for _ in range(n)]
            return made, [encode_record(j) for j, _ in made]
        return ([prepare("noop", [1, "x"]) for _ in range(n)],)

    def cpu_us() -> float:
        """Redis's main-thread CPU: unlike wall time, not inflated when the server waits for
        a core on a shared machine (the INFO read itself is in it, alike on both sides)."""
        info = admin.info("cpu")
        return (float(info["used_cpu_user_main_thread"])
                + float(info["used_cpu_sys_main_thread"])) * 1e6

    spent: dict[str, list[float]] = {name: [0.0, 0] for name in PHASES}

    async def timed(name: str, call: Any) -> Any:
        before = cpu_us()
        result = await call
        spent[name][0] += cpu_us() - before
        spent[name][1] += 1
        return result

    async def run() -> None:
        backend = RedisBackend(url, queue="ab", prefix=f"ab{uuid.uuid4().hex[:8]}")
        await backend.initialize()
        await backend.claim("w1", 1, 60.0)  # scripts loaded
        admin.slowlog_reset()
        for n in range(jobs):
            await timed("submit", backend.submit(*batch_of(1)))
            if n % 200 == 199:
                drain_slowlog()
        for _ in range(jobs // 100):
            await timed("submit_bulk", backend.submit(*batch_of(100)))
            drain_slowlog()
        while True:
            got = (await timed("claim", backend.claim("w1", batch, 60.0))).jobs
            if not got:
                break
            done = [
                Finish(j.id, j.token, Outcome.COMPLETED, b"null", event_data=b"{}")
                for j in got
            ]
            await timed("finish", backend.finish("w1", done))
            drain_slowlog()
        drain_slowlog()
        await backend.close()

    asyncio.run(run())
    for name, (total, calls) in spent.items():
        durations[f"{name}_cpu"] = [round(total / max(1, calls))]
    return durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, help="the other checkout (B)")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)  # url: run one side, print JSON
    args = parser.parse_args()
    if args.child:
        use_checkout()
        print(json.dumps(_child(args.child, args.jobs, args.batch)))
        return
    if args.base is None:
        parser.error("--base DIR is required (another checkout to compare with)")
    sides = {"A": ROOT, "B": args.base}
    calls: dict[str, dict[str, list[int]]] = {"A": {}, "B": {}}
    with RedisServer("script-ab") as server:
        import redis

        admin = redis.Redis.from_url(server.url)
        admin.config_set("slowlog-log-slower-than", 0)
        admin.config_set("slowlog-max-len", 100_000)
        for _ in range(args.rounds):
            for side, checkout in sides.items():
                env = checkout_env(checkout)
                reply = subprocess.run(
                    [sys.executable, __file__, "--child", server.url, "--jobs", str(args.jobs),
                     "--batch", str(args.batch)],
                    env=env, capture_output=True, text=True, check=True,
                )
                for name, values in json.loads(reply.stdout.strip().splitlines()[-1]).items():
                    calls[side].setdefault(name, []).extend(values)
    print(f"µs of Redis time per script call from SLOWLOG over {args.rounds} rounds "
          f"(A = {ROOT}, B = {args.base}; {args.jobs} jobs, claim batches of {args.batch})")
    print(f"{'script':<12} {'A median':>9} {'B median':>9} {'A/B':>6} {'A p90':>8} {'B p90':>8}"
          f" {'calls':>7}   {'A CPU':>7} {'B CPU':>7} {'A/B':>6}")
    for name in PHASES:
        a, b = sorted(calls["A"].get(name) or [0]), sorted(calls["B"].get(name) or [1])
        ma, mb = statistics.median(a), statistics.median(b)
        pa, pb = a[int(len(a) * 0.9)], b[int(len(b) * 0.9)]
        ca = statistics.median(calls["A"].get(name + "_cpu") or [0])
        cb = statistics.median(calls["B"].get(name + "_cpu") or [1])
        print(f"{name:<12} {ma:9.1f} {mb:9.1f} {ma / mb:6.3f} {pa:8.1f} {pb:8.1f} {len(a):7d}"
              f"   {ca:7.1f} {cb:7.1f} {ca / cb:6.3f}")
    print("(CPU: Redis main-thread CPU µs per call, the median round's mean, INFO read included)")

if __name__ == "__main__":
    main()
