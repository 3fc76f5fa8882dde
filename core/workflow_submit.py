"""Chains and groups: the jobs `JobService.submit_chain` and `submit_group` store, built from
specs before anything is written (every error names the job at fault and its field).

A chain is its jobs each `after` the one before it; a group is its jobs as they are (they
run in parallel) and, with `then`, one more job after all of them that receives the list of
their results as its first argument (Celery's chord). Both go through the one submit path,
parents before children, so a chain or a group of any size is stored in calls of a thousand
jobs, each checked and linked atomically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .backend.records import NewJob
from .submission import JobSpec, prepare_all, prepare_spec, spec_fields
from .workflows import FEED_ALL, FEED_ONE, MAX_PARENTS, check_on_parent_failure, with_workflow

__all__ = ["SubmittedGroup", "chain_jobs", "group_jobs"]

Spec = JobSpec | Mapping[str, Any]


ThenId = TypeVar("ThenId", str, None)


@dataclass(frozen=True, slots=True)
class SubmittedGroup(Generic[ThenId]):
    """A submitted group: its jobs' ids, in order, and its `then`'s id (None without one;
    a type checker knows which): `await service.result(group.then_id)` is the `then`'s
    result."""

    ids: list[str]
    then_id: ThenId


def chain_jobs(specs: Iterable[Spec], pass_results: bool) -> list[NewJob]:
    """Each job after the one before it; with `pass_results`, each but the first gets the
    result of the one before as its first argument."""
    jobs = _members(specs, "chain")
    out = [jobs[0]]
    for index, job in enumerate(jobs[1:], start=1):
        child = _after(job, (out[-1].id,), "fail", f"job {index}: ")
        out.append(_fed(child, FEED_ONE) if pass_results else child)
    return out


def group_jobs(specs: Iterable[Spec], then: Spec | None) -> list[NewJob]:
    """The group's jobs, then (if given) `then` after all of them, fed their results."""
    jobs = _members(specs, "group")
    if then is None:
        return jobs
    if len(jobs) > MAX_PARENTS:
        raise ValueError(
            f"specs: a group with a then has at most {MAX_PARENTS} jobs, got {len(jobs)} (for "
            "more, a group of groups: a then for each part, and one job after those)"
        )
    fields = dict(then) if isinstance(then, Mapping) else spec_fields(then)
    for name in ("after", "unique_key", "unique_for"):
        if fields.get(name) is not None:
            raise ValueError(f"then: {name}: not on a group's then (it runs after the group)")
    on_failure = fields.pop("on_parent_failure", "fail")
    try:
        check_on_parent_failure(on_failure)
        job = prepare_spec(fields)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"then: {exc}") from None
    child = _after(job, tuple(j.id for j in jobs), on_failure, "then: ")
    return [*jobs, _fed(child, FEED_ALL)]


def _members(specs: Iterable[Spec], kind: str) -> list[NewJob]:
    specs = list(specs)
    if not specs:
        raise ValueError(f"specs: a {kind} needs at least one job")
    jobs = prepare_all(specs)
    for index, job in enumerate(jobs):
        if job.after:
            raise ValueError(f"job {index}: after: not in a {kind} (the {kind} says the order)")
        if job.unique_key:
            raise ValueError(
                f"job {index}: unique_key: not in a {kind} (a job left out as a duplicate "
                "would leave a hole in it)"
            )
    return jobs


def _after(job: NewJob, parents: Sequence[str], on_failure: str, where: str) -> NewJob:
    """`job` waiting for `parents`, its expiry kept."""
    try:
        child = with_workflow(job._replace(expires_ms=0), None, list(parents), on_failure)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{where}{exc}") from None
    return child._replace(expires_ms=job.expires_ms)


def _fed(job: NewJob, feed: str) -> NewJob:
    return job._replace(fields={**job.fields, "feed": feed})
