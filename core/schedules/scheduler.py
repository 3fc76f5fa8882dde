"""The scheduler loop every worker process runs beside its pool.

There is no leader: each loop asks the backend which schedules are due, plans each tick in
Python (cron maths stays here), and hands the plans to one atomic script that creates the
tick's job and moves the schedule on only if it is still due at the time this loop saw. Of
several loops that saw a tick, one wins and the others' fires are refused, so a tick runs
once however many loops run, and a loop that dies between the two calls leaves the tick due
for the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from ..backend.base import Backend, DueSchedules, ScheduleFire
from ..ids import SCHEDULER_ID_PREFIX
from ..submission import prepare
from .spec import ScheduleSpec
from .timing import next_fire_after, plan_tick

__all__ = ["Scheduler", "tick_job_id"]

log = logging.getLogger("jobdeck.scheduler")


def tick_job_id(name: str, tick_ms: int) -> str:
    """The id of the job for one tick: the same in every process, so a tick is queued once.
    Clients may not submit ids in this namespace (`new_job`), so none can take a tick's."""
    return f"{SCHEDULER_ID_PREFIX}{name}:{tick_ms}"


class Scheduler:
    """Fires due schedules of one queue. `poll` caps the sleep between looks, so a schedule
    added, resumed or changed elsewhere is seen within that long."""

    def __init__(
        self,
        backend: Backend,
        *,
        declared: Callable[[], Iterable[ScheduleSpec]] = tuple,
        poll: float = 1.0,
        batch: int = 500,
    ) -> None:
        self.backend = backend
        self.declared = declared
        self.poll = poll
        self.batch = batch
        self.fired = 0  # ticks this loop won
        self.lost = 0  # ticks another loop fired first
        self._bad: set[str] = set()

    async def declare(self) -> None:
        """Write the schedules declared in code (idempotent: unchanged ones stay as they are,
        paused ones stay paused)."""
        for spec in self.declared():
            await put_spec(self.backend, spec)

    async def run(self) -> None:
        await self.declare()
        delay = 0.05
        while True:
            try:
                wait = await self.run_once()
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away, a restart: keep trying, quietly
                log.warning("scheduler: %s", exc)
                wait, delay = delay, min(self.poll * 5, delay * 2)
            await asyncio.sleep(wait)

    async def run_once(self) -> float:
        """Fire what is due; return how long to sleep before looking again."""
        due = await self.backend.due_schedules(self.batch)
        fires = [fire for fire in map(self._plan, due.due, (due,) * len(due.due)) if fire]
        if fires:
            results = await self.backend.fire_schedules(fires)
            won = sum(results)
            self.fired += won
            self.lost += len(results) - won
        if len(due.due) >= self.batch:
            return 0.0
        if due.next_due_ms is None:
            return self.poll
        return min(self.poll, max(0.001, (due.next_due_ms - due.now_ms) / 1000))

    def _plan(self, row: tuple[str, bytes, int], due: DueSchedules) -> ScheduleFire | None:
        name, raw, due_ms = row
        try:
            spec = ScheduleSpec.from_json(name, raw)
        except (TypeError, ValueError) as exc:
            if name not in self._bad:  # said once per process, not once per second
                self._bad.add(name)
                log.error("schedule %r cannot be read and does not fire: %s", name, exc)
            return None
        plan = plan_tick(spec, due_ms, due.now_ms)
        return fire_for(spec, due_ms, plan.next_ms, plan.fire, plan.missed)


def fire_for(
    spec: ScheduleSpec, expected_ms: int | None, next_ms: int, tick_ms: int | None, missed: int
) -> ScheduleFire:
    """The backend's instruction for one tick (`tick_ms` None: skip it, only move on)."""
    if tick_ms is None:
        return ScheduleFire(spec.name, expected_ms, next_ms, 0, "", spec.job, spec.priority, {})
    job_id = tick_job_id(spec.name, tick_ms) if expected_ms is not None else _manual_id(spec)
    # Checked without its id (the record does not hold it): the tick's is in the namespace
    # a client may not submit in (SCHEDULER_ID_PREFIX).
    fields = prepare(
        spec.job, spec.args, spec.kwargs, spec.priority, spec.max_retries, spec.timeout, 0.0
    ).fields
    return ScheduleFire(
        spec.name, expected_ms, next_ms, tick_ms, job_id, spec.job, spec.priority, fields, missed
    )


def _manual_id(spec: ScheduleSpec) -> str:
    return f"{SCHEDULER_ID_PREFIX}{spec.name}:manual-{time.time_ns() // 1000}"


async def put_spec(backend: Backend, spec: ScheduleSpec) -> int:
    """Declare `spec`; its first fire is computed from the server's clock, as every later one
    is (sched_due.lua), so a process whose clock is off does not move it."""
    first = next_fire_after(spec, await backend.now_ms())
    return await backend.put_schedule(spec.name, spec.to_json(), spec.timing, first, spec.job)
