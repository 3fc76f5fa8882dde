"""An application with schedules, for `jobdeck worker tests.apps.scheduled:service`:
a 1-second interval schedule whose job does nothing (the test counts ticks, not work)."""

from __future__ import annotations

from datetime import timedelta

from jobdeck.core import JobService

service = JobService(queue="sched")


@service.handler("tick")
async def tick() -> None:
    return None


service.schedule("every-second", "tick", every=timedelta(seconds=1))
