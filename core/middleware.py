"""Middleware: code of the application's around every job, for logging context, error
reporting, tracing, auditing. `service.add_middleware(obj)`, where `obj` has any of:

- `on_submit(spec)` (sync or async): called with each job's `JobSpec` as this service
  submits it (`submit_job`, `submit_jobs`, tasks). Return a changed spec
  (`dataclasses.replace(spec, meta={...})`) or None to keep it; raise to refuse the submit,
  which then raises that exception and writes nothing.
- `async around(job, call_next)`: wraps each attempt in the worker. `await call_next()` runs
  the handler (and any middleware inside this one) and returns its result; what `around`
  returns replaces the result, None keeping it (so a forgotten `return` loses nothing).
  The handler's own exception comes out of `call_next()`: let it through and it is the
  job's error as usual.
- `on_outcome(job, outcome)` (sync or async): once an attempt has ended, before the
  outcome is stored (`AttemptOutcome`: completed, retry, failed, cancelled, release, lost).

Order: `on_submit` and `on_outcome` run in the order the middleware were added; for
`around`, the first added is the outermost (it starts first and sees the result last).

A middleware that raises fails that attempt, never the worker: an exception of its own in
`around` or `on_outcome` ends the attempt as a failure of type `MiddlewareError` naming the
middleware and method (retried as any failure is, while retries are left); `Retry` and
`Fail` raised by a middleware are decisions, as from a handler. For an attempt that was
cancelled or lost, an error in `on_outcome` is logged: that outcome cannot change.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .models import JobDefinition
from .retry import Fail, Retry
from .submission import JobSpec, spec_fields

__all__ = ["AttemptOutcome", "MiddlewareError", "Middlewares"]

log = logging.getLogger("jobdeck.worker")
_HOOKS = ("on_submit", "around", "on_outcome")
_UNSET: Any = object()


class MiddlewareError(Exception):
    """A middleware's `around` or `on_outcome` raised: the attempt fails with this error."""

    def __init__(self, middleware: object, method: str, error: BaseException) -> None:
        self.middleware = _name(middleware)
        self.method = method
        super().__init__(
            f"{self.middleware}.{method} raised {type(error).__name__}: {error}".rstrip(": ")
        )


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """How an attempt ended, as `on_outcome` sees it. `status`: "completed", "retry" (failed,
    to run again after `retry_in` seconds), "failed" (dead-lettered), "cancelled", "release"
    (handed back unfinished: the worker stops) or "lost" (its lease went to another
    attempt). `error` is the exception raised, when one was."""

    status: str
    attempt: int
    runtime: float
    result: Any = None
    error: BaseException | None = None
    error_type: str | None = None
    message: str | None = None
    retry_in: float | None = None


