"""`SyncJobService`: the service for synchronous code (Flask, Django, scripts, threads).

Each call is run on one event loop that this object owns, in a background thread, and the
calling thread blocks for the answer. Any number of threads may call at once: they all hand
their call to that one loop, which runs them concurrently over the service's connections.
The loop thread starts on first use (so creating the client at import time in a pre-forking
server is fine: each process starts its own after the fork) and is stopped by `close()`, a
`with` block, or at interpreter exit.

`submit_job`, the call a web view makes on every request, skips the hop over Redis: after
the first one (which connects through the loop), the calling thread checks and prepares its
job as the async service does (`submission.prepare`) and sends it itself, threads that submit
at once sharing one script call (`backend/redis/sync_submit.py`). What that path does not
handle itself (a lost connection, a moved cluster slot) still goes through the loop.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, ParamSpec, TypeVar, overload

from .backend.base import NewJob, WorkerRecord
from .metrics import QueueMetrics
from .models import JobDefinition, JobPriority, JobStatus
from .schedules import ScheduleInfo
from .service import JobService, JobSpec
from .submission import prepare
from .tasks import SyncJobHandle, Task
from .workflow_submit import SubmittedGroup

__all__ = ["SyncJobService"]

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")


class SyncJobService:
    """Blocking twin of `JobService`: the same submitting, reading and steering methods.

    `SyncJobService(url, queue, prefix, **service_options)` builds its own `JobService`;
    `timeout` bounds every call (seconds; None waits as long as the call takes).
    """

    def __init__(
        self,
        url: str | None = None,
        queue: str = "default",
        prefix: str = "jobdeck",
        *,
        timeout: float | None = 30.0,
        **service_options: Any,
    ) -> None:
        self._args = (url, queue, prefix)
        self._options = service_options
        self.timeout = timeout
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._service: JobService | None = None
        self._ready: asyncio.Lock | None = None
        self._pid = 0
        self._closed = False
        self._submitter: Any = None  # the calling thread's submit path, once connected
        self._middleware: list[object] = []  # `add_middleware`, again on a forked child's service
        # Validates the URL and arguments now, in the caller's thread.
        self._service = JobService(*self._args, **self._options)
        self.queue = queue

    # -- the loop thread -------------------------------------------------------------------
    def _start(self) -> tuple[asyncio.AbstractEventLoop, JobService]:
        with self._lock:
            if self._closed:
                raise RuntimeError("this SyncJobService is closed")
            if self._loop is None or self._pid != os.getpid():
                if self._pid and self._pid != os.getpid():
                    # A forked child: the parent's thread and connections are not ours.
                    self._service = JobService(*self._args, **self._options)
                    for middleware in self._middleware:
                        self._service.add_middleware(middleware)
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="jobdeck-sync-loop", daemon=True
                )
                thread.start()
                self._loop, self._thread, self._pid = loop, thread, os.getpid()
                self._ready = None
                atexit.register(self.close)
            assert self._service is not None
            return self._loop, self._service

    def _call(
        self,
        make: Callable[[JobService], Awaitable[T]],
        *,
        bounded: bool = True,
        timeout: float | None = None,
    ) -> T:
        """Run `make(service)` on the loop. `bounded=False` for a call that bounds its own
        time (a wait for a result): the client's `timeout` does not cut it short; `timeout`
        for what is left of a call that began elsewhere."""
        loop, service = self._start()
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncJobService called from its own loop; use the JobService")

        async def run() -> T:
            if self._ready is None:
                self._ready = asyncio.Lock()
            async with self._ready:  # one initialize, however many threads start at once
                await service.initialize()
            return await make(service)

        future = asyncio.run_coroutine_threadsafe(run(), loop)
        try:
            return future.result((timeout or self.timeout) if bounded else None)
        except BaseException:
            future.cancel()  # a caller that gives up (timeout, Ctrl-C) leaves nothing running
            raise

    def close(self) -> None:
        """Close the service's connections and stop the loop thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            loop, thread, service = self._loop, self._thread, self._service
            self._loop = self._thread = None
            submitter, self._submitter = self._submitter, None
        atexit.unregister(self.close)
        if submitter and submitter.pid == os.getpid():
            submitter.close()
        if loop is None or thread is None or service is None or self._pid != os.getpid():
            return
        try:
            asyncio.run_coroutine_threadsafe(service.close(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()

    def __enter__(self) -> SyncJobService:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def description(self) -> str:
        assert self._service is not None
        return self._service.description

    def add_middleware(self, middleware: object) -> None:
        """As `JobService.add_middleware`: its `on_submit` sees every job this client submits
        (the guide said so, but only the private service could be given one)."""
        assert self._service is not None
        self._service.add_middleware(middleware)
        self._middleware.append(middleware)

    # -- the service's methods -------------------------------------------------------------
    def submit_job(
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
        submitter = self._submitter
        if (
            not submitter
            or submitter.pid != os.getpid()
            or self._closed
            or (self._service is not None and self._service.middleware.on_submit)
        ):
            job_id = self._call(
                lambda s: s.submit_job(
                    name,
                    args,
                    kwargs,
                    priority=priority,
                    max_retries=max_retries,
                    timeout=timeout,
                    delay=delay,
                    job_id=job_id,
                    unique_key=unique_key,
                    unique_for=unique_for,
                    limit=limit,
                    group=group,
                    result_ttl=result_ttl,
                    meta=meta,
                    expires=expires,
                    after=after,
                    on_parent_failure=on_parent_failure,
                )
            )
            if submitter is None or (submitter and submitter.pid != os.getpid()):
                self._open_submitter()  # first use, or a forked child's first submit
            return job_id
        service = self._service
        assert service is not None
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncJobService called from its own loop; use the JobService")
        if limit is None and service._handler_limits:
            limit = service._handler_limits.get(name)
        job = prepare(
            name, args, kwargs, priority, max_retries, timeout, delay, job_id, unique_key,
            unique_for, limit, group, result_ttl, meta, expires, after, on_parent_failure,
        )  # fmt: skip
        service._check_served((job.name,))
        created = submitter.submit(job, self.timeout)
        return created if isinstance(created, str) else job.id

    def _open_submitter(self) -> None:
        """After a submit through the loop (so connected, and the queue registered): the
        calling thread's path for the next ones, if the engine has one (Redis), else False."""
        service = self._service
        assert service is not None
        make = getattr(service.backend, "sync_submitter", None)
        fast = make(self._fallback) if make is not None else None
        with self._lock:
            current = self._submitter
            if current and current.pid == os.getpid():
                return  # another thread's first submit opened it meanwhile
            if not self._closed:
                self._submitter = fast or False

    def _fallback(self, jobs: Sequence[NewJob], timeout: float | None) -> list[bool | str]:
        """Prepared jobs through the loop's path (retries, a cluster slot followed)."""
        return self._call(lambda s: s.backend.submit(jobs), timeout=timeout)

    def submit(self, task: Task[P, R], /, *args: P.args, **kwargs: P.kwargs) -> SyncJobHandle[R]:
        """Queue one job of `task` (declared with `@service.task` on any service of the same
        server: its name, defaults and `queue=` count) through this client, checked against
        the function's signature as `task.submit` is; the handle's `result()` blocks."""
        handle = self._call(lambda s: task.submit_through(s, args, kwargs))
        return SyncJobHandle(handle, self._run)

    def _run(self, call: Callable[[], Awaitable[T]], bounded: bool = True) -> T:
        return self._call(lambda _service: call(), bounded=bounded)

    def submit_jobs(self, specs: Iterable[JobSpec | Mapping[str, Any]]) -> list[str]:
        specs = list(specs)
        return self._call(lambda s: s.submit_jobs(specs))

    def submit_chain(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, pass_results: bool = False
    ) -> list[str]:
        """`JobService.submit_chain`."""
        specs = list(specs)
        return self._call(lambda s: s.submit_chain(specs, pass_results=pass_results))

    @overload
    def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: None = None
    ) -> SubmittedGroup[None]: ...
    @overload
    def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: JobSpec | Mapping[str, Any]
    ) -> SubmittedGroup[str]: ...
    def submit_group(
        self,
        specs: Iterable[JobSpec | Mapping[str, Any]],
        *,
        then: JobSpec | Mapping[str, Any] | None = None,
    ) -> SubmittedGroup[str] | SubmittedGroup[None]:
        """`JobService.submit_group`."""
        specs = list(specs)
        if then is None:
            return self._call(lambda s: s.submit_group(specs))
        chosen = then
        return self._call(lambda s: s.submit_group(specs, then=chosen))

    def get_job(self, job_id: str, *, wait: float = 0) -> JobDefinition | None:
        """The job; with `wait` (seconds), as soon as it finishes or as it is after `wait`."""
        return self._call(lambda s: s.get_job(job_id, wait=wait), bounded=not wait)

    def result(self, job_id: str, timeout: float | None = 30.0) -> Any:
        """`JobService.result`: what the job's handler returned, once it has; raises
        `JobFailed`, `JobCancelled`, `JobNotFound`, or `TimeoutError` after `timeout`."""
        return self._call(lambda s: s.result(job_id, timeout), bounded=False)

    def list_jobs(
        self,
        status: JobStatus | str = JobStatus.PENDING,
        limit: int = 50,
        offset: int = 0,
        *,
        newest_first: bool | None = None,
    ) -> list[JobDefinition]:
        return self._call(lambda s: s.list_jobs(status, limit, offset, newest_first=newest_first))

    def list_dead_letters(self, limit: int = 50, offset: int = 0) -> list[JobDefinition]:
        return self._call(lambda s: s.list_dead_letters(limit, offset))

    def get_metrics(self, window: int = 60) -> QueueMetrics:
        return self._call(lambda s: s.get_metrics(window))

    def list_workers(self) -> list[WorkerRecord]:
        return self._call(lambda s: s.list_workers())

    def list_queues(self) -> list[str]:
        return self._call(lambda s: s.list_queues())

    def cancel_job(self, job_id: str) -> bool:
        return self._call(lambda s: s.cancel_job(job_id))

    def delete_job(self, job_id: str, *, status: JobStatus | str | None = None) -> bool:
        return self._call(lambda s: s.delete_job(job_id, status=status))

    def retry_dead_letter(self, job_id: str) -> bool:
        return self._call(lambda s: s.retry_dead_letter(job_id))

    def retry_all_dead_letters(self) -> int:
        return self._call(lambda s: s.retry_all_dead_letters())

    def purge(self, status: JobStatus | str = JobStatus.COMPLETED) -> int:
        return self._call(lambda s: s.purge(status))

    def pause_queue(self) -> None:
        self._call(lambda s: s.pause_queue())

    def resume_queue(self) -> None:
        self._call(lambda s: s.resume_queue())

    def scale_workers(self, count: int, *, worker_id: str = "*", delta: bool = False) -> int:
        """Set (or with `delta`, change) the slots of one worker process or of all (`*`)."""
        return self._call(lambda s: s.scale_workers(count, worker_id=worker_id, delta=delta))

    # -- schedules (see JobService.schedule for the arguments) ------------------------------
    def add_schedule(self, name: str, job: str, **options: Any) -> ScheduleInfo:
        return self._call(lambda s: s.add_schedule(name, job, **options))

    def list_schedules(self) -> list[ScheduleInfo]:
        return self._call(lambda s: s.list_schedules())

    def get_schedule(self, name: str) -> ScheduleInfo | None:
        return self._call(lambda s: s.get_schedule(name))

    def pause_schedule(self, name: str) -> bool:
        return self._call(lambda s: s.pause_schedule(name))

    def resume_schedule(self, name: str) -> bool:
        return self._call(lambda s: s.resume_schedule(name))

    def trigger_schedule(self, name: str) -> str:
        return self._call(lambda s: s.trigger_schedule(name))

    def remove_schedule(self, name: str) -> bool:
        return self._call(lambda s: s.remove_schedule(name))
