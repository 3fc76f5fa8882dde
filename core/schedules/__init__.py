"""Schedules: cron and interval jobs that fire exactly once per tick, without a leader.

`spec` validates a definition, `timing` computes fire times (and the daylight-saving rule),
`scheduler` is the loop each worker process runs, `api` the `Schedules` object behind
the `JobService` schedule methods.
"""

from __future__ import annotations

from .info import ScheduleInfo
from .scheduler import Scheduler, tick_job_id
from .spec import MISSED_POLICIES, ScheduleSpec, new_schedule
from .timing import next_fire_after, plan_tick

__all__ = [
    "MISSED_POLICIES",
    "ScheduleInfo",
    "ScheduleSpec",
    "Scheduler",
    "new_schedule",
    "next_fire_after",
    "plan_tick",
    "tick_job_id",
]
