"""What a submit is made of before it reaches a backend: `JobSpec` (one job of a bulk
submit), `prepare` (the checks that turn a caller's arguments into what a backend stores),
and the error a bulk submit raises when the server refused part of it, which says exactly
what was queued."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .backend import Backend
from .backend.base import NewJob
from .codec import encode_fields, encode_record
from .errors import OutOfMemory
from .models import (
    MAX_DELAY,
    MAX_NAME_LENGTH,
    MAX_TIMEOUT,
    JobPriority,
    _valid_id,
    new_id,
    new_job,
)
from .unique import with_unique

__all__ = [
    "JobSpec",
    "Prepared",
    "field_cap",
    "partial_submit_error",
    "prepare",
    "prepare_spec",
    "spec_fields",
    "submit_in_chunks",
]

CHUNK = 1000


@dataclass(frozen=True, slots=True)
class JobSpec:
    """One job for `submit_jobs`; the same fields as `submit_job`'s arguments."""

    name: str
    args: tuple[Any, ...] | list[Any] = ()
    kwargs: Mapping[str, Any] | None = None
    priority: JobPriority | int | str = JobPriority.NORMAL
    max_retries: int = 0
    timeout: float | None = None
    delay: float = 0.0
    job_id: str | None = None
    unique_key: str | None = None
    unique_for: float | None = None


#: One job ready for `Backend.submit`: what it reads of the job, the delay in seconds (0 for
#: none) and the record to store (with the unique key and window, if any).
Prepared = tuple[NewJob, float, Mapping[str, Any]]
_FIELDS = frozenset(JobSpec.__dataclass_fields__)
_NORMAL = JobPriority.NORMAL


def prepare(
    name: Any,
    args: Any = (),
    kwargs: Any = None,
    priority: Any = _NORMAL,
    max_retries: Any = 0,
    timeout: Any = None,
    delay: Any = 0.0,
    job_id: Any = None,
    unique_key: Any = None,
    unique_for: Any = None,
) -> Prepared:
    """Validate one submission and build what the backend stores, in one pass.

    The common shape (a short ASCII name, a plain tuple or list of args, a dict or no
    kwargs, defaults or plain ints for the options) is recognised by exact type checks that
    accept only what `new_job` accepts, and goes straight to the record: no `JobDefinition`,
    no copies of args or kwargs. Anything else (a bad value, or an unusual but valid one such
    as `priority="high"`) takes `new_job`'s full checks, so every error is the same one,
    naming the same field, whichever way a submission came in."""
    if (
        type(name) is str
        and name.isascii()  # constant time; ASCII is always valid UTF-8
        and 0 < len(name) <= MAX_NAME_LENGTH
        and not name.isspace()
        and (type(args) is tuple or type(args) is list)
        and (
            kwargs is None
            or (type(kwargs) is dict and (not kwargs or all(type(k) is str for k in kwargs)))
        )
        and (
            priority is _NORMAL
            or type(priority) is JobPriority
            or (type(priority) is int and 0 <= priority <= 3)
        )
        and type(max_retries) is int
        and max_retries >= 0
        and (
            timeout is None
            or ((type(timeout) is float or type(timeout) is int) and 0 < timeout <= MAX_TIMEOUT)
        )
        and (type(delay) is float or type(delay) is int)
        and 0 <= delay <= MAX_DELAY  # False for NaN
        and (job_id is None or (type(job_id) is str and _valid_id(job_id)))
    ):
        prio = int(priority)
        delay = float(delay) if delay >= 0.001 else 0.0  # whole milliseconds, as new_job
        record = encode_fields(
            name,
            "scheduled" if delay else "pending",
            args,
            kwargs or {},
            prio,
            max_retries,
            None if timeout is None else float(timeout),
        )
        if unique_key is not None or unique_for is not None:
            record = with_unique(record, unique_key, unique_for)
        return NewJob(job_id or new_id(), name, prio), delay, record
    job, delay = new_job(
        name,
        args,
        dict(kwargs) if isinstance(kwargs, Mapping) else kwargs,
        priority=priority,
        max_retries=max_retries,
        timeout=timeout,
        delay=delay,
        job_id=job_id,
    )
    record = with_unique(encode_record(job), unique_key, unique_for)
    return NewJob(job.id, job.name, int(job.priority)), delay, record


