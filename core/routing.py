"""Which worker runs which job: a worker claims only the job names it has handlers for, and
parks the others for a worker that has them (see `Backend.claim`). A parked job whose name no
live worker on its queue serves is *unserved*: it waits, counted by name, until one starts.

`unserved` works that count out of the parked jobs and the workers' records; `ServedNames`
keeps a cached view of the names live workers serve, so a library submit of a name nobody
serves logs one warning per name without a round trip per submit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from .backend.records import WorkerRecord

__all__ = ["OTHER", "ServedNames", "served_names", "unserved"]

log = logging.getLogger("jobdeck")

#: The name under which unserved jobs beyond the names reported (the 100 with the most
#: parked jobs) are counted together.
OTHER = "other"


def served_names(workers: Iterable[WorkerRecord]) -> set[str]:
    """The job names the given workers have handlers for (as their records list them: at
    most `MAX_LISTED_HANDLERS` per worker)."""
    names: set[str] = set()
    for worker in workers:
        names.update(worker.handlers)
    return names


def unserved(
    parked: Mapping[str, int], parked_total: int, workers: Sequence[WorkerRecord]
) -> dict[str, int]:
    """Parked jobs by name, for the names no live worker serves. `parked` holds the names
    with the most parked jobs; the jobs parked under other names (`parked_total` minus
    those) count under `OTHER`: a name served by a live worker does not stay parked past
    that worker's next claim, so a long tail of parked names is a tail of unserved ones."""
    served = served_names(workers)
    out = {name: n for name, n in parked.items() if name not in served and n > 0}
    rest = parked_total - sum(parked.values())
    if rest > 0:
        out[OTHER] = out.get(OTHER, 0) + rest
    return out


class ServedNames:
    """A submitting process's view of the names the queue's live workers serve, to warn (once
    per name, in the log) of a submit that no live worker can run. The view is read in the
    background, at most once a second and only while names it does not list are submitted,
    and otherwise every `REFRESH` seconds; a submit never waits for it."""

    REFRESH = 10.0
    RECHECK = 1.0
    MAX_NAMES = 10_000  # names remembered as warned, and waiting for a fresh view

    def __init__(self, list_workers: Callable[[], Awaitable[list[WorkerRecord]]], where: str):
        self._list_workers = list_workers
        self._where = where
        self._served: set[str] = set()
        self._read_at = -1e9
        self._waiting: set[str] = set()
        self._warned: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        # The loop the view is read on; a submit from another thread (SyncJobService's
        # calling thread) asks it to read from there.
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None

    def check(self, names: Iterable[str]) -> None:
        """Called with the names of each submit; returns at once."""
        now = time.monotonic()
        for name in names:
            fresh = name not in self._served and name not in self._warned
            if fresh and len(self._waiting) < self.MAX_NAMES:
                self._waiting.add(name)
        age = now - self._read_at
        if (self._waiting and age > self.RECHECK) or age > self.REFRESH:
            self._refresh()

    def _refresh(self) -> None:
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another thread: the view's loop reads it, if it still runs
            with contextlib.suppress(RuntimeError):  # closed: nothing to check with
                if self._loop is not None:
                    self._loop.call_soon_threadsafe(self._refresh)
            return
        self._task = loop.create_task(self._read())

    async def _read(self) -> None:
        self._read_at = time.monotonic()
        try:
            workers = await self._list_workers()
        except Exception as exc:  # a warning is not worth failing anything for
            log.debug("could not read the workers to check served names: %s", exc)
            return
        self._served = served_names(workers)
        waiting, self._waiting = self._waiting, set()
        for name in sorted(waiting - self._served):
            if len(self._warned) >= self.MAX_NAMES:
                break
            self._warned.add(name)
            log.warning(
                "no live worker on %s has a handler for %r: its jobs wait (unserved) until "
                "a worker that has one starts",
                self._where,
                name,
            )

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
