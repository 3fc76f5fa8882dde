"""What the chart panel draws: from the `Past` the time mode keeps, jobs submitted, completed
and failed per minute over the last hour (or as far as the event log reaches), and wait and
run time percentiles, for every job or for one job name; from the server's history
(`JobService.get_history`), the same counts per minute over a day or per hour over 30 days."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from jobdeck.core import QueueHistory

from .past import Past

__all__ = ["Charts", "charts", "from_history"]

_MINUTES = 60


@dataclass(frozen=True, slots=True)
class Charts:
    start: float  # the first minute's start (epoch seconds)
    submitted: list[int] = field(default_factory=list)  # per minute, oldest first
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    wait: dict[str, float] = field(default_factory=dict)  # "p50" / "p95" / "p99" seconds
    run: dict[str, float] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # job names seen, most frequent first
    name: str | None = None
    step: int = 60  # seconds per value


def from_history(history: QueueHistory) -> Charts:
    """The server's long history (every job, no times): per minute or per hour."""
    return Charts(
        start=history.start,
        submitted=list(history.submitted),
        completed=list(history.completed),
        failed=list(history.failed),
        step=history.step,
    )


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    values.sort()
    pick = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
    last = len(values) - 1
    return {k: values[min(last, math.ceil(q * len(values)) - 1)] for k, q in pick.items()}


def charts(past: Past, name: str | None = None) -> Charts:
    span = past.span()
    if span is None:
        return Charts(start=0.0)
    end = int(span[1]) // 60 * 60 + 60
    start = max(int(span[0]) // 60 * 60, end - _MINUTES * 60)
    minutes = (end - start) // 60
    series = [[0] * minutes for _ in range(3)]
    waits: list[float] = []
    runs: list[float] = []
    counts: dict[str, int] = {}
    for life in past.lives.values():
        counts[life.name] = counts.get(life.name, 0) + 1
        if name is not None and life.name != name:
            continue
        submitted = None
        for when, status in zip(life.times, life.statuses, strict=True):
            if when < start:
                continue
            minute = int(when - start) // 60
            if minute >= minutes:
                break
            if status in ("pending", "scheduled") and submitted is None:
                submitted = when
                series[0][minute] += 1
            elif status == "running" and submitted is not None:
                waits.append(when - submitted)
            elif status == "completed":
                series[1][minute] += 1
            elif status == "failed":
                series[2][minute] += 1
        if life.runtime is not None and life.times and life.times[-1] >= start:
            runs.append(life.runtime)
    return Charts(
        start=float(start),
        submitted=series[0],
        completed=series[1],
        failed=series[2],
        wait=_percentiles(waits),
        run=_percentiles(runs),
        names=sorted(counts, key=lambda n: -counts[n]),
        name=name,
    )
