"""A worker process's pool: bounded concurrency, batched claims and acknowledgements.

`WorkerPool` is the worker's public face and its life cycle: it builds the parts, runs five
long-lived loops, each supervised (a crash is logged and the loop restarted; one that keeps
crashing stops the worker with a clear error), and steers them:
- claim (`claiming.claim_loop`): leases as many jobs as there are free slots in one call,
  then waits on the backend's wake-up signal when the queue is empty (no polling);
- ack and progress (`reporter.Reporter`): finished attempts and progress reports, batched;
- heartbeat (`control.Heartbeat`): registers the worker, extends its leases, rescues jobs of
  dead workers, and learns which of its jobs were cancelled or lost;
- control (`control.control_loop`): scale / cancel / pause messages from other processes,
  obeyed here (`obey`).
The jobs it holds, running or claimed ahead, are its `Slots` (`slots`), one task per running
job. A watchdog thread (`watchdog`) reports a handler that blocks the event loop. Handlers
are called by `calls` (plain functions on threads of their own, `threads`), and outcomes
built by `outcomes`. Scaling down never interrupts a job: the pool simply stops claiming
until enough end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .._tasks import cancel_and_wait
from ..backend.base import Backend, ClaimedJob, Finish, WorkerRecord
from ..backend.records import listed_handlers
from ..errors import OutOfMemory
from ..events import Events
from ..middleware import Middlewares
from ..retry import RetryPolicy, RetryRules
from .calls import attempt
from .claiming import claim_loop
from .context import HandlerService, JobContext
from .control import Heartbeat, control_loop
from .reporter import TRANSIENT, Reporter
from .settings import WorkerSettings, check_worker_id
from .slots import Slots
from .supervise import LoopFailed, supervise
from .threads import ThreadRunner
from .watchdog import LoopStall, LoopWatchdog

__all__ = ["WorkerPool", "WorkerSettings"]

log = logging.getLogger("jobdeck.worker")
Handler = Callable[..., Any]
_TRANSIENT = TRANSIENT


class WorkerPool:
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
        service: HandlerService | None = None,
        retry_rules: Mapping[str, RetryRules] | None = None,
        middleware: Middlewares | None = None,
        state: Any = None,
    ) -> None:
        if concurrency < 0:
            raise ValueError("concurrency must be >= 0")
        if worker_id is not None:
            check_worker_id(worker_id)
        self.backend = backend
        self.handlers = handlers
        self.queue = queue
        self.retry_policy = retry_policy or RetryPolicy()
        # Per handler name, read at each failure (a handler registered later has its own).
        self.retry_rules: Mapping[str, RetryRules] = {} if retry_rules is None else retry_rules
        self.middleware = middleware  # `around` and `on_outcome` of each attempt
        self.state = state  # the lifespan's: current_job().state
        self.settings = settings or WorkerSettings()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = worker_id or f"{self.host}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.service = service  # handed to handlers as current_job().service
        self.started_at = 0.0
        self.loop_blocked: LoopStall | None = None  # the last time a handler blocked the loop
        self.failure: LoopFailed | None = None  # set when a loop kept crashing
        self._failed = asyncio.Event()
        self._reporter = Reporter(backend, self.id)
        self._threads = ThreadRunner()
        self._slots = Slots(
            self.id,
            concurrency,
            self.settings,
            self._reporter,
            self._attempt,
            max_stalls=backend.settings.max_stalls,
            service=service,
            state=state,
        )
        self._heartbeat = Heartbeat(backend, self._slots, self.settings, self.record)
        self._watchdog: LoopWatchdog | None = None
        self._stall_report: asyncio.Task[None] | None = None
        self._stopper: asyncio.Task[None] | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- public ----------------------------------------------------------------------------
    @property
    def concurrency(self) -> int:
        return self._slots.concurrency

    @property
    def paused(self) -> bool:
        return self._slots.paused

    @property
    def processed(self) -> int:
        return self._slots.processed

    @property
    def failed(self) -> int:
        return self._slots.failed

    @property
    def running(self) -> int:
        return len(self._slots.running)

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
        await self._heartbeat.beat()
        slots, settings = self._slots, self.settings
        loops: dict[str, Callable[[], Any]] = {
            "claim": lambda: claim_loop(self.backend, slots, self.id, settings, self.handlers),
            "ack": self._reporter.ack_loop,
            "heartbeat": self._heartbeat.run,
            "lease guard": self._heartbeat.guard,
            "control": lambda: control_loop(self.backend, self.id, self.obey),
            "progress": lambda: self._reporter.progress_loop(settings.progress_interval),
        }
        self._loops = [
            asyncio.create_task(supervise(name, run, self._fatal), name=f"jobdeck-{name}-{self.id}")
            for name, run in loops.items()
        ]
        self._watchdog = LoopWatchdog(
            asyncio.get_running_loop(),
            threshold=settings.lease / 4,
            on_resume=self._loop_resumed,
            name_of=slots.job_name,
            worker_id=self.id,
            lease=settings.lease,
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
        previous = self._slots.resize(concurrency)
        if previous != concurrency:
            await self._publish_state()
            await self._emit(
                Events.JOB_SERVICE_WORKERS_SCALED, concurrency=concurrency, previous=previous
            )
        return previous

    def set_paused(self, paused: bool) -> None:
        """Stop (or resume) taking new jobs in this process only; running jobs go on."""
        self._slots.set_paused(paused)

    def cancel_local(self, job_id: str, reason: str = "cancelled") -> bool:
        return self._slots.cancel(job_id, reason)

    async def stop(self, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop claiming; with `graceful`, let running jobs finish for up to `timeout` seconds,
        then hand the rest back to the queue. Without it, hand them back at once."""
        if self._stopping or not self._loops:
            stopper = self._stopper  # a stop of its own (a loop failed): wait for its end
            if stopper is not None and stopper is not asyncio.current_task():
                await asyncio.wait([stopper])
            return
        self._stopping = True
        slots = self._slots
        slots.stop_accepting()
        # The claim loop ends by itself once its current wait returns (and hands back what
        # that wait brought); cancelling it mid-call could strand a claimed job until its
        # lease expires. So the wait is cut short rather than cancelled.
        claim = self._loops[0]
        with contextlib.suppress(*_TRANSIENT):
            await self.backend.interrupt_wait()
        await asyncio.wait([claim], timeout=self.settings.idle_wait + 2.0)
        await cancel_and_wait(claim)
        slots.hand_back_ready()
        wait = self.settings.shutdown_timeout if timeout is None else timeout
        if graceful and slots.running:
            log.info(
                "worker %s: waiting up to %.0fs for %d running jobs", self.id, wait, self.running
            )
            await asyncio.wait([r.task for r in slots.running.values()], timeout=wait)
        for job_id in list(slots.running):
            slots.cancel(job_id, "shutdown")
        if slots.running:
            await asyncio.wait([r.task for r in slots.running.values()], timeout=5.0)
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
        slots = self._slots
        slots.hand_back_ready()
        for job_id in list(slots.running):
            slots.cancel(job_id, "shutdown")
        if slots.running:
            await asyncio.wait([r.task for r in slots.running.values()], timeout=timeout)
        slots.hand_back_stuck()
        await self._reporter.flush_all(attempts=5)

    async def wait_failed(self) -> LoopFailed:
        """Until a loop of this worker failed for good (the worker is then stopping)."""
        await self._failed.wait()
        assert self.failure is not None
        return self.failure

    async def obey(self, message: Mapping[str, Any]) -> None:
        """Act on a control message another process sent this worker (`control_loop`)."""
        op = message.get("op")
        try:
            if op == "cancel" and isinstance(message.get("job_id"), str):
                self.cancel_local(message["job_id"], "cancelled")
            elif op == "scale":
                target = message.get("concurrency")
                if isinstance(message.get("delta"), int):
                    target = max(0, self.concurrency + message["delta"])
                await self.scale(target)  # type: ignore[arg-type]
            elif op in ("pause", "resume"):
                if self.paused != (op == "pause"):
                    self.set_paused(op == "pause")
                    await self._publish_state()
                    kind = "PAUSED" if self.paused else "RESUMED"
                    await self._emit(Events[f"JOB_SERVICE_WORKERS_{kind}"])
            else:
                log.warning("worker %s: ignoring unknown control message %r", self.id, message)
        except (ValueError, TypeError) as exc:
            log.warning("worker %s: bad control message %r: %s", self.id, message, exc)

    # -- inside ------------------------------------------------------------------------------
    def _attempt(self, claimed: ClaimedJob, ctx: JobContext, started: float) -> Awaitable[Finish]:
        return attempt(
            claimed,
            ctx,
            self.handlers,
            self.retry_policy,
            self._threads,
            self.id,
            started,
            self.retry_rules,
            self.middleware or None,
            self.backend,
        )

    def _fatal(self, error: LoopFailed) -> None:
        if self.failure is None:
            self.failure = error
            self._failed.set()
            self._stopper = asyncio.get_running_loop().create_task(self.stop(graceful=True))

    async def _publish_state(self) -> None:
        """Write the worker's record now, not at the next heartbeat: a console that reads
        it on the event that follows shows the new slots (or pause) within a second."""
        if self._loops:
            with contextlib.suppress(*_TRANSIENT):
                await self._heartbeat.beat()

    async def _emit(self, event_type: Events, **data: Any) -> None:
        await self.backend.emit(
            event_type, {"worker": self.id, "host": self.host, "pid": self.pid, **data}
        )

    def _loop_resumed(self, stall: LoopStall) -> None:
        self.loop_blocked = stall
        self._stall_report = asyncio.get_running_loop().create_task(self._report_stall(stall))

    async def _report_stall(self, stall: LoopStall) -> None:
        with contextlib.suppress(*_TRANSIENT):
            await self._emit(
                Events.WORKER_LOOP_BLOCKED,
                job_id=stall.job_id,
                job_name=stall.job_name,
                seconds=stall.seconds,
                lease=self.settings.lease,
            )
