"""Workflows: jobs that run after other jobs (`after=`), chains and groups with a `then`, and
jobs that expire unstarted (`expires=`).

A job submitted with `after=[id, ...]` is stored `waiting`, with the ids of its parents and
how many it still waits for. Each parent keeps the list of its children; when it ends, the
engine resolves each edge once, in the same atomic step as the end or in bounded steps from a
work list that every claim and heartbeat advances (`_workflows.lua`, `memory/workflows.py`):
a completed parent counts down its children and releases the last one it waited for; a
parent that failed, was cancelled or expired ends its children as `on_parent_failure` says.
A parent's result is kept for the children that will read it (`res:<id>`, one field per
reader) until each of them has ended, whatever the parent's own `result_ttl`.

This module checks the options (`submission.prepare` calls `with_workflow`); chains and groups
are built in `workflow_submit`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .backend.records import NewJob, Relatives
from .ids import valid_id
from .models import MAX_DELAY

__all__ = [
    "FEED_ALL",
    "FEED_NONE",
    "FEED_ONE",
    "MAX_PARENTS",
    "ON_PARENT_FAILURE",
    "Relatives",
    "check_after",
    "check_batch",
    "check_expires",
    "check_on_parent_failure",
    "relatives_dict",
    "with_workflow",
]

#: The most parents one job may wait for, and so the most jobs of a group with a `then`: a
#: submit checks each parent exists in its one script call (~0.5 us each), and the job's
#: record lists them (~23 bytes each). A larger fan-in is a group of groups.
MAX_PARENTS = 10_000
#: What a waiting job does when a parent ends without completing. "fail": a parent's dead
#: letter makes it a dead letter (`ParentFailed`, naming the parent); "cancel": it is
#: cancelled; "run": it runs once every parent has ended, however. A parent cancelled or
#: expired (or deleted) cancels its children under "fail" and "cancel" alike.
ON_PARENT_FAILURE = ("fail", "run", "cancel")

#: How a child receives its parents' results as its first argument (record field `feed`):
#: "0" not at all (`current_job().parent_results()` has them), "1" the one parent's result
#: (a chain), "n" the list of every parent's, in order (a group's `then`).
FEED_NONE, FEED_ONE, FEED_ALL = "0", "1", "n"


def check_after(after: object, job_id: str | None = None) -> tuple[str, ...]:
    """The parent ids of `after=`: a list (or tuple) of distinct job ids, at most
    MAX_PARENTS, not the job's own id."""
    if isinstance(after, (str, bytes)) or not isinstance(after, (list, tuple)):
        raise TypeError(f"after: expected a list of job ids, got {type(after).__name__}")
    if len(after) > MAX_PARENTS:
        raise ValueError(
            f"after: at most {MAX_PARENTS} parents, got {len(after)} (for more, make a group "
            "of groups: submit_group(..., then=) per part, and one job after their `then`s)"
        )
    if not after:
        raise ValueError("after: expected at least one job id (leave it out for none)")
    seen: set[str] = set()
    for parent in after:
        if not isinstance(parent, str) or not valid_id(parent):
            raise ValueError(
                f"after: {parent!r} is not a job id (1-128 letters, digits, '-', '_', '.', ':')"
            )
        if parent in seen:
            raise ValueError(f"after: {parent!r} is listed twice")
        seen.add(parent)
    if job_id is not None and job_id in seen:
        raise ValueError(f"after: job {job_id!r} cannot wait for itself")
    return tuple(after)


def check_on_parent_failure(value: object) -> str:
    if value not in ON_PARENT_FAILURE:
        raise ValueError(
            f"on_parent_failure: expected one of {', '.join(ON_PARENT_FAILURE)}, got {value!r}"
        )
    return str(value)


