"""How an attempt ended, as the `Finish` record the backend stores.

Every text in an outcome (an error message, a traceback) came from a handler and may hold
what JSON cannot carry, such as the lone surrogates of a non-UTF-8 filename. It is made
encodable here, so building an outcome never fails: a job whose error could not be written
would stay "running" until its lease ran out and then run again, whatever its `max_retries`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..backend.base import Finish, Outcome
from ..codec import dumps, encodable
from ..models import JobDefinition
from ..retry import RetryPolicy

__all__ = ["cancelled_unstarted", "completed", "dead", "failed", "released", "stopped"]

log = logging.getLogger("jobdeck.worker")


_NULL = b"null"  # a handler that returns nothing: most do


def _runtime(started: float) -> float:
    return round(time.monotonic() - started, 6)


def completed(
    job: JobDefinition, token: str, result: Any, started: float, policy: RetryPolicy
) -> Finish:
    """The result, or a failed attempt if the handler returned something that is not JSON."""
    try:
        payload = _NULL if result is None else dumps(result)
    except (TypeError, ValueError) as exc:
        return failed(
            job,
            token,
            "ResultNotJSON",
            f"the handler returned a value that is not JSON: {exc}",
            None,
            started,
            policy,
        )
    return Finish(
        job.id,
        token,
        Outcome.COMPLETED,
        payload,
        event_data=dumps({"runtime": _runtime(started)}),
    )


def failed(
    job: JobDefinition,
    token: str,
    kind: str,
    message: str,
    tb: str | None,
    started: float,
    policy: RetryPolicy,
    *,
    no_retry: str | None = None,
    delay: float | None = None,
) -> Finish:
    """A failed attempt: scheduled again after `delay` (None: the policy's) while retries
    are left, dead-lettered after the last one, or at once when `no_retry` names why it is
    not retried (`Fail`, a `retry_on` / `dont_retry_on` rule)."""
    kind, message = encodable(kind), encodable(message)
    error = {"type": kind, "message": message, "traceback": None if tb is None else encodable(tb)}
    retries_left = job.attempts <= job.max_retries
    will_retry = retries_left and no_retry is None
    if not will_retry:
        delay = 0.0
    elif delay is None:
        delay = policy.delay(job.attempts)
    data: dict[str, Any] = {
        "will_retry": will_retry,
        "error_type": kind,
        "error": message[:500],
        "attempt": job.attempts,
        "runtime": _runtime(started),
    }
    if will_retry:
        data["retry_in"] = round(delay, 3)
    elif retries_left:
        data["not_retried"] = no_retry  # retries were left: say which rule spent none
    return Finish(
        job.id,
        token,
        Outcome.RETRY if will_retry else Outcome.FAILED,
        dumps(error),
        delay=delay,
        event_data=dumps(data),
    )


def dead(job_id: str, token: str, kind: str, message: str) -> Finish:
    """A job that cannot run at all (malformed record, no handler): dead-lettered at once."""
    message = encodable(message)
    log.error("job %s cannot run: %s: %s", job_id, kind, message)
    error = {"type": kind, "message": message, "traceback": None}
    return Finish(
        job_id,
        token,
        Outcome.FAILED,
        dumps(error),
        event_data=dumps(
            {"will_retry": False, "error_type": kind, "error": message[:500], "attempt": 1}
        ),
    )


def released(job_id: str, token: str, reason: str, worker_id: str) -> Finish:
    """Handed back unstarted or unfinished: first in line again, the attempt not counted."""
    return Finish(
        job_id, token, Outcome.RELEASE, event_data=dumps({"reason": reason, "worker": worker_id})
    )


def cancelled_unstarted(job_id: str, token: str) -> Finish:
    """A job cancelled while its worker held it claimed ahead, before its handler started."""
    return Finish(
        job_id,
        token,
        Outcome.CANCELLED,
        event_data=dumps({"reason": "cancelled before it started", "runtime": 0.0}),
    )


def stopped(
    job_id: str, token: str, reason: str | None, started: float, worker_id: str
) -> Finish | None:
    """A running job this worker interrupted. None when its lease was lost: the job
    belongs to another attempt now, and this one has nothing to say about it."""
    if reason == "cancelled":
        return Finish(
            job_id,
            token,
            Outcome.CANCELLED,
            event_data=dumps({"reason": "cancelled while running", "runtime": _runtime(started)}),
        )
    if reason == "shutdown":
        return released(job_id, token, "shutdown", worker_id)
    return None
