"""Threads for plain-function handlers, as many as are really busy.

Python cannot stop a thread. A plain function that outlives its job's timeout (or its
cancellation) keeps its thread until it returns by itself; in a fixed-size pool, a few of
them leave later jobs queued behind them, failing with `Timeout` before they even start.
Here every call gets a thread at once: an idle one if there is one, a new one otherwise, so
a thread stuck in an abandoned call never holds up the next job. Abandoned calls are counted
and logged so an operator sees them pile up.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["ThreadRunner"]

log = logging.getLogger("jobdeck.worker")

_Call = tuple[Callable[[], Any], Callable[[], None], asyncio.Future[Any], str]


class ThreadRunner:
    """Runs `fn()` on a thread of its own and returns a future of its result. Idle threads
    wait `idle_timeout` seconds for more work, then end."""

    def __init__(self, name: str = "jobdeck-job", idle_timeout: float = 60.0) -> None:
        self._name = name
        self._idle_timeout = idle_timeout
        self._idle: list[queue.SimpleQueue[_Call | None]] = []
        self._lock = threading.Lock()
        self._count = 0
        self._busy: set[asyncio.Future[Any]] = set()  # calls whose function is running
        self._abandoned: set[asyncio.Future[Any]] = set()
        self._closed = False

    @property
    def abandoned(self) -> int:
        """Calls still running whose job already ended (timed out or cancelled)."""
        with self._lock:
            return len(self._abandoned)

    def run(
        self, fn: Callable[[], Any], on_start: Callable[[], None], label: str
    ) -> asyncio.Future[Any]:
        """Start `fn` now; `on_start` is called on the event loop when it begins."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        call: _Call = (fn, on_start, future, label)
        with self._lock:
            self._busy.add(future)
            inbox = self._idle.pop() if self._idle else None
            if inbox is None:
                self._count += 1
                number = self._count
        if inbox is not None:
            inbox.put(call)
        else:
            inbox = queue.SimpleQueue()
            inbox.put(call)
            threading.Thread(
                target=self._serve,
                args=(loop, inbox),
                name=f"{self._name}-{number}",
                daemon=True,
            ).start()
        return future

    def abandon(self, future: asyncio.Future[Any], label: str) -> None:
        """The job of this call ended while its function runs on: say so, count it."""
        with self._lock:
            if future not in self._busy:
                return  # it returned just now
            self._abandoned.add(future)
            count = len(self._abandoned)
        log.warning(
            "job %s ended but its function is still running on its thread (%d such threads); "
            "a plain function cannot be interrupted: check current_job().cancelled to stop early",
            label,
            count,
        )

    def close(self) -> None:
        """Idle threads end now; busy ones end when their call returns."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for inbox in idle:
            inbox.put(None)

    def _serve(
        self, loop: asyncio.AbstractEventLoop, inbox: queue.SimpleQueue[_Call | None]
    ) -> None:
        while True:
            try:
                call = inbox.get(timeout=self._idle_timeout)
            except queue.Empty:
                with self._lock:
                    if inbox in self._idle:
                        self._idle.remove(inbox)
                        return
                call = inbox.get()  # handed a call just as the wait ran out
            if call is None:
                return
            fn, on_start, future, label = call
            if loop.is_closed():
                return
            loop.call_soon_threadsafe(on_start)
            try:
                result: Any = fn()
                outcome: tuple[bool, Any] = (True, result)
            except BaseException as exc:  # handed to the awaiting job, as run_in_executor does
                outcome = (False, exc)
            finally:
                with self._lock:
                    was_abandoned = future in self._abandoned
                    self._abandoned.discard(future)
                    self._busy.discard(future)
            if was_abandoned:
                log.info("the abandoned function of job %s returned", label)
            else:
                try:
                    loop.call_soon_threadsafe(_settle, future, outcome)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    return
            with self._lock:
                if self._closed:
                    return
                self._idle.append(inbox)


def _settle(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    ok, value = outcome
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)