class Middlewares:
    """The middleware of one service (shared with its sibling queues and its workers)."""

    __slots__ = ("_around", "_on_outcome", "_on_submit", "added")

    def __init__(self) -> None:
        self.added: list[object] = []
        self._on_submit: list[tuple[object, Callable[[JobSpec], Any]]] = []
        self._around: list[tuple[object, Callable[..., Awaitable[Any]]]] = []
        self._on_outcome: list[tuple[object, Callable[..., Any]]] = []

    def add(self, middleware: object) -> None:
        """Check `middleware` now (at import, not at the first job) and add it last."""
        hooks = {name: getattr(middleware, name, None) for name in _HOOKS}
        if all(hook is None for hook in hooks.values()):
            raise TypeError(
                f"add_middleware: {_name(middleware)} has none of on_submit, around, on_outcome"
            )
        for name, hook in hooks.items():
            if hook is not None and not callable(hook):
                raise TypeError(f"add_middleware: {_name(middleware)}.{name} is not callable")
        around = hooks["around"]
        if around is not None and not inspect.iscoroutinefunction(around):
            raise TypeError(
                f"add_middleware: {_name(middleware)}.around must be an async method "
                "(it awaits call_next())"
            )
        self.added.append(middleware)
        if hooks["on_submit"] is not None:
            self._on_submit.append((middleware, hooks["on_submit"]))
        if around is not None:
            self._around.append((middleware, around))
        if hooks["on_outcome"] is not None:
            self._on_outcome.append((middleware, hooks["on_outcome"]))

    def __bool__(self) -> bool:
        return bool(self.added)

    @property
    def on_submit(self) -> bool:
        return bool(self._on_submit)

    @property
    def in_worker(self) -> bool:
        return bool(self._around or self._on_outcome)

    # -- submitting ----------------------------------------------------------------------------
    async def submitting(self, spec: JobSpec | Mapping[str, Any]) -> JobSpec:
        """`spec` after every `on_submit`; a middleware's exception goes to the caller."""
        if not isinstance(spec, JobSpec):
            spec = _as_spec(spec)
        for middleware, hook in self._on_submit:
            try:
                changed = hook(spec)
                if inspect.isawaitable(changed):
                    changed = await changed
            except Exception as exc:
                exc.add_note(f"refused by {_name(middleware)}.on_submit")
                raise
            if changed is None:
                continue
            if not isinstance(changed, JobSpec):
                raise TypeError(
                    f"{_name(middleware)}.on_submit returned {type(changed).__name__}; "
                    "expected a JobSpec (or None to keep the job as it is)"
                )
            spec = changed
        return spec

    async def submitting_all(self, specs: Iterable[JobSpec | Mapping[str, Any]]) -> list[JobSpec]:
        out: list[JobSpec] = []
        for index, spec in enumerate(specs):
            try:
                out.append(await self.submitting(spec))
            except (TypeError, ValueError) as exc:
                raise type(exc)(f"job {index}: {exc}") from exc
        return out

    # -- in the worker -------------------------------------------------------------------------
    async def around(self, job: JobDefinition, call: Callable[[], Awaitable[Any]]) -> Any:
        """The handler's result through every `around`, the first added outermost."""
        chain = call
        for middleware, around in reversed(self._around):
            chain = _layer(middleware, around, job, chain)
        result = await chain()
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError  # a middleware swallowed the job's cancellation
        return result

    async def outcome(self, job: JobDefinition, outcome: AttemptOutcome) -> MiddlewareError | None:
        """Tell every `on_outcome`; the first error of a middleware, if any (the others are
        still told)."""
        first: MiddlewareError | None = None
        for middleware, hook in self._on_outcome:
            try:
                done = hook(job, outcome)
                if inspect.isawaitable(done):
                    await done
            except Exception as exc:
                if first is None:
                    first = MiddlewareError(middleware, "on_outcome", exc)
                    first.__cause__ = exc
                log.warning("job %s: %s", job.id, MiddlewareError(middleware, "on_outcome", exc))
        return first


def _layer(
    middleware: object,
    around: Callable[..., Awaitable[Any]],
    job: JobDefinition,
    inner: Callable[[], Awaitable[Any]],
) -> Callable[[], Awaitable[Any]]:
    async def layer() -> Any:
        returned: Any = _UNSET
        raised: BaseException | None = None

        async def call_next() -> Any:
            nonlocal returned, raised
            try:
                returned = await inner()
            except BaseException as exc:
                raised = exc
                raise
            return returned

        try:
            value = await around(job, call_next)
        except BaseException as exc:
            if exc is raised or isinstance(exc, (Retry, Fail, asyncio.CancelledError)):
                raise
            raise MiddlewareError(middleware, "around", exc) from exc
        return returned if value is None and returned is not _UNSET else value

    return layer


def _as_spec(spec: Mapping[str, Any]) -> JobSpec:
    try:
        return JobSpec(**spec)
    except TypeError:
        unknown = set(spec) - set(spec_fields(JobSpec("x")))
        if unknown:
            raise TypeError(f"unknown field(s): {', '.join(sorted(unknown))}") from None
        raise TypeError("name: missing") from None


def _name(middleware: object) -> str:
    return type(middleware).__name__
