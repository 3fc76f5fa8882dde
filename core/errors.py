"""Errors of jobdeck's own that callers are meant to catch and tell apart."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import OutOfMemoryError, RedisError, ResponseError

__all__ = [
    "JobCancelled",
    "JobExpired",
    "JobFailed",
    "JobNotFound",
    "OutOfMemory",
    "SubmitNotReplicated",
]


class OutOfMemory(ResponseError):
    """Redis refused a write because it reached `maxmemory` under the `noeviction` policy.

    Nothing of the refused call was stored. A bulk submit goes out in chunks of a thousand,
    each stored whole or not at all: `accepted` lists the ids of the jobs that were queued
    before Redis filled up (they will run), in submission order; the others were not.
    A `RedisError`, so code that retries on server errors retries this one too.
    """

    def __init__(self, message: str, accepted: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.accepted = list(accepted)


class SubmitNotReplicated(RedisError):
    """The jobs are on the master, but fewer replicas than asked (`submit_replicas`)
    confirmed them in time: a failover now could lose them. Submitting again with the same
    job ids is safe."""


class JobNotFound(KeyError):
    """No job has this id on this queue: it was never submitted there, or its record is gone
    (a finished job's record expires after `result_ttl`, or was purged or deleted)."""

    def __init__(self, job_id: str, message: str | None = None) -> None:
        super().__init__(message or f"no job {job_id!r}")
        self.job_id = job_id

    def __str__(self) -> str:  # KeyError's own would quote the message
        return str(self.args[0])


class JobFailed(Exception):
    """The job failed for good (it is a dead letter): `error_type` is the exception's class
    name or jobdeck's reason (`Timeout`, `Stalled`, `UnknownHandler`, ...), `message` its
    text, `traceback` the handler's traceback when there was one."""

    def __init__(
        self, job_id: str, error_type: str, message: str, traceback: str | None = None
    ) -> None:
        super().__init__(f"job {job_id} failed: {error_type}: {message}")
        self.job_id = job_id
        self.error_type = error_type
        self.message = message
        self.traceback = traceback


class JobCancelled(Exception):
    """The job was cancelled before it could finish."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"job {job_id} was cancelled")
        self.job_id = job_id


class JobExpired(JobCancelled):
    """The job's `expires` time passed before it started: it never ran. A `JobCancelled`,
    so code that treats "will not run" alike catches both."""

    def __init__(self, job_id: str) -> None:
        Exception.__init__(self, f"job {job_id} expired before it started")
        self.job_id = job_id


def out_of_memory(what: str) -> OutOfMemory:
    return OutOfMemory(
        f"Redis is out of memory (maxmemory reached, policy noeviction) and refused {what}; "
        "free memory (purge finished jobs, shorten the result TTL) or raise maxmemory"
    )


def is_out_of_memory(exc: BaseException) -> bool:
    """Redis's OOM reply, as the fast connection (text) or redis-py (its own class) gives it."""
    if isinstance(exc, OutOfMemoryError):
        return True
    return isinstance(exc, ResponseError) and str(exc).startswith("OOM ")
