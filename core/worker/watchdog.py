"""Noticing a handler that blocks the event loop.

An `async def` handler that calls something blocking (`time.sleep`, a synchronous HTTP
client, a long computation) stops the whole worker: no heartbeat goes out, so after one lease
the job is started again elsewhere while this run goes on, and every other job on this worker
is re-run too. The loop cannot report its own stall, so a thread does: the loop bumps a
timestamp a few times a second, and the thread, seeing it go stale past a fraction of the
lease, logs which job's task holds the loop. When the loop turns again, `on_resume` is called
on it with what was seen, so the pool can record and publish it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoopStall", "LoopWatchdog", "job_task_name"]

log = logging.getLogger("jobdeck.worker")

_JOB_TASK = "jobdeck-job:"


def job_task_name(job_id: str) -> str:
    """The name a job's task carries, so the watchdog can tell which job holds the loop."""
    return _JOB_TASK + job_id


@dataclass(frozen=True, slots=True)
class LoopStall:
    """The event loop made no progress for `seconds`, held by the task of `job_id`."""

    seconds: float
    job_id: str | None
    job_name: str | None
    at: float  # Unix time the stall began


class LoopWatchdog:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        threshold: float,
        on_resume: Callable[[LoopStall], None],
        *,
        name_of: Callable[[str], str | None] = lambda job_id: None,
        worker_id: str = "",
        lease: float = 0.0,
    ) -> None:
        self._loop = loop
        self._threshold = threshold
        self._tick = min(0.25, threshold / 4)
        self._on_resume = on_resume
        self._name_of = name_of  # job id -> handler name; called on the watchdog thread
        self._worker_id = worker_id
        self._lease = lease
        self._last = time.monotonic()
        self._stall: tuple[float, str | None, str | None] | None = None  # began, job id, name
        self._stop = threading.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._beat()
        self._thread = threading.Thread(
            target=self._watch, name=f"jobdeck-watchdog-{self._worker_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- on the event loop ---------------------------------------------------------------
    def _beat(self) -> None:
        now = time.monotonic()
        stall, self._stall = self._stall, None
        last, self._last = self._last, now
        if stall is not None and stall[0] == last:  # (not one the thread saw late)
            began, job_id, name = stall
            seconds = now - began
            log.warning(
                "event loop of worker %s ran again after %.1fs blocked by %s",
                self._worker_id,
                seconds,
                _culprit(job_id, name),
            )
            self._on_resume(LoopStall(round(seconds, 3), job_id, name, time.time() - seconds))
        if not self._stop.is_set():
            self._timer = self._loop.call_later(self._tick, self._beat)

    # -- on the watchdog thread ----------------------------------------------------------
    def _watch(self) -> None:
        reported = 0.0
        while not self._stop.wait(self._tick):
            last = self._last
            blocked = time.monotonic() - last
            if blocked < self._threshold:
                reported = 0.0
                continue
            if self._stall is None or self._stall[0] != last:
                job_id = self._blocking_job()
                self._stall = (last, job_id, self._name_of(job_id) if job_id else None)
            # Said once at the threshold, then again each time the stall doubles.
            if blocked >= reported * 2:
                reported = blocked
                _, job_id, name = self._stall
                log.error(
                    "event loop of worker %s blocked for %.1fs by %s: no heartbeats go out "
                    "(leases of %gs lapse and the jobs run again elsewhere). A handler must "
                    "not block: make it a plain def (it runs on a thread) or await "
                    "asyncio.to_thread(...) for the blocking call",
                    self._worker_id,
                    blocked,
                    _culprit(job_id, name),
                    self._lease,
                )

    def _blocking_job(self) -> str | None:
        task = asyncio.current_task(self._loop)  # read from another thread: a dict lookup
        name = task.get_name() if task is not None else ""
        return name[len(_JOB_TASK) :] if name.startswith(_JOB_TASK) else None


def _culprit(job_id: str | None, name: str | None) -> str:
    if job_id is None:
        return "code outside any job"
    return f"job {job_id} ({name!r})" if name else f"job {job_id}"
