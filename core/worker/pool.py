"""A worker process's pool: bounded concurrency, batched claims and acknowledgements.

Four long-lived loops and one task per running job:
- claim: leases as many jobs as there are free slots in one call, then waits on the
  backend's wake-up signal when the queue is empty (no polling);
- ack: sends every finished attempt that piled up while the previous call was in flight, in
  one call, with any progress reports first so the last value always lands;
- heartbeat: registers the worker, extends its leases, rescues jobs of dead workers, and
  learns which of its jobs were cancelled or lost;
- control: obeys scale / cancel / pause messages from other processes.
Scaling down never interrupts a job: the pool simply stops claiming until enough end.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from functools import partial
from typing import Any

from redis.exceptions import NoPermissionError, RedisError

from .._tasks import cancel_and_wait
from ..backend.base import (
    Backend,
    ClaimedJob,
    Finish,
    JobEmit,
    Outcome,
    ProgressUpdate,
    WorkerRecord,
)
from ..codec import MalformedRecord, decode_record, dumps
from ..events import Events
from ..retry import RetryPolicy
from .context import JobContext, reset_current, set_current

__all__ = ["WorkerPool", "WorkerSettings"]

log = logging.getLogger("jobdeck.worker")
Handler = Callable[..., Any]
_TRANSIENT = (RedisError, OSError, asyncio.TimeoutError)
_MAX_UNSENT_EVENTS = 10_000  # handlers' events buffered between flushes, per process


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timing of a worker. The lease must comfortably exceed the heartbeat interval: a job
    whose worker misses heartbeats for `lease` seconds is given to another worker."""

    lease: float = 30.0
    heartbeat_interval: float = 5.0
    idle_wait: float = 1.0
    progress_interval: float = 0.25
    shutdown_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.lease <= 0 or self.heartbeat_interval <= 0:
            raise ValueError("lease and heartbeat_interval must be positive")
        if self.heartbeat_interval * 2 > self.lease:
            raise ValueError("heartbeat_interval must be at most half the lease")


class _Expired(Exception):
    """The job's own timeout ran out (a `TimeoutError` raised by the handler is its error)."""


