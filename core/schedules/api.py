"""The schedule methods of `JobService` (a mixin, so the service module stays small).

`schedule(...)` is a plain call for import time, beside `register_handler`: it records the
definition, and the service writes it (idempotently) when it initializes. Everything else is
async and works from any process that shares the queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from ..models import JobPriority
from .info import ScheduleInfo
from .scheduler import fire_for, put_spec
from .spec import ScheduleSpec, new_schedule
from .timing import next_fire_after

if TYPE_CHECKING:
    from ..backend import Backend

__all__ = ["ScheduleMethods"]

F = TypeVar("F", bound=Callable[..., Any])


class ScheduleMethods:
    backend: Backend
    _declared: dict[str, ScheduleSpec]

    async def _ensure(self) -> None: ...  # provided by JobService
    def register_handler(self, name: str, func: Callable[..., Any]) -> None: ...

    def schedule(
        self,
        name: str,
        job: str,
        *,
        cron: str | None = None,
        every: timedelta | float | None = None,
        timezone: str = "UTC",
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        priority: JobPriority | int | str = JobPriority.NORMAL,
        max_retries: int = 0,
        timeout: float | None = None,
        missed: str = "latest",
    ) -> ScheduleSpec:
        """Declare a schedule in code: submit job `job` on `cron` (5 fields, in `timezone`)
        or `every` interval (whole seconds). `missed="latest"` runs the most recent missed
        tick once after an outage; `"skip"` drops missed ticks. Written to the backend when
        the service initializes (and by each scheduler as it starts)."""
        spec = new_schedule(
            name,
            job,
            cron=cron,
            every=every,
            timezone=timezone,
            args=args,
            kwargs=kwargs,
            priority=priority,
            max_retries=max_retries,
            timeout=timeout,
            missed=missed,
        )
        self._declared[name] = spec
        return spec

    def periodic(
        self,
        name: str | None = None,
        *,
        cron: str | None = None,
        every: timedelta | float | None = None,
        **options: Any,
    ) -> Callable[[F], F]:
        """Decorator: register the function as a handler and schedule it under its name."""

        def decorate(func: F) -> F:
            job = name or func.__name__
            self.register_handler(job, func)
            self.schedule(job, job, cron=cron, every=every, **options)
            return func

        return decorate

    async def add_schedule(self, name: str, job: str, **options: Any) -> ScheduleInfo:
        """Create or change a schedule at run time, from any process (same arguments as
        `schedule`). A changed timing moves the next fire time; a paused one stays paused."""
        spec = new_schedule(name, job, **options)
        await self._ensure()
        await put_spec(self.backend, spec)
        info = await self.get_schedule(name)
        assert info is not None
        return info

    async def list_schedules(self) -> list[ScheduleInfo]:
        """Every schedule of this queue, by name, with its next and last fire."""
        await self._ensure()
        return [
            ScheduleInfo.build(raw.name, raw.fields, raw.next_due_ms, raw.last_status)
            for raw in await self.backend.list_schedules()
        ]

    async def get_schedule(self, name: str) -> ScheduleInfo | None:
        await self._ensure()
        rows = await self.backend.list_schedules(_checked(name))
        return (
            ScheduleInfo.build(
                rows[0].name, rows[0].fields, rows[0].next_due_ms, rows[0].last_status
            )
            if rows
            else None
        )

    async def pause_schedule(self, name: str) -> bool:
        """Stop firing (False if it was paused already). Raises KeyError if unknown."""
        await self._ensure()
        return _changed(name, await self.backend.set_schedule_paused(_checked(name), True, 0))

    async def resume_schedule(self, name: str) -> bool:
        """Fire again from the next tick on: ticks that passed while paused do not run."""
        spec = await self._stored_spec(name)
        first = next_fire_after(spec, int(time.time() * 1000))
        return _changed(name, await self.backend.set_schedule_paused(name, False, first))

    async def trigger_schedule(self, name: str) -> str:
        """Submit the schedule's job now (paused or not); its regular ticks are unchanged.
        Returns the new job's id."""
        spec = await self._stored_spec(name)
        fire = fire_for(spec, None, 0, int(time.time() * 1000), 0)
        if not (await self.backend.fire_schedules([fire]))[0]:
            raise KeyError(f"schedule: no schedule named {name!r}")
        return fire.job_id

    async def remove_schedule(self, name: str) -> bool:
        """Delete the schedule (jobs it queued stay). False if there was none. A schedule
        declared in code comes back when a service declaring it initializes again."""
        await self._ensure()
        self._declared.pop(name, None)
        return await self.backend.remove_schedule(_checked(name))

    async def _stored_spec(self, name: str) -> ScheduleSpec:
        await self._ensure()
        rows = await self.backend.list_schedules(_checked(name))
        if not rows:
            raise KeyError(f"schedule: no schedule named {name!r}")
        return ScheduleSpec.from_json(name, rows[0].fields.get("def") or "")

    async def _declare_schedules(self) -> None:
        for spec in list(self._declared.values()):
            await put_spec(self.backend, spec)


def _checked(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a schedule name, got {name!r}")
    return name


def _changed(name: str, result: int) -> bool:
    if result < 0:
        raise KeyError(f"schedule: no schedule named {name!r}")
    return result == 1
