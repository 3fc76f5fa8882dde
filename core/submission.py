"""The submit path, one pass per job: `prepare` turns a caller's arguments into the one
`NewJob` a backend stores (checked, encoded, unique key resolved), and `submit_in_chunks`
hands many to the backend a thousand per script call. `JobSpec` is one job of a bulk submit,
and the list of every submit option.

Adding a submit option (`expires`, `limit`, ...) is a change here: a field on `JobSpec`
(optional, its default meaning "not used"), the same keyword on `prepare` (its check, and
the record field it writes, a short name written only when set), and the keyword on
`JobService.submit_job`, `SyncJobService.submit_job` and `HandlerService.submit_job` that
passes it on. `tests/test_submission.py` fails until every one of those lists it, with the
same default.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .backend.base import Backend, NewJob
from .backend.records import SUBMIT_CHUNK, SUBMIT_CHUNK_BYTES
from .codec import encode_fields
from .errors import OutOfMemory
from .ids import new_id, submittable_id
from .keeping import with_keeping
from .limits import with_flow
from .models import (
    MAX_DELAY,
    MAX_NAME_LENGTH,
    MAX_TIMEOUT,
    JobPriority,
    check_submission,
)
from .unique import check_unique
from .workflows import check_batch, with_workflow

__all__ = [
    "JobSpec",
    "partial_submit_error",
    "prepare",
    "prepare_all",
    "prepare_spec",
    "spec_fields",
    "submit_in_chunks",
]

CHUNK, CHUNK_BYTES = SUBMIT_CHUNK, SUBMIT_CHUNK_BYTES  # jobs, and bytes of their values
FLOW_EDGES = 10_000  # parents checked per submit call (workflows.MAX_PARENTS)


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
    limit: str | None = None
    group: str | None = None
    result_ttl: float | None = None
    meta: Mapping[str, Any] | None = None
    expires: float | datetime | None = None
    after: Sequence[str] | None = None
    on_parent_failure: str = "fail"


_FIELDS = frozenset(JobSpec.__dataclass_fields__)
_NORMAL = JobPriority.NORMAL
# A priority by its name as the API and the CLI spell it (lower case, no spaces): what
# `parse_priority` makes of it, without its general path (other spellings still take it).
_PRIORITY_NAMES = {p.name.lower(): p for p in JobPriority}


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
    limit: Any = None,
    group: Any = None,
    result_ttl: Any = None,
    meta: Any = None,
    expires: Any = None,
    after: Any = None,
    on_parent_failure: Any = "fail",
) -> NewJob:
    """Check one submission and build the `NewJob` a backend stores, in one straight line:
    the checks, the record (`encode_fields`, which also finds args that are not JSON), the
    unique key, the job.

    The common shape (a short ASCII name, a plain tuple or list of args, a dict or no kwargs,
    defaults or plain ints for the options) is recognised by exact type checks that accept
    only what `check_submission` accepts; anything else (a bad value, or an unusual but valid
    one such as `priority="high"`) goes through `check_submission`, so every error is the
    same one, naming the same field, whichever way a submission came in."""
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
            or (type(priority) is str and priority in _PRIORITY_NAMES)
        )
        and type(max_retries) is int
        and max_retries >= 0
        and (
            timeout is None
            or ((type(timeout) is float or type(timeout) is int) and 0 < timeout <= MAX_TIMEOUT)
        )
        and (type(delay) is float or type(delay) is int)
        and 0 <= delay <= MAX_DELAY  # False for NaN
        and (job_id is None or (type(job_id) is str and submittable_id(job_id)))
    ):
        delay = float(delay) if delay >= 0.001 else 0.0  # whole milliseconds, as checked
        job_id = job_id or new_id()
        if type(priority) is str:
            priority = _PRIORITY_NAMES[priority]
    else:
        kwargs = dict(kwargs) if isinstance(kwargs, Mapping) else kwargs
        name, args, kwargs, priority, max_retries, timeout, delay, job_id = check_submission(
            name,
            args,
            kwargs,
            priority=priority,
            max_retries=max_retries,
            timeout=timeout,
            delay=delay,
            job_id=job_id,
        )
    priority = int(priority)
    timeout = None if timeout is None else float(timeout)
    status = "scheduled" if delay else "pending"
    fields = encode_fields(name, status, args, kwargs or {}, priority, max_retries, timeout)
    if limit is not None or group is not None:
        fields = with_flow(fields, limit, group)
    if meta is not None or result_ttl is not None:
        fields = with_keeping(fields, meta, result_ttl)
    if unique_key is None and unique_for is None:
        job = NewJob(job_id, name, priority, int(delay * 1000), fields)
    else:
        unique, window = check_unique(unique_key, unique_for)
        job = NewJob(job_id, name, priority, int(delay * 1000), fields, unique, window)
    if expires is None and after is None and on_parent_failure == "fail":
        return job
    return with_workflow(job, expires, after, on_parent_failure)


def prepare_spec(spec: JobSpec | Mapping[str, Any]) -> NewJob:
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
            spec.limit,
            spec.group,
            spec.result_ttl,
            spec.meta,
            spec.expires,
            spec.after,
            spec.on_parent_failure,
        )
    fields = spec if type(spec) is dict or isinstance(spec, Mapping) else spec_fields(spec)
    if not fields.keys() <= _FIELDS:
        unknown = set(fields) - _FIELDS
        raise TypeError(f"unknown field(s): {', '.join(sorted(unknown))}")
    if "name" not in fields:
        raise TypeError("name: missing")
    return prepare(**fields)


def prepare_all(specs: Iterable[JobSpec | Mapping[str, Any]]) -> list[NewJob]:
    """Every spec of a bulk submit prepared before anything is written; an error names the
    spec at fault by its position."""
    jobs: list[NewJob] = []
    add = jobs.append
    for index, spec in enumerate(specs):
        try:
            add(prepare_spec(spec))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"job {index}: {exc}") from None
    if any(job.after for job in jobs):
        check_batch(jobs)
    return jobs


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


def flow_chunks(parts: list[Sequence[NewJob]]) -> list[Sequence[NewJob]]:
    """`parts` cut further so that no call checks more than FLOW_EDGES parents (a job with
    more goes alone): the submit script reads each parent's record."""
    out: list[Sequence[NewJob]] = []
    for part in parts:
        start = edges = 0
        for i, job in enumerate(part):
            if i > start and edges + len(job.after) > FLOW_EDGES:
                out.append(part[start:i])
                start, edges = i, 0
            edges += len(job.after)
        out.append(part[start:])
    return out


