"""Schedules over Redis: sched_fire.lua's arguments, a batch of ticks in one call. The
memory engine's `schedules.py` mirrors the scripts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import ScheduleFire
from .connection import RedisConnection

__all__ = ["fire_schedules"]


async def fire_schedules(conn: RedisConnection, items: Sequence[ScheduleFire]) -> list[bool]:
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
    return [bool(flag) for flag in await conn.run("sched_fire", *args)]
