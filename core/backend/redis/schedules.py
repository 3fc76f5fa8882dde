"""Schedules in Redis: a hash per schedule (`schedule:<name>`), the names in a set, and the
due times of the active ones in one sorted set (`schedules:due`), read and moved by scripts
(sched_*.lua). Python computes fire times; the scripts only compare and store them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..base import DueSchedules, RawSchedule, ScheduleFire
from .engine import RedisEngine, _pairs, _s

__all__ = ["SchedulesMixin"]


class SchedulesMixin(RedisEngine):
    async def put_schedule(
        self, name: str, definition: bytes, timing: str, first_ms: int, job_name: str
    ) -> int:
        return int(await self._run("sched_put", name, definition, timing, first_ms, job_name))

    async def due_schedules(self, limit: int) -> DueSchedules:
        reply = await self._run("sched_due", limit)
        later = int(reply[1])
        due = [
            (_s(reply[i]), bytes(reply[i + 1]), int(float(reply[i + 2])))
            for i in range(2, len(reply), 3)
        ]
        return DueSchedules(int(reply[0]), due, None if later < 0 else later)

    async def fire_schedules(self, items: Sequence[ScheduleFire]) -> list[bool]:
        args: list[Any] = [len(items)]
        for item in items:
            args += [
                item.name,
                "" if item.expected_ms is None else item.expected_ms,
                item.next_ms,
                item.tick_ms,
                item.job_id,
                item.job_name,
                item.priority,
                item.missed,
                len(item.fields) * 2,
            ]
            for key, value in item.fields.items():
                args += [key, value]
        return [bool(flag) for flag in await self._run("sched_fire", *args)]

    async def list_schedules(self, name: str | None = None) -> list[RawSchedule]:
        flat = await self._run("sched_list", name or "")
        out = []
        for i in range(0, len(flat), 4):
            due, status = _s(flat[i + 2]), _s(flat[i + 3])
            out.append(
                RawSchedule(
                    name=_s(flat[i]),
                    fields={k: _s(v) for k, v in _pairs(flat[i + 1]).items()},
                    next_due_ms=int(float(due)) if due else None,
                    last_status=status or None,
                )
            )
        return out

    async def set_schedule_paused(self, name: str, paused: bool, next_ms: int) -> int:
        return int(await self._run("sched_pause", name, "1" if paused else "0", next_ms))

    async def remove_schedule(self, name: str) -> bool:
        return bool(await self._run("sched_remove", name))
