"""One attempt at a job: decode its record, find its handler, call it, and say how it ended.

Coroutine functions run on the event loop, plain functions on a thread, each under its job's
timeout, counted from the moment the handler starts."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
import traceback
from collections.abc import Callable, Mapping
from contextvars import copy_context
from functools import partial
from typing import Any

from ..backend.base import Backend, ClaimedJob, Finish, Outcome
from ..codec import MalformedRecord, loads
from ..middleware import AttemptOutcome, MiddlewareError, Middlewares
from ..models import JobDefinition
from ..retry import Fail, Retry, RetryPolicy, RetryRules
from . import outcomes
from .claimed import decode_claimed
from .context import JobContext, reset_current, set_current
from .parents import completed_results, fed_args, read_parents
from .threads import ThreadRunner

__all__ = ["Expired", "attempt", "call_handler", "failure"]

log = logging.getLogger(__name__)


async def attempt(
    claimed: ClaimedJob,
    ctx: JobContext,
    handlers: Mapping[str, Callable[..., Any]],
    policy: RetryPolicy,
    threads: ThreadRunner,
    worker_id: str,
    started: float,
    retry_rules: Mapping[str, RetryRules] | None = None,
    middleware: Middlewares | None = None,
    backend: Backend | None = None,
) -> Finish:
    """The outcome of running `claimed` once. Cancellation (cancel, shutdown, lost lease)
    propagates: the pool knows why it cancelled and builds that outcome itself. A job with
    parents has their results read first (from `backend`)."""
    job_id, token = claimed.id, claimed.token
    try:
        job = decode_claimed(job_id, claimed.fields)
    except MalformedRecord as exc:
        return outcomes.dead(job_id, token, "MalformedRecord", str(exc))
    if job.name == "<malformed>":
        message = job.error.message if job.error else "malformed record"
        return outcomes.dead(job_id, token, "MalformedRecord", message)
    handler = handlers.get(job.name)
    if handler is None:
        # The claim parks a job whose handler this worker lacks; one that got here anyway
        # (a claim that did not name the handlers) goes back to pending, no attempt counted.
        return outcomes.released(job_id, token, "no handler", worker_id)
    ctx.job = job
    rules = retry_rules.get(job.name) if retry_rules else None
    if rules is not None and rules.policy is not None:
        policy = rules.policy
    args = job.args
    feed = claimed.fields.get("feed")
    if feed is not None and backend is not None:  # (workflows) its parents' results first
        try:
            parents = await read_parents(backend, job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the server is away: the job goes back, no attempt counted
            log.warning("job %s: its parents' results could not be read: %s", job_id, exc)
            return outcomes.released(job_id, token, "parents unreadable", worker_id)
        ctx.parents = completed_results(parents)
        ctx.job = job = job.evolve(parents=tuple(pid for pid, _, _ in parents))
        args = fed_args(feed, parents, args)
    if middleware is not None:
        return await _through(
            middleware, handler, job, args, token, ctx, threads, started, policy, rules
        )
    try:
        result = await call_handler(handler, args, job.kwargs, job.timeout, ctx, threads)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return failure(job, token, exc, started, policy, rules)
    return outcomes.completed(job, token, result, started, policy)


async def _through(
    middleware: Middlewares,
    handler: Callable[..., Any],
    job: JobDefinition,
    args: tuple[Any, ...],
    token: str,
    ctx: JobContext,
    threads: ThreadRunner,
    started: float,
    policy: RetryPolicy,
    rules: RetryRules | None,
) -> Finish:
    """`attempt` with the service's middleware: the handler inside every `around`, then
    every `on_outcome` told how it ended (see `core/middleware.py`)."""
    error: Exception | None = None
    result: Any = None
    try:
        result = await middleware.around(
            job, lambda: call_handler(handler, args, job.kwargs, job.timeout, ctx, threads)
        )
    except asyncio.CancelledError:
        status = {"shutdown": Outcome.RELEASE, "lost": "lost"}.get(ctx._stopped or "")
        told = _told(job, status or Outcome.CANCELLED, started)
        await middleware.outcome(job, told)  # errors logged: a stopped attempt stays so
        raise
    except Exception as exc:
        error = exc
        finish = failure(job, token, exc, started, policy, rules)
    else:
        finish = outcomes.completed(job, token, result, started, policy)
    problem = await middleware.outcome(
        job, _told(job, finish.outcome, started, finish, result, error)
    )
    if problem is not None and finish.outcome == Outcome.COMPLETED:
        try:
            raise problem
        except MiddlewareError as exc:  # raised here so its traceback is the record's
            return failure(job, token, exc, started, policy, rules)
    return finish


def _told(
    job: JobDefinition,
    status: str,
    started: float,
    finish: Finish | None = None,
    result: Any = None,
    error: BaseException | None = None,
) -> AttemptOutcome:
    """What `on_outcome` is told of an attempt."""
    kind = message = None
    if error is not None and finish is not None and finish.payload:
        reported = loads(finish.payload)
        kind, message = reported.get("type"), reported.get("message")
    return AttemptOutcome(
        status=status,
        attempt=job.attempts,
        runtime=round(time.monotonic() - started, 6),
        result=result if status == Outcome.COMPLETED else None,
        error=error,
        error_type=kind,
        message=message,
        retry_in=finish.delay if finish is not None and status == Outcome.RETRY else None,
    )


def failure(
    job: JobDefinition,
    token: str,
    error: Exception,
    started: float,
    policy: RetryPolicy,
    rules: RetryRules | None,
) -> Finish:
    """The outcome of an attempt that raised `error` (called where it was caught, so the
    traceback is at hand): the handler's own word (`Retry`, `Fail`) first, then its rules."""
    if isinstance(error, Expired):
        message = f"timed out after {job.timeout:g}s"
        why_not = None if rules is None else rules.why_not(TimeoutError(message))
        return outcomes.failed(
            job, token, "Timeout", message, None, started, policy, no_retry=why_not
        )
    if isinstance(error, Retry):
        because = None if error.reason else _because(error)
        message = error.describe() + (f": {because}" if because else "")
        if job.attempts > job.max_retries:
            message += f"; no retries left (max_retries {job.max_retries})"
        return outcomes.failed(
            job, token, "Retry", message, None, started, policy, delay=error.delay
        )
    tb = traceback.format_exc(limit=30)
    if isinstance(error, Fail):
        message = error.reason or _because(error) or "the handler gave up (Fail)"
        return outcomes.failed(job, token, "Fail", message, tb, started, policy, no_retry="Fail")
    why_not = None if rules is None else rules.why_not(error)
    kind = type(error).__name__
    return outcomes.failed(job, token, kind, str(error), tb, started, policy, no_retry=why_not)


