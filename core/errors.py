"""Errors of jobdeck's own that callers are meant to catch and tell apart."""

from __future__ import annotations

from collections.abc import Sequence

from redis.exceptions import OutOfMemoryError, RedisError, ResponseError

__all__ = ["OutOfMemory", "SubmitNotReplicated"]


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