def check_expires(expires: object, delay: float, now: float | None = None) -> int:
    """Milliseconds from now until `expires` (seconds from now, or a datetime; a naive one is
    local time). It must be in the future, within ten years, and after the job's delay (it
    could never start otherwise). The engine adds them to its own clock."""
    if isinstance(expires, datetime):
        seconds = expires.timestamp() - (time.time() if now is None else now)
        if seconds <= 0:
            raise ValueError(f"expires: {expires.isoformat()} is in the past")
    elif isinstance(expires, bool) or not isinstance(expires, (int, float)):
        raise TypeError(
            f"expires: expected seconds from now or a datetime, got {type(expires).__name__}"
        )
    else:
        seconds = float(expires)
        if not math.isfinite(seconds) or seconds <= 0:
            raise ValueError(f"expires: must be a positive number of seconds, got {expires}")
    if seconds > MAX_DELAY:
        raise ValueError(f"expires: at most {MAX_DELAY:.0f} seconds (10 years) from now")
    if seconds <= delay:
        raise ValueError(
            f"expires: {seconds:g}s from now comes before the job's delay ({delay:g}s) ends: "
            "it could never start"
        )
    return max(1, int(seconds * 1000))


def with_workflow(
    job: NewJob, expires: object, after: object, on_parent_failure: object
) -> NewJob:
    """`job` with its workflow options: waiting for `after` (its delay, if any, then counts
    from its release), expiring after `expires`. Called by `submission.prepare` only when an
    option is given, so a plain job pays one test."""
    fields = dict(job.fields)
    parents: tuple[str, ...] = ()
    delay_ms = job.delay_ms
    if after is not None:
        parents = check_after(after, job.id)
        fields["status"] = "waiting"
        fields["after"] = " ".join(parents)
        fields["wait"] = fields["np"] = str(len(parents))
        fields.setdefault("feed", FEED_NONE)
        if delay_ms:
            fields["rdelay"] = str(delay_ms)
            delay_ms = 0
        if check_on_parent_failure(on_parent_failure) != "fail":
            fields["opf"] = on_parent_failure  # type: ignore[assignment]
    elif on_parent_failure != "fail":
        check_on_parent_failure(on_parent_failure)
        raise ValueError("on_parent_failure: only with after= (a job with parents)")
    expires_ms = 0
    if expires is not None:
        expires_ms = check_expires(expires, job.delay_ms / 1000)
    return job._replace(fields=fields, delay_ms=delay_ms, after=parents, expires_ms=expires_ms)


def check_batch(jobs: Sequence[NewJob]) -> None:
    """Within one submit, a parent comes before its children: a job waiting for one that is
    submitted later in the same batch is refused (a cycle is named as one), so the engine
    never meets a parent it has not stored yet."""
    position = {job.id: index for index, job in enumerate(jobs)}
    for index, job in enumerate(jobs):
        for parent in job.after:
            at = position.get(parent)
            if at is None or at < index:
                continue
            cycle = _cycle(jobs, position, index)
            if cycle:
                raise ValueError(f"job {index}: after: a cycle: {' -> '.join(cycle)}")
            raise ValueError(
                f"job {index}: after: {parent!r} is submitted later in this batch (job {at}): "
                "list parents before their children"
            )


def _cycle(jobs: Sequence[NewJob], position: Mapping[str, int], start: int) -> list[str]:
    """A path of parents from job `start` back to itself within the batch, if there is one."""
    target = jobs[start].id
    stack: list[tuple[str, list[str]]] = [(target, [target])]
    seen: set[str] = set()
    while stack:
        current, path = stack.pop()
        for parent in jobs[position[current]].after:
            if parent == target:
                return [*path, parent][::-1]
            if parent in position and parent not in seen:
                seen.add(parent)
                stack.append((parent, [*path, parent]))
    return []


def relatives_dict(family: Relatives) -> dict[str, Any]:
    """A job's parents and children with their statuses (None: its record is gone), as
    `jobdeck job show --json` and the HTTP API's job give them; the first of each are
    listed, the totals count them all."""
    return {
        "parents_total": family.parents_total,
        "parent_statuses": [{"id": jid, "status": st or None} for jid, st in family.parents],
        "children_total": family.children_total,
        "children": [{"id": jid, "status": st or None} for jid, st in family.children],
    }