def _because(error: BaseException) -> str | None:
    """The error a `Retry` or `Fail` was raised from (`raise Fail() from exc`), if any."""
    cause = error.__cause__
    return None if cause is None else f"{type(cause).__name__}: {cause}"


class Expired(TimeoutError):
    """The job's own timeout ran out (a `TimeoutError` raised by the handler is its error).
    A `TimeoutError` itself, so middleware and retry rules see a timeout as one."""


async def call_handler(
    handler: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    ctx: JobContext,
    threads: ThreadRunner,
) -> Any:
    """The handler's result. Raises `Expired` when the job's timeout ran out."""
    token = set_current(ctx)
    try:
        if timeout is None and inspect.iscoroutinefunction(handler):
            return await handler(*args, **kwargs)  # no clock to start: no timeout scope
        scope = asyncio.timeout(None)
        try:
            async with scope:
                if inspect.iscoroutinefunction(handler):
                    _start_clock(scope, timeout)
                    return await handler(*args, **kwargs)
                result = await _on_thread(handler, args, kwargs, timeout, ctx, scope, threads)
                if inspect.isawaitable(result):  # a plain def that returned a coroutine
                    result = await result
                return result
        except TimeoutError:
            if scope.expired():  # the job's timeout, not a TimeoutError of the handler's
                raise Expired from None
            raise
    finally:
        reset_current(token)


async def _on_thread(
    handler: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    timeout: float | None,
    ctx: JobContext,
    scope: asyncio.Timeout,
    threads: ThreadRunner,
) -> Any:
    call = partial(copy_context().run, partial(handler, *args, **kwargs))
    future = threads.run(call, lambda: _start_clock(scope, timeout), ctx.job.id)
    try:
        return await future
    except BaseException:
        # Timed out or cancelled: the function runs on, on a thread no longer counted.
        threads.abandon(future, ctx.job.id)
        raise


def _start_clock(scope: asyncio.Timeout, timeout: float | None) -> None:
    if timeout is None:
        return
    with contextlib.suppress(RuntimeError):  # the scope already ended (cancelled first)
        scope.reschedule(asyncio.get_running_loop().time() + timeout)
