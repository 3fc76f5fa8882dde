"""The plain path's Redis time, old scripts against new, call by call (issues 22 and 24).

The submit, claim and finish scripts of two jobdeck trees (A: after, B: before; each
interpreter prints its own sources) are loaded into one private redis-server and called in
turn, batch by batch (A, B, A, B, ...), each on its own key prefix, for jobs that use no
limit, no group and a worker that serves every name they have. Each call's cost is the CPU
time the server's main thread used for it (/proc/<pid>/task/<pid>/schedstat, in ns), read
around the call: time on the CPU, so the waits a busy machine adds to a call's wall time
(what INFO commandstats measures) do not count, and the drift left falls on both alike.

    python bench/flow_script_ab.py --a /venv-new/bin/python --b /venv-old/bin/python

Prints µs per job for each script and the ratio A/B; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from redis_server import RedisServer

_DUMP = """
import inspect, json
from jobdeck.core.backend.redis.scripts import SCRIPTS, script_source
from jobdeck.core.backend.redis.backend import RedisBackend
src = {n: script_source(n) for n in ("submit", "claim", "finish")}
new = "handlers" in inspect.signature(RedisBackend.claim).parameters
print(json.dumps({"sources": src, "picky": new, "flows": "submit_flow" in SCRIPTS}))
"""


def sources(python: str) -> dict[str, Any]:
    out = subprocess.run([python, "-c", _DUMP], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


class Variant:
    def __init__(self, r: redis.Redis, label: str, info: dict[str, Any], pid: int) -> None:
        self.r, self.label = r, label
        self.stat = Path(f"/proc/{pid}/task/{pid}/schedstat")
        self.picky = info["picky"]
        self.flows = info.get("flows", False)  # submit's ARGV has the workflow element
        self.sha = {n: r.script_load(src) for n, src in info["sources"].items()}
        self.prefix = f"ab{uuid.uuid4().hex[:8]}:{{q}}:"
        self.usec: dict[str, list[float]] = {"submit": [], "claim": [], "finish": []}
        self.seq = 0

    def call(self, name: str, *args: Any) -> Any:
        before = self.cpu()
        reply = self.r.evalsha(self.sha[name], 1, self.prefix + "x", self.prefix, 100000, *args)
        self.usec[name].append((self.cpu() - before) / 1000)
        return reply

    def cpu(self) -> int:
        return int(self.stat.read_text().split()[0])

    def cycle(self, batch: int) -> None:
        args: list[Any] = [batch]
        for _ in range(batch):
            self.seq += 1
            args += [f"j{self.seq}", "noop", 1, 0, "", 0]
            if self.picky:
                args.append("")  # no group
            if self.flows:
                args.append("")  # no workflow
            args += [4, "name", "noop", "args", "[1]"]
        self.call("submit", *args)
        bounds = [10_000, 10_000, 7 * 86_400_000]  # history, dead letters, their age (ms)
        claim: list[Any] = ["w1", batch, 30000, 3, *bounds, f"c{self.seq}"]
        if self.picky:
            claim += ["1", "noop", "other"]
        reply = self.call("claim", *claim)
        items: list[Any] = []
        for i in range(2, len(reply), 3):
            items += [reply[i], reply[i + 1], "completed", "null", 0, ""]
        self.call("finish", "w1", *bounds, 86400000, len(items) // 6, *items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a", required=True, help="interpreter with jobdeck A (after)")
    parser.add_argument("--b", required=True, help="interpreter with jobdeck B (before)")
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--batch", type=int, default=20, help="jobs per call")
    args = parser.parse_args()
    with RedisServer("flowab") as server:
        r = redis.Redis.from_url(server.url)
        assert server.proc is not None
        pid = server.proc.pid
        a, b = Variant(r, "A", sources(args.a), pid), Variant(r, "B", sources(args.b), pid)
        for n in range(args.cycles):
            first, second = (a, b) if n % 2 == 0 else (b, a)
            first.cycle(args.batch)
            second.cycle(args.batch)
        for name in ("submit", "claim", "finish"):
            skip = args.cycles // 10  # warm-up
            ua = statistics.mean(a.usec[name][skip:]) / args.batch
            ub = statistics.mean(b.usec[name][skip:]) / args.batch
            print(f"{name}: A {ua:.2f} us/job, B {ub:.2f} us/job, A/B {ua / ub:.3f}")


if __name__ == "__main__":
    main()