def prepare_spec(spec: JobSpec | Mapping[str, Any]) -> Prepared:
    """`prepare` for one item of a bulk submit: a `JobSpec` or a mapping of its fields."""
    if type(spec) is JobSpec:
        return prepare(
            spec.name,
            spec.args,
            spec.kwargs,
            spec.priority,
            spec.max_retries,
            spec.timeout,
            spec.delay,
            spec.job_id,
            spec.unique_key,
            spec.unique_for,
        )
    fields = spec if type(spec) is dict or isinstance(spec, Mapping) else spec_fields(spec)
    if not fields.keys() <= _FIELDS:
        unknown = set(fields) - _FIELDS
        raise TypeError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "name" not in fields:
        raise TypeError("name: missing")
    get = fields.get
    return prepare(
        fields["name"],
        get("args", ()),
        get("kwargs"),
        get("priority", _NORMAL),
        get("max_retries", 0),
        get("timeout"),
        get("delay", 0.0),
        get("job_id"),
        get("unique_key"),
        get("unique_for"),
    )


def partial_submit_error(
    failures: list[BaseException], accepted: list[str], total: int
) -> BaseException:
    """What a bulk submit raises when some chunks were refused: callers learn exactly which
    jobs were queued (`accepted`), never a bare error after a silent partial write."""
    for failure in failures:
        if not isinstance(failure, Exception):
            return failure  # a cancellation: let it through
    oom = next((f for f in failures if isinstance(f, OutOfMemory)), None)
    if oom is not None:
        return OutOfMemory(
            f"Redis is out of memory (maxmemory reached, policy noeviction): "
            f"{len(accepted)} of {total} jobs were queued (their ids are in .accepted), "
            f"{total - len(accepted)} were refused; free memory or raise maxmemory",
            accepted,
        )
    error = failures[0]
    error.add_note(f"{len(accepted)} of {total} jobs were queued before this error")
    error.accepted = accepted  # type: ignore[attr-defined]
    return error


def field_cap(max_field_bytes: int | None) -> int:
    if max_field_bytes is None:
        return 0
    if isinstance(max_field_bytes, bool) or not isinstance(max_field_bytes, int):
        raise TypeError("max_field_bytes: expected an int")
    if max_field_bytes < 1:
        raise ValueError(f"max_field_bytes: must be >= 1, got {max_field_bytes}")
    return max_field_bytes


def spec_fields(spec: JobSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in JobSpec.__dataclass_fields__}


async def submit_in_chunks(
    backend: Backend,
    jobs: Sequence[tuple[NewJob, float]],
    records: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Store validated jobs a thousand per call. Chunks go out back to back (Redis runs one
    while the next is on the wire); each is stored whole or not at all, and if some are
    refused the error names exactly the ids that were queued."""
    starts = range(0, len(jobs), CHUNK)
    results = await asyncio.gather(
        *(backend.submit(jobs[i : i + CHUNK], records[i : i + CHUNK]) for i in starts),
        return_exceptions=True,
    )
    ids: list[str] = []
    failures: list[BaseException] = []
    for start, result in zip(starts, results, strict=True):
        if isinstance(result, BaseException):
            failures.append(result)
            continue
        chunk = jobs[start : start + CHUNK]
        ids += [
            flag if isinstance(flag, str) else job.id
            for (job, _), flag in zip(chunk, result, strict=True)
        ]
    if failures:
        raise partial_submit_error(failures, ids, len(jobs))
    return ids
