"""Typed tasks: a handler and its submit defaults in one object, checked by a type checker.

    @service.task(max_retries=3, timeout=60)
    async def resize(path: str, width: int) -> bytes: ...

    handle = await resize.submit("cat.png", 640)   # checked against resize's signature
    data = await handle.result(timeout=30)         # typed: bytes

`service.task` registers the function as the handler of its name (string names keep working:
`submit_job("resize", ["cat.png", 640])` runs the same handler) and returns a `Task[P, R]`,
whose `submit` takes exactly the function's parameters (`P`) and returns a `JobHandle[R]`.
`task.options(...)` is the same task with other submit defaults (a delay, a job id, ...).
A task with `queue=` submits to that queue of the same server and prefix.

A task is a definition: it holds no connection of its own. It submits through the service it
was declared on (or, for `queue=`, that service's sibling for the queue, opened on first use
and closed with the service); synchronous code submits it through a `SyncJobService`
(`client.submit(task, ...)`), which returns the blocking twin of the handle.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

from .errors import JobNotFound
from .keys import validate_name
from .models import JobDefinition, JobPriority, JobStatus
from .retry import RetryPolicy
from .submission import JobSpec, prepare

if TYPE_CHECKING:
    from .service import JobService

__all__ = [
    "JobHandle",
    "QueueSiblings",
    "SubmitOptions",
    "SyncJobHandle",
    "Task",
    "TaskDecorator",
    "TaskMaker",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")
ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...] | None


@dataclass(frozen=True, slots=True)
class SubmitOptions:
    """A task's submit defaults: `submit_job`'s keywords (see there), and the queue."""

    priority: JobPriority | int | str = JobPriority.NORMAL
    max_retries: int = 0
    timeout: float | None = None
    delay: float = 0.0
    job_id: str | None = None
    unique_key: str | None = None
    unique_for: float | None = None
    limit: str | None = None
    group: str | None = None
    result_ttl: float | None = None
    meta: Mapping[str, Any] | None = None
    queue: str | None = None  # None: the service's own

    def check(self, name: str) -> SubmitOptions:
        """These options, refused now (naming the option) if a job could not have them:
        a mistake in a decorator is an import-time error, not a failed submit later."""
        prepare(
            name, (), None, self.priority, self.max_retries, self.timeout, self.delay,
            self.job_id, self.unique_key, self.unique_for, self.limit, self.group,
            self.result_ttl, self.meta,
        )  # fmt: skip
        if self.queue is not None:
            validate_name("queue", self.queue)
        return self


class JobHandle(Generic[R]):
    """A submitted job: its `id`, its result when it has one (typed as the task returns it),
    its status, and a way to cancel it. Holds nothing but the id and its service."""

    __slots__ = ("_service", "id")

    def __init__(self, service: JobService, job_id: str) -> None:
        self._service = service
        self.id = job_id

    async def result(self, timeout: float | None = 30.0) -> R:
        """What the task returned, once it has (`JobService.result`: raises `JobFailed`,
        `JobCancelled`, `JobNotFound` or `TimeoutError`)."""
        return cast(R, await self._service.result(self.id, timeout))

    async def status(self) -> JobStatus:
        """Where the job is now. Raises `JobNotFound` once its record is gone."""
        return (await self.get(max_field_bytes=64)).status

    async def get(self, *, max_field_bytes: int | None = None) -> JobDefinition:
        """The job as stored (progress, attempts, error, ...). Raises `JobNotFound`."""
        job = await self._service.get_job(self.id, max_field_bytes=max_field_bytes)
        if job is None:
            raise JobNotFound(self.id, f"queue {self._service.queue!r}")
        return job

    async def cancel(self) -> bool:
        """`JobService.cancel_job`: False if it already finished."""
        return await self._service.cancel_job(self.id)

    def __repr__(self) -> str:
        return f"JobHandle({self.id!r}, queue={self._service.queue!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobHandle):
            return NotImplemented
        return (self.id, self._service.queue) == (other.id, other._service.queue)

    def __hash__(self) -> int:
        return hash(self.id)


class Runner(Protocol):
    """Runs a call on a `SyncJobService`'s loop and blocks for its answer."""

    def __call__(self, call: Callable[[], Awaitable[T]], bounded: bool = True) -> T: ...


class SyncJobHandle(Generic[R]):
    """The blocking twin of `JobHandle`, from `SyncJobService.submit(task, ...)`."""

    __slots__ = ("_handle", "_run")

    def __init__(self, handle: JobHandle[R], run: Runner) -> None:
        self._handle = handle
        self._run = run

    @property
    def id(self) -> str:
        return self._handle.id

    def result(self, timeout: float | None = 30.0) -> R:
        """`JobHandle.result`, blocking (the client's own timeout does not cut it short)."""
        return self._run(lambda: self._handle.result(timeout), bounded=False)

    def status(self) -> JobStatus:
        return self._run(self._handle.status)

    def get(self, *, max_field_bytes: int | None = None) -> JobDefinition:
        return self._run(lambda: self._handle.get(max_field_bytes=max_field_bytes))

    def cancel(self) -> bool:
        return self._run(self._handle.cancel)

    def __repr__(self) -> str:
        return f"Sync{self._handle!r}"


class Task(Generic[P, R]):
    """A handler with its submit defaults. `submit(*args, **kwargs)` takes the function's own
    parameters; `options(...)` gives the same task with other defaults; calling the task
    calls the function here and now (for tests), not as a job."""

    __slots__ = ("_defaults", "_params", "func", "name", "service")

    def __init__(
        self,
        service: JobService,
        name: str,
        func: Callable[P, Any],
        defaults: SubmitOptions,
    ) -> None:
        self.service = service
        self.name = name
        self.func = func
        self._defaults = defaults
        try:
            self._params: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):  # a builtin without one: the worker will say
            self._params = None

    @property
    def defaults(self) -> SubmitOptions:
        return self._defaults

    @property
    def queue(self) -> str:
        """The queue its jobs go to."""
        return self._defaults.queue or self.service.queue

    async def submit(self, *args: P.args, **kwargs: P.kwargs) -> JobHandle[R]:
        """Queue one job of this task with these arguments (JSON values) and the task's
        defaults. Arguments that do not fit the function's signature are refused here,
        nothing written, as they would fail in the worker."""
        return await self.submit_through(self.service, args, kwargs)

    async def submit_through(
        self, service: JobService, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> JobHandle[R]:
        """`submit` through another service of the same server (a `SyncJobService`'s own):
        to its queue, or to the task's `queue=`."""
        keywords = self._keywords(args, kwargs)
        queue = self._defaults.queue
        if queue is not None and queue != service.queue:
            service = service.queue_sibling(queue)
        return JobHandle(service, await service.submit_job(self.name, args, kwargs, **keywords))

    def spec(self, *args: P.args, **kwargs: P.kwargs) -> JobSpec:
        """One job of this task for a bulk submit: `submit_jobs` of the service of the task's
        queue (`task.service`, or `task.service.queue_sibling(task.queue)` for a task with
        `queue=`): a spec names no queue."""
        return JobSpec(self.name, args, kwargs, **self._keywords(args, kwargs))

    def options(
        self,
        *,
        priority: JobPriority | int | str | None = None,
        max_retries: int | None = None,
        timeout: float | None = None,
        delay: float | None = None,
        job_id: str | None = None,
        unique_key: str | None = None,
        unique_for: float | None = None,
        limit: str | None = None,
        group: str | None = None,
        result_ttl: float | None = None,
        meta: Mapping[str, Any] | None = None,
        queue: str | None = None,
    ) -> Task[P, R]:
        """This task with other submit defaults (those given; the rest kept), checked now:
        `resize.options(delay=60, job_id="thumb-42").submit("cat.png", 640)`."""
        given = {k: v for k, v in locals().items() if k != "self" and v is not None}
        defaults = replace(self._defaults, **given).check(self.name)
        return Task(self.service, self.name, self.func, defaults)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Task({self.name!r}, queue={self.queue!r})"

    def _keywords(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        if self._params is not None:
            try:
                self._params.bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"args: {self.name}(): {exc}") from None
        d = self._defaults
        return {
            "priority": d.priority, "max_retries": d.max_retries, "timeout": d.timeout,
            "delay": d.delay, "job_id": d.job_id, "unique_key": d.unique_key,
            "unique_for": d.unique_for, "limit": d.limit, "group": d.group,
            "result_ttl": d.result_ttl, "meta": d.meta,
        }  # fmt: skip


class TaskDecorator(Protocol):
    """What `service.task(...)` returns: turns a function into a `Task`."""

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> Task[P, R]: ...


class TaskMaker:
    """`service.task`: `@service.task` or `@service.task(name=..., priority=..., ...)`."""

    __slots__ = ("_service",)

    def __init__(self, service: JobService) -> None:
        self._service = service

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]], /) -> Task[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> Task[P, R]: ...
    @overload
    def __call__(
        self,
        func: None = None,
        /,
        *,
        name: str | None = None,
        priority: JobPriority | int | str = JobPriority.NORMAL,
        max_retries: int = 0,
        timeout: float | None = None,
        delay: float = 0.0,
        unique_key: str | None = None,
        unique_for: float | None = None,
        limit: str | None = None,
        group: str | None = None,
        result_ttl: float | None = None,
        meta: Mapping[str, Any] | None = None,
        queue: str | None = None,
        retry: RetryPolicy | None = None,
        retry_on: ExceptionTypes = None,
        dont_retry_on: ExceptionTypes = None,
    ) -> TaskDecorator: ...

    def __call__(
        self, func: Callable[..., Any] | None = None, /, *, name: str | None = None, **opts: Any
    ) -> Any:
        """Register the function as the handler of `name` (default: its own name) and
        return it as a `Task`. `retry`, `retry_on`, `dont_retry_on` are the handler's retry
        rules (`register_handler`); the other keywords are its submit defaults
        (`submit_job`'s, and `queue`: submit to that queue of the same server)."""
        rules = {k: opts.pop(k) for k in ("retry", "retry_on", "dont_retry_on") if k in opts}
        unknown = set(opts) - _OPTION_NAMES
        if unknown:
            raise TypeError(f"task: unknown option(s): {', '.join(sorted(unknown))}")

        def decorate(f: Callable[..., Any]) -> Task[Any, Any]:
            if not callable(f):
                raise TypeError(f"task: expected a function, got {type(f).__name__}")
            task_name = name if name else str(getattr(f, "__name__", ""))
            defaults = SubmitOptions(**opts).check(task_name)
            self._service.register_handler(task_name, f, **rules)
            return Task(self._service, task_name, f, defaults)

        return decorate if func is None else decorate(func)


_OPTION_NAMES = frozenset(f.name for f in fields(SubmitOptions)) - {"job_id"}


class QueueSiblings:
    """The services a service's tasks opened for other queues (`Task(queue=...)`), one per
    queue, closed with the service."""

    __slots__ = ("_open",)

    def __init__(self) -> None:
        self._open: dict[str, JobService] = {}

    def get(self, service: JobService, queue: str) -> JobService:
        sibling = self._open.get(queue)
        if sibling is None:
            sibling = self._open[queue] = service.for_queue(queue)
        return sibling

    async def close(self) -> None:
        opened, self._open = list(self._open.values()), {}
        for sibling in opened:
            await sibling.close()