def spec_fields(spec: JobSpec) -> dict[str, Any]:
    return {f: getattr(spec, f) for f in JobSpec.__dataclass_fields__}


def chunks(jobs: Sequence[NewJob]) -> list[Sequence[NewJob]]:
    """`jobs` in chunks of at most CHUNK jobs and CHUNK_BYTES of args and kwargs (the values
    of unbounded size): the submit script writes each job's record, so its time follows
    their bytes (a thousand jobs with 100 KB args would be 100 MB in one call). A job larger
    than that goes alone. A block of CHUNK jobs is split further only when its total is over
    (two sums per block, ~0.2 us a job, where a loop over the jobs costs ~1 us)."""
    out: list[Sequence[NewJob]] = []
    for first in range(0, len(jobs), CHUNK):
        block = jobs[first : first + CHUNK]
        records = [job.fields for job in block]
        total = sum(map(len, (r.get("args", b"") for r in records)))
        total += sum(map(len, (r.get("kwargs", b"") for r in records)))
        if total <= CHUNK_BYTES:
            out.append(block)
            continue
        sizes = [len(r.get("args", b"")) + len(r.get("kwargs", b"")) for r in records]
        start = size = 0
        for i, grows in enumerate(sizes):
            if i > start and size + grows > CHUNK_BYTES:
                out.append(block[start:i])
                start, size = i, 0
            size += grows
        out.append(block[start:])
    return out


async def submit_in_chunks(backend: Backend, jobs: Sequence[NewJob]) -> list[str]:
    """Store prepared jobs a thousand (or a megabyte) per call. Chunks go out back to back
    (Redis runs one while the next is on the wire); each is stored whole or not at all, and
    if some are refused the error names exactly the ids that were queued. Jobs with parents
    go one chunk after the other, stopping at the first refused: a chunk's parents are then
    stored before it is checked."""
    parts = chunks(jobs)
    if any(job.after for job in jobs):
        parts = flow_chunks(parts)
        results: list[Any] = []
        for part in parts:
            try:
                results.append(await backend.submit(part))
            except Exception as exc:
                results.append(exc)
                break
        parts = parts[: len(results)]
    else:
        results = await asyncio.gather(
            *(backend.submit(part) for part in parts), return_exceptions=True
        )
    ids: list[str] = []
    failures: list[BaseException] = []
    for chunk, result in zip(parts, results, strict=True):
        if isinstance(result, BaseException):
            failures.append(result)
            continue
        ids += [
            flag if isinstance(flag, str) else job.id
            for job, flag in zip(chunk, result, strict=True)
        ]
    if failures:
        raise partial_submit_error(failures, ids, len(jobs))
    return ids
