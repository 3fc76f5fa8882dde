#!/usr/bin/env python3
"""TimeMode: rebuilding the queue at a past moment from an hour of events at 1,000 a second.

    python bench/console_time_mode.py [--seconds 3600] [--rate 1000]

Synthetic, in process (no Redis: this measures the console's own work): `--rate` events a
second for `--seconds`, as a busy queue writes them (submit, start, progress, complete; one
job in twenty fails, one in a hundred is dead-lettered, a burst of failures now and then, a
backlog of 5,000 pending jobs that drains slowly). Reports the time to fold the events in
(paid once: live events are folded as they arrive) and the time to rebuild the queue at
random moments (what each step of the time cursor costs), p50 / p95 / max.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.console.live.state import ConsoleState  # noqa: E402
from jobdeck.console.timemode.past import Past  # noqa: E402
from jobdeck.core.events import Event, Events  # noqa: E402


def synthetic(seconds: int, rate: int, t0: float = 1_767_258_000.0):
    rng = random.Random(1)
    n = 0
    backlog = [f"backlog-{i}" for i in range(5000)]
    for i, job_id in enumerate(backlog):
        yield Event(Events.JOB_SUBMITTED, t0 + i * 1e-4, job_id, "import", "pending", {})
    per_second = rate // 4
    for second in range(seconds):
        base = t0 + second
        burst = second % 600 == 300
        for k in range(per_second):
            n += 1
            job_id = f"job-{n}"
            at = base + k / per_second
            name = ("send_email", "resize", "charge_card")[n % 3]
            yield Event(Events.JOB_SUBMITTED, at, job_id, name, "pending", {"priority": 1})
            yield Event(Events.JOB_STARTED, at + 0.01, job_id, name, "running", {"worker": "w1"})
            yield Event(Events.JOB_PROGRESS, at + 0.02, job_id, name, "running", {"fraction": 0.5})
            if burst or rng.random() < 0.05:
                dead = burst or rng.random() < 0.2
                data = {"error_type": "RuntimeError", "error": "boom", "will_retry": not dead}
                status = "failed" if dead else "scheduled"
                yield Event(Events.JOB_FAILED, at + 0.03, job_id, name, status, data)
            else:
                yield Event(Events.JOB_COMPLETED, at + 0.03, job_id, name, "completed", {})
        if backlog and second % 2 == 0:
            job_id = backlog.pop()
            yield Event(Events.JOB_STARTED, base + 0.5, job_id, "import", "running", {})
            yield Event(Events.JOB_COMPLETED, base + 0.6, job_id, "import", "completed", {})


def main(seconds: int, rate: int) -> dict[str, object]:
    past = Past()
    started = time.perf_counter()
    past.add_all(synthetic(seconds, rate))
    fold_s = time.perf_counter() - started
    live = ConsoleState(queue="q", server="x")
    live.depths = {"pending": 3200, "completed": 800_000, "failed": 9000}
    first, last = past.span()
    rng = random.Random(2)
    samples = []
    for _ in range(40):
        moment = rng.uniform(first, last)
        t = time.perf_counter()
        past.at(moment, live)
        samples.append(time.perf_counter() - t)
    t = time.perf_counter()
    burst = past.next_burst(first)
    burst_s = time.perf_counter() - t
    ms = sorted(s * 1000 for s in samples)
    return {
        "seconds": seconds,
        "events": past.events,
        "jobs": len(past.lives),
        "fold_s": round(fold_s, 2),
        "fold_us_per_event": round(fold_s / past.events * 1e6, 2),
        "moment_p50_ms": round(statistics.median(ms), 1),
        "moment_p95_ms": round(ms[round(len(ms) * 0.95) - 1], 1),
        "moment_max_ms": round(ms[-1], 1),
        "next_burst_ms": round(burst_s * 1000, 1),
        "first_burst_at_s": None if burst is None else round(burst - first),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=3600)
    parser.add_argument("--rate", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(main(args.seconds, args.rate), indent=2))
