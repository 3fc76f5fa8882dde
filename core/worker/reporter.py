"""Outcomes and progress on their way to the backend, batched.

Finished attempts pile up while the previous `finish` call is in flight and go out together
in the next one; progress reports are coalesced per job (the latest wins) and flushed a few
times a second, always before outcomes so the last value lands. A refused outcome (its lease
was lost) is logged, never dropped without a word. An outcome the backend cannot take at all
is isolated and dropped with an error, so one bad record never stops the others.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from redis.exceptions import RedisError

from ..backend.base import Backend, Finish, JobEmit, ProgressUpdate
from ..codec import encodable
from ..errors import OutOfMemory

__all__ = ["Reporter"]

log = logging.getLogger("jobdeck.worker")
TRANSIENT = (RedisError, OSError, asyncio.TimeoutError)
_MAX_UNSENT_EVENTS = 10_000  # handlers' events buffered between flushes, per process


class Reporter:
    def __init__(self, backend: Backend, worker_id: str) -> None:
        self.backend = backend
        self.worker_id = worker_id
        self.acks: list[Finish] = []
        self.wanted = asyncio.Event()
        self.sending = 0  # outcomes on their way to the backend
        self._progress: dict[str, ProgressUpdate] = {}
        self._progress_lock = threading.Lock()
        self._emitted: list[JobEmit] = []  # handlers' events not yet sent, in order
        # One sender at a time: events taken by the progress loop must land before an
        # outcome the ack loop sends after them (a retried call could be overtaken).
        self._sending = asyncio.Lock()
        self._oom_logged = 0.0

    def add(self, *finishes: Finish) -> None:
        self.acks.extend(finishes)
        self.wanted.set()

    @property
    def idle(self) -> bool:
        return not self.acks and not self.sending and not self._emitted

    def report_progress(self, job_id: str, token: str, fraction: float, message: str) -> None:
        """Thread-safe: plain-function handlers report from their threads."""
        update = ProgressUpdate(job_id, token, fraction, encodable(message))
        with self._progress_lock:
            self._progress[job_id] = update

    def report_event(self, job_id: str, token: str, event_type: str, data: bytes) -> None:
        """Thread-safe, like `report_progress`; events keep their order."""
        with self._progress_lock:
            if len(self._emitted) >= _MAX_UNSENT_EVENTS:
                raise RuntimeError(
                    f"emit: {_MAX_UNSENT_EVENTS} events are waiting to be sent; emit less often"
                )
            self._emitted.append(JobEmit(job_id, token, event_type, data))

    async def _send_events(self) -> None:
        """Handlers' events go out before the outcomes that follow them, in order."""
        with self._progress_lock:
            items, self._emitted = self._emitted, []
        if items:
            try:
                await self.backend.job_events(items)
            except OutOfMemory:  # outcomes must not wait behind them until Redis has room
                self._dropped(f"{len(items)} events of handlers")
            except TRANSIENT:
                with self._progress_lock:
                    self._emitted[:0] = items
                raise

    def _dropped(self, what: str) -> None:
        now = time.monotonic()
        if now - self._oom_logged > 30.0:
            self._oom_logged = now
            log.warning(
                "worker %s: Redis is out of memory: %s dropped (outcomes still go through)",
                self.worker_id,
                what,
            )

    def _take_progress(self) -> list[ProgressUpdate]:
        with self._progress_lock:
            if not self._progress:
                return []
            items, self._progress = list(self._progress.values()), {}
        return items

    async def _send_progress(self) -> None:
        items = self._take_progress()
        if not items:
            return
        try:
            await self.backend.progress(items)
        except OutOfMemory:
            self._dropped(f"progress of {len(items)} jobs")
        except TRANSIENT:
            raise
        except Exception:
            log.exception("worker %s: progress of %d jobs dropped", self.worker_id, len(items))

    async def flush_all(self, attempts: int = 50) -> None:
        """Progress first, then outcomes, retrying through a lost connection (or a full
        Redis) with a growing pause. What is still unsent after `attempts` stays queued."""
        for attempt in range(attempts):
            try:
                async with self._sending:
                    await self._send_progress()
                    await self._send_events()
                    if self.acks:
                        acks, self.acks = self.acks, []
                        self.sending += len(acks)
                        try:
                            await self._finish(acks)
                        except TRANSIENT:
                            self.acks[:0] = acks
                            raise
                        finally:
                            self.sending -= len(acks)
                return
            except TRANSIENT as exc:
                if attempt % 10 == 0:
                    log.warning(
                        "worker %s: reporting outcomes failed (%s); retrying", self.worker_id, exc
                    )
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))

    async def _finish(self, acks: list[Finish]) -> None:
        try:
            accepted = await self.backend.finish(self.worker_id, acks)
        except TRANSIENT:
            raise
        except Exception:
            if len(acks) == 1:
                log.exception(
                    "worker %s: outcome of job %s cannot be recorded; dropped (its lease "
                    "will lapse and the job run again)",
                    self.worker_id,
                    acks[0].job_id,
                )
                return
            for ack in acks:  # find the one the backend cannot take; the rest go through
                await self._finish([ack])
            return
        for ack, ok in zip(acks, accepted, strict=False):
            if not ok:
                log.warning(
                    "worker %s: job %s: %s refused: lease lost (another attempt owns the job "
                    "now; this attempt's outcome is dropped)",
                    self.worker_id,
                    ack.job_id,
                    "completion" if ack.outcome == "completed" else f"outcome {ack.outcome!r}",
                )

    async def ack_loop(self) -> None:
        while True:
            await self.wanted.wait()
            # Outcomes come in waves: jobs that end in one turn of the event loop start their
            # successors (jobs claimed ahead) for the next turn, where this loop was woken
            # first. One more turn lets those jobs begin before the outcomes are packed and
            # sent, instead of their slots idling meanwhile, and gathers the whole wave.
            await asyncio.sleep(0)
            self.wanted.clear()
            await self.flush_all()
            if self.acks:
                self.wanted.set()

    async def progress_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                async with self._sending:
                    await self._send_progress()
                    await self._send_events()
            except TRANSIENT as exc:
                log.debug("progress report dropped (%s)", exc)