@dataclass(slots=True)
class _Running:
    task: asyncio.Task[None]
    ctx: JobContext
    stop_reason: str | None = None  # "cancelled", "lost", "shutdown"


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
    ) -> None:
        if concurrency < 0:
            raise ValueError("concurrency must be >= 0")
        self.backend = backend
        self.handlers = handlers
        self.queue = queue
        self.retry_policy = retry_policy or RetryPolicy()
        self.settings = settings or WorkerSettings()
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = worker_id or f"{self.host}-{self.pid}-{uuid.uuid4().hex[:6]}"
        self.concurrency = concurrency
        self.paused = False
        self.started_at = 0.0
        self.processed = 0
        self.failed = 0
        self._running: dict[str, _Running] = {}
        self._acks: list[Finish] = []
        self._ack_wanted = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._idle = asyncio.Event()
        self._progress: dict[str, ProgressUpdate] = {}
        self._progress_lock = threading.Lock()
        self._emitted: list[JobEmit] = []  # handlers' events not yet sent, in order
        self._loops: list[asyncio.Task[None]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._stopping = False
        self._claiming = True
        self._suspect: str | None = None  # a job on its last chance, run alone (`_take`)
        self._sending = 0  # outcomes on their way to the backend

    # -- public ----------------------------------------------------------------------------
    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def is_running(self) -> bool:
        return bool(self._loops) and not self._stopping

    def record(self) -> WorkerRecord:
        now = time.time()
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
        )

    async def start(self) -> None:
        if self._loops:
            return
        self.started_at = time.time()
        self._executor = ThreadPoolExecutor(
            max_workers=max(4, self.concurrency), thread_name_prefix="jobdeck-job"
        )
        await self._heartbeat_once()
        self._loops = [
            asyncio.create_task(self._claim_loop(), name=f"jobdeck-claim-{self.id}"),
            asyncio.create_task(self._ack_loop(), name=f"jobdeck-ack-{self.id}"),
            asyncio.create_task(self._heartbeat_loop(), name=f"jobdeck-heartbeat-{self.id}"),
            asyncio.create_task(self._control_loop(), name=f"jobdeck-control-{self.id}"),
            asyncio.create_task(self._progress_loop(), name=f"jobdeck-progress-{self.id}"),
        ]
        await self._emit(Events.JOB_SERVICE_WORKERS_STARTED, concurrency=self.concurrency)
        log.info(
            "worker %s started: queue %s, concurrency %d", self.id, self.queue, self.concurrency
        )

    async def scale(self, concurrency: int) -> int:
        """Set the number of slots. Returns the previous number."""
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 0:
            raise ValueError(f"concurrency: expected an integer >= 0, got {concurrency!r}")
        previous, self.concurrency = self.concurrency, concurrency
        if self._executor is not None and concurrency > self._executor._max_workers:
            self._executor._max_workers = concurrency  # grows lazily; threads are reused
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
        self._slot_freed.set()

    def cancel_local(self, job_id: str, reason: str = "cancelled") -> bool:
        running = self._running.get(job_id)
        if running is None or running.stop_reason is not None:
            return False
        running.stop_reason = reason
        running.ctx._cancelled.set()
        running.task.cancel()
        return True

    async def stop(self, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop claiming; with `graceful`, let running jobs finish for up to `timeout` seconds,
        then hand the rest back to the queue. Without it, hand them back at once."""
        if self._stopping or not self._loops:
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
        await self._flush_all()
        await cancel_and_wait(*self._loops[1:])
        await asyncio.gather(*self._loops[1:], return_exceptions=True)
        self._loops = []
        with contextlib.suppress(*_TRANSIENT):
            await self._emit(Events.JOB_SERVICE_WORKERS_STOPPED, processed=self.processed)
            await self.backend.unregister_worker(self.id)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        log.info("worker %s stopped", self.id)

    # -- claiming --------------------------------------------------------------------------
    async def _claim_loop(self) -> None:
        failures = 0
        queue_dry = False  # the last claim found fewer jobs than slots: block until woken
        timeout = self.settings.idle_wait
        while self._claiming:
            free = self.concurrency - len(self._running)
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
            except _TRANSIENT as exc:
                failures += 1
                if isinstance(exc, NoPermissionError):
                    await _refused(self.id, exc)
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

    def _take(self, jobs: list[ClaimedJob]) -> None:
        """Start what fits. A claim sent before the pool was scaled down or told to stop may
        bring more than fits now: those go straight back, first in line, attempt uncounted.

        A job one stall short of the dead-letter queue (its workers died while running it,
        again and again) may be what killed them. It runs alone: the pool takes nothing after
        it, lets the jobs already running end, then starts it, so if it kills this worker
        too, no other job shares its last stall and a crash-looping job cannot drag its
        neighbours into the dead-letter queue."""
        room = self.concurrency - len(self._running) if self._claiming else 0
        if self._suspect is not None:
            room = 0
        last_chance = max(1, self.backend.settings.max_stalls - 1)
        for n, claimed in enumerate(jobs[: max(0, room)]):
            if _stalls(claimed) >= last_chance:
                self._suspect = claimed.id
                room = n + 1
            self._start(claimed)
            if self._suspect is not None:
                break
        surplus = jobs[max(0, room) :]
        if surplus:
            data = dumps({"reason": "released", "worker": self.id})
            self._acks.extend(
                Finish(c.id, c.token, Outcome.RELEASE, event_data=data) for c in surplus
            )
            self._ack_wanted.set()

    def _start(self, claimed: ClaimedJob) -> None:
        ctx = JobContext(
            job=_PLACEHOLDER,
            token=claimed.token,
            worker_id=self.id,
            _report=self._report_progress,
            _emit=self._report_event,
        )
        task = asyncio.get_running_loop().create_task(self._execute(claimed, ctx))
        self._running[claimed.id] = _Running(task, ctx)

    # -- running a job ---------------------------------------------------------------------
    async def _execute(self, claimed: ClaimedJob, ctx: JobContext) -> None:
        job_id, token = claimed.id, claimed.token
        started = time.monotonic()
        finish: Finish | None
        try:
            if job_id == self._suspect:
                await self._alone(job_id)
                started = time.monotonic()
            finish = await self._attempt(claimed, ctx, started)
        except asyncio.CancelledError:
            reason = self._running[job_id].stop_reason if job_id in self._running else None
            finish = self._stopped(job_id, token, reason, started)
        finally:
            self._running.pop(job_id, None)
            if self._suspect == job_id:
                self._suspect = None
            self._slot_freed.set()
        if finish is not None:
            if finish.outcome == Outcome.COMPLETED:
                self.processed += 1
            elif finish.outcome in (Outcome.FAILED, Outcome.RETRY):
                self.failed += 1
            self._acks.append(finish)
            self._ack_wanted.set()

    async def _alone(self, job_id: str) -> None:
        """Until `job_id` is the only job this worker holds a lease on: the others ended and
        their outcomes (and the jobs handed back with it) are on record. For at most one
        lease: jobs that run longer are not waited for; the suspect then runs beside them."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.settings.lease):
                while len(self._running) > 1:
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                while self._acks or self._sending:
                    self._ack_wanted.set()
                    await asyncio.sleep(0.005)

    async def _attempt(self, claimed: ClaimedJob, ctx: JobContext, started: float) -> Finish:
        job_id, token = claimed.id, claimed.token
        try:
            job = decode_record(job_id, claimed.fields)
        except MalformedRecord as exc:
            return self._dead(job_id, token, "MalformedRecord", str(exc), started)
        if job.name == "<malformed>":
            message = job.error.message if job.error else "malformed record"
            return self._dead(job_id, token, "MalformedRecord", message, started)
        handler = self.handlers.get(job.name)
        if handler is None:
            return self._dead(
                job_id,
                token,
                "UnknownHandler",
                f"no handler named {job.name!r} is registered in worker {self.id}",
                started,
            )
        ctx.job = job
        try:
            result = await self._call(handler, job.args, job.kwargs, job.timeout, ctx)
        except asyncio.CancelledError:
            raise
        except _Expired:
            return self._failed(
                job, token, "Timeout", f"timed out after {job.timeout:g}s", None, started
            )
        except Exception as exc:
            return self._failed(
                job, token, type(exc).__name__, str(exc), traceback.format_exc(limit=30), started
            )
        try:
            payload = dumps(result)
        except (TypeError, ValueError) as exc:
            return self._failed(
                job,
                token,
                "ResultNotJSON",
                f"the handler returned a value that is not JSON: {exc}",
                None,
                started,
            )
        return Finish(
            job_id,
            token,
            Outcome.COMPLETED,
            payload,
            event_data=dumps({"runtime": round(time.monotonic() - started, 6)}),
        )

    async def _call(
        self,
        handler: Handler,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        timeout: float | None,
        ctx: JobContext,
    ) -> Any:
        token = set_current(ctx)
        try:
            if inspect.iscoroutinefunction(handler):
                coro: Awaitable[Any] = handler(*args, **kwargs)
            else:
                loop = asyncio.get_running_loop()
                coro = loop.run_in_executor(
                    self._executor, copy_context().run, partial(handler, *args, **kwargs)
                )
            if timeout is None:
                result = await coro
                if inspect.isawaitable(result):  # a sync def that returned a coroutine
                    result = await result
                return result
            scope = asyncio.timeout(timeout)
            try:
                async with scope:
                    return await coro
            except TimeoutError:
                if scope.expired():  # the job's timeout, not a TimeoutError of the handler's
                    raise _Expired from None
                raise
        finally:
            reset_current(token)

    def _stopped(
        self, job_id: str, token: str, reason: str | None, started: float
    ) -> Finish | None:
        if reason == "cancelled":
            return Finish(
                job_id,
                token,
                Outcome.CANCELLED,
                event_data=dumps(
                    {
                        "reason": "cancelled while running",
                        "runtime": round(time.monotonic() - started, 6),
                    }
                ),
            )
        if reason == "shutdown":
            return Finish(
                job_id,
                token,
                Outcome.RELEASE,
                event_data=dumps({"reason": "shutdown", "worker": self.id}),
            )
        return None  # lease lost: the job belongs to another attempt now; say nothing

    def _dead(self, job_id: str, token: str, kind: str, message: str, started: float) -> Finish:
        log.error("job %s cannot run: %s: %s", job_id, kind, message)
        error = {"type": kind, "message": message, "traceback": None}
        return Finish(
            job_id,
            token,
            Outcome.FAILED,
            dumps(error),
            event_data=dumps(
                {"will_retry": False, "error_type": kind, "error": message[:500], "attempt": 1}
            ),
        )

    def _failed(
        self, job: Any, token: str, kind: str, message: str, tb: str | None, started: float
    ) -> Finish:
        error = {"type": kind, "message": message, "traceback": tb}
        will_retry = job.attempts <= job.max_retries
        delay = self.retry_policy.delay(job.attempts) if will_retry else 0.0
        data = {
            "will_retry": will_retry,
            "error_type": kind,
            "error": message[:500],
            "attempt": job.attempts,
            "runtime": round(time.monotonic() - started, 6),
        }
        if will_retry:
            data["retry_in"] = round(delay, 3)
        return Finish(
            job.id,
            token,
            Outcome.RETRY if will_retry else Outcome.FAILED,
            dumps(error),
            delay=delay,
            event_data=dumps(data),
        )

    # -- acknowledging, progress -----------------------------------------------------------
    def _report_progress(self, job_id: str, token: str, fraction: float, message: str) -> None:
        with self._progress_lock:
            self._progress[job_id] = ProgressUpdate(job_id, token, fraction, message)

    def _report_event(self, job_id: str, token: str, event_type: str, data: bytes) -> None:
        with self._progress_lock:
            if len(self._emitted) >= _MAX_UNSENT_EVENTS:
                raise RuntimeError(
                    f"emit: {_MAX_UNSENT_EVENTS} events are waiting to be sent; emit less often"
                )
            self._emitted.append(JobEmit(job_id, token, event_type, data))

    def _take_events(self) -> list[JobEmit]:
        with self._progress_lock:
            items, self._emitted = self._emitted, []
        return items

    async def _send_events(self) -> None:
        """Handlers' events go out before the outcomes that follow them, in order."""
        items = self._take_events()
        if items:
            try:
                await self.backend.job_events(items)
            except _TRANSIENT:
                with self._progress_lock:
                    self._emitted[:0] = items
                raise

    def _take_progress(self) -> list[ProgressUpdate]:
        with self._progress_lock:
            if not self._progress:
                return []
            items, self._progress = list(self._progress.values()), {}
        return items

    async def _flush_all(self) -> None:
        """Progress first, then outcomes, retrying briefly through a lost connection."""
        for _ in range(50):
            try:
                progress = self._take_progress()
                if progress:
                    await self.backend.progress(progress)
                await self._send_events()
                if self._acks:
                    acks, self._acks = self._acks, []
                    self._sending += len(acks)
                    try:
                        await self.backend.finish(self.id, acks)
                    except _TRANSIENT:
                        self._acks[:0] = acks
                        raise
                    finally:
                        self._sending -= len(acks)
                return
            except _TRANSIENT as exc:
                log.warning("worker %s: reporting outcomes failed (%s); retrying", self.id, exc)
                await asyncio.sleep(0.2)

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_wanted.wait()
            self._ack_wanted.clear()
            await self._flush_all()
            if self._acks:
                self._ack_wanted.set()

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.progress_interval)
            items = self._take_progress()
            try:
                if items:
                    await self.backend.progress(items)
                await self._send_events()
            except _TRANSIENT as exc:
                log.debug("progress report dropped (%s)", exc)

    # -- heartbeat and control -------------------------------------------------------------
    async def _heartbeat_once(self) -> None:
        leases = [(job_id, r.ctx.token) for job_id, r in self._running.items()]
        lost, cancel = await self.backend.heartbeat(self.record(), leases, self.settings.lease)
        for job_id in lost:
            if self.cancel_local(job_id, "lost"):
                log.warning("worker %s lost the lease on job %s; abandoning it", self.id, job_id)
        for job_id in cancel:
            self.cancel_local(job_id, "cancelled")

    async def _publish_state(self) -> None:
        """Write the worker's record now, not at the next heartbeat: a console that reads
        it on the event that follows shows the new slots (or pause) within a second."""
        if self._loops:
            with contextlib.suppress(*_TRANSIENT):
                await self._heartbeat_once()

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.heartbeat_interval)
            try:
                await self._heartbeat_once()
            except _TRANSIENT as exc:
                log.warning("worker %s: heartbeat failed (%s)", self.id, exc)

    async def _control_loop(self) -> None:
        while True:
            try:
                messages = await self.backend.next_control(self.id, 1.0)
            except _TRANSIENT as exc:
                if isinstance(exc, NoPermissionError):
                    await _refused(self.id, exc)
                    continue
                log.warning("worker %s: control channel failed (%s)", self.id, exc)
                await asyncio.sleep(0.5)
                continue
            for message in messages:
                await self._obey(message)

    async def _obey(self, message: Mapping[str, Any]) -> None:
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

    async def _emit(self, event_type: Events, **data: Any) -> None:
        await self.backend.emit(
            event_type, {"worker": self.id, "host": self.host, "pid": self.pid, **data}
        )


async def _refused(worker_id: str, exc: NoPermissionError) -> None:
    """An ACL that lacks a command the worker needs: say which, loudly, and try again slowly
    (the jobs stay where they are; an operator can grant it without restarting)."""
    log.error(
        "worker %s: Redis refused a command the worker needs (%s); give its ACL user the "
        "worker role (README: ACLs). Retrying in 5 s",
        worker_id,
        exc,
    )
    await asyncio.sleep(5.0)


def _stalls(claimed: ClaimedJob) -> int:
    raw = claimed.fields.get("stalls", claimed.fields.get(b"stalls"))
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        return 0


def _placeholder() -> Any:
    from ..models import JobDefinition

    return JobDefinition(id="", name="<claimed>")


_PLACEHOLDER = _placeholder()
