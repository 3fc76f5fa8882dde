"""What one process runs for a queue: its worker pool, and the scheduler loop beside it.

`JobService` holds one of these. It is handed the pool and the scheduler to run rather than
the service, so starting and stopping them does not reach back into the service.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .._tasks import cancel_and_wait

if TYPE_CHECKING:
    from ..schedules.scheduler import Scheduler
    from .pool import WorkerPool

__all__ = ["LocalWorkers"]


class LocalWorkers:
    def __init__(self) -> None:
        self.pool: WorkerPool | None = None
        self.scheduler: Scheduler | None = None
        self._scheduler_task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.pool is not None and self.pool.is_running

    async def start(self, pool: WorkerPool, scheduler: Scheduler | None) -> WorkerPool:
        """Start `pool` and, if given, `scheduler`, unless a scheduler loop runs already (one
        per service is enough: every loop fires each tick exactly once anyway)."""
        if self.running:
            raise RuntimeError("workers are already running in this service; use scale_workers")
        self.pool = pool
        await pool.start()
        if scheduler is not None and (
            self._scheduler_task is None or self._scheduler_task.done()
        ):
            self.scheduler = scheduler
            self._scheduler_task = asyncio.get_running_loop().create_task(
                scheduler.run(), name="jobdeck-scheduler"
            )
        return pool

    async def stop(self, graceful: bool, timeout: float | None) -> None:
        """The scheduler first, so no tick lands while the pool drains."""
        if self._scheduler_task is not None:
            await cancel_and_wait(self._scheduler_task)
            self._scheduler_task = None
        if self.pool is not None:
            await self.pool.stop(graceful=graceful, timeout=timeout)
            self.pool = None
