"""Concurrent submits combined into fewer script calls, on the event loop.

A hundred coroutines sharing one `JobService` (a web app's request handlers) each await a
submit. Sent one script call each, Redis pays a call's fixed cost (the EVALSHA, the prelude,
the reply) per job. Here at most `IN_FLIGHT` submit calls are out at a time: a submit that
finds a free place goes at once, alone, exactly as before (so one coroutine submitting one by
one sees no change); the ones that come while the places are taken wait, and when a call
returns, everything that waited goes out together in the next one (up to a submit chunk:
1,000 jobs or 512 KB of values). Each caller gets its own job's answer: submit.lua treats
each job of a call on its own. A failed call fails each of its callers with the error (their
jobs went in the same call: stored or refused together), as one call of theirs alone would.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence

from ..records import SUBMIT_CHUNK, SUBMIT_CHUNK_BYTES, NewJob

__all__ = ["SubmitCombiner"]

#: Submit calls out at once: two, so a batch is being built while the other is answered.
IN_FLIGHT = 2

Store = Callable[[Sequence[NewJob]], Awaitable[list[bool | str]]]


def _size(jobs: Sequence[NewJob]) -> int:
    return sum(len(j.fields.get("args", b"")) + len(j.fields.get("kwargs", b"")) for j in jobs)


class SubmitCombiner:
    """`submit(jobs)` as `store(jobs)` would answer it, with waiting callers' jobs combined."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._in_flight = 0
        self._waiting: list[tuple[Sequence[NewJob], int, asyncio.Future[list[bool | str]]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, jobs: Sequence[NewJob]) -> list[bool | str]:
        if self._in_flight < IN_FLIGHT and not self._waiting:
            self._in_flight += 1
            try:
                return await self._store(jobs)
            finally:
                self._in_flight -= 1
                self._flush()
        future: asyncio.Future[list[bool | str]] = asyncio.get_running_loop().create_future()
        self._waiting.append((jobs, _size(jobs), future))
        return await future

    def _flush(self) -> None:
        """Send what waits, a chunk per call, while places are free."""
        # A caller cancelled while it waited has sent nothing, as before: its jobs stay out.
        self._waiting = [entry for entry in self._waiting if not entry[2].done()]
        while self._waiting and self._in_flight < IN_FLIGHT:
            count = size = jobs = 0
            for entry in self._waiting:
                more, grows = len(entry[0]), entry[1]
                if count and (jobs + more > SUBMIT_CHUNK or size + grows > SUBMIT_CHUNK_BYTES):
                    break
                count += 1
                jobs += more
                size += grows
            batch, self._waiting = self._waiting[:count], self._waiting[count:]
            self._in_flight += 1
            task = asyncio.get_running_loop().create_task(self._send(batch))
            self._tasks.add(task)  # held until done: a task nobody references may vanish
            task.add_done_callback(self._tasks.discard)

    async def _send(
        self, batch: list[tuple[Sequence[NewJob], int, asyncio.Future[list[bool | str]]]]
    ) -> None:
        try:
            flags = await self._store([job for jobs, _, _ in batch for job in jobs])
        except BaseException as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(_copy(exc))
            if not isinstance(exc, Exception):
                raise
        else:
            start = 0
            for jobs, _, future in batch:
                if not future.done():  # a caller that gave up: its jobs went anyway
                    future.set_result(flags[start : start + len(jobs)])
                start += len(jobs)
        finally:
            self._in_flight -= 1
            self._flush()


def _copy(exc: BaseException) -> BaseException:
    """Each caller raises its own exception object (tracebacks are added per raise)."""
    try:
        return copy.copy(exc)
    except Exception:
        return exc
