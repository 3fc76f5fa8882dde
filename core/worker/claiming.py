"""The pool's claim side: leasing jobs for free slots, and a short queue of jobs claimed ahead.

Why claim ahead: a slot that frees up otherwise stays empty for a claim's round trip, the
claim script's time in Redis and the start of the new task; with short jobs that gap is a
real share of every slot's time (50 ms jobs at concurrency 100 lost ~10% to it). So while
the handlers' recent run times are short (below `WorkerSettings.prefetch_below`), the pool
holds up to one more slot's worth of claimed jobs per slot, starts one the moment a slot
frees, and claims the next batch while the current one runs.

Why only then: a job claimed ahead is leased to this worker (its lease kept by the
heartbeat, its JOB_STARTED event already written) while it waits, so another idle worker
cannot take it. For short jobs that wait is about one run time; for long ones it would be a
long wait beside idle workers, so there is no claiming ahead, and a job claimed ahead that
waited longer than `_STALE_FACTOR` times the threshold is handed back. Jobs held ahead are
handed back, first in line and their attempt uncounted, whenever the pool stops, pauses,
shrinks or must run a job alone; a cancelled one ends as cancelled without running.

A mixin of `WorkerPool`: all of it acts on the pool's own state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from redis.exceptions import NoPermissionError

from ..backend.base import ClaimedJob
from ..models import JobDefinition
from . import outcomes
from .context import JobContext
from .control import refused
from .reporter import TRANSIENT
from .watchdog import job_task_name

if TYPE_CHECKING:
    from .pool import WorkerPool

__all__ = ["Claiming", "Running"]

log = logging.getLogger("jobdeck.worker")
_STALE_FACTOR = 4.0  # a job held ahead longer than this x prefetch_below goes back
_RUN_TIME_WEIGHT = 0.05  # of the newest job in the moving average of run times


@dataclass(slots=True)
class Running:
    task: asyncio.Task[None]
    ctx: JobContext
    stop_reason: str | None = None  # "cancelled", "lost", "shutdown"


class Claiming:
    async def _claim_loop(self: WorkerPool) -> None:
        failures = 0
        queue_dry = False  # the last claim found fewer jobs than asked for: block until woken
        timeout = self.settings.idle_wait
        while self._claiming:
            free = self.concurrency + self._ahead() - len(self._running) - len(self._ready)
            if free <= 0 or self.paused or self._suspect is not None:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                if queue_dry:
                    batch = await self.backend.wait_and_claim(
                        self.id, free, self.settings.lease, timeout
                    )
                else:
                    batch = await self.backend.claim(self.id, free, self.settings.lease)
                failures = 0
            except TRANSIENT as exc:
                failures += 1
                if isinstance(exc, NoPermissionError):
                    await refused(self.id, exc)
                    continue
                log.warning("worker %s: claim failed (%s); retrying", self.id, exc)
                await asyncio.sleep(min(2.0, 0.05 * 2**failures))
                continue
            self._take(batch.jobs)
            if batch.jobs:
                await asyncio.sleep(0)  # let the new jobs start before the next claim goes out
            queue_dry = len(batch.jobs) < free
            timeout = self.settings.idle_wait
            if batch.next_due is not None:
                timeout = min(timeout, batch.next_due + 0.001)

    def _ahead(self: WorkerPool) -> int:
        """How many jobs to hold claimed ahead of free slots: a slot's worth each while the
        recent jobs are short, else none."""
        run_time = self._run_time
        if run_time is None or run_time >= self.settings.prefetch_below:
            return 0
        return self.concurrency

    def _ran(self: WorkerPool, seconds: float) -> None:
        """Note a finished handler's run time (a moving average of the recent ones)."""
        if self._run_time is None:
            self._run_time = seconds
        else:
            self._run_time += (seconds - self._run_time) * _RUN_TIME_WEIGHT

    def _take(self: WorkerPool, jobs: list[ClaimedJob]) -> None:
        """Start what fits, hold what may wait ahead, hand back the rest. A claim sent before
        the pool was scaled down or told to stop may bring more than fits now: those go
        straight back, first in line, attempt uncounted.

        A job one stall short of the dead-letter queue (its workers died while running it,
        again and again) may be what killed them. It runs alone: the pool takes nothing after
        it (and hands back what it held ahead), lets the jobs already running end, then starts
        it, so if it kills this worker too, no other job shares its last stall and a
        crash-looping job cannot drag its neighbours into the dead-letter queue."""
        last_chance = max(1, self.backend.settings.max_stalls - 1)
        self._start_next()
        ahead = self._ahead() if self._claiming and not self.paused else 0
        surplus: list[ClaimedJob] = []
        for claimed in jobs:
            if self._suspect is not None or not self._claiming:
                surplus.append(claimed)
            elif len(self._running) < self.concurrency:
                if _stalls(claimed) >= last_chance:
                    self._suspect = claimed.id
                self._start(claimed)
            elif len(self._ready) < ahead and _stalls(claimed) < last_chance:
                self._ready.append((claimed, time.monotonic()))
            else:
                surplus.append(claimed)
        if self._suspect is not None:
            self._hand_back_ready()
        if surplus:
            self._reporter.add(
                *(outcomes.released(c.id, c.token, "released", self.id) for c in surplus)
            )

    def _start_next(self: WorkerPool) -> None:
        """Slots are free (a job ended, the pool grew, a claim came back): start the jobs
        held ahead in them, oldest first, before anything claimed later."""
        while (
            self._ready
            and self._claiming
            and not self.paused
            and self._suspect is None
            and len(self._running) < self.concurrency
        ):
            self._start(self._ready.popleft()[0])

    def _start(self: WorkerPool, claimed: ClaimedJob) -> None:
        ctx = JobContext(
            job=_PLACEHOLDER,
            token=claimed.token,
            worker_id=self.id,
            _report=self._reporter.report_progress,
            _emit=self._reporter.report_event,
            service=self.service,
        )
        task = asyncio.get_running_loop().create_task(
            self._execute(claimed, ctx), name=job_task_name(claimed.id)
        )
        self._running[claimed.id] = Running(task, ctx)

    def _hand_back_ready(self: WorkerPool, older_than: float | None = None) -> None:
        """Hand back the jobs held ahead (those held longer than `older_than` seconds)."""
        if not self._ready:
            return
        now = time.monotonic()
        kept: list[tuple[ClaimedJob, float]] = []
        back: list[ClaimedJob] = []
        for entry in self._ready:
            if older_than is None or now - entry[1] > older_than:
                back.append(entry[0])
            else:
                kept.append(entry)
        self._ready.clear()
        self._ready.extend(kept)
        if back:
            self._reporter.add(
                *(outcomes.released(c.id, c.token, "released", self.id) for c in back)
            )
            self._slot_freed.set()

    def _hand_back_stale(self: WorkerPool) -> None:
        """Jobs held ahead for much longer than a short job runs: the running jobs turned
        long, and another worker may be idle. Hand them back, and claim nothing ahead until
        short jobs bring the average down again (else they would be claimed right back)."""
        held = len(self._ready)
        self._hand_back_ready(older_than=self.settings.prefetch_below * _STALE_FACTOR)
        if len(self._ready) < held:
            self._run_time = max(self._run_time or 0.0, self.settings.prefetch_below * 2)

    def _stop_ready(self: WorkerPool, job_id: str, reason: str) -> bool:
        """Cancel (or drop, when its lease was lost) a job held ahead, not yet started."""
        for entry in self._ready:
            if entry[0].id == job_id:
                self._ready.remove(entry)
                token = entry[0].token
                if reason == "cancelled":  # its event says it never ran
                    self._reporter.add(outcomes.cancelled_unstarted(job_id, token))
                elif reason == "shutdown":
                    self._reporter.add(outcomes.released(job_id, token, "shutdown", self.id))
                self._slot_freed.set()
                return True
        return False


def _stalls(claimed: ClaimedJob) -> int:
    raw = claimed.fields.get("stalls", claimed.fields.get(b"stalls"))
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


_PLACEHOLDER = JobDefinition(id="", name="<claimed>")
