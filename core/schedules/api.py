"""`Schedules`: a queue's schedules as `JobService` offers them (`service.schedule(...)`,
`add_schedule`, `pause_schedule`, ...), handed the backend and the service's way to connect.

`declare(...)` is a plain call for import time, beside `register_handler`: it records the
definition, and `write_declared()` writes every declared one (idempotently) when the service
initializes. Everything else is async and works from any process that shares the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from ..backend.base import Backend
from .info import ScheduleInfo
from .scheduler import fire_for, put_spec
from .spec import ScheduleSpec, new_schedule
from .timing import next_fire_after

__all__ = ["Schedules"]

F = TypeVar("F", bound=Callable[..., Any])


class Schedules:
    """One queue's schedules. `declared` is the service's own dict of schedules declared in
    code (kept when the service is pointed elsewhere, since they were declared for it);
    `ensure` connects the service before a call reaches the backend."""

    def __init__(
        self,
        backend: Backend,
        ensure: Callable[[], Awaitable[None]],
        declared: dict[str, ScheduleSpec],
    ) -> None:
        self.backend = backend
        self._ensure = ensure
        self.declared = declared

    def declare(self, name: str, job: str, **options: Any) -> ScheduleSpec:
        spec = new_schedule(name, job, **options)
        self.declared[name] = spec
        return spec

    def periodic(
        self,
        register: Callable[[str, Callable[..., Any]], None],
        name: str | None,
        cron: str | None,
        every: timedelta | float | None,
        options: dict[str, Any],
    ) -> Callable[[F], F]:
        """A decorator that registers the function (with `register`) as the handler of job
        `name` (default: the function's name) and declares a schedule of that name for it."""

        def decorate(func: F) -> F:
            job = name or func.__name__
            register(job, func)
            self.declare(job, job, cron=cron, every=every, **options)
            return func

        return decorate

    async def write_declared(self) -> None:
        for spec in list(self.declared.values()):
            await put_spec(self.backend, spec)

    async def add(self, name: str, job: str, **options: Any) -> ScheduleInfo:
        spec = new_schedule(name, job, **options)
        await self._ensure()
        await put_spec(self.backend, spec)
        info = await self.get(name)
        assert info is not None
        return info

    async def list_all(self) -> list[ScheduleInfo]:
        await self._ensure()
        rows = await self.backend.list_schedules()
        unserved = bool(rows) and not await self.backend.list_workers()
        return [
            ScheduleInfo.build(raw.name, raw.fields, raw.next_due_ms, raw.last_status, unserved)
            for raw in rows
        ]

    async def get(self, name: str) -> ScheduleInfo | None:
        await self._ensure()
        rows = await self.backend.list_schedules(_checked(name))
        if not rows:
            return None
        unserved = not await self.backend.list_workers()
        return ScheduleInfo.build(
            rows[0].name, rows[0].fields, rows[0].next_due_ms, rows[0].last_status, unserved
        )

    async def pause(self, name: str) -> bool:
        await self._ensure()
        return _changed(name, await self.backend.set_schedule_paused(_checked(name), True, 0))

    async def resume(self, name: str) -> bool:
        spec = await self._stored_spec(name)
        first = next_fire_after(spec, await self.backend.now_ms())  # the server's clock
        return _changed(name, await self.backend.set_schedule_paused(name, False, first))

    async def trigger(self, name: str) -> str:
        spec = await self._stored_spec(name)
        fire = fire_for(spec, None, 0, await self.backend.now_ms(), 0)
        if not (await self.backend.fire_schedules([fire]))[0]:
            raise KeyError(f"schedule: no schedule named {name!r}")
        return fire.job_id

    async def remove(self, name: str) -> bool:
        await self._ensure()
        self.declared.pop(name, None)
        return await self.backend.remove_schedule(_checked(name))

    async def _stored_spec(self, name: str) -> ScheduleSpec:
        await self._ensure()
        rows = await self.backend.list_schedules(_checked(name))
        if not rows:
            raise KeyError(f"schedule: no schedule named {name!r}")
        return ScheduleSpec.from_json(name, rows[0].fields.get("def") or "")


def _checked(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"name: expected a schedule name, got {name!r}")
    return name


def _changed(name: str, result: int) -> bool:
    if result < 0:
        raise KeyError(f"schedule: no schedule named {name!r}")
    return result == 1
