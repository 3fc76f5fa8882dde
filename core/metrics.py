"""Queue metrics as an operator reads them: depths, totals, rates, and per-second series.

The backend keeps small per-second buckets (in Redis, hashes that expire), so every process
sees the same figures and a console can draw a sparkline without scanning any job.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .backend.base import HISTOGRAM_BOUNDS_MS, RawMetrics

__all__ = ["HISTOGRAM_BOUNDS_MS", "QueueMetrics", "build_metrics", "check_window"]


@dataclass(frozen=True, slots=True)
class QueueMetrics:
    timestamp: float
    depths: dict[str, int]  # by JobStatus value; "failed" is the dead-letter queue
    totals: dict[str, int]  # since the queue was created: submitted, completed, dead, ...
    completed_per_second: list[int] = field(default_factory=list)  # oldest first
    failed_per_second: list[int] = field(default_factory=list)
    submitted_per_second: list[int] = field(default_factory=list)
    throughput: float = 0.0  # completed jobs/s over the window
    throughput_10s: float = 0.0
    avg_wait: float | None = None  # seconds from ready to started, over the window
    avg_run: float | None = None  # seconds from started to finished, over the window
    paused: bool = False
    # since the queue was created: "wait:<bound ms>" / "wait:inf" counts, "wait:sum_ms", and
    # the same for "run" (HISTOGRAM_BOUNDS_MS)
    histograms: dict[str, int] = field(default_factory=dict)
    # the newest event the depths and totals include ("0-0": none): a reader that applies
    # events to these counts applies only newer ones
    events_through: str = "0-0"
    # pending jobs that wait aside (counted in depths["pending"] too): "throttled" by the
    # limit holding them, "unserved" by job name (no live worker has its handler; at most
    # 100 names, the rest under "other")
    held: dict[str, dict[str, int]] = field(
        default_factory=lambda: {"throttled": {}, "unserved": {}}
    )
    throttled: int = 0  # pending jobs held by a limit, in all
    unserved: int = 0  # pending jobs no live worker can run, in all
    # since the queue was created, per job name: {"completed": n, "failed": n} (failed
    # attempts, retried or dead-lettered); at most ~200 names, later ones under "other"
    by_name: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def window(self) -> int:
        return len(self.completed_per_second)


def build_metrics(raw: RawMetrics, unserved: dict[str, int] | None = None) -> QueueMetrics:
    """The figures of `raw`; `unserved` is `routing.unserved` of its parked jobs."""
    unserved = unserved or {}
    buckets = raw.buckets
    # The current second is still filling; rates use whole seconds only.
    whole = buckets[:-1] if len(buckets) > 1 else buckets
    completed = [b.get("completed", 0) for b in buckets]
    done = sum(b.get("completed", 0) for b in whole)
    last10 = whole[-10:]
    started = sum(b.get("started", 0) for b in buckets)
    finished = sum(b.get("finished", 0) for b in buckets)
    return QueueMetrics(
        timestamp=raw.now,
        depths=dict(raw.depths),
        totals=dict(raw.totals),
        completed_per_second=completed,
        failed_per_second=[b.get("failed", 0) for b in buckets],
        submitted_per_second=[b.get("submitted", 0) for b in buckets],
        throughput=done / len(whole) if whole else 0.0,
        throughput_10s=sum(b.get("completed", 0) for b in last10) / len(last10) if last10 else 0.0,
        avg_wait=sum(b.get("wait_ms", 0) for b in buckets) / started / 1000 if started else None,
        avg_run=sum(b.get("run_ms", 0) for b in buckets) / finished / 1000 if finished else None,
        paused=raw.paused,
        histograms=dict(raw.histograms),
        events_through=raw.events_through,
        held={"throttled": dict(raw.throttled), "unserved": unserved},
        throttled=raw.throttled_total,
        unserved=sum(unserved.values()),
        by_name=names_of(raw.names),
    )


_KINDS = {"c": "completed", "f": "failed"}


def names_of(fields: dict[str, int]) -> dict[str, dict[str, int]]:
    """The `names` counters ("c:<name>", "f:<name>") as {name: {completed, failed}}."""
    found: dict[str, dict[str, int]] = {}
    for field_name, count in fields.items():
        kind, _, name = field_name.partition(":")
        if kind in _KINDS and name:
            counts = found.setdefault(name, {"completed": 0, "failed": 0})
            counts[_KINDS[kind]] += count
    return dict(sorted(found.items()))


def check_window(window: int) -> None:
    """The seconds of per-second series a caller may ask for: the counters expire after 15
    minutes (900 s)."""
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 900:
        raise ValueError(f"window: expected 1-900 seconds, got {window!r}")
