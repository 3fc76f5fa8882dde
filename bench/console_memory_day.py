"""The console's time-mode past over a day of events, replayed at speed: does it stay flat?

    python bench/console_memory_day.py [--hours 24] [--rate 10] [--pending 100000]
        [--max-rss-mb 3000] [--json out.json]

The past (what `t` and `m` rebuild the past from) is fed every event the console sees.
This replays a synthetic day into it in-process, as fast as it folds: `--pending` jobs
submitted at the start and left waiting (the backlog an operator watches), then `--rate`
jobs a second for `--hours`, each submitted, started, reporting progress and completing
(5 % fail: a retry that runs again a second later, or a dead letter), a burst of failures
every ten minutes, and a pause and resume of the queue each hour. Every simulated hour it
prints the process's resident memory (after a full collection) and what the past holds.
It stops early past `--max-rss-mb` (an unbounded past reaches it within hours).

Reports memory growth per simulated minute over the second half of the run (the start-up
and the first fill are over by then) and per job seen, and how long a moment of the past
takes to rebuild at the end (the cost of the time mode's cursor).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.console.live.state import ConsoleState  # noqa: E402
from jobdeck.core.events import Event, Events  # noqa: E402

try:
    from jobdeck.console.timemode.past import Past
except ImportError:  # the console before issue 26 (for the before figures)
    from jobdeck.console.history import History as Past  # type: ignore[no-redef]

T0 = 1_700_000_000.0


def rss_mb() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Ids:
    """Event ids as Redis writes them: milliseconds-sequence, always growing."""

    def __init__(self) -> None:
        self.last = (0, 0)

    def __call__(self, at: float) -> str:
        ms = int(at * 1000)
        seq = self.last[1] + 1 if ms <= self.last[0] else 0
        self.last = (max(ms, self.last[0]), seq)
        return f"{self.last[0]}-{seq}"


def day(hours: float, rate: int, pending: int, seed: int = 1) -> Iterator[tuple[float, Event]]:
    """(simulated second, event) in time order."""
    rng, ids = random.Random(seed), Ids()
    for n in range(pending):
        job_id = f"backlog-{n}"
        at = T0 + n / max(pending, 1)
        yield (
            at,
            Event(
                Events.JOB_SUBMITTED, at, job_id, "import", "pending", {"priority": 0}, id=ids(at)
            ),
        )
    start, n, retrying = T0 + 1, 0, []
    for second in range(int(hours * 3600)):
        base = start + second
        for job_id, name in retrying:  # last second's retries run again, and complete
            for offset, (kind, status, data) in enumerate(
                (
                    (Events.JOB_STARTED, "running", {"worker": "w2", "attempt": 2}),
                    (Events.JOB_COMPLETED, "completed", {"runtime": 0.002}),
                )
            ):
                when = base + 0.0001 * offset
                yield base, Event(kind, when, job_id, name, status, data, id=ids(when))
        retrying = []
        if second % 3600 == 1800:
            yield base, Event(Events.QUEUE_PAUSED, base, id=ids(base))
        if second % 3600 == 1830:
            yield base, Event(Events.QUEUE_RESUMED, base, id=ids(base))
        burst = second % 600 == 300
        for k in range(rate):
            n += 1
            job_id, at = f"job-{n}", base + k / rate
            name = ("send_email", "resize", "charge_card")[n % 3]
            steps = (
                (Events.JOB_SUBMITTED, "pending", {"priority": 1}),
                (Events.JOB_STARTED, "running", {"worker": "w1", "attempt": 1}),
                (Events.JOB_PROGRESS, "running", {"fraction": 0.5, "message": "half"}),
            )
            for offset, (kind, status, data) in enumerate(steps):
                when = at + 0.001 * offset
                yield base, Event(kind, when, job_id, name, status, data, id=ids(when))
            when = at + 0.004
            if burst or rng.random() < 0.05:
                dead = burst or rng.random() < 0.2
                data = {
                    "error_type": "RuntimeError",
                    "error": "boom",
                    "will_retry": not dead,
                    "attempt": 1,
                    "runtime": 0.003,
                }
                kind, status = Events.JOB_FAILED, "failed" if dead else "scheduled"
                if not dead:
                    retrying.append((job_id, name))
            else:
                kind, status, data = Events.JOB_COMPLETED, "completed", {"runtime": 0.003}
            yield base, Event(kind, when, job_id, name, status, data, id=ids(when))


def holds(past: Any) -> dict[str, int]:
    """What the past keeps, by structure (whichever version of it this is)."""
    sizes = {"jobs": len(past.lives)}
    for name in ("_checkpoints", "_first_seen", "_open", "_deltas", "series", "_reopened"):
        value = getattr(past, name, None)
        if value is not None:
            sizes[name.lstrip("_")] = len(value)
    ended = getattr(past, "_ended", None)
    if isinstance(ended, dict):
        sizes["ended"] = sum(len(v) for v in ended.values())
    return sizes


def main(args: argparse.Namespace) -> dict[str, Any]:
    gc.collect()
    base_rss = rss_mb()
    past = Past()
    samples: list[dict[str, Any]] = []
    jobs_seen, started, next_sample, stopped = 0, time.perf_counter(), T0 + 3600, None
    for second, event in day(args.hours, args.rate, args.pending):
        if event.type == Events.JOB_SUBMITTED:
            jobs_seen += 1
        past.add(event)
        if second >= next_sample:
            gc.collect()
            sample = {
                "hour": round((second - T0) / 3600),
                "rss_mb": round(rss_mb(), 1),
                "jobs_seen": jobs_seen,
                "events": past.events,
                "fold_s": round(time.perf_counter() - started, 1),
                **holds(past),
            }
            samples.append(sample)
            print(json.dumps(sample), flush=True)
            next_sample += 3600
            if sample["rss_mb"] > args.max_rss_mb:
                stopped = f"stopped at {sample['rss_mb']} MB resident"
                break
    gc.collect()
    live = ConsoleState(queue="q", server="x")
    live.depths = {"pending": args.pending, "completed": jobs_seen}
    span = past.span()
    rebuild: list[float] = []
    if span is not None:
        rng = random.Random(2)
        for _ in range(10):
            at = rng.uniform(*span)
            t = time.perf_counter()
            past.at(at, live)
            rebuild.append((time.perf_counter() - t) * 1000)
    half = samples[len(samples) // 2 :] if len(samples) >= 2 else samples
    minutes = 60 * (half[-1]["hour"] - half[0]["hour"]) if len(half) >= 2 else 0
    grown = half[-1]["rss_mb"] - half[0]["rss_mb"] if len(half) >= 2 else 0.0
    seen = half[-1]["jobs_seen"] - half[0]["jobs_seen"] if len(half) >= 2 else 0
    result = {
        "hours": samples[-1]["hour"] if samples else 0,
        "rate": args.rate,
        "pending": args.pending,
        "rss_start_mb": round(base_rss, 1),
        "rss_end_mb": samples[-1]["rss_mb"] if samples else None,
        "growth_kb_per_minute": round(1024 * grown / minutes, 1) if minutes else None,
        "growth_bytes_per_job_seen": round(grown * 1024 * 1024 / seen, 1) if seen else None,
        "rebuild_ms_p50": round(statistics.median(rebuild), 1) if rebuild else None,
        "rebuild_ms_max": round(max(rebuild), 1) if rebuild else None,
        "stopped": stopped,
        "holds": holds(past),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps({"result": result, "hours": samples}, indent=2))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rate", type=int, default=10, help="jobs a second")
    parser.add_argument("--pending", type=int, default=100_000, help="a backlog left waiting")
    parser.add_argument("--max-rss-mb", type=float, default=3000.0)
    parser.add_argument("--json")
    main(parser.parse_args())
