"""`QueueReader`: the read side of a queue — connecting, reading jobs and counts, waiting for
results, following events.

It is the base of `QueueClient` (which adds submitting and steering) and of `JobService`
(which adds handlers and workers). It holds no job state of its own, so any number of them in
any number of processes can share one Redis.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Self

from .backend import Backend, BackendSettings, open_backend
from .backend.records import Relatives, WorkerRecord
from .bus import adapt_event_bus
from .errors import JobNotFound
from .event_feed import BusRelay, EventFeed
from .events import Event, EventBus, Events
from .history import QueueHistory, build_history, check_history
from .job_events import JobEvents, check_budget, job_events
from .metrics import QueueMetrics, build_metrics, check_window
from .models import JobDefinition, JobStatus
from .reading import decode_or_stub, field_cap, list_page
from .results import ResultWaiters, check_wait
from .routing import unserved
from .search import SearchPage, check_search, search_page

__all__ = ["QueueReader"]


class QueueReader:
    """Read one queue: its jobs, counts, workers and events, and the results of its jobs.

    `url` is `redis://host:port/db` (also rediss://, unix://) or `memory://` for the in-process
    engine; it defaults to `$JOBDECK_URL`, then to `memory://`. `event_bus` may be the
    application's own bus (an object with `publish`, or a callable): every event is published
    on it too (see `jobdeck.core.bus`). `redis_url` is `url` under the seed's name.
    """

    def __init__(
        self,
        url: str | None = None,
        queue: str = "default",
        prefix: str = "jobdeck",
        *,
        backend: Backend | None = None,
        settings: BackendSettings | None = None,
        event_bus: Any = None,
        redis_url: str | None = None,
    ) -> None:
        if redis_url is not None and url is not None and redis_url != url:
            raise ValueError("url, redis_url: give one of them (redis_url is url's old name)")
        url = url if url is not None else redis_url
        self.url = url or os.environ.get("JOBDECK_URL") or "memory://"
        self.queue = queue
        self.prefix = prefix
        self.backend: Backend = backend or open_backend(self.url, queue, prefix, settings)
        self.event_bus = event_bus if isinstance(event_bus, EventBus) else EventBus()
        forward = adapt_event_bus(event_bus)  # an application's own bus (see jobdeck.core.bus)
        if forward is not None:
            self.event_bus.subscribe(None, forward)
        self._initialized = False
        self._relay: BusRelay | None = None
        self._results: ResultWaiters | None = None

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
        await self._on_initialized()
        if self.event_bus.has_subscribers:
            self._relay.ensure_running()

    async def _on_initialized(self) -> None:
        """What a subclass does once connected (the client writes declared schedules)."""

    async def close(self) -> None:
        if self._relay is not None:
            await self._relay.stop()
        if self._results is not None:
            await self._results.close()
            self._results = None
        await self.backend.close()
        self._initialized = False

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

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
