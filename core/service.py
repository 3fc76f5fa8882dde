"""`JobService`: the one object applications, workers and the console talk to.

A `QueueClient` (submit, steer, read: `core/client.py`, `core/reader.py`) that also holds the
application's handlers and runs workers for the queue in this process (`core/local_workers.py`).
It holds no job state of its own, so any number of services in any number of processes can
share one Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from .backend import Backend, BackendSettings
from .client import QueueClient
from .lifespan import Lifespan, LifespanFactory
from .limits import check_flow_name
from .local_workers import LocalWorkers
from .models import check_job_name
from .reading import check_count
from .retry import RetryPolicy, RetryRules
from .schedules.scheduler import Scheduler
from .submission import JobSpec
from .tasks import QueueSiblings, TaskMaker
from .worker.pool import WorkerPool, WorkerSettings

__all__ = ["JobService", "JobSpec"]

F = TypeVar("F", bound=Callable[..., Any])


class JobService(QueueClient):
    """Submit, inspect and steer jobs; run workers; follow events.

    `url` is `redis://host:port/db` (also rediss://, unix://) or `memory://` for the in-process
    engine; it defaults to `$JOBDECK_URL`, then to `memory://`. `event_bus` may be the
    application's own bus (an object with `publish`, or a callable): every event is published
    on it too (see `jobdeck.core.bus`). `redis_url` is `url` under the seed's name.
    `lifespan`: an async context manager (or a function returning one) entered once when
    this process's workers start and left after they stopped; what it yields is
    `current_job().state` in every handler (`core/lifespan.py`).
    """

    def __init__(
        self,
        url: str | None = None,
        queue: str = "default",
        prefix: str = "jobdeck",
        *,
        backend: Backend | None = None,
        settings: BackendSettings | None = None,
        retry_policy: RetryPolicy | None = None,
        worker_settings: WorkerSettings | None = None,
        event_bus: Any = None,
        redis_url: str | None = None,
        lifespan: LifespanFactory | None = None,
    ) -> None:
        super().__init__(
            url, queue, prefix, backend=backend, settings=settings, event_bus=event_bus,
            redis_url=redis_url,
        )  # fmt: skip
        self.retry_policy = retry_policy or RetryPolicy()
        self.worker_settings = worker_settings or WorkerSettings()
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.retry_rules: dict[str, RetryRules] = {}  # per handler name (`register_handler`)
        self._local = LocalWorkers()
        self._siblings = QueueSiblings()
        self.lifespan = None if lifespan is None else Lifespan(lifespan)

    @property
    def pool(self) -> WorkerPool | None:
        """The worker pool this process runs for the queue (`start_workers`), if any."""
        return self._local.pool

    @property
    def scheduler(self) -> Scheduler | None:
        """The scheduler loop `start_workers` started beside the pool, if any."""
        return self._local.scheduler

    async def close(self) -> None:
        if self.pool is not None:
            await self.stop_workers(graceful=True)
        await self._siblings.close()
        await super().close()

    def _runs_workers_here(self) -> bool:
        return self.pool is not None

    def _warn_if_memory_unserved(self) -> None:
        self._local.warn_if_unserved(self.url, self.backend)

    # -- handlers --------------------------------------------------------------------------
    def register_handler(
        self,
        name: str,
        func: Callable[..., Any],
        *,
        limit: str | None = None,
        retry: RetryPolicy | None = None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        dont_retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    ) -> None:
        """Run `func(*args, **kwargs)` for jobs called `name`. Coroutine functions run on the
        event loop; plain functions run in the worker's thread pool. `limit`: the limit key
        jobs called `name` are under when submitted through this service without one.
        `retry`: its backoff (default: the service's `retry_policy`); `retry_on` /
        `dont_retry_on`: the errors retried / never retried (`RetryRules`); a handler may
        also `raise Retry(delay=...)` or `raise Fail(reason)` itself."""
        check_job_name(name)
        if not callable(func):
            raise TypeError(f"handler for {name!r} is not callable")
        rules = RetryRules.build(retry, retry_on, dont_retry_on)
        if limit is not None:
            self._handler_limits[name] = check_flow_name("limit", limit)
        if rules is None:
            self.retry_rules.pop(name, None)
        else:
            self.retry_rules[name] = rules
        self.handlers[name] = func

    def handler(
        self,
        name: str | None = None,
        *,
        limit: str | None = None,
        retry: RetryPolicy | None = None,
        retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        dont_retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    ) -> Callable[[F], F]:
        """Decorator form of `register_handler`; the name defaults to the function's."""

        def decorate(func: F) -> F:
            self.register_handler(
                name or func.__name__, func, limit=limit, retry=retry, retry_on=retry_on,
                dont_retry_on=dont_retry_on,
            )  # fmt: skip
            return func

        return decorate

    @property
    def task(self) -> TaskMaker:
        """Decorator: `@service.task` or `@service.task(priority=..., max_retries=...,
        timeout=..., queue=..., retry_on=...)` registers the function as a handler and
        returns it as a typed `Task` (`core/tasks.py`): `await task.submit(...)`, checked
        against its signature, gives a `JobHandle` whose `result()` has its return type."""
        return TaskMaker(self)

    def queue_sibling(self, queue: str) -> JobService:
        """The service for another queue that this one's tasks submit to (`queue=`): opened
        on first use, with this one's handlers and settings, and closed with this one."""
        return self._siblings.get(self, queue)

    def add_middleware(self, middleware: object) -> None:
        """Add a middleware (an object with any of `on_submit(spec)`, `async around(job,
        call_next)`, `on_outcome(job, outcome)`), after those added before: see
        `core/middleware.py` for what each may do, their order, and their errors."""
        self.middleware.add(middleware)

    def for_queue(self, queue: str) -> JobService:
        """A service for another queue of the same server and prefix, with this one's
        handlers, retry policy and settings (a worker serving several queues has one each).
        It opens its own connections: close it when done."""
        sibling = JobService(self.url, queue, self.prefix, settings=self.backend.settings)
        sibling.retry_policy, sibling.worker_settings = self.retry_policy, self.worker_settings
        sibling.handlers, sibling.retry_rules = self.handlers, self.retry_rules
        sibling.middleware, sibling.lifespan = self.middleware, self.lifespan
        return sibling

    # -- workers ---------------------------------------------------------------------------
    async def start_workers(
        self,
        count: int | None = None,
        *,
        worker_id: str | None = None,
        scheduler: bool = True,
    ) -> WorkerPool:
        """Run a worker pool in this process with `count` slots (default: CPU count), and
        (unless `scheduler=False`) the scheduler loop that fires this queue's schedules."""
        await self._ensure()
        declared = self._declared
        return await self._local.start(
            self.backend,
            self.handlers,
            count,
            queue=self.queue,
            retry_policy=self.retry_policy,
            settings=self.worker_settings,
            worker_id=worker_id,
            service=self,
            schedules=(lambda: list(declared.values())) if scheduler else None,
            retry_rules=self.retry_rules,
            middleware=self.middleware,
            lifespan=self.lifespan,
        )

    async def scale_workers(
        self, count: int, *, worker_id: str | None = None, delta: bool = False
    ) -> int:
        """Set the concurrency of this process's pool (no `worker_id`), of one worker process
        anywhere (`worker_id`), or of every live worker (`worker_id="*"`). With `delta`,
        `count` is added to the current concurrency. Returns how many pools were told."""
        count = count if delta else check_count(count)
        await self._ensure()
        return await self._local.scale(self.backend, count, worker_id, delta)

    async def stop_workers(self, graceful: bool = True, timeout: float | None = None) -> None:
        await self._local.stop(graceful, timeout)

    def periodic(
        self,
        name: str | None = None,
        *,
        cron: str | None = None,
        every: timedelta | float | None = None,
        **options: Any,
    ) -> Callable[[F], F]:
        """Decorator: register the function as a handler and schedule it under its name."""

        return self._schedules.periodic(self.register_handler, name, cron, every, options)
