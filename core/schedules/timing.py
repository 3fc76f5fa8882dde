"""When a schedule fires: next-fire maths, and what to do about ticks that were missed.

Times are integer milliseconds since the epoch, as the backends store them. Interval
schedules tick on multiples of their interval since the epoch, so every scheduler process
computes the same ticks (and so the same job ids). Cron schedules follow Debian cron's
daylight-saving rule (through `cronsim`): a job at a fixed local time that falls into the
hour skipped in spring runs once, at the first minute after the gap (02:30 -> 03:00); one
that falls into the hour repeated in autumn runs once, at its first occurrence. Jobs whose
minute or hour field is a wildcard (`*/15 * * * *`) run on real elapsed time: not in the
skipped hour, and in both passes of the repeated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from cronsim import CronSim

from .spec import ScheduleSpec

__all__ = ["MISFIRE_GRACE_MS", "Plan", "next_fire_after", "plan_tick"]

# A tick found more than this long after its time was missed (the schedulers were down or
# stalled); under the "skip" policy it does not run.
MISFIRE_GRACE_MS = 5_000
_MAX_STEPS = 10_000


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def next_fire_after(spec: ScheduleSpec, after_ms: int) -> int:
    """The first tick strictly after `after_ms`."""
    if spec.every_ms is not None:
        return (after_ms // spec.every_ms + 1) * spec.every_ms
    assert spec.cron is not None
    zone = _zone(spec.timezone)
    start = datetime.fromtimestamp(after_ms // 1000, tz=UTC).astimezone(zone)
    ticks = CronSim(spec.cron, start)
    for _ in range(_MAX_STEPS):
        fire = int(next(ticks).timestamp()) * 1000
        # Local wall time starting inside the repeated autumn hour can map back to an
        # earlier instant: step on until the tick is really later.
        if fire > after_ms:
            return fire
    raise ValueError(f"cron: no fire time after {after_ms} in {spec.cron!r}")


def _latest_at_or_before(spec: ScheduleSpec, due_ms: int, now_ms: int) -> int:
    """The last tick in [due_ms, now_ms] (due_ms itself is a tick, and <= now_ms)."""
    if spec.every_ms is not None:
        return max(due_ms, now_ms // spec.every_ms * spec.every_ms)
    latest = due_ms
    for _ in range(_MAX_STEPS):
        following = next_fire_after(spec, latest)
        if following > now_ms:
            return latest
        latest = following
    return latest  # an outage of more than 10,000 cron ticks: the last one we walked to


@dataclass(frozen=True, slots=True)
class Plan:
    """What one scheduler does with a due schedule: submit the job of tick `fire` (None when
    the tick is skipped), and move the schedule on to `next_ms`."""

    fire: int | None
    next_ms: int
    missed: int  # ticks that were due and do not run


def plan_tick(spec: ScheduleSpec, due_ms: int, now_ms: int) -> Plan:
    """One tick at most, whatever the outage: never a burst of every missed tick."""
    latest = _latest_at_or_before(spec, due_ms, now_ms)
    following = next_fire_after(spec, max(latest, now_ms))
    missed = _count_between(spec, due_ms, latest)
    if spec.missed == "skip" and now_ms - latest > MISFIRE_GRACE_MS:
        return Plan(None, following, missed + 1)
    return Plan(latest, following, missed)


def _count_between(spec: ScheduleSpec, first: int, last: int) -> int:
    """How many ticks lie in [first, last) (those passed over to run `last`)."""
    if spec.every_ms is not None:
        return max(0, (last - first) // spec.every_ms)
    count, tick = 0, first
    while tick < last and count < 1000:  # informational: a long outage counts 1000+
        count += 1
        tick = next_fire_after(spec, tick)
    return count
