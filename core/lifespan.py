"""A worker process's lifespan: what its handlers share, made once and closed on shutdown.

    @asynccontextmanager
    async def lifespan():
        async with httpx.AsyncClient() as http, asyncpg.create_pool(DSN) as db:
            yield {"http": http, "db": db}

    service = JobService(URL, lifespan=lifespan)
    # in a handler: current_job().state["db"]

`JobService(lifespan=...)` takes a function returning an async context manager (as above;
called each time the workers start) or a context manager itself. It is entered once when
this process's workers start, before the first job, and left after they stopped, the
running jobs ended or handed back (`stop_workers`, `close`, and `jobdeck worker` on
SIGTERM or Ctrl-C). What it yields is `current_job().state` in every handler. A service's
sibling queues share it (`for_queue`, a worker serving several queues): entered by the
first pool that starts, left after the last one stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

__all__ = ["Lifespan", "LifespanError", "LifespanFactory"]

log = logging.getLogger("jobdeck.worker")

LifespanFactory = Callable[[], AbstractAsyncContextManager[Any]] | AbstractAsyncContextManager[Any]


class LifespanError(RuntimeError):
    """The lifespan failed to start: the workers do not start either."""


class Lifespan:
    """Entered by the first pool of the process that starts, left after the last one stopped
    (a count of the pools running under it)."""

    __slots__ = ("_entered", "_factory", "_lock", "_pools", "state")

    def __init__(self, factory: LifespanFactory) -> None:
        if not callable(factory) and not isinstance(factory, AbstractAsyncContextManager):
            raise TypeError(
                "lifespan: expected an async context manager or a function returning one, "
                f"got {type(factory).__name__}"
            )
        self._factory = factory
        self._entered: AbstractAsyncContextManager[Any] | None = None
        self._pools = 0
        self._lock: asyncio.Lock | None = None
        self.state: Any = None

    async def enter(self) -> Any:
        """The state, entering the lifespan if no pool runs under it yet."""
        async with self._locked():
            if self._pools == 0:
                manager = self._manager()
                try:
                    self.state = await manager.__aenter__()
                except Exception as exc:
                    raise LifespanError(
                        f"lifespan: starting it raised {type(exc).__name__}: {exc}"
                    ) from exc
                self._entered = manager
            self._pools += 1
            return self.state

    async def leave(self) -> None:
        """One pool stopped: after the last, leave the lifespan. An error leaving it is
        logged, not raised: the workers have stopped, and shutdown goes on."""
        async with self._locked():
            self._pools = max(0, self._pools - 1)
            if self._pools or self._entered is None:
                return
            manager, self._entered = self._entered, None
            try:
                await manager.__aexit__(None, None, None)
            except Exception as exc:
                log.error("lifespan: leaving it raised %s: %s", type(exc).__name__, exc)
            finally:
                self.state = None

    def _manager(self) -> AbstractAsyncContextManager[Any]:
        factory = self._factory
        if isinstance(factory, AbstractAsyncContextManager):
            return factory
        made = factory()
        if not isinstance(made, AbstractAsyncContextManager):
            raise LifespanError(
                f"lifespan: the function returned {type(made).__name__}, not an async context "
                "manager (decorate it with contextlib.asynccontextmanager)"
            )
        return made

    def _locked(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock
