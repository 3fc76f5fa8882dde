"""What a running handler can ask of jobdeck: which job it is, a way to report progress, and
a way to emit application events into the queue's event log.

`current_job()` works in async handlers and in plain functions run on the worker's threads
(the context is copied into the thread). Progress goes into a coalescing buffer that the pool
flushes a few times a second, so a handler may report as often as it likes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, overload

from ..codec import JSONError, dumps
from ..events import Events
from ..models import JobDefinition, JobPriority

if TYPE_CHECKING:
    from ..submission import JobSpec
    from ..workflow_submit import SubmittedGroup

__all__ = ["HandlerService", "JobContext", "current_job"]

MAX_EVENT_BYTES = 8192
_EVENT_TYPE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_BUILT_IN = frozenset(e.value for e in Events)
_current: ContextVar[JobContext | None] = ContextVar("jobdeck_current_job", default=None)


class HandlerService(Protocol):
    """What a running handler may use of the service its worker runs on (same server, queue
    and prefix): `JobService` has these and more. A protocol, so the worker never imports the
    service that starts it."""

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
    ) -> str: ...

    async def submit_jobs(self, specs: Iterable[JobSpec | Mapping[str, Any]]) -> list[str]: ...

    async def submit_chain(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, pass_results: bool = False
    ) -> list[str]: ...

    @overload
    async def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: None = None
    ) -> SubmittedGroup[None]: ...
    @overload
    async def submit_group(
        self, specs: Iterable[JobSpec | Mapping[str, Any]], *, then: JobSpec | Mapping[str, Any]
    ) -> SubmittedGroup[str]: ...

    async def get_job(
        self, job_id: str, *, max_field_bytes: int | None = None
    ) -> JobDefinition | None: ...

    async def cancel_job(self, job_id: str) -> bool: ...


@dataclass(eq=False, slots=True)
class JobContext:
    job: JobDefinition
    token: str
    worker_id: str
    _report: Callable[[str, str, float, str], None]
    _emit: Callable[[str, str, str, bytes], None] | None = None
    # A plain flag, not a threading.Event: nothing waits on it (handlers poll `cancelled`),
    # a bool read is atomic, and an Event per job cost more than the rest of the context.
    _cancelled: bool = False
    service: HandlerService | None = None
    """The service this worker runs on (same server, queue and prefix): submit follow-up
    jobs through it and they land where this worker takes its jobs."""
    state: Any = None
    """What the service's lifespan yielded (`JobService(lifespan=...)`): the resources this
    process's handlers share (a database pool, an HTTP client). None without a lifespan."""
    # Why the worker stopped this job ("cancelled", "shutdown", "lost"), once it did.
    _stopped: str | None = None
    parents: Mapping[str, Any] | None = None  # (workflows) read before the handler runs

    def parent_results(self) -> dict[str, Any]:
        """(workflows) The results of this job's parents that completed, by id, in the
        order of its `after` (a parent that failed, was cancelled or expired is left out: a
        job runs after one only with `on_parent_failure="run"`). Empty for a job without
        parents. Read before the handler started, so plain functions may call it too."""
        return dict(self.parents or {})

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def attempt(self) -> int:
        return self.job.attempts

    @property
    def cancelled(self) -> bool:
        """True once cancellation was requested; sync handlers can check it to stop early."""
        return self._cancelled

    def report_progress(self, fraction: float, message: str = "") -> None:
        """Record progress (clamped to [0, 1]). Never blocks; the latest value wins."""
        try:
            value = min(1.0, max(0.0, float(fraction)))
        except (TypeError, ValueError):
            raise ValueError(f"fraction: expected a number, got {fraction!r}") from None
        self._report(self.job.id, self.token, value, str(message)[:500])

    def emit(self, event_type: str, data: Mapping[str, Any] | None = None) -> None:
        """Append an application event (e.g. `"backup.archived"`) to the queue's event log,
        under this job: same stream, ordering and resumption as the lifecycle events, and
        before this attempt's outcome. `data` is a JSON object of at most 8 KiB. Never
        blocks; events of an attempt that lost its lease are dropped."""
        if not isinstance(event_type, str) or not _EVENT_TYPE.fullmatch(event_type):
            raise ValueError(
                "event_type: 1-64 characters of letters, digits, '_', '.', ':' or '-', "
                f"got {event_type!r}"
            )
        if event_type in _BUILT_IN:
            raise ValueError(f"event_type: {event_type!r} is one of jobdeck's own events")
        if data is not None and not isinstance(data, Mapping):
            raise TypeError(f"data: expected a mapping, got {type(data).__name__}")
        try:
            payload = dumps(dict(data or {}))
        except JSONError as exc:
            raise TypeError(f"data: not JSON-serializable ({exc})") from None
        if len(payload) > MAX_EVENT_BYTES:
            raise ValueError(f"data: {len(payload)} bytes of JSON, at most {MAX_EVENT_BYTES}")
        if self._emit is None:
            raise RuntimeError("emit: this job context cannot emit events")
        self._emit(self.job.id, self.token, event_type, payload)


def current_job() -> JobContext:
    """The job this handler is running. Raises outside a handler."""
    ctx = _current.get()
    if ctx is None:
        raise RuntimeError("current_job() is only available inside a running job handler")
    return ctx


def set_current(ctx: JobContext | None) -> Token[JobContext | None]:
    return _current.set(ctx)


def reset_current(token: Token[JobContext | None]) -> None:
    _current.reset(token)
