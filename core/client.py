"""`QueueClient`: a `QueueReader` that also changes the queue — submitting jobs, chains and
groups, steering them (cancel, retry, purge, pause), limits and schedules.

It validates at the edge, encodes JSON, and delegates each state change to the backend as a
single atomic call. `JobService` adds handlers and workers on top.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, overload

from .backend import Backend, BackendSettings
from .backend.records import NewJob
from .limits import Limit, list_limits, remove_limit, set_limit
from .middleware import Middlewares
from .models import JobPriority, JobStatus
from .reader import QueueReader
from .routing import ServedNames
from .schedules.api import Schedules
from .schedules.info import ScheduleInfo
from .schedules.spec import ScheduleSpec
from .sessions import MAX_SESSIONS, Sessions
from .submission import JobSpec, prepare, prepare_all, submit_in_chunks
from .workflow_submit import SubmittedGroup, chain_jobs, group_jobs

__all__ = ["QueueClient"]


class QueueClient(QueueReader):
    """Submit and steer the jobs of one queue (and read them, as a `QueueReader`)."""

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
        super().__init__(
            url, queue, prefix, backend=backend, settings=settings, event_bus=event_bus,
            redis_url=redis_url,
        )  # fmt: skip
        self._served: ServedNames | None = None
        self._handler_limits: dict[str, str] = {}  # name -> limit key (`register_handler`)
        self._declared: dict[str, ScheduleSpec] = {}  # schedules declared in code
        self.middleware = Middlewares()  # `add_middleware`

    async def _on_initialized(self) -> None:
        await self._schedules.write_declared()

    async def close(self) -> None:
        if self._served is not None:
            await self._served.close()
            self._served = None
        await super().close()

    def _runs_workers_here(self) -> bool:
        """Whether this process runs workers for the queue (a `JobService` may)."""
        return False

    def _warn_if_memory_unserved(self) -> None:
        """Overridden by `JobService`, whose own workers may serve a memory:// queue."""

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
        self._warn_if_memory_unserved()
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
        self._warn_if_memory_unserved()
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
        if not self._runs_workers_here() and self.url.startswith("memory:"):
            return
        if self._served is None:
            self._served = ServedNames(self.backend.list_workers, self._where)
        self._served.check(names)

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
