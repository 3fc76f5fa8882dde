"""What a running handler can ask of jobdeck: which job it is, and a way to report progress.

`current_job()` works in async handlers and in plain functions run on the worker's threads
(the context is copied into the thread). Progress goes into a coalescing buffer that the pool
flushes a few times a second, so a handler may report as often as it likes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from ..models import JobDefinition

__all__ = ["JobContext", "current_job"]

_current: ContextVar[JobContext | None] = ContextVar("jobdeck_current_job", default=None)


@dataclass(eq=False, slots=True)
class JobContext:
    job: JobDefinition
    token: str
    worker_id: str
    _report: Callable[[str, str, float, str], None]
    _cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def job_id(self) -> str:
        return self.job.id

    @property
    def attempt(self) -> int:
        return self.job.attempts

    @property
    def cancelled(self) -> bool:
        """True once cancellation was requested; sync handlers can check it to stop early."""
        return self._cancelled.is_set()

    def report_progress(self, fraction: float, message: str = "") -> None:
        """Record progress (clamped to [0, 1]). Never blocks; the latest value wins."""
        try:
            value = min(1.0, max(0.0, float(fraction)))
        except (TypeError, ValueError):
            raise ValueError(f"fraction: expected a number, got {fraction!r}") from None
        self._report(self.job.id, self.token, value, str(message)[:500])


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
