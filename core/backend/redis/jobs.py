"""Producers and reading over Redis, where one contract call is more than one script call:
a submit (which script, replicas, the queue's registration), and the passes cut into bounded
steps (every dead letter retried, a status purged, a long page listed), so that no script
call holds Redis long however many jobs there are. Functions over the `RedisConnection`;
`RedisBackend` hands them its own. The memory engine's `jobs.py` mirrors them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...keys import STATUS_KEYS
from ..records import PAGE_ROWS, NewJob
from . import replies
from .connection import RedisConnection, request_id
from .registry import QueueRegistry
from .replies import flow_spec

__all__ = [
    "PAGE_ROWS",
    "PURGE_STEP",
    "RETRY_STEP",
    "list_jobs",
    "purge",
    "retry_all_dead",
    "submit",
    "submit_args",
]

RETRY_STEP = 500  # dead letters one retry_dead.lua call of a pass moves (the script's own)
PURGE_STEP = 200  # jobs one purge.lua call deletes: freeing a 200 KB record costs ~12 us


def submit_args(jobs: Sequence[NewJob]) -> list[Any]:
    """submit.lua's ARGV after the common head: the count, then per job the job and its
    record's pairs. One place, for the loop's and the calling thread's submits alike."""
    args: list[Any] = [len(jobs)]
    for job in jobs:
        fields = job.fields
        args += (job.id, job.name, job.priority, job.delay_ms, job.unique_key)
        args += (job.unique_window_ms, fields.get("group") or "")
        # (workflows) its expiry and parents, for submit_flow.lua; '' for a plain job
        args += (flow_spec(job) if job.after or job.expires_ms else "", len(fields) * 2)
        for pair in fields.items():
            args += pair
    return args


async def submit(
    conn: RedisConnection, registry: QueueRegistry, jobs: Sequence[NewJob]
) -> list[bool | str]:
    """One batch in one script call (`combine.py` makes the batches); the queue's first
    write registers it."""
    args = submit_args(jobs)
    # (workflows) a batch with a job that has parents or an expiry: the script that
    # checks and links them (a plain batch's script carries none of it)
    script = "submit_flow" if any(job.after or job.expires_ms for job in jobs) else "submit"
    if conn.settings.submit_replicas:
        created = await conn.run_replicated(script, *args)
    else:
        created = await conn.run(script, *args)
    if not registry.registered:
        await registry.register()
    if created and created[0] == b"!after":
        raise replies.unknown_parent(created, len(jobs), conn.queue)
    return replies.submitted(created)


async def retry_all_dead(conn: RedisConnection) -> int:
    """One pass over what was dead when the first call ran, RETRY_STEP at a time: each call
    hands back the pass's cutoff and how many of it stayed dead (unique key held)."""
    total, cutoff, taken, kept = 0, b"", RETRY_STEP, 0
    while taken == RETRY_STEP:
        moved, cutoff, taken, kept = await conn.run("retry_dead", request_id(), "all", cutoff, kept)
        total += int(moved)
    return total


async def purge(conn: RedisConnection, status: str) -> int:
    total = 0
    while True:
        removed, taken = await conn.run("purge", STATUS_KEYS[status], PURGE_STEP, total)
        total += int(removed)
        if int(taken) < PURGE_STEP:
            return total


async def list_jobs(
    conn: RedisConnection,
    status: str,
    limit: int,
    offset: int,
    newest_first: bool,
    max_field: int,
) -> list[tuple[str, Mapping[Any, Any]]]:
    order, rows = "1" if newest_first else "0", []
    for first in range(offset, offset + limit, PAGE_ROWS):  # list.lua reads at most that
        count = min(PAGE_ROWS, offset + limit - first)
        flat = await conn.run("list", STATUS_KEYS[status], first, count, order, max_field)
        rows += replies.rows(flat)
    return rows
