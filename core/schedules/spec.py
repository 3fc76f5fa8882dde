"""What a schedule is: which job it submits, and when (a cron expression in a time zone, or a
fixed interval). Validated here, once, so nothing malformed is ever written; stored as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from ..codec import dumps, loads
from ..ids import refuse_reserved
from ..keys import validate_name
from ..models import MAX_NAME_LENGTH, JobPriority, parse_priority

__all__ = ["MISSED_POLICIES", "ScheduleSpec", "new_schedule"]

# "latest": after an outage, the most recent missed tick runs once (the default).
# "skip": ticks that were missed are dropped; the schedule goes on with the next one.
MISSED_POLICIES = ("latest", "skip")
_MAX_EVERY_S = 366 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """One schedule's definition. Exactly one of `cron` and `every_ms` is set."""

    name: str
    job: str
    cron: str | None = None
    every_ms: int | None = None
    timezone: str = "UTC"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    priority: int = int(JobPriority.NORMAL)
    max_retries: int = 0
    timeout: float | None = None
    missed: str = "latest"

    @property
    def timing(self) -> str:
        """What decides the fire times: if this changes, the next fire time is recomputed."""
        return dumps([self.cron, self.every_ms, self.timezone]).decode()

    @property
    def every(self) -> timedelta | None:
        return None if self.every_ms is None else timedelta(milliseconds=self.every_ms)

    def to_json(self) -> bytes:
        return dumps(
            {
                "job": self.job,
                "cron": self.cron,
                "every_ms": self.every_ms,
                "timezone": self.timezone,
                "args": self.args,
                "kwargs": self.kwargs,
                "priority": self.priority,
                "max_retries": self.max_retries,
                "timeout": self.timeout,
                "missed": self.missed,
            }
        )

    @classmethod
    def from_json(cls, name: str, raw: bytes | str) -> ScheduleSpec:
        """Decode a stored definition, validating it again (Redis is shared: anyone may have
        written it). Raises `ValueError` naming the bad field."""
        try:
            data = loads(raw)
        except ValueError:
            raise ValueError("definition: not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("definition: not a JSON object")
        every_ms = data.get("every_ms")
        return new_schedule(
            name,
            data.get("job"),
            cron=data.get("cron"),
            every=None if every_ms is None else _ms_to_seconds(every_ms),
            timezone=data.get("timezone", "UTC"),
            args=data.get("args") or [],
            kwargs=data.get("kwargs") or {},
            priority=data.get("priority", int(JobPriority.NORMAL)),
            max_retries=data.get("max_retries", 0),
            timeout=data.get("timeout"),
            missed=data.get("missed", "latest"),
            stored=True,
        )


def _ms_to_seconds(value: Any) -> Any:
    return value / 1000 if isinstance(value, int) and not isinstance(value, bool) else value


def new_schedule(
    name: Any,
    job: Any,
    *,
    cron: Any = None,
    every: Any = None,
    timezone: Any = "UTC",
    args: Any = (),
    kwargs: Any = None,
    priority: Any = JobPriority.NORMAL,
    max_retries: Any = 0,
    timeout: Any = None,
    missed: Any = "latest",
    stored: bool = False,
) -> ScheduleSpec:
    """A validated `ScheduleSpec`. Raises `ValueError`/`TypeError` naming the field. A name
    that is a word of the HTTP API's paths is refused (`RESERVED_IDS`), except for a
    definition read back from the backend (`stored`: written before the word was
    reserved, it keeps firing)."""
    validate_name("schedule name", name)
    if not stored:
        refuse_reserved("schedule name", name)
    if not isinstance(job, str) or not job.strip() or len(job) > MAX_NAME_LENGTH:
        raise ValueError(f"job: expected a handler name of 1-{MAX_NAME_LENGTH} characters")
    if (cron is None) == (every is None):
        raise ValueError("cron: give exactly one of cron='…' and every=seconds or a timedelta")
    every_ms = None
    if every is not None:
        seconds = every.total_seconds() if isinstance(every, timedelta) else every
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise TypeError(f"every: expected a timedelta or seconds, got {every!r}")
        if not math.isfinite(seconds) or not 1 <= seconds <= _MAX_EVERY_S:
            raise ValueError(f"every: expected 1 second to 366 days, got {every!r}")
        if seconds != int(seconds):
            raise ValueError(f"every: whole seconds only, got {every!r}")
        every_ms = int(seconds) * 1000
    if not isinstance(timezone, str) or not timezone:
        raise ValueError(
            f"timezone: expected an IANA name such as 'Europe/Berlin', got {timezone!r}"
        )
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {timezone!r}") from None
    if cron is not None:
        if not isinstance(cron, str) or len(cron) > 200:
            raise ValueError(f"cron: expected a cron expression string, got {cron!r}")
        cron = " ".join(cron.split())
        if len(cron.split()) != 5:
            raise ValueError(
                f"cron: expected 5 fields (minute hour day month weekday), got {cron!r}"
            )
        try:
            next(CronSim(cron, datetime(2026, 1, 1, tzinfo=zone)))
        except (CronSimError, StopIteration) as exc:
            raise ValueError(f"cron: {exc or 'no fire time'} in {cron!r}") from None
    if not isinstance(args, (list, tuple)):
        raise TypeError(f"args: expected a list or tuple, got {type(args).__name__}")
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"kwargs: expected a mapping, got {type(kwargs).__name__}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries: expected an integer >= 0, got {max_retries!r}")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        raise ValueError(f"timeout: expected seconds > 0 or None, got {timeout!r}")
    if missed not in MISSED_POLICIES:
        raise ValueError(f"missed: expected one of {', '.join(MISSED_POLICIES)}, got {missed!r}")
    spec = ScheduleSpec(
        name=name,
        job=job,
        cron=cron,
        every_ms=every_ms,
        timezone=timezone,
        args=list(args),
        kwargs=dict(kwargs),
        priority=int(parse_priority(priority)),
        max_retries=max_retries,
        timeout=None if timeout is None else float(timeout),
        missed=missed,
    )
    try:
        spec.to_json()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"args/kwargs: must be JSON ({exc})") from None
    return spec
