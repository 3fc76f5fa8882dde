"""Waiting for jobs to finish: `JobService.result()` and everything built on it.

All the waiters of one service share one reader of the queue's event log. A waiter first
reads the job's record: a job that already finished answers at once, with no reader. Else
it registers its job id, makes sure the reader runs, and reads the record again; from then
on the reader wakes it when an event says its job reached a final status, and it reads the
record again (the record, not the event, is the truth: it carries the result, however
large). The reader's position is fixed before that second read, so a job that finishes
between the read and the wait is not missed.

The reader runs only while someone waits (it ends within one blocking read of the last
waiter leaving). It survives dropped connections: when the server answers again, or when
the log's cap dropped events it had not read yet, every waiter reads its record again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ._tasks import cancel_and_wait
from .backend import Backend
from .errors import JobCancelled, JobExpired, JobFailed, JobNotFound
from .events import Event, event_key
from .ids import valid_id
from .models import JobDefinition, JobStatus
from .reading import decode_or_stub

__all__ = ["MAX_WAIT", "ResultWaiters", "check_wait", "outcome_of"]

log = logging.getLogger("jobdeck.results")

#: The longest one wait may last: a day. Longer is almost certainly a unit mistake (ms for
#: s); a caller who means "until it ends" passes None.
MAX_WAIT = 86_400.0
#: Events read per call; a full batch means the reader may be behind (see `_lost_since`).
BATCH = 1000
#: Seconds a blocking read waits for new events (and the longest an idle reader lingers).
BLOCK = 1.0
#: Record reads in flight at once for one service's waiters: a thousand waiters woken
#: together queue here instead of a thousand reads (and replies) in flight at once; the
#: batch is read as fast (16 and 256 measured alike in bench/result_waiters.py).
READS = 16
#: What a dropped or restarting server raises: waited out. Anything else (a command the
#: user's ACL refuses, say) ends the waits with that error instead of retrying forever.
_CONNECTION_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
#: Statuses an event leaves a job in that are not its last: no waiter needs waking.
_GOING_ON = frozenset({None, "", "pending", "scheduled", "running", "waiting"})


def check_wait(job_id: object, timeout: object) -> float | None:
    """Refuse a malformed id or a timeout that is not 0-MAX_WAIT seconds (or None: no
    limit), naming the argument, before anything is read or written."""
    if not isinstance(job_id, str) or not valid_id(job_id):
        raise ValueError(
            f"job_id: expected 1-128 characters of letters, digits, '-', '_', '.' or ':', "
            f"got {job_id!r}"[:300]
        )
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout: expected a number of seconds, got {type(timeout).__name__}")
    if not math.isfinite(timeout) or not 0 <= timeout <= MAX_WAIT:
        raise ValueError(
            f"timeout: expected 0-{MAX_WAIT:.0f} seconds (or None: no limit), got {timeout!r}"
        )
    return float(timeout)


def outcome_of(job: JobDefinition) -> Any:
    """The result of a finished job, or the exception that says why there is none."""
    if job.status == JobStatus.COMPLETED:
        return job.result
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled(job.id)
    if job.status == JobStatus.EXPIRED:
        raise JobExpired(job.id)
    error = job.error
    if error is None:
        raise JobFailed(job.id, "Error", "no error was recorded")
    raise JobFailed(job.id, error.type, error.message, error.traceback)


class ResultWaiters:
    """The waiters of one service and their shared event reader. `describe` names the queue
    in errors ("no job 'x' on queue 'default' of redis://...")."""

    def __init__(self, backend: Backend, describe: Callable[[], str]) -> None:
        self.backend = backend
        self._describe = describe
        self._waiting: dict[str, set[asyncio.Event]] = {}
        self._position: str | None = None  # the reader's: every event after it is yet to read
        self._reader: asyncio.Task[None] | None = None
        self._starting: asyncio.Future[None] | None = None
        self._closed = False
        self._failure: Exception | None = None  # why the reader stopped, if not for lack of waiters
        self._reads = asyncio.Semaphore(READS)
        # A read this full may mean the reader fell behind: the log's cap (trimming whole
        # nodes, never below it) can drop unread events only past this many.
        self._full = max(1, min(BATCH, backend.settings.events_maxlen))

    @property
    def waiting(self) -> int:
        """How many waits are in progress (for tests and the figures in bench/)."""
        return sum(len(wakes) for wakes in self._waiting.values())

    @property
    def reading(self) -> bool:
        return self._reader is not None and not self._reader.done()

    async def result(self, job_id: str, timeout: float | None) -> Any:
        """`JobService.result`: the job's result, or its failure as an exception."""
        return outcome_of(await self.finished(job_id, timeout))

    async def finished(self, job_id: str, timeout: float | None) -> JobDefinition:
        """The job once it has finished, or TimeoutError after `timeout` seconds."""
        timeout = check_wait(job_id, timeout)
        if timeout == 0:  # a look, not a wait
            job = await self._read(job_id)
            if job is None:
                raise self._not_found(job_id)
            if not job.status.is_terminal:
                raise TimeoutError(f"job {job_id} has not finished (it is {job.status.value})")
            return job
        status: list[JobStatus] = []
        try:
            async with asyncio.timeout(timeout):
                return await self._wait(job_id, status)
        except TimeoutError:
            still = f" (it is {status[-1].value})" if status else ""
            raise TimeoutError(
                f"job {job_id} did not finish within {timeout:g} seconds{still}"
            ) from None

    async def close(self) -> None:
        """Stop the reader; waits still in progress end with RuntimeError."""
        self._closed = True
        self._wake_all()
        if self._reader is not None:
            await cancel_and_wait(self._reader)
            self._reader = None

    # -- one waiter ------------------------------------------------------------------------
    async def _wait(self, job_id: str, status: list[JobStatus]) -> JobDefinition:
        # A job that has finished answers from its record alone, with no reader started.
        with contextlib.suppress(*_CONNECTION_ERRORS):
            job = await self._read(job_id)
            if job is None:
                raise self._not_found(job_id)
            if job.status.is_terminal:
                return job
        wake = asyncio.Event()
        self._waiting.setdefault(job_id, set()).add(wake)
        try:
            while True:
                if self._closed:
                    raise RuntimeError(f"the service was closed while waiting for job {job_id}")
                try:
                    await self._follow()
                    job = await self._read(job_id)
                except _CONNECTION_ERRORS as exc:
                    log.debug("waiting for job %s: %s; trying again", job_id, exc)
                    await asyncio.sleep(0.5)
                    continue
                if job is None:
                    raise self._not_found(job_id)
                if job.status.is_terminal:
                    return job
                status.append(job.status)
                del status[:-1]
                await wake.wait()
                wake.clear()
                if self._failure is not None:
                    raise self._failure
        finally:
            wakes = self._waiting.get(job_id)
            if wakes is not None:
                wakes.discard(wake)
                if not wakes:
                    del self._waiting[job_id]

    async def _read(self, job_id: str) -> JobDefinition | None:
        async with self._reads:
            fields = await self.backend.get(job_id)
        return None if fields is None else decode_or_stub(job_id, fields)

    def _not_found(self, job_id: str) -> JobNotFound:
        return JobNotFound(
            job_id,
            f"job_id: no job {job_id!r} on {self._describe()} (never submitted to this "
            "queue, or its record expired after result_ttl, or was purged or deleted)",
        )

    # -- the shared reader -----------------------------------------------------------------
    async def _follow(self) -> None:
        """Make sure the reader runs from a position read before this call returns, so the
        caller's next read of a record cannot miss the event that follows it."""
        if self.reading:
            return
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        starting = self._starting
        try:
            await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _start(self) -> None:
        # From the newest event, not from where an earlier reader stopped: the backlog
        # since then concerns no one waiting now (each reads its record after this).
        position = await self.backend.last_event_id()
        if not self.reading:
            self._position, self._failure = position, None
            self._reader = asyncio.get_running_loop().create_task(
                self._read_events(), name="jobdeck-result-reader"
            )

    async def _read_events(self) -> None:
        lost = False
        while self._waiting and not self._closed:
            position = self._position
            try:
                batch = await self.backend.read_events(position, BATCH, BLOCK)
                if lost or len(batch) >= self._full:
                    lost = lost or await self._lost_since(position)
            except _CONNECTION_ERRORS as exc:
                log.debug("result reader: %s; reading again in 0.5 s", exc)
                lost = True
                await asyncio.sleep(0.5)
                continue
            except Exception as exc:  # a refused command, a bug: every waiter hears it
                self._failure = exc
                self._wake_all()
                break
            if lost:
                lost = False
                self._wake_all()  # what happened meanwhile may not be in what is left to read
            self._deliver(batch)
        # Reached with no waiter left, in the same step as the check: a waiter that comes
        # later finds no reader and starts one from the position reached here.
        self._reader = None

    async def _lost_since(self, position: str | None) -> bool:
        """Whether the log's cap dropped events after `position` before they were read."""
        if position is None:
            return True
        return event_key(await self.backend.trimmed_through()) > event_key(position)

    def _deliver(self, batch: list[Event]) -> None:
        waiting = self._waiting
        for event in batch:
            if event.job_id in waiting and event.status not in _GOING_ON:
                for wake in waiting[event.job_id]:
                    wake.set()
        if batch:
            self._position = batch[-1].id

    def _wake_all(self) -> None:
        for wakes in self._waiting.values():
            for wake in wakes:
                wake.set()
