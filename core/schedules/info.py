"""`ScheduleInfo`: a schedule as callers see it (definition plus run-time state)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import ScheduleSpec

__all__ = ["ScheduleInfo"]


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """Times are Unix seconds. `next_fire` is None while paused; `error` says why a stored
    definition could not be read (such a schedule is listed, never fired). `unserved`: no
    live worker serves the schedule's queue, so nothing fires it (schedulers run beside
    workers) until one starts."""

    name: str
    job: str
    cron: str | None
    every: float | None  # seconds
    timezone: str
    paused: bool
    next_fire: float | None
    last_fire: float | None = None
    last_job_id: str | None = None
    last_status: str | None = None
    missed: str = "latest"
    args: list[Any] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)
    priority: int = 1
    max_retries: int = 0
    timeout: float | None = None
    error: str | None = None
    unserved: bool = False

    @property
    def when(self) -> str:
        """The timing in one short string: `cron 0 3 * * * (Europe/Berlin)` or `every 30s`."""
        if self.cron is not None:
            return f"cron {self.cron} ({self.timezone})"
        if self.every is not None:
            return f"every {_duration(self.every)}"
        return "?"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "job": self.job,
            "cron": self.cron,
            "every": self.every,
            "timezone": self.timezone,
            "paused": self.paused,
            "next_fire": self.next_fire,
            "last_fire": self.last_fire,
            "last_job_id": self.last_job_id,
            "last_status": self.last_status,
            "missed": self.missed,
            "args": self.args,
            "kwargs": self.kwargs,
            "priority": self.priority,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "error": self.error,
            "unserved": self.unserved,
        }

    @classmethod
    def build(
        cls,
        name: str,
        fields: dict[str, str],
        next_due_ms: int | None,
        last_status: str | None,
        unserved: bool = False,
    ) -> ScheduleInfo:
        last_fire = _ms(fields.get("last_fire"))
        common: dict[str, Any] = {
            "paused": fields.get("paused") == "1",
            "next_fire": None if next_due_ms is None else next_due_ms / 1000,
            "last_fire": None if last_fire is None else last_fire / 1000,
            "last_job_id": fields.get("last_job") or None,
            "last_status": last_status,
            "unserved": unserved,
        }
        try:
            spec = ScheduleSpec.from_json(name, fields.get("def") or "")
        except (TypeError, ValueError) as exc:
            return cls(
                name=name,
                job="<malformed>",
                cron=None,
                every=None,
                timezone="UTC",
                error=str(exc),
                **common,
            )
        return cls(
            name=name,
            job=spec.job,
            cron=spec.cron,
            every=None if spec.every_ms is None else spec.every_ms / 1000,
            timezone=spec.timezone,
            missed=spec.missed,
            args=spec.args,
            kwargs=spec.kwargs,
            priority=spec.priority,
            max_retries=spec.max_retries,
            timeout=spec.timeout,
            **common,
        )


def _ms(value: str | None) -> int | None:
    try:
        return None if not value else int(float(value))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
