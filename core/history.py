"""A queue's history longer than the per-second counters' 15 minutes: submitted, completed
and failed per minute for the last day, per hour for the last 30 days. The scripts count them
as they count the per-second figures (`long_history` in _lib.lua), so every process reads
the same, with no scan of any job; gaps (no activity, or expired) read as 0."""

from __future__ import annotations

from dataclasses import dataclass, field

from .backend.records import RawHistory

__all__ = ["MAX_BUCKETS", "QueueHistory", "build_history", "check_history"]

#: How far back each step reaches: a day of minutes, 30 days of hours.
MAX_BUCKETS = {"minute": 1440, "hour": 720}


@dataclass(frozen=True, slots=True)
class QueueHistory:
    """Counts per bucket, oldest first: bucket i covers `start + i * step` seconds on (unix
    time), the last one is the current (still filling) minute or hour."""

    step: int  # seconds per bucket: 60 or 3600
    start: float
    submitted: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # failed attempts: retried or dead

    @property
    def count(self) -> int:
        return len(self.completed)


def check_history(step: object, count: object) -> tuple[bool, int]:
    """(minutes?, count) for valid arguments, or ValueError naming the field."""
    if step not in MAX_BUCKETS:
        raise ValueError(f"step: expected 'minute' or 'hour', got {step!r}")
    most = MAX_BUCKETS[str(step)]
    if count is None:
        return step == "minute", most
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= most:
        raise ValueError(f"count: expected 1-{most} for step {step!r}, got {count!r}")
    return step == "minute", count


def build_history(raw: RawHistory) -> QueueHistory:
    buckets = range(raw.first, raw.first + raw.count)

    def series(kind: str) -> list[int]:
        return [raw.counts.get((kind, bucket), 0) for bucket in buckets]

    return QueueHistory(
        step=raw.step,
        start=float(raw.first * raw.step),
        submitted=series("s"),
        completed=series("c"),
        failed=series("f"),
    )
