"""The jobs one worker holds: those running in its slots, and a short queue claimed ahead.

`Slots` decides how many jobs the claim loop may ask for, starts what it brings, runs each
job as a task (the handler call itself is the `attempt` it is handed) and hands jobs back to
the queue when the worker stops, pauses, shrinks or must run a job alone. The worker's
loops and its public methods (`WorkerPool`) steer it; nothing here talks to the backend but
the `Reporter`, which carries outcomes there.

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
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..backend.records import ClaimedJob, Finish, Outcome
from ..models import JobDefinition
from . import outcomes
from .context import HandlerService, JobContext
from .reporter import Reporter
from .settings import WorkerSettings
from .watchdog import job_task_name

__all__ = ["Attempt", "Running", "Slots"]

log = logging.getLogger("jobdeck.worker")
_STALE_FACTOR = 4.0  # a job held ahead longer than this x prefetch_below goes back
_RUN_TIME_WEIGHT = 0.05  # of the newest job in the moving average of run times

#: Runs a claimed job's handler once (`calls.attempt` with the pool's handlers bound): the
#: job, its context, and when the attempt started (`time.monotonic()`).
Attempt = Callable[[ClaimedJob, JobContext, float], Awaitable[Finish]]


@dataclass(slots=True)
class Running:
    task: asyncio.Task[None]
    ctx: JobContext
    stop_reason: str | None = None  # "cancelled", "lost", "shutdown"


class Slots:
    def __init__(
        self,
        worker_id: str,
        concurrency: int,
        settings: WorkerSettings,
        reporter: Reporter,
        attempt: Attempt,
        *,
        max_stalls: int,
        service: HandlerService | None = None,
        state: Any = None,
    ) -> None:
        self.worker_id = worker_id
        self.concurrency = concurrency
        self.settings = settings
        self.paused = False
        self.accepting = True  # False once the worker stops: nothing new starts
        self.processed = 0
        self.failed = 0
        self.running: dict[str, Running] = {}
        self.ready: collections.deque[tuple[ClaimedJob, float]] = collections.deque()
        self.freed = asyncio.Event()  # set whenever a claim may now ask for more
        self._reporter = reporter
        self._attempt = attempt
        self._last_chance = max(1, max_stalls - 1)
        self._service = service  # handed to handlers as current_job().service
        self._state = state  # the lifespan's, handed to handlers as current_job().state
        self._run_time: float | None = None  # moving average of recent handlers' run times
        self._suspect: str | None = None  # a job on its last chance, run alone (`take`)
        # When the lease of each job held ends, as far as this worker knows (its clock,
        # `time.monotonic()`): set at the claim, moved on by each heartbeat that got through.
        self.leased_until: dict[str, float] = {}
        self._margin = min(1.0, settings.lease / 10)  # stop this much before: clocks drift

    # -- what the claim loop asks ------------------------------------------------------------
    def wanted(self) -> int:
        """How many jobs a claim may bring now (0: wait for `freed`)."""
        if self.paused or self._suspect is not None:
            return 0
        return self.concurrency + self.ahead() - len(self.running) - len(self.ready)

    def ahead(self) -> int:
        """How many jobs to hold claimed ahead of free slots: a slot's worth each while the
        recent jobs are short, else none."""
        run_time = self._run_time
        if run_time is None or run_time >= self.settings.prefetch_below:
            return 0
        return self.concurrency

    def take(self, jobs: list[ClaimedJob], leased_until: float = float("inf")) -> None:
        """Start what fits, hold what may wait ahead, hand back the rest. A claim sent before
        the pool was scaled down or told to stop may bring more than fits now: those go
        straight back, first in line, attempt uncounted.

        A job one stall short of the dead-letter queue (its workers died while running it,
        again and again) may be what killed them. It runs alone: the pool takes nothing after
        it (and hands back what it held ahead), lets the jobs already running end, then starts
        it, so if it kills this worker too, no other job shares its last stall and a
        crash-looping job cannot drag its neighbours into the dead-letter queue."""
        last_chance = self._last_chance
        for claimed in jobs:
            self.leased_until[claimed.id] = leased_until
        self.start_next()
        ahead = self.ahead() if self.accepting and not self.paused else 0
        surplus: list[ClaimedJob] = []
        for claimed in jobs:
            if self._suspect is not None or not self.accepting:
                surplus.append(claimed)
            elif len(self.running) < self.concurrency:
                if _stalls(claimed) >= last_chance:
                    self._suspect = claimed.id
                self._start(claimed)
            elif len(self.ready) < ahead and _stalls(claimed) < last_chance:
                self.ready.append((claimed, time.monotonic()))
            else:
                surplus.append(claimed)
        if self._suspect is not None:
            self.hand_back_ready()
        if surplus:
            self._release(surplus, "released")

    # -- steering ----------------------------------------------------------------------------
    def resize(self, concurrency: int) -> int:
        """Set the number of slots; returns the previous number. Shrinking never interrupts
        a job: the pool simply starts nothing until enough end."""
        previous, self.concurrency = self.concurrency, concurrency
        if concurrency < previous:
            self.hand_back_ready()
        else:
            self.start_next()
        self.freed.set()
        return previous

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        if paused:
            self.hand_back_ready()
        self.freed.set()

    def stop_accepting(self) -> None:
        self.accepting = False
        self.freed.set()

    def cancel(self, job_id: str, reason: str = "cancelled") -> bool:
        """Interrupt a running job (or drop one held ahead) for `reason`: "cancelled",
        "lost" (its lease went to another attempt) or "shutdown"."""
        running = self.running.get(job_id)
        if running is None:
            return self._stop_ready(job_id, reason)
        if running.stop_reason is not None:
            return False
        running.stop_reason = reason
        running.ctx._stopped = reason
        running.ctx._cancelled = True
        running.task.cancel()
        return True

    def leases(self) -> list[tuple[str, str]]:
        """(job id, lease token) of every job held, running or claimed ahead."""
        held = [(job_id, r.ctx.token) for job_id, r in self.running.items()]
        held += [(claimed.id, claimed.token) for claimed, _ in self.ready]
        return held

    def extend(self, held: list[tuple[str, str]], until: float) -> None:
        """A heartbeat that carried `held` got through: their leases end at `until` now."""
        for job_id, _token in held:
            if job_id in self.leased_until:
                self.leased_until[job_id] = max(self.leased_until[job_id], until)

    def expire_leases(self) -> list[str]:
        """Stop the jobs whose lease ran out without a heartbeat getting through (Redis out of
        reach, or this process stopped or blocked): another worker may take them up any
        moment, and two attempts must not run at once. A running job is interrupted as if its
        lease were lost (nothing is reported for it: the job is the next attempt's); one held
        ahead is dropped unstarted. Returns their ids."""
        deadline = time.monotonic() + self._margin
        expired = [job_id for job_id, until in self.leased_until.items() if until <= deadline]
        for job_id in expired:
            self.leased_until.pop(job_id, None)
            if self.cancel(job_id, "lost"):
                log.warning(
                    "worker %s: the lease on job %s ran out with no heartbeat getting through; "
                    "stopping it (another worker may run it now)",
                    self.worker_id,
                    job_id,
                )
        return expired

    def _lease_left(self, job_id: str) -> bool:
        return self.leased_until.get(job_id, float("inf")) > time.monotonic() + self._margin

    def job_name(self, job_id: str) -> str | None:
        running = self.running.get(job_id)  # also read from the watchdog's thread
        return running.ctx.job.name if running is not None else None

    # -- handing back ------------------------------------------------------------------------
    def start_next(self) -> None:
        """Slots are free (a job ended, the pool grew, a claim came back): start the jobs
        held ahead in them, oldest first, before anything claimed later."""
        while (
            self.ready
            and self.accepting
            and not self.paused
            and self._suspect is None
            and len(self.running) < self.concurrency
        ):
            claimed = self.ready.popleft()[0]
            if self._lease_left(claimed.id):
                self._start(claimed)
            else:  # its lease may be another worker's by now: it must not start here
                self.leased_until.pop(claimed.id, None)
                log.warning(
                    "worker %s: job %s, held ahead, outlived its lease; dropped unstarted",
                    self.worker_id,
                    claimed.id,
                )

    def hand_back_ready(self, older_than: float | None = None) -> None:
        """Hand back the jobs held ahead (those held longer than `older_than` seconds)."""
        if not self.ready:
            return
        now = time.monotonic()
        kept: list[tuple[ClaimedJob, float]] = []
        back: list[ClaimedJob] = []
        for entry in self.ready:
            if older_than is None or now - entry[1] > older_than:
                back.append(entry[0])
            else:
                kept.append(entry)
        self.ready.clear()
        self.ready.extend(kept)
        if back:
            self._release(back, "released")
            self.freed.set()

    def hand_back_stale(self) -> None:
        """Jobs held ahead for much longer than a short job runs: the running jobs turned
        long, and another worker may be idle. Hand them back, and claim nothing ahead until
        short jobs bring the average down again (else they would be claimed right back)."""
        held = len(self.ready)
        self.hand_back_ready(older_than=self.settings.prefetch_below * _STALE_FACTOR)
        if len(self.ready) < held:
            self._run_time = max(self._run_time or 0.0, self.settings.prefetch_below * 2)

    def hand_back_stuck(self) -> None:
        """Hand back, as they are, the jobs still running after a last cancellation: their
        lease token changes, so whatever their handlers report later is refused."""
        stuck = [(job_id, r.ctx.token) for job_id, r in self.running.items()]
        self._reporter.add(
            *(
                outcomes.released(job_id, token, "shutdown", self.worker_id)
                for job_id, token in stuck
            )
        )

    def _release(self, jobs: list[ClaimedJob], reason: str) -> None:
        for claimed in jobs:
            self.leased_until.pop(claimed.id, None)
        self._reporter.add(
            *(outcomes.released(c.id, c.token, reason, self.worker_id) for c in jobs)
        )

    def _stop_ready(self, job_id: str, reason: str) -> bool:
        """Cancel (or drop, when its lease was lost) a job held ahead, not yet started."""
        for entry in self.ready:
            if entry[0].id == job_id:
                self.ready.remove(entry)
                self.leased_until.pop(job_id, None)
                token = entry[0].token
                if reason == "cancelled":  # its event says it never ran
                    self._reporter.add(outcomes.cancelled_unstarted(job_id, token))
                elif reason == "shutdown":
                    self._reporter.add(outcomes.released(job_id, token, "shutdown", self.worker_id))
                self.freed.set()
                return True
        return False

    # -- running a job -----------------------------------------------------------------------
    def _start(self, claimed: ClaimedJob) -> None:
        reporter = self._reporter
        ctx = JobContext(
            job=_PLACEHOLDER,
            token=claimed.token,
            worker_id=self.worker_id,
            _report=reporter.report_progress,
            _emit=reporter.report_event,
            service=self._service,
            state=self._state,
        )
        task = asyncio.get_running_loop().create_task(
            self._execute(claimed, ctx), name=job_task_name(claimed.id)
        )
        self.running[claimed.id] = Running(task, ctx)

    async def _execute(self, claimed: ClaimedJob, ctx: JobContext) -> None:
        job_id, token = claimed.id, claimed.token
        started = time.monotonic()
        finish: Finish | None
        try:
            if job_id == self._suspect:
                await self._alone(job_id)
                started = time.monotonic()
            finish = await self._attempt(claimed, ctx, started)
            self._ran(time.monotonic() - started)
        except asyncio.CancelledError:
            reason = self.running[job_id].stop_reason if job_id in self.running else None
            finish = outcomes.stopped(job_id, token, reason, started, self.worker_id)
        except Exception as exc:  # a fault of the worker's own, not of the handler
            log.exception("worker %s: job %s could not be run", self.worker_id, job_id)
            finish = outcomes.dead(job_id, token, "WorkerError", f"{type(exc).__name__}: {exc}")
        finally:
            self.running.pop(job_id, None)
            self.leased_until.pop(job_id, None)
            if self._suspect == job_id:
                self._suspect = None
            self.start_next()
            self.freed.set()
        if finish is not None:
            if finish.outcome == Outcome.COMPLETED:
                self.processed += 1
            elif finish.outcome in (Outcome.FAILED, Outcome.RETRY):
                self.failed += 1
            self._reporter.add(finish)

    async def _alone(self, job_id: str) -> None:
        """Until `job_id` is the only job this worker holds a lease on: the others ended and
        their outcomes (and the jobs handed back with it) are on record. For at most one
        lease: jobs that run longer are not waited for; the suspect then runs beside them."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.lease):
                while len(self.running) > 1:
                    self.freed.clear()
                    await self.freed.wait()
                while not self._reporter.idle:
                    self._reporter.wanted.set()
                    await asyncio.sleep(0.005)

    def _ran(self, seconds: float) -> None:
        """Note a finished handler's run time (a moving average of the recent ones)."""
        if self._run_time is None:
            self._run_time = seconds
        else:
            self._run_time += (seconds - self._run_time) * _RUN_TIME_WEIGHT


def _stalls(claimed: ClaimedJob) -> int:
    raw = claimed.fields.get("stalls", claimed.fields.get(b"stalls"))
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


_PLACEHOLDER = JobDefinition(id="", name="<claimed>")
