"""What one process runs for a queue: its worker pool, and the scheduler loop beside it.

`JobService` holds one of these and delegates `start_workers`, `scale_workers` and
`stop_workers` to it. It is handed what it builds the pool and the scheduler from, rather
than the service, so starting and stopping them does not reach back into the service.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from ._tasks import cancel_and_wait
from .backend.base import Backend
from .lifespan import Lifespan
from .middleware import Middlewares
from .reading import check_count
from .retry import RetryPolicy, RetryRules
from .schedules.scheduler import Scheduler
from .schedules.spec import ScheduleSpec
from .worker.context import HandlerService
from .worker.pool import WorkerPool
from .worker.settings import WorkerSettings

__all__ = ["LocalWorkers"]

log = logging.getLogger("jobdeck")


class LocalWorkers:
    def __init__(self) -> None:
        self.pool: WorkerPool | None = None
        self.scheduler: Scheduler | None = None
        self._scheduler_task: asyncio.Task[None] | None = None
        self._warned_unserved = False
        self._lifespan: Lifespan | None = None  # entered by this service's pool, if any

    @property
    def running(self) -> bool:
        return self.pool is not None and self.pool.is_running

    async def start(
        self,
        backend: Backend,
        handlers: Mapping[str, Callable[..., Any]],
        count: int | None,
        *,
        queue: str,
        retry_policy: RetryPolicy,
        settings: WorkerSettings,
        worker_id: str | None,
        service: HandlerService,
        schedules: Callable[[], list[ScheduleSpec]] | None,
        retry_rules: Mapping[str, RetryRules] | None = None,
        middleware: Middlewares | None = None,
        lifespan: Lifespan | None = None,
    ) -> WorkerPool:
        """Start a pool of `count` slots (default: CPU count) and, with `schedules` (the
        declared ones, read as it starts), a scheduler loop, unless one runs already (one
        per service is enough: every loop fires each tick exactly once anyway). A
        `lifespan` is entered first (raises `LifespanError` if it cannot start)."""
        if self.running:
            raise RuntimeError("workers are already running in this service; use scale_workers")
        count = check_count((os.cpu_count() or 1) if count is None else count)
        state = None
        if lifespan is not None:
            state = await lifespan.enter()
            self._lifespan = lifespan
        try:
            pool = await self._start_pool(
                backend, handlers, count, queue, retry_policy, settings, worker_id, service,
                retry_rules, middleware, state,
            )  # fmt: skip
        except BaseException:
            await self._leave_lifespan()
            raise
        if schedules is not None and (self._scheduler_task is None or self._scheduler_task.done()):
            self.scheduler = scheduler = Scheduler(backend, declared=schedules)
            self._scheduler_task = asyncio.get_running_loop().create_task(
                scheduler.run(), name="jobdeck-scheduler"
            )
        return pool

    async def _start_pool(
        self,
        backend: Backend,
        handlers: Mapping[str, Callable[..., Any]],
        count: int,
        queue: str,
        retry_policy: RetryPolicy,
        settings: WorkerSettings,
        worker_id: str | None,
        service: HandlerService,
        retry_rules: Mapping[str, RetryRules] | None,
        middleware: Middlewares | None,
        state: Any,
    ) -> WorkerPool:
        self.pool = pool = WorkerPool(
            backend,
            handlers,
            concurrency=count,
            queue=queue,
            retry_policy=retry_policy,
            settings=settings,
            worker_id=worker_id,
            service=service,
            retry_rules=retry_rules,
            middleware=middleware,
            state=state,
        )
        try:
            await pool.start()
        except BaseException:
            self.pool = None
            raise
        return pool

    async def _leave_lifespan(self) -> None:
        lifespan, self._lifespan = self._lifespan, None
        if lifespan is not None:
            await lifespan.leave()

    async def scale(self, backend: Backend, count: int, worker_id: str | None, delta: bool) -> int:
        """This process's pool (no `worker_id`, or its own), or a control message to one
        worker process anywhere (`worker_id`) or to every live one (`"*"`)."""
        pool = self.pool
        if pool is not None and worker_id in (None, pool.id):
            await pool.scale(max(0, pool.concurrency + count) if delta else count)
            return 1
        message = (
            {"op": "scale", "delta": count} if delta else {"op": "scale", "concurrency": count}
        )
        return await backend.send_control(message, None if worker_id in (None, "*") else worker_id)

    async def stop(self, graceful: bool, timeout: float | None) -> None:
        """The scheduler first, so no tick lands while the pool drains."""
        if self._scheduler_task is not None:
            await cancel_and_wait(self._scheduler_task)
            self._scheduler_task = None
        if self.pool is not None:
            await self.pool.stop(graceful=graceful, timeout=timeout)
            self.pool = None
        await self._leave_lifespan()  # after the jobs ended: they may use what it holds

    def warn_if_unserved(self, url: str, backend: Backend) -> None:
        """A `memory://` queue lives in this process only: jobs submitted to it where no
        worker runs (a script that forgot `--url`, a module-level service in another process)
        would never run. Said once per service, as a warning, since starting workers later in
        the same process is legitimate."""
        if self._warned_unserved or self.pool is not None or not url.startswith("memory:"):
            return
        self._warned_unserved = True
        log.warning(
            "jobs submitted to %s while no worker runs in this process: a memory:// queue is "
            "not shared between processes, so they run only if this process starts workers "
            "(give a redis:// URL, or JOBDECK_URL, to reach workers elsewhere)",
            backend.description,
        )
