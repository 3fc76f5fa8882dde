"""A worker process's pool: bounded concurrency, batched claims and acknowledgements.

Five long-lived loops, each supervised (a crash is logged and the loop restarted; one that
keeps crashing stops the worker with a clear error), and one task per running job:
- claim: leases as many jobs as there are free slots in one call, then waits on the
  backend's wake-up signal when the queue is empty (no polling);
- ack and progress (`reporter`): finished attempts and progress reports, batched;
- heartbeat: registers the worker, extends its leases, rescues jobs of dead workers, and
  learns which of its jobs were cancelled or lost;
- control: obeys scale / cancel / pause messages from other processes.
A watchdog thread (`watchdog`) reports a handler that blocks the event loop. Handlers are
called by `calls` (plain functions on threads of their own, `threads`), and outcomes built by
`outcomes`. Scaling down never interrupts a job: the pool simply stops claiming until enough
end.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .._tasks import cancel_and_wait
from ..backend.base import Backend, ClaimedJob, Finish, Outcome, WorkerRecord
from ..backend.records import listed_handlers
from ..errors import OutOfMemory
from ..events import Events
from ..retry import RetryPolicy
from . import outcomes
from .calls import attempt
from .claiming import Claiming, Running
from .context import JobContext
from .control import HeartbeatAndControl
from .reporter import TRANSIENT, Reporter
from .settings import WorkerSettings, check_worker_id
from .supervise import LoopFailed, supervise
from .threads import ThreadRunner
from .watchdog import LoopStall, LoopWatchdog

__all__ = ["WorkerPool", "WorkerSettings"]

log = logging.getLogger("jobdeck.worker")
Handler = Callable[..., Any]
_TRANSIENT = TRANSIENT


class WorkerPool(Claiming, HeartbeatAndControl):
    def __init__(
        self,
        backend: Backend,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int,
        queue: str = "default",
        retry_policy: RetryPolicy | None = None,
        settings: WorkerSettings | None = None,
        worker_id: str | None = None,
        service: Any = None,
    ) -> None:
        if concurrency < 0:
            raise ValueError("concurrency must be >= 0")
        if worker_id is not None:
            check_worker_id(worker_id)
        self.backend = backend
        self.handlers = handlers
        self.queue = queue
        self.retry_policy = retry_policy or RetryPolicy()
        self.settings = settings or WorkerSettings()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = worker_id or f"{self.host}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.service = service  # handed to handlers as current_job().service
        self.concurrency = concurrency
        self.paused = False
        self.started_at = 0.0
        self.processed = 0
        self.failed = 0
        self.loop_blocked: LoopStall | None = None  # the last time a handler blocked the loop
        self.failure: LoopFailed | None = None  # set when a loop kept crashing
        self._failed = asyncio.Event()
        self._running: dict[str, Running] = {}
        self._ready: collections.deque[tuple[ClaimedJob, float]] = collections.deque()
        self._run_time: float | None = None  # moving average of recent handlers' run times
        self._reporter = Reporter(backend, self.id)
        self._threads = ThreadRunner()
        self._watchdog: LoopWatchdog | None = None
        self._stall_report: asyncio.Task[None] | None = None
        self._stopper: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self._claiming = True
        self._suspect: str | None = None  # a job on its last chance, run alone (`_take`)

    # -- public ----------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def is_running(self) -> bool:
        return bool(self._loops) and not self._stopping

    def record(self) -> WorkerRecord:
        now = time.time()
        handlers, handler_count = listed_handlers(self.handlers)
        return WorkerRecord(
            id=self.id,
            host=self.host,
            pid=self.pid,
            queue=self.queue,
            concurrency=self.concurrency,
            running=self.running,
            started_at=self.started_at,
            last_heartbeat=now,
            paused=self.paused,
            processed=self.processed,
            failed=self.failed,
            loop_blocked=None
            if self.loop_blocked is None
            else {
                "job_id": self.loop_blocked.job_id,
                "job_name": self.loop_blocked.job_name,
                "seconds": self.loop_blocked.seconds,
                "at": round(self.loop_blocked.at, 3),
            },
            handlers=handlers,
            handler_count=handler_count,
        )

    async def start(self) -> None:
        if self._loops:
            return
        self.started_at = time.time()
        await self._heartbeat_once()
        loops: dict[str, Callable[[], Any]] = {
            "claim": self._claim_loop,
            "ack": self._reporter.ack_loop,
            "heartbeat": self._heartbeat_loop,
            "control": self._control_loop,
            "progress": lambda: self._reporter.progress_loop(self.settings.progress_interval),
        }
        self._loops = [
            asyncio.create_task(supervise(name, run, self._fatal), name=f"jobdeck-{name}-{self.id}")
            for name, run in loops.items()
        ]
        self._watchdog = LoopWatchdog(
            asyncio.get_running_loop(),
            threshold=self.settings.lease / 4,
            on_resume=self._loop_resumed,
            name_of=self._job_name,
            worker_id=self.id,
            lease=self.settings.lease,
        )
        self._watchdog.start()
        with contextlib.suppress(OutOfMemory):  # a full Redis: start anyway, and drain it
            await self._emit(Events.JOB_SERVICE_WORKERS_STARTED, concurrency=self.concurrency)
        log.info(
            "worker %s started: queue %s, concurrency %d", self.id, self.queue, self.concurrency
        )

    async def scale(self, concurrency: int) -> int:
        """Set the number of slots. Returns the previous number."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
            raise ValueError(f"concurrency: expected an integer >= 0, got {concurrency!r}")
        previous, self.concurrency = self.concurrency, concurrency
        if concurrency < previous:
            self._hand_back_ready()
        else:
            self._start_next()
        self._slot_freed.set()
        if previous != concurrency:
            await self._publish_state()
            await self._emit(
                Events.JOB_SERVICE_WORKERS_SCALED, concurrency=concurrency, previous=previous
            )
        return previous

    def set_paused(self, paused: bool) -> None:
        """Stop (or resume) taking new jobs in this process only; running jobs go on."""
        self.paused = paused
        if paused:
            self._hand_back_ready()
        self._slot_freed.set()

    def cancel_local(self, job_id: str, reason: str = "cancelled") -> bool:
        running = self._running.get(job_id)
        if running is None:
            return self._stop_ready(job_id, reason)
        if running.stop_reason is not None:
            return False
        running.stop_reason = reason
        running.ctx._cancelled = True
        running.task.cancel()
        return True

    async def stop(self, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop claiming; with `graceful`, let running jobs finish for up to `timeout` seconds,
        then hand the rest back to the queue. Without it, hand them back at once."""
        if self._stopping or not self._loops:
            stopper = self._stopper  # a stop of its own (a loop failed): wait for its end
            if stopper is not None and stopper is not asyncio.current_task():
                await asyncio.wait([stopper])
            return
        self._stopping = True
        self._claiming = False
        self._slot_freed.set()
        # The claim loop ends by itself once its current wait returns (and hands back what
        # that wait brought); cancelling it mid-call could strand a claimed job until its
        # lease expires. So the wait is cut short rather than cancelled.
        claim_loop = self._loops[0]
        with contextlib.suppress(*_TRANSIENT):
            await self.backend.interrupt_wait()
        await asyncio.wait([claim_loop], timeout=self.settings.idle_wait + 2.0)
        await cancel_and_wait(claim_loop)
        self._hand_back_ready()
        wait = self.settings.shutdown_timeout if timeout is None else timeout
        if graceful and self._running:
            log.info(
                "worker %s: waiting up to %.0fs for %d running jobs", self.id, wait, self.running
            )
            tasks = [r.task for r in self._running.values()]
            await asyncio.wait(tasks, timeout=wait)
        for job_id in list(self._running):
            self.cancel_local(job_id, "shutdown")
        if self._running:
            await asyncio.wait([r.task for r in self._running.values()], timeout=5.0)
        await self._reporter.flush_all()
        await cancel_and_wait(*self._loops[1:])
        await asyncio.gather(*self._loops[1:], return_exceptions=True)
        self._loops = []
        if self._watchdog is not None:
            self._watchdog.stop()
        with contextlib.suppress(*_TRANSIENT):
            await self._emit(Events.JOB_SERVICE_WORKERS_STOPPED, processed=self.processed)
            await self.backend.unregister_worker(self.id)
        self._threads.close()
        log.info("worker %s stopped", self.id)

    async def hand_back_now(self, timeout: float = 2.0) -> None:
        """A second stop signal: interrupt every running job and hand it back to the queue
        before this returns. A handler that swallows its cancellation (some client libraries
        do, mid-command) is handed back all the same: its lease token changes, so whatever it
        reports later is refused."""
        self._hand_back_ready()
        for job_id in list(self._running):
            self.cancel_local(job_id, "shutdown")
        if self._running:
            await asyncio.wait([r.task for r in self._running.values()], timeout=timeout)
        stuck = [(job_id, r.ctx.token) for job_id, r in self._running.items()]
        self._reporter.add(
            *(outcomes.released(job_id, token, "shutdown", self.id) for job_id, token in stuck)
        )
        await self._reporter.flush_all(attempts=5)

    def _job_name(self, job_id: str) -> str | None:
        running = self._running.get(job_id)  # also read from the watchdog's thread
        return running.ctx.job.name if running is not None else None

    async def wait_failed(self) -> LoopFailed:
        """Until a loop of this worker failed for good (the worker is then stopping)."""
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    def _fatal(self, error: LoopFailed) -> None:
        if self.failure is None:
            self.failure = error
            self._failed.set()
            self._stopper = asyncio.get_running_loop().create_task(self.stop(graceful=True))

    # -- running a job ---------------------------------------------------------------------
    async def _execute(self, claimed: ClaimedJob, ctx: JobContext) -> None:
        job_id, token = claimed.id, claimed.token
        started = time.monotonic()
        finish: Finish | None
        try:
            if job_id == self._suspect:
                await self._alone(job_id)
                started = time.monotonic()
            finish = await attempt(
                claimed, ctx, self.handlers, self.retry_policy, self._threads, self.id, started
            )
            self._ran(time.monotonic() - started)
        except asyncio.CancelledError:
            reason = self._running[job_id].stop_reason if job_id in self._running else None
            finish = outcomes.stopped(job_id, token, reason, started, self.id)
        except Exception as exc:  # a fault of the worker's own, not of the handler
            log.exception("worker %s: job %s could not be run", self.id, job_id)
            finish = outcomes.dead(job_id, token, "WorkerError", f"{type(exc).__name__}: {exc}")
        finally:
            self._running.pop(job_id, None)
            if self._suspect == job_id:
                self._suspect = None
            self._start_next()
            self._slot_freed.set()
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
                while len(self._running) > 1:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                while not self._reporter.idle:
                    self._reporter.wanted.set()
                    await asyncio.sleep(0.005)
