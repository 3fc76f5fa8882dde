"""Workers' transitions over Redis: a claim (alone, or pipelined behind the BLPOP that waits
for work), finishing in batches bounded by bytes, and a running job's events and progress.
Functions over the `RedisConnection`; `RedisBackend` hands them its own and keeps what is its
to keep (the claims' ids). The memory engine's `leases.py` mirrors them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...codec import dumps
from ..cluster import redirection
from ..records import BackendSettings, ClaimBatch, Finish, JobEmit, ProgressUpdate
from . import replies
from .connection import RedisConnection

__all__ = [
    "FINISH_BYTES",
    "FINISH_ITEMS",
    "bounds",
    "claim",
    "claim_args",
    "finish",
    "job_events",
    "progress",
    "wait_and_claim",
]

# One finish.lua call stores at most this many outcomes, and this many bytes of them.
FINISH_ITEMS, FINISH_BYTES = 1000, 524_288


def bounds(settings: BackendSettings) -> list[int]:
    """The history bounds scripts that end jobs are given (`bounds_at` in _lib.lua)."""
    return [settings.history_max, settings.dead_max, int(settings.dead_ttl * 1000)]


def claim_args(
    settings: BackendSettings,
    worker_id: str,
    count: int,
    lease: float,
    request: str,
    handlers: Collection[str] | None,
) -> list[Any]:
    """claim.lua's ARGV. `request` is the claim's id: the script keeps the last one's jobs
    per worker, so the same arguments sent again after a lost reply get those jobs back."""
    lease_ms, stalls = int(lease * 1000), settings.max_stalls
    if handlers is None:  # a worker that runs any job name
        return [worker_id, count, lease_ms, stalls, *bounds(settings), request, ""]
    return [worker_id, count, lease_ms, stalls, *bounds(settings), request, "1", *handlers]


async def claim(conn: RedisConnection, args: Sequence[Any]) -> ClaimBatch:
    return replies.claim_batch(await conn.run("claim", *args))


async def wait_and_claim(conn: RedisConnection, timeout: float, args: Sequence[Any]) -> ClaimBatch:
    """BLPOP and the claim script go out in one write: Redis runs the claim the moment the
    wake-up arrives, so an idle worker starts a new job one round trip after its submit."""
    command = conn.script_command("claim", *args)
    try:
        _woken, reply = await conn.waiting().pipeline(
            ("BLPOP", conn.key("wake"), f"{max(0.01, timeout):.3f}"), command
        )
    except NoScriptError:  # a restarted server: run() loads the script again
        return await claim(conn, args)
    except (ResponseError, RedisConnectionError, RedisTimeoutError) as exc:
        # a cluster's slot moved or failed over: run() finds the new master. The same
        # request: if the lost reply had leased jobs, the claim returns those.
        if await conn.rerouted(exc) or redirection(exc) is not None:
            return await claim(conn, args)
        raise
    return replies.claim_batch(reply)


async def finish(conn: RedisConnection, worker_id: str, items: Sequence[Finish]) -> list[bool]:
    """In calls of at most FINISH_BYTES of results and errors (and FINISH_ITEMS items):
    the script stores each one, so its time follows their bytes; a single item larger
    than that goes alone."""
    settings = conn.settings
    head = [worker_id, *bounds(settings), int(settings.result_ttl * 1000)]
    accepted: list[bool] = []
    args: list[Any] = []
    count = size = 0
    for item in items:
        grows = len(item.payload) + len(item.event_data)
        if count and (count == FINISH_ITEMS or size + grows > FINISH_BYTES):
            accepted += await _finish(conn, head, count, args)
            args, count, size = [], 0, 0
        args += [
            item.job_id,
            item.token,
            item.outcome,
            item.payload,
            int(item.delay * 1000),
            item.event_data,
        ]
        count, size = count + 1, size + grows
    if count:
        accepted += await _finish(conn, head, count, args)
    return accepted


async def _finish(
    conn: RedisConnection, head: list[Any], count: int, items: list[Any]
) -> list[bool]:
    return [bool(flag) for flag in await conn.run("finish", *head, count, *items)]


async def job_events(conn: RedisConnection, items: Sequence[JobEmit]) -> int:
    args: list[Any] = [len(items)]
    for item in items:
        args += [item.job_id, item.token, item.event_type, item.data]
    return int(await conn.run("job_event", *args))


async def progress(conn: RedisConnection, items: Sequence[ProgressUpdate]) -> None:
    args: list[Any] = [len(items)]
    for item in items:
        args += [
            item.job_id,
            item.token,
            dumps([item.fraction, item.message]),
            dumps({"fraction": item.fraction, "message": item.message}),
        ]
    await conn.run("progress", *args)
