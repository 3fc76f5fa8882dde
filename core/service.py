"""`JobService`: the one object applications, workers and the console talk to.

It validates at the edge, encodes JSON, and delegates each state change to the backend as a
single atomic call. It holds no job state of its own, so any number of services in any number
of processes can share one Redis.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar, overload

from .backend import Backend, BackendSettings, open_backend
from .backend.records import NewJob, Relatives, WorkerRecord
from .bus import adapt_event_bus
from .errors import JobNotFound
from .event_feed import BusRelay, EventFeed
from .events import Event, EventBus, Events
from .history import QueueHistory, build_history, check_history
from .job_events import JobEvents, check_budget, job_events
from .lifespan import Lifespan, LifespanFactory
from .limits import Limit, check_flow_name, list_limits, remove_limit, set_limit
from .local_workers import LocalWorkers
from .metrics import QueueMetrics, build_metrics, check_window
from .middleware import Middlewares
from .models import JobDefinition, JobPriority, JobStatus, check_job_name
from .reading import check_count, decode_or_stub, field_cap, list_page
from .results import ResultWaiters, check_wait
from .retry import RetryPolicy, RetryRules
from .routing import ServedNames, unserved
from .schedules.api import Schedules
from .schedules.info import ScheduleInfo
from .schedules.scheduler import Scheduler
from .schedules.spec import ScheduleSpec
from .search import SearchPage, check_search, search_page
from .sessions import MAX_SESSIONS, Sessions
from .submission import JobSpec, prepare, prepare_all, submit_in_chunks
from .tasks import QueueSiblings, TaskMaker
from .worker.pool import WorkerPool, WorkerSettings
from .workflow_submit import SubmittedGroup, chain_jobs, group_jobs

__all__ = ["JobService", "JobSpec"]

F = TypeVar("F", bound=Callable[..., Any])


class JobService:
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
        if redis_url is not None and url is not None and redis_url != url:
            raise ValueError("url, redis_url: give one of them (redis_url is url's old name)")
        url = url if url is not None else redis_url
        self.url = url or os.environ.get("JOBDECK_URL") or "memory://"
        self.queue = queue
        self.prefix = prefix
        self.backend: Backend = backend or open_backend(self.url, queue, prefix, settings)
        self.retry_policy = retry_policy or RetryPolicy()
        self.worker_settings = worker_settings or WorkerSettings()
        self.event_bus = event_bus if isinstance(event_bus, EventBus) else EventBus()
        forward = adapt_event_bus(event_bus)  # an application's own bus (see jobdeck.core.bus)
        if forward is not None:
            self.event_bus.subscribe(None, forward)
        self.handlers: dict[str, Callable[..., Any]] = {}
        self.retry_rules: dict[str, RetryRules] = {}  # per handler name (`register_handler`)
        self._local = LocalWorkers()
        self._initialized = False
        self._served: ServedNames | None = None
        self._handler_limits: dict[str, str] = {}
        self._relay: BusRelay | None = None
        self._declared: dict[str, ScheduleSpec] = {}
        self._results: ResultWaiters | None = None
        self._siblings = QueueSiblings()
        self.middleware = Middlewares()  # `add_middleware`
        self.lifespan = None if lifespan is None else Lifespan(lifespan)

    def configure(self, url: str | None = None, prefix: str | None = None) -> None:
        """Point this (not yet initialized) service at another server or key prefix. The
        worker command does this to an application's own service when given `--url`, so
        handlers that submit follow-up jobs through the module's `service` reach the server
        the worker runs on instead of the default `memory://`, where they would vanish."""
        if self._initialized:
            raise RuntimeError("configure() must come before the service is initialized")
        url = url or self.url
        prefix = self.prefix if prefix is None else prefix
        if (url, prefix) == (self.url, self.prefix):
            return
        backend = open_backend(url, self.queue, prefix, self.backend.settings)
        self.url, self.prefix, self.backend = url, prefix, backend

    @property
    def pool(self) -> WorkerPool | None:
        """The worker pool this process runs for the queue (`start_workers`), if any."""
        return self._local.pool

    @property
    def scheduler(self) -> Scheduler | None:
        """The scheduler loop `start_workers` started beside the pool, if any."""
        return self._local.scheduler

    @property
    def description(self) -> str:
        """Where the jobs live, safe to show: never includes a password."""
        return self.backend.description

    # -- life cycle ------------------------------------------------------------------------
    async def initialize(self) -> None:
        """Connect (and load scripts). Raises a connection error if the server is away."""
        if self._initialized:
            return
        await self.backend.initialize()
        self._relay = BusRelay(self.backend, self.event_bus, await self.backend.last_event_id())
        self._initialized = True
        await self._schedules.write_declared()
        if self.event_bus.has_subscribers:
            self._relay.ensure_running()

    async def close(self) -> None:
        if self.pool is not None:
            await self.stop_workers(graceful=True)
        if self._relay is not None:
            await self._relay.stop()
        if self._results is not None:
            await self._results.close()
            self._results = None
        if self._served is not None:
            await self._served.close()
            self._served = None
        await self._siblings.close()
        await self.backend.close()
        self._initialized = False

    async def __aenter__(self) -> JobService:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

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

    # -- results ---------------------------------------------------------------------------
    async def result(self, job_id: str, timeout: float | None = 30.0) -> Any:
        """What the job's handler returned, once it has: at once if the job has finished,
        else as soon as it does (from any worker anywhere). Raises `JobFailed` (a dead
        letter: its `error_type` and `message`), `JobCancelled`, `JobNotFound` (no such job
        on this queue, or its record expired) or `TimeoutError` after `timeout` seconds
        (0-86400; None: no limit). All waiters of a service share one reader of the event
        log, so a thousand waits cost about what one does."""
        check_wait(job_id, timeout)
        await self._ensure()
        return await self._waiters().result(job_id, timeout)

    def _waiters(self) -> ResultWaiters:
        if self._results is None or self._results.backend is not self.backend:
            self._results = ResultWaiters(self.backend, lambda: self._where)
        return self._results

    @property
    def _where(self) -> str:
        return f"queue {self.queue!r} of {self.description}"

    # -- submitting ------------------------------------------------------------------------
    async def submit_job(
        self,
        name: str,
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        priority: JobPriority | int | str = JobPriority.NORMAL,
        max_retries: int = 0,
        timeout: float | None = None,
        delay: float = 0.0,
        job_id: str | None = None,
        unique_key: str | None = None,
        unique_for: float | None = None,
        limit: str | None = None,
        group: str | None = None,
        result_ttl: float | None = None,
        meta: Mapping[str, Any] | None = None,
        expires: float | datetime | None = None,
        after: Sequence[str] | None = None,
        on_parent_failure: str = "fail",
    ) -> str:
        """Queue one job and return its id. With an explicit `job_id`, submitting the same id
        twice queues it once. With a `unique_key`, while a job with that key is pending,
        scheduled or running (and for `unique_for` seconds after submission, if given),
        nothing is queued and the existing job's id is returned. With `limit`, it starts
        only as the limit on that key allows (`set_limit`); with `group`, the groups of one
        priority take turns (fairness between tenants). `result_ttl`: seconds its record
        and result are kept once it completed (default: the queue's); `meta`: a JSON object
        of at most 4 KiB kept and shown with the job, and found by search. With `after`
        (job ids of this queue), it waits until they all completed (`on_parent_failure`
        says what it does if one does not: "fail", "run" or "cancel"); with `expires`
        (seconds from now, or a datetime), it ends `expired`, never run, if it has not
        started by then."""
        if self.middleware.on_submit:  # each middleware sees (and may change) the spec
            return (await self.submit_jobs([JobSpec(
                name, args, kwargs, priority, max_retries, timeout, delay, job_id, unique_key,
                unique_for, limit, group, result_ttl, meta, expires, after, on_parent_failure,
            )]))[0]  # fmt: skip
        if limit is None and self._handler_limits:
            limit = self._handler_limits.get(name)
        job = prepare(
            name, args, kwargs, priority, max_retries, timeout, delay, job_id, unique_key,
            unique_for, limit, group, result_ttl, meta, expires, after, on_parent_failure,
        )  # fmt: skip
        await self._ensure()
        self._local.warn_if_unserved(self.url, self.backend)
        self._check_served((job.name,))
        [created] = await self.backend.submit([job])
        return created if isinstance(created, str) else job.id

    async def submit_jobs(self, specs: Iterable[JobSpec | Mapping[str, Any]]) -> list[str]:
        """Queue many jobs with one round trip per thousand. Every spec is validated before
        anything is written, so a bad one leaves the queue untouched. Each thousand is stored
        whole or not at all: if Redis refuses some (it is full), `OutOfMemory` is raised and
        its `accepted` lists exactly the ids that were queued."""
        if self.middleware.on_submit:
            specs = await self.middleware.submitting_all(specs)
        return await self._store(prepare_all(specs))

    async def submit_chain(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, pass_results: bool = False
    ) -> list[str]:
        """Queue jobs that run one after the other, each once the one before it completed
        (one that does not complete fails the rest: `on_parent_failure`); with
        `pass_results`, each gets the one before's result as its first argument. Returns
        the ids in order: the last one's result is the chain's."""
        if self.middleware.on_submit:
            specs = await self.middleware.submitting_all(specs)
        return await self._store(chain_jobs(specs, pass_results))

    @overload
    async def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: None = None
    ) -> SubmittedGroup[None]: ...
    @overload
    async def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: JobSpec | Mapping[str, Any]
    ) -> SubmittedGroup[str]: ...
    async def submit_group(
        self,
        specs: Iterable[JobSpec | Mapping[str, Any]],
        *,
        then: JobSpec | Mapping[str, Any] | None = None,
    ) -> SubmittedGroup[str] | SubmittedGroup[None]:
        """Queue jobs that run in parallel and, with `then`, one job that runs once after
        all of them completed, with the list of their results (in the group's order) as its
        first argument (Celery's chord). A group is up to 10,000 jobs with a `then`."""
        if self.middleware.on_submit:
            specs = await self.middleware.submitting_all(specs)
            then = None if then is None else await self.middleware.submitting(then)
        jobs = group_jobs(specs, then)
        ids = await self._store(jobs)
        if then is None:
            return SubmittedGroup(ids, None)
        return SubmittedGroup(ids[:-1], ids[-1])

    async def _store(self, jobs: list[NewJob]) -> list[str]:
        if self._handler_limits:
            jobs = [self._with_handler_limit(job) for job in jobs]
        await self._ensure()
        self._local.warn_if_unserved(self.url, self.backend)
        self._check_served({job.name for job in jobs})
        return await submit_in_chunks(self.backend, jobs)

    def _with_handler_limit(self, job: NewJob) -> NewJob:
        default = self._handler_limits.get(job.name)
        if default is None or "limit" in job.fields:
            return job
        return job._replace(fields={**job.fields, "limit": default})

    def _check_served(self, names: Iterable[str]) -> None:
        """A name no live worker on the queue serves is said once per name, from a cached
        view of the workers (`routing.ServedNames`: no round trip per submit). A memory
        queue with no workers in this process has its own warning instead."""
        if self.pool is None and self.url.startswith("memory:"):
            return
        if self._served is None:
            self._served = ServedNames(self.backend.list_workers, self._where)
        self._served.check(names)

    # -- reading ---------------------------------------------------------------------------
    async def get_job(
        self, job_id: str, *, max_field_bytes: int | None = None, wait: float = 0
    ) -> JobDefinition | None:
        """The job as stored. With `max_field_bytes`, a value larger than that (a 100 MB
        result, say) stays on the server: `job.omitted` names it with its size. With `wait`
        (seconds), the job as soon as it finishes, or as it is when `wait` runs out."""
        if wait:
            check_wait(job_id, wait)
            await self._ensure()
            with contextlib.suppress(TimeoutError, JobNotFound):
                await self._waiters().finished(job_id, wait)
        await self._ensure()
        fields = await self.backend.get(job_id, field_cap(max_field_bytes))
        return None if fields is None else decode_or_stub(job_id, fields)

    async def job_relatives(self, job_id: str, limit: int = 20) -> Relatives:
        """(workflows) The job's first `limit` parents and children (1-1000) with their
        statuses, and how many it has of each."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise ValueError(f"limit: expected an integer 1-1000, got {limit!r}")
        await self._ensure()
        return await self.backend.relatives(job_id, limit)

    async def list_jobs(
        self,
        status: JobStatus | str = JobStatus.PENDING,
        limit: int = 50,
        offset: int = 0,
        *,
        newest_first: bool | None = None,
        max_field_bytes: int | None = None,
    ) -> list[JobDefinition]:
        """A page of jobs in one status. Pending comes in run order (highest priority first),
        scheduled by due time, finished ones newest first. With `max_field_bytes`, values
        larger than that are not read (a list that shows a preview needs no 50 MB args):
        each job's `omitted` names them with their sizes."""
        return await list_page(
            self.backend, self._ensure, status, limit, offset, newest_first, max_field_bytes
        )

    async def search_jobs(
        self,
        text: str,
        statuses: Sequence[JobStatus | str] | None = None,
        *,
        cursor: str | None = None,
        limit: int = 50,
        budget: int = 5000,
        max_field_bytes: int | None = None,
    ) -> SearchPage:
        """Jobs whose id starts with `text` or whose name, args, kwargs, error or meta contain
        it (any case), in `statuses` (default: all) in list order. One bounded step: at most
        `budget` records are read; pass `cursor` back for the next step (see `core.search`).
        The first step puts an exact id match first. `max_field_bytes` as for `list_jobs`."""
        text, chosen = check_search(text, statuses, limit, budget)
        await self._ensure()
        return await search_page(
            self.backend, text, chosen, cursor, limit, budget, field_cap(max_field_bytes)
        )

    async def list_dead_letters(self, limit: int = 50, offset: int = 0) -> list[JobDefinition]:
        return await self.list_jobs(JobStatus.FAILED, limit, offset)

    async def get_metrics(self, window: int = 60) -> QueueMetrics:
        """Depths, totals, and per-second series over the last `window` seconds (1-900: the
        per-second counters expire after 15 minutes)."""
        check_window(window)
        await self._ensure()
        raw = await self.backend.metrics(window)
        if not raw.parked_total:
            return build_metrics(raw)
        workers = await self.backend.list_workers()
        return build_metrics(raw, unserved(raw.parked, raw.parked_total, workers))

    async def get_history(self, step: str = "minute", count: int | None = None) -> QueueHistory:
        """Submitted, completed and failed counts per `step` ("minute": the last `count`
        minutes, at most a day, the default; "hour": at most 30 days), oldest first."""
        minutes, count = check_history(step, count)
        await self._ensure()
        return build_history(await self.backend.history(minutes, count))

    async def server_warnings(self) -> list[str]:
        """Risks an operator must hear about, each one sentence: an eviction policy (jobs can
        vanish), memory near or at `maxmemory`, no persistence. Empty when all is well."""
        await self._ensure()
        return await self.backend.server_warnings()

    async def list_workers(self) -> list[WorkerRecord]:
        """Every live worker process sharing this queue (stale ones drop out after the
        worker TTL)."""
        await self._ensure()
        return await self.backend.list_workers()

    async def list_queues(self) -> list[str]:
        """The queues under this service's prefix that have been used (sorted), for a queue
        switcher or listing; `for_queue(name)` opens one of them."""
        await self._ensure()
        return await self.backend.list_queues()

    def for_queue(self, queue: str) -> JobService:
        """A service for another queue of the same server and prefix, with this one's
        handlers, retry policy and settings (a worker serving several queues has one each).
        It opens its own connections: close it when done."""
        sibling = JobService(self.url, queue, self.prefix, settings=self.backend.settings)
        sibling.retry_policy, sibling.worker_settings = self.retry_policy, self.worker_settings
        sibling.handlers, sibling.retry_rules = self.handlers, self.retry_rules
        sibling.middleware, sibling.lifespan = self.middleware, self.lifespan
        return sibling

    # -- limits ----------------------------------------------------------------------------
    async def set_limit(
        self,
        key: str,
        *,
        concurrency: int | None = None,
        rate: int | None = None,
        per: float = 1.0,
    ) -> Limit:
        """Limit the jobs submitted with `limit=key`, or with a key a template covers
        (`"user:*"` applies to `"user:42"`, to each such key on its own; `"*"` to every key):
        at most `concurrency` running at once (0 pauses them), at most `rate` starts in any
        `per` seconds. Enforced at claim time across every worker: a job over its limit waits,
        throttled, and starts as soon as the limit allows. Replaces the key's earlier limit,
        at once."""
        await self._ensure()
        return await set_limit(self.backend, key, concurrency, rate, per)

    async def remove_limit(self, key: str) -> bool:
        """Remove a limit (False if there was none); the jobs it held start unthrottled."""
        await self._ensure()
        return await remove_limit(self.backend, key)

    async def list_limits(self) -> list[Limit]:
        """Every limit of the queue, by key, with the jobs running and throttled under it."""
        await self._ensure()
        return await list_limits(self.backend)

    # -- steering --------------------------------------------------------------------------
    async def cancel_job(self, job_id: str) -> bool:
        """Cancel a pending or scheduled job now, or a running one wherever it runs (its
        handler is interrupted within a second; JOB_CANCELLED follows). False if the job is
        unknown or already finished.

        For a running job, True means the request was recorded, not that the job will end
        cancelled: a handler that returns before its worker acts on the request (a plain
        function that does not check `current_job().cancelled`, or one that was finishing)
        completes, and its result is kept, since the work was done. The job's final status
        (`get_job`, or its JOB_CANCELLED / JOB_COMPLETED event) is the outcome."""
        await self._ensure()
        return await self.backend.cancel(job_id) is not None

    async def run_now(self, job_id: str) -> bool:
        """Queue a delayed job (or one waiting out its retry delay) now: it goes to the back
        of its priority's pending list, as if it had come due. False if it is not scheduled
        (unknown, or already due, running or finished)."""
        await self._ensure()
        return await self.backend.run_now(job_id)

    async def retry_dead_letter(self, job_id: str) -> bool:
        """Move one dead letter back to pending, attempts reset. True if this call moved
        it; of several concurrent calls for one id exactly one gets True (the move is one
        atomic step). False if it is not (or no longer) a dead letter."""
        await self._ensure()
        return await self.backend.retry_dead([job_id]) == 1

    async def retry_all_dead_letters(self) -> int:
        """Move every dead letter back to pending, in one pass over those that were dead
        when the call began; returns how many moved. A job retried here that fails again
        while the pass goes on stays dead: each dead letter is retried at most once."""
        await self._ensure()
        return await self.backend.retry_dead(None)

    async def purge(self, status: JobStatus | str = JobStatus.COMPLETED) -> int:
        """Delete every job in `status` (running jobs cannot be purged); returns how many."""
        status = JobStatus(status)
        if status == JobStatus.RUNNING:
            raise ValueError("status: running jobs cannot be purged; cancel them instead")
        await self._ensure()
        return await self.backend.purge(status.value)

    async def delete_job(self, job_id: str, *, status: JobStatus | str | None = None) -> bool:
        """Delete one finished job (completed, a dead letter, or cancelled) with its result
        and error; with `status`, only if it is in that status (one atomic step). False if
        nothing was deleted: no such job, or it has not finished (cancel it first)."""
        only = None if status is None else JobStatus(status)
        if only is not None and not only.is_terminal:
            raise ValueError(f"status: only finished jobs are deleted, not {only.value} ones")
        await self._ensure()
        return await self.backend.delete(job_id, None if only is None else only.value) is not None

    def sessions(self, cap: int = MAX_SESSIONS) -> Sessions:
        """The queue's sign-in sessions (`sessions.py`), for a surface that signs people in:
        kept in the backend, so a sign-out holds in every process and across restarts."""
        return Sessions(self.backend, self._ensure, cap)

    async def pause_queue(self) -> None:
        """Every worker stops taking new jobs of this queue; running jobs go on."""
        await self._ensure()
        await self.backend.set_paused(True)

    async def resume_queue(self) -> None:
        await self._ensure()
        await self.backend.set_paused(False)

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

    # -- schedules (the logic: `core/schedules/api.py`) ---------------------------------------
    @property
    def _schedules(self) -> Schedules:
        return Schedules(self.backend, self._ensure, self._declared)

    def schedule(
        self,
        name: str,
        job: str,
        *,
        cron: str | None = None,
        every: timedelta | float | None = None,
        timezone: str = "UTC",
        args: tuple[Any, ...] | list[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        priority: JobPriority | int | str = JobPriority.NORMAL,
        max_retries: int = 0,
        timeout: float | None = None,
        missed: str = "latest",
    ) -> ScheduleSpec:
        """Declare a schedule in code: submit job `job` on `cron` (5 fields, in `timezone`)
        or `every` interval (whole seconds). `missed="latest"` runs the most recent missed
        tick once after an outage; `"skip"` drops missed ticks. Written to the backend when
        the service initializes (and by each scheduler as it starts)."""
        return self._schedules.declare(
            name, job, cron=cron, every=every, timezone=timezone, args=args, kwargs=kwargs,
            priority=priority, max_retries=max_retries, timeout=timeout, missed=missed,
        )  # fmt: skip

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

    async def add_schedule(self, name: str, job: str, **options: Any) -> ScheduleInfo:
        """Create or change a schedule at run time, from any process (same arguments as
        `schedule`). A changed timing moves the next fire time; a paused one stays paused."""
        return await self._schedules.add(name, job, **options)

    async def list_schedules(self) -> list[ScheduleInfo]:
        """Every schedule of this queue, by name, with its next and last fire."""
        return await self._schedules.list_all()

    async def get_schedule(self, name: str) -> ScheduleInfo | None:
        return await self._schedules.get(name)

    async def pause_schedule(self, name: str) -> bool:
        """Stop firing (False if it was paused already). Raises KeyError if unknown."""
        return await self._schedules.pause(name)

    async def resume_schedule(self, name: str) -> bool:
        """Fire again from the next tick on: ticks that passed while paused do not run."""
        return await self._schedules.resume(name)

    async def trigger_schedule(self, name: str) -> str:
        """Submit the schedule's job now (paused or not); its regular ticks are unchanged.
        Returns the new job's id."""
        return await self._schedules.trigger(name)

    async def remove_schedule(self, name: str) -> bool:
        """Delete the schedule (jobs it queued stay). False if there was none. A schedule
        declared in code comes back when a service declaring it initializes again."""
        return await self._schedules.remove(name)

    # -- events ----------------------------------------------------------------------------
    async def events(self, after: str | None = None, *, block: float = 1.0) -> AsyncIterator[Event]:
        """Every event from now on (or after the event id `after`), from any process that
        shares this queue. If the connection drops, a CONNECTION_LOST event is yielded and the
        stream resumes where it stopped, once the server answers, with CONNECTION_RESTORED."""
        await self._ensure()
        async for event in EventFeed(self.backend).follow(after, block):
            yield event

    async def event_log(self, after: str = "0-0", count: int = 10_000) -> list[Event]:
        """One page of the stored event log after the event id `after` (oldest first, without
        waiting): how a console reads the past it rewinds over. Empty at the end."""
        await self._ensure()
        return await EventFeed(self.backend).page(after, count)

    async def job_events(
        self, job_id: str, *, after: str | None = None, budget: int = 10_000
    ) -> JobEvents:
        """The job's events from the log (all but progress reports), oldest first, in bounded
        steps: at most `budget` log entries are read per call; pass `next` back as `after`
        (see `core.job_events`). Raises JobNotFound for an unknown id."""
        budget = check_budget(budget)
        job = await self.get_job(job_id, max_field_bytes=64)  # times and status only
        if job is None:
            raise JobNotFound(job_id)
        return await job_events(self.backend, job, after, budget)

    async def last_event_id(self) -> str:
        """The id of the newest event in the log ("0-0" when it is empty): `events(after=`
        this`)` yields exactly what happens from now on."""
        await self._ensure()
        return await self.backend.last_event_id()

    async def events_lost_after(self, after: str) -> bool:
        """True if events newer than `after` have been trimmed from the capped log, so
        `events(after=after)` would silently skip them (it resumes at the oldest kept)."""
        await self._ensure()
        return await EventFeed(self.backend).lost_after(after)

    def subscribe(self, event_type: Events | str | None, callback: Callable[[Event], Any]) -> None:
        """Shorthand for `event_bus.subscribe` that also starts following the event log."""
        self.event_bus.subscribe(event_type, callback)
        if self._initialized and self._relay is not None:
            self._relay.ensure_running()

    async def _ensure(self) -> None:
        if not self._initialized:
            await self.initialize()
        relay = self._relay
        if relay is not None and not relay.running and self.event_bus.has_subscribers:
            relay.ensure_running()
